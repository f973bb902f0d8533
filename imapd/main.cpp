// roost-imapd — IMAP4rev1/IMAP4rev2 (RFC 3501, RFC 9051).
// Security posture: talks to IMAP clients on its listeners and to the store (data_dir/roost.db); reads the
// TLS key before dropping privileges; never writes outside data_dir.
//
// The IMAP protocol engine arrives with its own issue; until then the daemon binds its listeners and
// answers every client with an untagged BYE carrying [UNAVAILABLE] (RFC 5530), so clients retry later.
#include "common/daemon/daemon.hpp"

using namespace roost;

namespace {
net::awaitable<void> unavailable(net::Connection& c) {
    co_await c.write("* BYE [UNAVAILABLE] IMAP service is not available in this build\r\n");
}
}  // namespace

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "imapd", [](Daemon& d) {
        d.server->listen({"imap", d.config.imap.listen, false, unavailable, ""});
        d.server->listen({"imaps", d.config.imap.listen_tls, true, unavailable, ""});
    });
}
