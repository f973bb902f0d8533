// Server — the networking core of every daemon: an io_context per thread, listeners for plain and
// implicit-TLS ports, per-IP and total connection limits, graceful shutdown on SIGTERM/SIGINT (stop
// accepting, let sessions finish their transaction, then close idle ones), and privilege dropping.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/net/connection.hpp"

namespace roost {
struct Config;
}

namespace roost::net {

using SessionHandler = std::function<awaitable<void>(Connection&)>;

struct ListenerSpec {
    std::string name;                     // "smtp", "submission", ... for logs
    std::vector<std::string> endpoints;   // "addr:port"
    bool implicit_tls = false;
    SessionHandler handler;
    std::string busy_reply;               // sent before closing when a connection limit is hit
};

struct ServerLimits {
    std::uint32_t max_connections = 5000;
    std::uint32_t max_connections_per_ip = 50;
    std::chrono::seconds tls_handshake_timeout{30};
    std::chrono::seconds shutdown_grace{30};
};

class Server {
public:
    // `threads` = 0: one per core, at most 4.
    Server(const std::string& cert_path, const std::string& key_path, ServerLimits limits, unsigned threads = 0);
    ~Server();

    // Binds now (so errors surface before privileges are dropped); accepting starts in run().
    void listen(ListenerSpec spec);
    // Binds each listener's actual port (useful with port 0 in tests).
    std::vector<std::uint16_t> bound_ports(const std::string& name) const;
    // setuid/setgid to `user` if running as root (after every listen()).
    void drop_privileges(const std::string& user);
    // Runs until SIGTERM/SIGINT or stop(), then shuts down gracefully. Blocks.
    void run();
    void stop();
    std::size_t active_connections() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace roost::net
