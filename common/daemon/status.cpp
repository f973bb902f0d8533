#include "common/daemon/status.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/core/log.hpp"

namespace roost {
namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string status_path(const std::string& dir, const std::string& name) { return dir + "/" + name + ".status"; }
std::string lock_path(const std::string& dir, const std::string& name) { return dir + "/" + name + ".lock"; }

bool write_status(const std::string& dir, const DaemonStatus& st) {
    auto path = status_path(dir, st.name);
    auto tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f) return false;
        f << "pid=" << st.pid << "\nstarted=" << st.started << "\nupdated=" << st.updated
          << "\nconnections=" << st.connections << "\n";
        if (!f.flush()) return false;
    }
    return ::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

const std::vector<std::string>& daemon_names() {
    static const std::vector<std::string> names{"smtpd", "imapd", "pop3d", "admin"};
    return names;
}

DaemonStatus read_daemon_status(const std::string& run_dir, const std::string& name) {
    DaemonStatus st;
    st.name = name;
    std::ifstream f(status_path(run_dir, name));
    std::string line;
    while (std::getline(f, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        auto key = line.substr(0, eq);
        std::int64_t v = 0;
        try {
            v = std::stoll(line.substr(eq + 1));
        } catch (const std::exception&) {
            continue;
        }
        if (key == "pid") st.pid = v;
        else if (key == "started") st.started = v;
        else if (key == "updated") st.updated = v;
        else if (key == "connections") st.connections = v < 0 ? 0 : static_cast<std::uint64_t>(v);
    }
    // Held by a live daemon: a shared lock cannot be had. Nobody holds it: the daemon is gone.
    int fd = ::open(lock_path(run_dir, name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (::flock(fd, LOCK_SH | LOCK_NB) != 0) st.running = errno == EWOULDBLOCK;
        ::close(fd);  // closing drops a lock this reader got
    }
    return st;
}

struct StatusPublisher::State {
    std::string dir;
    DaemonStatus status;
    std::function<std::size_t()> connections;
    int lock_fd = -1;
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::thread thread;
};

StatusPublisher::StatusPublisher(std::string run_dir, std::string name, std::function<std::size_t()> connections)
    : s_(std::make_unique<State>()) {
    s_->dir = std::move(run_dir);
    s_->connections = std::move(connections);
    s_->status.name = std::move(name);
    s_->status.pid = ::getpid();
    s_->status.started = unix_now();
    ::mkdir(s_->dir.c_str(), 0750);
    s_->lock_fd = ::open(lock_path(s_->dir, s_->status.name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    // A reader's shared lock lasts microseconds: try for a while before giving up (another instance).
    bool locked = false;
    for (int i = 0; s_->lock_fd >= 0 && i < 100 && !locked; ++i) {
        locked = ::flock(s_->lock_fd, LOCK_EX | LOCK_NB) == 0;
        if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!locked) {
        log::warn() << "status: cannot lock " << lock_path(s_->dir, s_->status.name)
                    << " (another roost-" << s_->status.name << " on this data_dir?); not publishing status";
        if (s_->lock_fd >= 0) ::close(s_->lock_fd);
        s_->lock_fd = -1;
        return;
    }
    s_->status.connections = s_->connections();
    s_->status.updated = unix_now();
    if (!write_status(s_->dir, s_->status)) log::warn() << "status: cannot write " << status_path(s_->dir, s_->status.name);
    s_->thread = std::thread([s = s_.get()] {
        std::unique_lock lock(s->mu);
        while (!s->cv.wait_for(lock, std::chrono::seconds(1), [s] { return s->stop; })) {
            auto n = s->connections();
            auto now = unix_now();
            if (n == s->status.connections && now - s->status.updated < kHeartbeatSeconds) continue;
            s->status.connections = n;
            s->status.updated = now;
            (void)write_status(s->dir, s->status);
        }
    });
}

StatusPublisher::~StatusPublisher() {
    if (s_->thread.joinable()) {
        {
            std::lock_guard lock(s_->mu);
            s_->stop = true;
        }
        s_->cv.notify_all();
        s_->thread.join();
    }
    if (s_->lock_fd >= 0) {
        ::unlink(status_path(s_->dir, s_->status.name).c_str());
        ::close(s_->lock_fd);
    }
}

}  // namespace roost
