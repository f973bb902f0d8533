#include "common/daemon/daemon.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <cstring>
#include <iostream>

#include "common/core/certificate.hpp"
#include "common/core/log.hpp"
#include "common/daemon/status.hpp"

namespace roost {

bool Daemon::plaintext_auth_allowed(PlaintextAuth policy, bool loopback) {
    switch (policy) {
        case PlaintextAuth::Never: return false;
        case PlaintextAuth::Loopback: return loopback;
        case PlaintextAuth::Always: return true;
    }
    return false;
}

namespace {

// Every connection is a file descriptor. Service managers commonly start daemons with a soft limit of 1024
// (systemd's default) and a much higher hard limit: lift the soft limit, or [limits] max_connections could
// never be reached (accept() would fail with EMFILE from about a thousand connections on).
void raise_descriptor_limit(std::uint32_t max_connections) {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return;
    if (l.rlim_cur != l.rlim_max) {
        l.rlim_cur = l.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &l) != 0) (void)::getrlimit(RLIMIT_NOFILE, &l);
    }
    constexpr rlim_t kSpare = 64;  // store, listeners, TLS files, logs
    if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < rlim_t{max_connections} + kSpare)
        log::warn() << "open-file limit " << l.rlim_cur << " is below limits.max_connections (" << max_connections
                    << ") plus " << kSpare << "; connections beyond it will be refused";
}

}  // namespace

store::StoreOptions store_options(const Config& config, bool notifications) {
    ::mkdir(config.data_dir.c_str(), 0750);
    store::StoreOptions o;
    o.path = config.database_path();
    o.run_dir = config.run_dir();
    o.busy_timeout = config.store.busy_timeout;
    o.notifications = notifications;
    return o;
}

int daemon_main(int argc, char** argv, const std::string& name, const std::function<void(Daemon&)>& setup) {
    std::string config_arg;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) config_arg = argv[++i];
        else if (a.rfind("--config=", 0) == 0) config_arg = a.substr(9);
        else if (a == "--help" || a == "-h") {
            std::cout << "usage: roost-" << name << " [--config PATH]\n"
                      << "Default config: $ROOST_CONFIG or /etc/roost/roost.toml\n";
            return 0;
        } else if (a == "--version") {
            std::cout << "roost-" << name << " 0.1.0\n";
            return 0;
        } else {
            std::cerr << "roost-" << name << ": unknown argument '" << a << "'\n";
            return 2;
        }
    }
    Daemon d;
    d.name = name;
    log::set_service(name);
    try {
        d.config = load_config(config_path(config_arg));
    } catch (const ConfigError& e) {
        std::cerr << "roost-" << name << ": " << e.what() << "\n";
        return 2;
    }
    log::Level level;
    if (log::parse_level(d.config.log_level, level)) log::set_level(level);
    try {
        raise_descriptor_limit(d.config.limits.max_connections);
        ::mkdir(d.config.data_dir.c_str(), 0750);
        ensure_certificate(d.config.tls_cert_path(), d.config.tls_key_path(), d.config.hostname);
        net::ServerLimits limits;
        limits.max_connections = d.config.limits.max_connections;
        limits.max_connections_per_ip = d.config.limits.max_connections_per_ip;
        d.server = std::make_unique<net::Server>(d.config.tls_cert_path(), d.config.tls_key_path(), limits);
        setup(d);
        d.server->drop_privileges(d.config.user);
        d.store = store::open_sqlite_store(store_options(d.config, true));
        if (d.on_start) d.on_start();
        // data_dir/run/<name>.status and .lock: what roost-admin's status page reads (common/daemon/status.hpp).
        auto status = std::make_unique<StatusPublisher>(d.config.run_dir(), name,
                                                        [&d] { return d.server->active_connections(); });
        log::info() << "roost-" << name << " ready (hostname " << d.config.hostname << ", data " << d.config.data_dir << ")";
        d.server->run();
        status.reset();
        if (d.on_stop) d.on_stop();
        log::info() << "roost-" << name << " stopped";
        return 0;
    } catch (const std::exception& e) {
        log::error() << "fatal: " << e.what();
        std::cerr << "roost-" << name << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace roost
