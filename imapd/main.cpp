// roost-imapd — IMAP4rev1/IMAP4rev2 (RFC 3501, RFC 9051) with the extensions modern clients use.
//
// Security posture:
// - Talks to IMAP clients on its listeners (143 STARTTLS, 993 implicit TLS). Passwords are accepted only
//   over TLS unless `[imap] plaintext_auth` allows the client (default: loopback only); LOGINDISABLED
//   is advertised otherwise (RFC 9051 §6.2.3).
// - Reads the TLS key and binds its ports, then drops to `user` before accepting a connection.
// - Touches only data_dir (roost.db, run/). Logs never contain passwords or message contents.
#include "common/daemon/daemon.hpp"
#include "imapd/session/session.hpp"

using namespace roost;

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "imapd", [](Daemon& d) {
        auto handler = [&d](net::Connection& c) -> net::awaitable<void> {
            imapd::SessionContext ctx{d.config, *d.store, true};
            co_await imapd::run_session(c, ctx);
        };
        std::string busy = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
        d.server->listen({"imap", d.config.imap.listen, false, handler, busy});
        d.server->listen({"imaps", d.config.imap.listen_tls, true, handler, busy});
    });
}
