// roost-admin — web admin panel, JSON API (/api/v1) and mail-client autoconfiguration.
//
// Security posture: talks to HTTP clients and to the store only. Listens on loopback (plain HTTP) by default;
// `[admin] listen_tls` serves HTTPS with the shared TLS certificate. Over plain HTTP, credentials are only
// accepted from loopback unless `[admin] plaintext_auth` says otherwise. Holds no privileges after the
// shared start-up drops them; reads its static files from the web root (read-only) and the daemons' status
// files (data_dir/run/*.status, *.lock), and writes nothing outside the store and its own status files.
// Request handling (store calls, password hashing) runs on the worker pool, so a slow commit or an Argon2
// hash never stalls the event loop. Limits: 16 KiB of headers, 1 MiB of body, 60 s of idleness per
// connection.
#include "admin-ui/api.hpp"
#include "admin-ui/http/message.hpp"
#include "admin-ui/security.hpp"
#include "common/core/log.hpp"
#include "common/daemon/daemon.hpp"

using namespace roost;

#ifndef ROOST_ADMIN_WEB_ROOT
#define ROOST_ADMIN_WEB_ROOT "/usr/share/roost/admin-web"
#endif

namespace {

constexpr std::chrono::seconds kIdleTimeout{60};

net::awaitable<void> serve(net::Connection& conn, Daemon& d, const std::string& web_root) {
    conn.set_timeout(kIdleTimeout);
    admin::Peer peer{conn.tls_active(), conn.peer_is_loopback(), conn.peer_ip(), conn.session_id()};
    admin::http::Limits limits;
    for (;;) {
        admin::http::Request req;
        auto read = co_await admin::http::read_request(conn, req, limits);
        if (read == admin::http::ReadResult::Closed) co_return;
        if (read != admin::http::ReadResult::Ok) {
            admin::http::Response r;
            r.status = read == admin::http::ReadResult::TooLarge ? 413 : 400;
            r.set("Content-Type", "application/json");
            r.body = r.status == 413 ? "{\"error\":\"request too large\"}\n" : "{\"error\":\"malformed HTTP request\"}\n";
            admin::add_security_headers(r, peer.tls);
            co_await conn.write(admin::http::serialize(r, false, false));
            co_return;
        }
        admin::Outcome out;
        admin::AppContext ctx{d.config, *d.store, web_root};
        co_await conn.run_blocking([&] { out = admin::handle_request(ctx, req, peer); });
        if (out.delay.count() > 0) co_await conn.sleep(out.delay);
        log::debug(conn.session_id()) << req.method << " " << log::escape(req.path) << " " << out.response.status;
        bool keep = req.keep_alive && !conn.shutting_down();
        auto bytes = admin::http::serialize(out.response, keep, req.method == "HEAD");
        bool written = co_await conn.write(bytes);
        if (!written || !keep) co_return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "admin", [](Daemon& d) {
        auto web_root = d.config.admin_options.web_root.empty() ? std::string(ROOST_ADMIN_WEB_ROOT)
                                                                : d.config.admin_options.web_root;
        auto handler = [&d, web_root](net::Connection& c) { return serve(c, d, web_root); };
        d.server->listen({"admin", d.config.admin.listen, false, handler, ""});
        d.server->listen({"admin-tls", d.config.admin.listen_tls, true, handler, ""});
    });
}
