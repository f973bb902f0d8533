// roost-pop3d — POP3 (RFC 1939, RFC 2449).
// Security posture: talks to POP3 clients on its listeners and to the store (data_dir/roost.db); reads the
// TLS key before dropping privileges; never writes outside data_dir.
//
// The POP3 protocol engine arrives with its own issue; until then every client gets a -ERR [SYS/TEMP]
// greeting (RFC 3206) and the connection closes.
#include "common/daemon/daemon.hpp"

using namespace roost;

namespace {
net::awaitable<void> unavailable(net::Connection& c) {
    co_await c.write("-ERR [SYS/TEMP] POP3 service is not available in this build\r\n");
}
}  // namespace

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "pop3d", [](Daemon& d) {
        d.server->listen({"pop3", d.config.pop3.listen, false, unavailable, ""});
        d.server->listen({"pop3s", d.config.pop3.listen_tls, true, unavailable, ""});
    });
}
