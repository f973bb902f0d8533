// roost-pop3d — POP3 (RFC 1939) with CAPA and response codes (RFC 2449, RFC 3206), STLS (RFC 2595) on port
// 110, implicit TLS on 995 (RFC 8314), and SASL PLAIN/LOGIN (RFC 5034).
//
// Security posture:
// - Talks to POP3 clients on its listeners; passwords are accepted only over TLS unless `[pop3]
//   plaintext_auth` exempts the client (default: loopback only). APOP is not offered (it would need
//   plaintext-equivalent secrets).
// - Failed logins go through the shared throttle (per address and per account, delays then lock-out).
// - Reads the TLS key and binds its ports, then drops to `user` before accepting a connection.
// - Touches only data_dir (roost.db, run/ for the maildrop locks, tls/). It removes messages only on QUIT,
//   in one store transaction. Logs never contain passwords or message bodies.
#include "common/daemon/daemon.hpp"
#include "pop3d/protocol/response.hpp"
#include "pop3d/session/session.hpp"

using namespace roost;

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "pop3d", [](Daemon& d) {
        auto busy = pop3::err(pop3::Code::SysTemp, "Too many connections, try again later");
        auto handler = [&d](net::Connection& c) -> net::awaitable<void> {
            pop3d::SessionContext ctx{d.config, *d.store, true};
            co_await pop3d::run_session(c, ctx);
        };
        d.server->listen({"pop3", d.config.pop3.listen, false, handler, busy});
        d.server->listen({"pop3s", d.config.pop3.listen_tls, true, handler, busy});
    });
}
