// Shared start-up of every Roost daemon: command line, configuration, TLS files, listeners, privilege
// drop, store, run until SIGTERM. Each daemon's main() supplies only its listeners.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/core/config.hpp"
#include "common/net/server.hpp"
#include "storage/mail_store.hpp"

namespace roost {

struct Daemon {
    std::string name;  // "smtpd", "imapd", ...
    Config config;
    std::unique_ptr<net::Server> server;
    // Opened after listeners are bound and privileges dropped, before the first connection is accepted.
    std::unique_ptr<store::MailStore> store;
    // Background components beside the listeners (roost-smtpd's outbound delivery): `on_start` runs once the
    // store is open, before the first connection is served; `on_stop` after the server has stopped.
    std::function<void()> on_start, on_stop;

    // True if a password may be accepted on this connection before TLS, per `[service] plaintext_auth`.
    static bool plaintext_auth_allowed(PlaintextAuth policy, bool loopback);
};

// Parses --config/--help/--version, loads the configuration and runs the daemon. `setup` registers the
// listeners (Daemon::server->listen). Returns the process exit code.
int daemon_main(int argc, char** argv, const std::string& name, const std::function<void(Daemon&)>& setup);

// Options for opening the store as configured (creates data_dir if needed).
store::StoreOptions store_options(const Config& config, bool notifications);

}  // namespace roost
