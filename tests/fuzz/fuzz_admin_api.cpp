// libFuzzer entry point for roost-admin's request handling (admin-ui/api.cpp): JSON bodies and path
// parameters of every route, and the HTTP request parser in front of them (admin-ui/http/message.cpp).
//
// A real SQLite store in a temporary folder, one admin and one API token are set up once; every input is
// then one request authenticated with that token.
// Input: the first byte selects the mode.
//   bit 7 set: the rest is raw bytes of an HTTP request, fed to RequestReader (in pieces whose sizes come
//              from the byte's low bits); a complete request gets the token and is handled.
//   bit 7 clear: the low bits pick a route; the rest is "PATH-ARGUMENT\n" followed by the JSON body.
// Invariants checked (abort on violation): no crash/UB/exception; no 5xx but 503/507 (the store's
// temporary answers) — bad input is a 4xx; every /api/ answer is JSON, errors an object with "error".
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admin-ui/api.hpp"
#include "admin-ui/security.hpp"
#include "common/auth/password.hpp"
#include "common/core/config.hpp"
#include "storage/mail_store.hpp"

namespace {

using namespace roost;

void require(bool ok) {
    if (!ok) std::abort();
}

[[noreturn]] void fail(const admin::http::Request& req, const admin::http::Response& res, const char* why) {
    std::fprintf(stderr, "fuzz_admin_api: %s: %s %s -> %d %s\n", why, req.method.c_str(), req.target.c_str(),
                 res.status, res.body.substr(0, 300).c_str());
    std::abort();
}

struct Fixture {
    std::string dir;
    Config config;
    std::unique_ptr<store::MailStore> store;
    std::string token = "fuzz-token-0123456789abcdef";

    Fixture() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "roost-fuzz-admin-XXXXXX").string();
        require(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        config = parse_config("hostname = \"mx.fuzz.test\"\ndata_dir = \"" + dir +
                                  "\"\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
                              "fuzz", false);
        store::StoreOptions o;
        o.path = config.database_path();
        o.run_dir = config.run_dir();
        o.notifications = false;
        store = store::open_sqlite_store(o);
        require(static_cast<bool>(store->add_domain("fuzz.test")));
        auth::Argon2Params weak;
        weak.m_cost_kib = 64;
        weak.t_cost = 1;
        require(static_cast<bool>(store->add_admin("admin@fuzz.test", auth::hash_password("pw", weak))));
        require(static_cast<bool>(store->add_api_token("fuzz", admin::sha256_hex(token), "admin@fuzz.test")));
    }
    ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

struct RouteCase {
    const char* method;
    const char* path;  // "{}" is replaced by the path argument
};
// Every route but DKIM key generation (a 2048-bit RSA key per input would only measure OpenSSL).
const RouteCase kCases[] = {
    {"POST", "/api/v1/login"},          {"POST", "/api/v1/logout"},
    {"GET", "/api/v1/session"},         {"GET", "/api/v1/me"},
    {"POST", "/api/v1/me/password"},    {"GET", "/api/v1/status"},
    {"GET", "/api/v1/domains"},         {"POST", "/api/v1/domains"},
    {"DELETE", "/api/v1/domains/{}"},   {"GET", "/api/v1/domains/{}/dns"},
    {"DELETE", "/api/v1/domains/fuzz.test/dkim/{}"},
    {"GET", "/api/v1/users"},           {"POST", "/api/v1/users"},
    {"GET", "/api/v1/users/{}"},        {"DELETE", "/api/v1/users/{}"},
    {"GET", "/api/v1/users/{}/mailboxes"}, {"PUT", "/api/v1/users/{}/password"},
    {"PUT", "/api/v1/users/{}/quota"},  {"PUT", "/api/v1/users/{}/enabled"},
    {"GET", "/api/v1/aliases"},         {"POST", "/api/v1/aliases"},
    {"DELETE", "/api/v1/aliases/{}"},   {"GET", "/api/v1/queue"},
    {"POST", "/api/v1/queue/flush"},    {"GET", "/api/v1/queue/{}"},
    {"DELETE", "/api/v1/queue/{}"},     {"POST", "/api/v1/queue/{}/retry"},
    {"GET", "/api/v1/deliveries?q={}"}, {"GET", "/api/v1/tokens"},
    {"POST", "/api/v1/tokens"},         {"DELETE", "/api/v1/tokens/{}"},
    {"GET", "/mail/config-v1.1.xml?emailaddress={}"},
    {"POST", "/autodiscover/autodiscover.xml"},
};

void handle_and_check(admin::http::Request req) {
    auto& f = fixture();
    req.headers["authorization"] = "Bearer " + f.token;
    req.headers["host"] = "localhost";
    admin::AppContext ctx{f.config, *f.store, f.dir};
    admin::Peer peer;
    peer.loopback = true;
    peer.ip = "127.0.0.1";
    auto out = admin::handle_request(ctx, req, peer);
    int st = out.response.status;
    if (st < 100 || st > 599) fail(req, out.response, "bad status");
    if (st >= 500 && st != 503 && st != 507) fail(req, out.response, "server error for client input");
    if (req.path.rfind("/api/", 0) == 0) {
        auto j = nlohmann::json::parse(out.response.body, nullptr, false);
        if (j.is_discarded() || !(j.is_object() || j.is_array())) fail(req, out.response, "answer is not JSON");
        if (st >= 400 && !(j.contains("error") && j["error"].is_string())) fail(req, out.response, "no error text");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const unsigned mode = data[0];
    try {
        if (mode & 0x80) {
            admin::http::Limits limits;
            admin::http::RequestReader reader(limits);
            std::size_t piece = (mode & 0x0F) + 1, pos = 0;
            auto state = admin::http::RequestReader::State::NeedMore;
            while (pos < in.size() && state == admin::http::RequestReader::State::NeedMore) {
                std::size_t consumed = 0;
                auto chunk = in.substr(pos, std::max(piece, std::size_t(1)));
                state = reader.feed(chunk, consumed);
                require(consumed <= chunk.size());
                pos += consumed;
                if (consumed == 0 && state == admin::http::RequestReader::State::NeedMore) piece *= 2;
                if (piece > in.size() + 1) break;
            }
            if (state == admin::http::RequestReader::State::Done) handle_and_check(reader.take());
            return 0;
        }
        const auto& c = kCases[mode % (sizeof kCases / sizeof kCases[0])];
        auto nl = in.find('\n');
        std::string arg(in.substr(0, nl == std::string_view::npos ? 0 : nl));
        std::string body(nl == std::string_view::npos ? in : in.substr(nl + 1));
        admin::http::Request req;
        req.method = c.method;
        std::string target = c.path;
        if (auto at = target.find("{}"); at != std::string::npos) target.replace(at, 2, arg);
        req.target = target;
        auto q = target.find('?');
        req.path = target.substr(0, q);
        if (q != std::string::npos) req.query[target.substr(q + 1, target.find('=', q) - q - 1)] = arg;
        req.headers["content-type"] = "application/json";
        req.body = std::move(body);
        handle_and_check(std::move(req));
    } catch (...) {
        std::abort();  // handle_request answers every input; an escaping exception is a bug
    }
    return 0;
}
