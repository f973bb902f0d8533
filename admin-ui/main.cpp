// roost-admin — web admin panel, JSON API and client autoconfiguration.
// Security posture: listens on loopback by default; talks to the store only.
//
// The HTTP server arrives with its own issue; until then it answers every connection with
// 503 Service Unavailable and a JSON error body.
#include "common/daemon/daemon.hpp"

using namespace roost;

namespace {
net::awaitable<void> unavailable(net::Connection& c) {
    static constexpr std::string_view body = "{\"error\":\"the admin API is not available in this build\"}\n";
    co_await c.write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body));
}
}  // namespace

int main(int argc, char** argv) {
    return daemon_main(argc, argv, "admin", [](Daemon& d) {
        d.server->listen({"admin", d.config.admin.listen, false, unavailable, ""});
        d.server->listen({"admin-tls", d.config.admin.listen_tls, true, unavailable, ""});
    });
}
