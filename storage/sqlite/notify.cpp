#include "storage/sqlite/notify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "storage/sqlite/db.hpp"

namespace roost::store::sqlite {

ChangePublisher::ChangePublisher(const std::string& run_dir) : path_(run_dir + "/changes") {
    ::mkdir(run_dir.c_str(), 0750);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
}

ChangePublisher::~ChangePublisher() {
    if (fd_ >= 0) ::close(fd_);
}

void ChangePublisher::publish() {
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ >= 0) [[maybe_unused]] auto n = ::pwrite(fd_, "x", 1, 0);  // IN_MODIFY for every watcher
}

class ChangeNotifier::Sub : public Subscription {
public:
    Sub(ChangeNotifier* n, std::uint64_t id) : n_(n), id_(id) {}
    ~Sub() override { n_->unsubscribe(id_); }

private:
    ChangeNotifier* n_;
    std::uint64_t id_;
};

ChangeNotifier::ChangeNotifier(const std::string& db_path, const std::string& watch_path, int busy_timeout_ms)
    : db_path_(db_path), watch_path_(watch_path), busy_timeout_ms_(busy_timeout_ms) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ >= 0) ::inotify_add_watch(inotify_fd_, watch_path_.c_str(), IN_MODIFY | IN_ATTRIB);
    {
        Db db(db_path_, busy_timeout_ms_);
        auto s = db.prepare("SELECT COALESCE(MAX(seq), 0) FROM changes");
        if (s->step()) last_seq_ = s->int64(0);
    }
    thread_ = std::thread([this] { loop(); });
}

ChangeNotifier::~ChangeNotifier() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    ::close(stop_fd_);
}

std::unique_ptr<Subscription> ChangeNotifier::subscribe(std::int64_t account_id,
                                                        std::function<void(const MailboxChange&)> fn) {
    std::lock_guard lock(mu_);
    auto id = next_id_++;
    subs_.emplace(account_id, std::make_pair(id, std::move(fn)));
    return std::make_unique<Sub>(this, id);
}

void ChangeNotifier::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mu_);
    for (auto it = subs_.begin(); it != subs_.end(); ++it)
        if (it->second.first == id) {
            subs_.erase(it);
            return;
        }
}

void ChangeNotifier::loop() {
    std::unique_ptr<Db> db;
    char buf[4096];
    for (;;) {
        pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
        int n = ::poll(fds, inotify_fd_ >= 0 ? 2 : 1, 2000);
        if (n < 0 && errno != EINTR) return;
        if (fds[0].revents & POLLIN) return;
        if (inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) {
            while (::read(inotify_fd_, buf, sizeof buf) > 0) {
            }
        }
        try {
            if (!db) db = std::make_unique<Db>(db_path_, busy_timeout_ms_);
            std::vector<std::pair<std::int64_t, MailboxChange>> rows;
            {
                auto s = db->prepare("SELECT seq, account_id, mailbox_id, modseq FROM changes WHERE seq > ? ORDER BY seq");
                s->bind(1, last_seq_);
                while (s->step())
                    rows.push_back({s->int64(0), MailboxChange{s->int64(1), s->int64(2),
                                                               static_cast<std::uint64_t>(s->int64(3))}});
            }
            if (rows.empty()) continue;
            last_seq_ = rows.back().first;
            // Holding the lock while calling keeps a subscriber alive until its callback returns; callbacks
            // only post work elsewhere, so this is short.
            std::lock_guard lock(mu_);
            for (auto& [seq, change] : rows) {
                auto [b, e] = subs_.equal_range(change.account_id);
                for (auto it = b; it != e; ++it) it->second.second(change);
            }
        } catch (const DbError&) {
            db.reset();  // reopen next round; the rows stay in the table
        }
        // The watch may have been lost if the file was replaced: re-arm (cheap, idempotent).
        if (inotify_fd_ >= 0) ::inotify_add_watch(inotify_fd_, watch_path_.c_str(), IN_MODIFY | IN_ATTRIB);
    }
}

}  // namespace roost::store::sqlite
