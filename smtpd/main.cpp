// roost-smtpd — receives mail (port 25, MX), accepts authenticated submissions (587 STARTTLS, 465 implicit
// TLS, RFC 8314), queues mail for remote recipients and delivers it (smtpd/outbound).
//
// Security posture:
// - Talks to anyone on the internet on port 25; to authenticated users on 587/465.
// - Never relays for unauthenticated clients (RFC 5321 §3.6, no open relay).
// - Reads the TLS key and binds its ports, then drops to `user` before accepting a connection.
// - Touches only data_dir (roost.db, run/, tls/). Logs never contain passwords or message bodies.
// - Outbound: connects to the MX hosts of recipient domains (or the configured smarthost) on port 25/587/465,
//   asks the configured DNS resolver, reads DKIM private keys from the store only to sign; the smarthost
//   password is sent only inside TLS (unless `[relay] tls = "none"`) and never logged.
#include <memory>

#include "common/daemon/daemon.hpp"
#include "smtpd/outbound/delivery.hpp"
#include "smtpd/protocol/reply.hpp"
#include "smtpd/session/session.hpp"

using namespace roost;

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "smtpd", [](Daemon& d) {
        auto busy = smtp::format_reply(421, "4.7.0", d.config.hostname + " Too many connections, try again later");
        auto handler = [&d](smtpd::Mode mode) {
            return [&d, mode](net::Connection& c) -> net::awaitable<void> {
                smtpd::SessionContext ctx{d.config, *d.store, mode, true};
                co_await smtpd::run_session(c, ctx);
            };
        };
        d.server->listen({"smtp", d.config.smtp.listen, false, handler(smtpd::Mode::Mx), busy});
        d.server->listen({"smtps", d.config.smtp.listen_tls, true, handler(smtpd::Mode::Mx), busy});
        d.server->listen({"submission", d.config.submission.listen, false, handler(smtpd::Mode::Submission), busy});
        d.server->listen({"submissions", d.config.submission.listen_tls, true, handler(smtpd::Mode::Submission), busy});
        // Outbound delivery runs beside the listeners, on its own thread, once the store is open.
        auto delivery = std::make_shared<std::unique_ptr<outbound::DeliveryService>>();
        d.on_start = [&d, delivery] {
            *delivery = std::make_unique<outbound::DeliveryService>(d.config, *d.store);
            (*delivery)->start();
        };
        d.on_stop = [delivery] { delivery->reset(); };
    });
}
