// Daemon status files: how roost-admin (or anyone with access to data_dir) learns which daemons are running,
// since when, and how many connections each has open, without talking to them.
//
// Each daemon, once it serves, holds an exclusive flock(2) on data_dir/run/<name>.lock for as long as it
// lives (the kernel drops it when the process dies, however it dies) and keeps data_dir/run/<name>.status
// up to date: written (write to a temporary file, then rename(2), so a reader never sees half a file) at
// start, whenever its open-connection count changes (checked every second) and at least every minute;
// removed on a clean stop. A reader calls a daemon up when its lock is held. docs/architecture.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roost {

struct DaemonStatus {
    std::string name;         // "smtpd", "imapd", "pop3d", "admin"
    bool running = false;     // the daemon's lock is held
    std::int64_t pid = 0;
    std::int64_t started = 0;      // unix seconds
    std::int64_t updated = 0;      // last write of the status file
    std::uint64_t connections = 0; // open client connections at `updated`
};

// The daemons `roost up` runs, in its order.
const std::vector<std::string>& daemon_names();

// Reads run_dir/<name>.status and checks run_dir/<name>.lock. A daemon that never ran, or stopped, has
// running == false and the other fields as last written (zero when there is no file).
DaemonStatus read_daemon_status(const std::string& run_dir, const std::string& name);

// Publishes this process's status (see above) from a thread of its own until destroyed; the destructor
// removes the status file. `connections` must be callable from that thread.
class StatusPublisher {
public:
    StatusPublisher(std::string run_dir, std::string name, std::function<std::size_t()> connections);
    ~StatusPublisher();
    StatusPublisher(const StatusPublisher&) = delete;
    StatusPublisher& operator=(const StatusPublisher&) = delete;

    static constexpr int kHeartbeatSeconds = 60;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace roost
