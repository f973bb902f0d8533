// Change notification across processes (docs/change-notification.md).
//
// Every committed change adds a row (account, mailbox, modseq) to the `changes` table, then the writer
// writes one byte to `run_dir/changes`. Every process that has sessions to wake keeps an inotify watch on
// that file (IN_MODIFY); its notifier thread wakes immediately, reads the rows newer than the last one it
// saw, and hands each to the subscribers of that account. No polling loop: a safety re-read every 2 s only
// covers a watch that was lost (file replaced, inotify queue overflow).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/mail_store.hpp"

namespace roost::store::sqlite {

class ChangePublisher {
public:
    explicit ChangePublisher(const std::string& run_dir);
    ~ChangePublisher();
    void publish();  // wakes every watcher (all processes, this one included)
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

class ChangeNotifier {
public:
    ChangeNotifier(const std::string& db_path, const std::string& watch_path, int busy_timeout_ms);
    ~ChangeNotifier();

    std::unique_ptr<Subscription> subscribe(std::int64_t account_id, std::function<void(const MailboxChange&)> fn);

private:
    class Sub;
    void loop();
    void dispatch();
    void unsubscribe(std::uint64_t id);

    std::string db_path_, watch_path_;
    int busy_timeout_ms_;
    int inotify_fd_ = -1, stop_fd_ = -1;
    std::int64_t last_seq_ = 0;
    std::mutex mu_;
    std::multimap<std::int64_t, std::pair<std::uint64_t, std::function<void(const MailboxChange&)>>> subs_;
    std::uint64_t next_id_ = 1;
    std::thread thread_;
};

}  // namespace roost::store::sqlite
