// The /api/v1 JSON API, panel sessions and static files.
//
// Security posture:
//  - Every /api/v1 route except POST /login needs a caller: a session cookie (HttpOnly, SameSite=Strict,
//    Secure and __Host- prefixed on TLS) or an `Authorization: Bearer` API token. Only admins reach the
//    administrative routes; a mail user's session reaches /session, /logout and /me only.
//  - CSRF: every state-changing request (POST/PUT/DELETE) made with a cookie must carry the session's token in
//    X-CSRF-Token; every request with a body must be application/json (a cross-site form cannot send that
//    without a CORS preflight, which this server never grants); a foreign Origin is refused outright.
//  - Over plain HTTP, credentials are accepted only per `[admin] plaintext_auth` (loopback by default).
//  - Logins go through the failed-login throttle every daemon shares (same store records and policy).
//  - Session ids and API tokens are stored as SHA-256 digests only.
//  - Errors are `{"error": "..."}` with a 4xx status naming the problem; store errors map at one place
//    (status_of); server faults are 500/503 (507 when the disk is full) and logged.
#include "admin-ui/api.hpp"
#include "common/daemon/authenticator.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>

#include "admin-ui/autoconfig.hpp"
#include "admin-ui/security.hpp"
#include "common/auth/password.hpp"
#include "common/auth/throttle.hpp"
#include "common/core/log.hpp"
#include "common/daemon/status.hpp"
#include "common/mail/header.hpp"
#include "smtpd/outbound/dkim.hpp"
#include "smtpd/outbound/dkim_admin.hpp"
#include "smtpd/outbound/queue_admin.hpp"
#include "storage/address.hpp"

namespace roost::admin {
namespace {

using json = nlohmann::json;

// ----- errors -----
struct ApiError {
    int status;
    std::string message;
};

[[noreturn]] void refuse(int status, std::string message) { throw ApiError{status, std::move(message)}; }

int status_of(store::Errc e) {
    switch (e) {
        case store::Errc::NotFound: return 404;
        case store::Errc::AlreadyExists: return 409;
        case store::Errc::Invalid: return 400;
        case store::Errc::OverQuota: return 409;
        case store::Errc::InUse: return 409;
        case store::Errc::Temporary: return 503;
        case store::Errc::StorageFull: return 507;  // RFC 4918 §11.5 Insufficient Storage
        case store::Errc::Internal: return 500;
    }
    return 500;
}

template <class T>
T check(store::Result<T> r) {
    if (!r) refuse(status_of(r.error().code), r.error().message);
    return std::move(r).value();
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

http::Response json_response(int status, const json& body) {
    http::Response r;
    r.status = status;
    r.set("Content-Type", "application/json; charset=utf-8");
    r.set("Cache-Control", "no-store");
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}

http::Response error_response(int status, const std::string& message) {
    return json_response(status, json{{"error", message}});
}

// ----- the caller -----
struct Caller {
    std::string subject;  // address
    bool admin = false;
    bool via_token = false;
    std::string csrf;            // session only
    std::string session_digest;  // session only
};

constexpr const char* kCookieTls = "__Host-roost_session";
constexpr const char* kCookiePlain = "roost_session";

struct Call {
    const AppContext& ctx;
    const http::Request& req;
    const Peer& peer;
    std::map<std::string, std::string> params;  // {name} segments of the route
    std::optional<Caller> caller;
    std::chrono::milliseconds delay{0};

    store::MailStore& store() const { return ctx.store; }
    const std::string& param(const std::string& n) const { return params.at(n); }

    json body() const {
        auto type = lower(req.header("content-type"));
        if (type.rfind("application/json", 0) != 0) refuse(415, "the request body must be application/json");
        json j = json::parse(req.body, nullptr, false);
        if (j.is_discarded() || !j.is_object()) refuse(400, "the request body is not a JSON object");
        return j;
    }
};

std::string string_field(const json& j, const char* name, bool required = true) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) {
        if (required) refuse(400, std::string("missing field '") + name + "'");
        return {};
    }
    if (!it->is_string()) refuse(400, std::string("field '") + name + "' must be a string");
    return it->get<std::string>();
}

auth::Argon2Params argon2(const Config& c) {
    auth::Argon2Params p;
    p.m_cost_kib = c.auth.argon2_memory_kib;
    p.t_cost = c.auth.argon2_iterations;
    return p;
}

std::string checked_password(const std::string& pw) {
    if (pw.size() < 8) refuse(400, "the password must have at least 8 characters");
    if (pw.size() > 1024) refuse(400, "the password is too long (at most 1024 bytes)");
    for (unsigned char c : pw)
        if (c < 0x20 || c == 0x7f) refuse(400, "the password contains control characters");
    return pw;
}

std::uint64_t quota_field(const json& j) {
    auto it = j.find("quota");
    if (it == j.end() || it->is_null()) return 0;
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(it->get<std::int64_t>());
    if (it->is_string()) {
        std::uint64_t q = 0;
        auto s = it->get<std::string>();
        if (s.empty()) return 0;
        if (parse_size(s, q)) return q;
    }
    refuse(400, "invalid quota: give bytes as a number, or a size like \"500M\" or \"2G\" (0 = unlimited)");
}

// ----- sessions -----
std::string session_cookie(const Call& c, const std::string& value, std::int64_t max_age) {
    // RFC 6265bis: __Host- requires Secure, Path=/ and no Domain, so no subdomain can plant the cookie.
    std::string name = c.peer.tls ? kCookieTls : kCookiePlain;
    std::string s = name + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
    if (c.peer.tls) s += "; Secure";
    return s;
}

std::optional<Caller> identify(Call& c) {
    auto authz = c.req.header("authorization");
    if (authz.size() > 7 && lower(authz.substr(0, 7)) == "bearer ") {
        auto token = authz.substr(7);
        auto t = c.store().use_api_token(sha256_hex(token), unix_now());
        if (!t) {
            if (t.error().code == store::Errc::NotFound) refuse(401, "invalid API token");
            check(std::move(t));
        }
        // A token acts for the admin who created it, and dies with that admin.
        if (!c.store().find_admin(t->admin)) refuse(401, "the API token's admin no longer exists");
        return Caller{t->admin, true, true, "", ""};
    }
    auto cookie = c.req.cookie(c.peer.tls ? kCookieTls : kCookiePlain);
    if (cookie.empty()) return std::nullopt;
    auto digest = sha256_hex(cookie);
    auto s = c.store().find_web_session(digest, unix_now());
    if (!s) {
        if (s.error().code == store::Errc::NotFound) return std::nullopt;
        check(std::move(s));
    }
    return Caller{s->subject, s->is_admin, false, s->csrf, digest};
}

json session_json(const Caller& c) { return json{{"user", c.subject}, {"admin", c.admin}, {"csrf", c.csrf}}; }

// ----- handlers -----
using Handler = http::Response (*)(Call&);

http::Response login(Call& c) {
    auto body = c.body();
    auto user = lower(string_field(body, "username"));
    auto password = string_field(body, "password");
    if (user.empty() || password.empty()) refuse(400, "enter an address and a password");
    if (password.size() > auth::kMaxPasswordBytes) refuse(400, "the password is too long");
    auto& st = c.store();
    auto policy = throttle_policy(c.ctx.config);
    auto ip_key = "ip:" + c.peer.ip, user_key = "user:" + user;
    auto now = std::chrono::system_clock::now();
    // Same rule as authenticator.cpp: loopback clients are throttled per account only.
    auto ip_state = c.peer.loopback ? auth::FailureState{} : failure_state(st.auth_failures(ip_key));
    auto user_state = failure_state(st.auth_failures(user_key));
    auto before = auth::decide(policy, ip_state, user_state, now);
    if (before.locked_out) {
        auto r = error_response(429, "too many failed logins; try again later");
        r.set("Retry-After", std::to_string(before.retry_after.count()));
        return r;
    }
    // Verify against a fixed hash for unknown users, so timing does not reveal who exists.
    static const std::string dummy = auth::hash_password("roost-dummy-password", auth::Argon2Params{});
    bool ok = false, is_admin = false;
    // Two verifications on every path, so timing does not reveal whether the address is an administrator.
    if (auto adm = st.find_admin(user)) {
        ok = is_admin = auth::verify_password(password, adm->password_hash);
    } else {
        (void)auth::verify_password(password, dummy);
    }
    if (!ok) {
        auto acc = st.find_account(user);
        if (!acc && acc.error().code == store::Errc::Temporary) refuse(503, "the store is busy; try again");
        bool verified = auth::verify_password(password, acc ? acc->password_hash : dummy);
        ok = verified && acc && acc->enabled;
    }
    if (!ok) {
        (void)st.record_auth_failure(user_key, policy.window);
        if (!c.peer.loopback) (void)st.record_auth_failure(ip_key, policy.window);
        auto after = auth::decide(policy, auth::record_failure(policy, ip_state, now),
                                  auth::record_failure(policy, user_state, now), now);
        c.delay = after.delay;
        log::info(c.peer.session_id) << "admin: login failed for " << log::escape(user) << " from " << c.peer.ip;
        return error_response(401, "wrong address or password");
    }
    (void)st.clear_auth_failures(user_key);
    if (!c.peer.loopback && ip_state.failures) (void)st.clear_auth_failures(ip_key);
    auto token = random_hex(32);
    store::WebSession ws;
    ws.id_digest = sha256_hex(token);
    ws.subject = user;
    ws.is_admin = is_admin;
    ws.csrf = random_hex(32);
    auto lifetime = c.ctx.config.admin_options.session_lifetime.count();
    ws.expires = unix_now() + lifetime;
    check(st.add_web_session(ws));
    log::info(c.peer.session_id) << "admin: " << (is_admin ? "admin " : "user ") << log::escape(user) << " logged in from "
                                 << c.peer.ip;
    auto r = json_response(200, session_json(Caller{user, is_admin, false, ws.csrf, ws.id_digest}));
    r.set("Set-Cookie", session_cookie(c, token, lifetime));
    return r;
}

http::Response logout(Call& c) {
    if (!c.caller->via_token) check(c.store().remove_web_session(c.caller->session_digest));
    auto r = json_response(200, json{{"ok", true}});
    r.set("Set-Cookie", session_cookie(c, "", 0));
    return r;
}

http::Response get_session(Call& c) { return json_response(200, session_json(*c.caller)); }

json account_json(const store::Account& a) {
    return json{{"address", a.address},       {"quota", a.quota_bytes}, {"used", a.used_bytes},
                {"enabled", a.enabled},       {"created", a.created}};
}

json mailbox_json(const store::Mailbox& m) {
    return json{{"name", m.name},         {"special_use", m.special_use}, {"messages", m.messages},
                {"unseen", m.unseen},     {"size", m.size},               {"subscribed", m.subscribed}};
}

http::Response get_me(Call& c) {
    json j{{"address", c.caller->subject}, {"admin", c.caller->admin}};
    auto acc = c.store().find_account(c.caller->subject);
    if (acc) {
        j["quota"] = acc->quota_bytes;
        j["used"] = acc->used_bytes;
        json boxes = json::array();
        for (auto& m : check(c.store().list_mailboxes(acc->id))) boxes.push_back(mailbox_json(m));
        j["mailboxes"] = boxes;
    }
    return json_response(200, j);
}

http::Response change_my_password(Call& c) {
    auto body = c.body();
    auto current = string_field(body, "current_password");
    auto next = checked_password(string_field(body, "new_password"));
    auto& st = c.store();
    auto& who = c.caller->subject;
    auto hash = auth::hash_password(next, argon2(c.ctx.config));
    if (c.caller->admin) {
        auto adm = check(st.find_admin(who));
        if (!auth::verify_password(current, adm.password_hash)) {
            (void)st.record_auth_failure("user:" + who, throttle_policy(c.ctx.config).window);
            refuse(403, "the current password is wrong");
        }
        check(st.set_admin_password(who, hash));
    } else {
        auto acc = check(st.find_account(who));
        if (!auth::verify_password(current, acc.password_hash)) {
            (void)st.record_auth_failure("user:" + who, throttle_policy(c.ctx.config).window);
            refuse(403, "the current password is wrong");
        }
        check(st.set_password(who, hash));
    }
    // Every other login of this person ends; this one stays.
    check(st.remove_web_sessions_of(who, c.caller->session_digest));
    log::info(c.peer.session_id) << "admin: password changed for " << log::escape(who);
    return json_response(200, json{{"ok", true}});
}

json dkim_key_json(const store::DkimKey& k) {
    std::string error;
    auto value = outbound::dkim_dns_value(k.private_key_pem, k.algorithm, error);
    return json{{"selector", k.selector},
                {"algorithm", k.algorithm},
                {"created", k.created},
                {"name", k.selector + "._domainkey." + k.domain + "."},
                {"value", value ? *value : std::string()}};
}

// Domains
http::Response list_domains(Call& c) {
    json out = json::array();
    auto accounts = check(c.store().list_accounts());
    auto aliases = check(c.store().list_aliases());
    for (auto& d : check(c.store().list_domains())) {
        auto suffix = "@" + d.name;
        auto ends = [&](const std::string& a) { return a.size() >= suffix.size() && a.compare(a.size() - suffix.size(), suffix.size(), suffix) == 0; };
        auto na = std::count_if(accounts.begin(), accounts.end(), [&](auto& a) { return ends(a.address); });
        auto nl = std::count_if(aliases.begin(), aliases.end(), [&](auto& a) { return ends(a.source) || a.source == suffix; });
        out.push_back(json{{"name", d.name}, {"created", d.created}, {"users", na}, {"aliases", nl}});
    }
    return json_response(200, out);
}

http::Response add_domain(Call& c) {
    auto body = c.body();
    auto d = check(c.store().add_domain(string_field(body, "name")));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " added domain " << d.name;
    return json_response(201, json{{"name", d.name}, {"created", d.created}, {"users", 0}, {"aliases", 0}});
}

http::Response remove_domain(Call& c) {
    check(c.store().remove_domain(c.param("name")));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " removed domain "
                                 << log::escape(c.param("name"));
    return json_response(200, json{{"ok", true}});
}

http::Response dns_for_domain(Call& c) {
    auto d = check(c.store().find_domain(c.param("name")));
    json records = json::array();
    std::string zone;
    for (auto& r : dns_records(c.ctx.config, c.store(), d.name)) {
        records.push_back(json{{"purpose", r.purpose}, {"name", r.name}, {"type", r.type}, {"value", r.value},
                               {"zone_line", r.zone_line()}});
        zone += r.zone_line() + "\n";
    }
    json keys = json::array();
    for (auto& k : check(c.store().dkim_keys(d.name))) keys.push_back(dkim_key_json(k));
    // What cannot be published yet is said, not faked: the zone gets a comment (safe to paste), not a record.
    json missing = json::array();
    if (keys.empty()) {
        std::string note = "DKIM: no signing key for " + d.name + " yet; generate one (POST .../dkim, the panel's "
                           "Generate button or `roost dkim generate " + d.name + "`) and its TXT record appears here";
        missing.push_back(note);
        zone += "; " + note + "\n";
    }
    return json_response(200, json{{"domain", d.name}, {"hostname", c.ctx.config.hostname}, {"records", records},
                                   {"zone", zone}, {"dkim_keys", keys}, {"missing", missing}});
}

// DKIM keys: the same code as `roost dkim generate|remove` (smtpd/outbound/dkim_admin).
http::Response generate_dkim(Call& c) {
    auto body = c.body();
    auto algorithm = string_field(body, "algorithm", false);
    auto selector = string_field(body, "selector", false);
    auto k = check(outbound::create_dkim_key(c.store(), c.param("name"), algorithm, selector, unix_now()));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " generated DKIM key " << k.selector
                                 << " (" << k.algorithm << ") for " << k.domain;
    // The DNS record to publish, in the form the DNS helper lists it.
    auto value = dns_txt_strings(k.dns_value);
    DnsRecord r{"DKIM", k.dns_name, "TXT", value};
    return json_response(201, json{{"domain", k.domain},
                                   {"selector", k.selector},
                                   {"algorithm", k.algorithm},
                                   {"record", json{{"purpose", r.purpose}, {"name", r.name}, {"type", r.type},
                                                   {"value", r.value}, {"zone_line", r.zone_line()}}}});
}

http::Response remove_dkim(Call& c) {
    auto d = check(c.store().find_domain(c.param("name")));
    check(c.store().remove_dkim_key(d.name, c.param("selector")));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " removed DKIM key "
                                 << log::escape(c.param("selector")) << " of " << d.name;
    return json_response(200, json{{"ok", true}});
}

// Users
http::Response list_users(Call& c) {
    auto it = c.req.query.find("domain");
    std::string domain = it == c.req.query.end() ? std::string() : it->second;
    if (!domain.empty()) check(c.store().find_domain(domain));
    json out = json::array();
    for (auto& a : check(c.store().list_accounts(domain))) out.push_back(account_json(a));
    return json_response(200, out);
}

http::Response add_user(Call& c) {
    auto body = c.body();
    auto address = string_field(body, "address");
    auto password = checked_password(string_field(body, "password"));
    auto quota = quota_field(body);
    if (!store::normalize_address(address)) refuse(400, "invalid address '" + address + "'");
    auto hash = auth::hash_password(password, argon2(c.ctx.config));
    auto a = check(c.store().add_account(address, hash, quota));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " added user " << a.address;
    return json_response(201, account_json(a));
}

http::Response get_user(Call& c) {
    auto a = check(c.store().find_account(c.param("address")));
    auto j = account_json(a);
    json boxes = json::array();
    for (auto& m : check(c.store().list_mailboxes(a.id))) boxes.push_back(mailbox_json(m));
    j["mailboxes"] = boxes;
    return json_response(200, j);
}

http::Response user_mailboxes(Call& c) {
    auto a = check(c.store().find_account(c.param("address")));
    json boxes = json::array();
    for (auto& m : check(c.store().list_mailboxes(a.id))) boxes.push_back(mailbox_json(m));
    return json_response(200, boxes);
}

http::Response set_user_password(Call& c) {
    auto body = c.body();
    auto password = checked_password(string_field(body, "password"));
    auto a = check(c.store().find_account(c.param("address")));
    check(c.store().set_password(a.address, auth::hash_password(password, argon2(c.ctx.config))));
    check(c.store().remove_web_sessions_of(a.address, ""));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " set the password of " << a.address;
    return json_response(200, json{{"ok", true}});
}

http::Response set_user_quota(Call& c) {
    auto body = c.body();
    if (!body.contains("quota")) refuse(400, "missing field 'quota'");
    auto quota = quota_field(body);
    auto a = check(c.store().find_account(c.param("address")));
    check(c.store().set_quota(a.address, quota));
    a.quota_bytes = quota;
    return json_response(200, account_json(a));
}

http::Response set_user_enabled(Call& c) {
    auto body = c.body();
    auto it = body.find("enabled");
    if (it == body.end() || !it->is_boolean()) refuse(400, "field 'enabled' must be true or false");
    auto a = check(c.store().find_account(c.param("address")));
    check(c.store().set_enabled(a.address, it->get<bool>()));
    if (!it->get<bool>()) check(c.store().remove_web_sessions_of(a.address, ""));
    a.enabled = it->get<bool>();
    return json_response(200, account_json(a));
}

http::Response remove_user(Call& c) {
    auto a = check(c.store().find_account(c.param("address")));
    check(c.store().remove_account(a.address));
    check(c.store().remove_web_sessions_of(a.address, ""));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " removed user " << a.address;
    return json_response(200, json{{"ok", true}});
}

// Aliases
http::Response list_aliases(Call& c) {
    auto it = c.req.query.find("domain");
    std::string domain = it == c.req.query.end() ? std::string() : it->second;
    if (!domain.empty()) check(c.store().find_domain(domain));
    json out = json::array();
    for (auto& a : check(c.store().list_aliases(domain)))
        out.push_back(json{{"source", a.source}, {"targets", a.targets}, {"catch_all", !a.source.empty() && a.source[0] == '@'}});
    return json_response(200, out);
}

http::Response add_alias(Call& c) {
    auto body = c.body();
    auto source = string_field(body, "source");
    std::vector<std::string> targets;
    auto it = body.find("targets");
    if (it == body.end() || !it->is_array() || it->empty()) refuse(400, "field 'targets' must be a non-empty array of addresses");
    for (auto& t : *it) {
        if (!t.is_string()) refuse(400, "field 'targets' must be a non-empty array of addresses");
        targets.push_back(t.get<std::string>());
    }
    check(c.store().add_alias(source, targets));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " added alias " << log::escape(source);
    return json_response(201, json{{"source", lower(source)}, {"targets", targets}});
}

http::Response remove_alias(Call& c) {
    auto it = c.req.query.find("target");
    std::string target = it == c.req.query.end() ? std::string() : it->second;
    auto existing = c.store().alias_targets(c.param("source"));
    if (!existing || existing->empty()) refuse(404, "unknown alias '" + c.param("source") + "'");
    if (!target.empty() && std::find(existing->begin(), existing->end(), lower(target)) == existing->end())
        refuse(404, "alias '" + c.param("source") + "' has no target '" + target + "'");
    check(c.store().remove_alias(c.param("source"), target));
    return json_response(200, json{{"ok", true}});
}

// Queue: the same code as `roost queue ...` (smtpd/outbound/queue_admin).
json queue_json(const store::QueueEntry& e, std::int64_t now) {
    json rcpts = json::array();
    for (auto& r : e.recipients)
        rcpts.push_back(json{{"address", r.address}, {"status", r.status}, {"last_reply", r.last_reply},
                             {"remote_mta", r.remote_mta}});
    return json{{"id", e.id},
                {"sender", e.sender},
                {"subject", e.subject},
                {"recipients", rcpts},
                {"size", e.size},
                {"created", e.created},
                {"next_attempt", e.next_attempt},
                {"attempts", e.attempts},
                {"last_error", e.last_error},
                {"being_delivered", e.lease_until > now}};
}

std::int64_t queue_id(const Call& c) {
    auto id = outbound::parse_queue_id(c.param("id"));
    if (!id) refuse(400, "queue id must be a positive number");
    return *id;
}

http::Response list_queue(Call& c) {
    outbound::QueueAdmin q(c.store());
    json out = json::array();
    auto now = unix_now();
    for (auto& e : check(q.list())) out.push_back(queue_json(e, now));
    return json_response(200, out);
}

http::Response show_queue_entry(Call& c) {
    outbound::QueueAdmin q(c.store());
    auto e = check(q.show(queue_id(c)));
    auto head = check(q.headers(e));
    auto j = queue_json(e, unix_now());
    j["envid"] = e.envid;
    j["ret"] = e.ret;
    j["delay_notified"] = e.delay_notified;
    json fields = json::array();
    for (auto& f : mail::split_header_fields(head, 1000))
        fields.push_back(json{{"name", std::string(f.name)}, {"value", mail::unfold_trim(f.value)}});
    j["headers"] = fields;
    return json_response(200, j);
}

http::Response retry_queue_entry(Call& c) {
    outbound::QueueAdmin q(c.store());
    auto id = queue_id(c);
    check(q.retry(id));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " retried queue entry " << id;
    return json_response(200, json{{"ok", true}});
}

http::Response delete_queue_entry(Call& c) {
    outbound::QueueAdmin q(c.store());
    auto id = queue_id(c);
    check(q.remove(id));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " deleted queue entry " << id;
    return json_response(200, json{{"ok", true}});
}

http::Response flush_queue(Call& c) {
    outbound::QueueAdmin q(c.store());
    check(q.flush());
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " flushed the queue";
    return json_response(200, json{{"ok", true}});
}

// Status and the delivery log
// Hourly counts for the `hours` hours that end with the current one, oldest first, zeros included.
json traffic_series(const std::vector<store::TrafficHour>& rows, std::int64_t now, int hours) {
    auto last = now - now % 3600;
    auto first = last - std::int64_t{hours - 1} * 3600;
    json out = json::array();
    auto it = rows.begin();
    for (auto h = first; h <= last; h += 3600) {
        while (it != rows.end() && it->hour < h) ++it;
        store::TrafficHour t{h, 0, 0, 0};
        if (it != rows.end() && it->hour == h) t = *it;
        out.push_back(json{{"hour", h}, {"received", t.received}, {"sent", t.sent}, {"rejected", t.rejected}});
    }
    return out;
}

http::Response status(Call& c) {
    auto s = check(c.store().stats());
    auto now = unix_now();
    auto rows = check(c.store().traffic(now - now % 3600 - 167 * 3600));
    // "Today" is since the server's local midnight.
    std::time_t t = now;
    std::tm tm{};
    localtime_r(&t, &tm);
    auto midnight = now - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    std::uint64_t received = 0, sent = 0, rejected = 0;
    for (auto& r : rows) {
        if (r.hour + 3600 <= midnight) continue;
        received += r.received;
        sent += r.sent;
        rejected += r.rejected;
    }
    json daemons = json::array();
    for (auto& name : daemon_names()) {
        auto d = read_daemon_status(c.ctx.config.run_dir(), name);
        json j{{"name", name}, {"running", d.running}};
        if (d.running) {
            j["pid"] = d.pid;
            j["started"] = d.started;
            j["uptime"] = std::max<std::int64_t>(0, now - d.started);
            j["connections"] = d.connections;
            j["updated"] = d.updated;
        }
        daemons.push_back(j);
    }
    return json_response(200, json{{"hostname", c.ctx.config.hostname},
                                   {"domains", s.domains},
                                   {"users", s.accounts},
                                   {"aliases", s.aliases},
                                   {"messages", s.messages},
                                   {"queue", s.queue},
                                   {"message_bytes", s.message_bytes},
                                   {"database_bytes", s.database_bytes},
                                   {"time", now},
                                   {"today", json{{"received", received}, {"sent", sent}, {"rejected", rejected}}},
                                   {"daemons", daemons},
                                   {"traffic", json{{"day", traffic_series(rows, now, 24)},
                                                    {"week", traffic_series(rows, now, 168)}}}});
}

http::Response deliveries(Call& c) {
    store::DeliveryLogQuery q;
    if (auto it = c.req.query.find("limit"); it != c.req.query.end()) {
        try {
            std::size_t used = 0;
            auto v = std::stoul(it->second, &used);
            if (used != it->second.size() || v == 0 || v > 1000) throw std::out_of_range("limit");
            q.limit = v;
        } catch (const std::exception&) {
            refuse(400, "limit must be a number from 1 to 1000");
        }
    }
    if (auto it = c.req.query.find("q"); it != c.req.query.end()) {
        if (it->second.size() > 200) refuse(400, "the search text is too long (at most 200 characters)");
        q.text = it->second;
    }
    if (auto it = c.req.query.find("status"); it != c.req.query.end() && !it->second.empty()) {
        static const char* const known[] = {"delivered", "queued", "deferred", "failed", "rejected"};
        if (std::find(std::begin(known), std::end(known), it->second) == std::end(known))
            refuse(400, "status must be one of delivered, queued, deferred, failed, rejected");
        q.status = it->second;
    }
    json out = json::array();
    for (auto& d : check(c.store().recent_deliveries(q)))
        out.push_back(json{{"id", d.id},         {"time", d.time},       {"direction", d.direction},
                           {"sender", d.sender}, {"recipient", d.recipient}, {"mailbox", d.mailbox},
                           {"subject", d.subject}, {"status", d.status}, {"detail", d.detail},
                           {"client", d.client}, {"size", d.size}});
    return json_response(200, out);
}

// API tokens
http::Response list_tokens(Call& c) {
    json out = json::array();
    for (auto& t : check(c.store().list_api_tokens()))
        out.push_back(json{{"id", t.id}, {"name", t.name}, {"admin", t.admin}, {"created", t.created}, {"last_used", t.last_used}});
    return json_response(200, out);
}

http::Response add_token(Call& c) {
    auto body = c.body();
    auto name = string_field(body, "name");
    if (name.empty() || name.size() > 100) refuse(400, "a token needs a name of 1 to 100 characters");
    auto token = "roost_" + random_hex(32);
    auto t = check(c.store().add_api_token(name, sha256_hex(token), c.caller->subject));
    log::info(c.peer.session_id) << "admin: " << log::escape(c.caller->subject) << " created API token " << t.id;
    // The token is shown exactly once: only its digest is kept.
    return json_response(201, json{{"id", t.id}, {"name", t.name}, {"admin", t.admin}, {"created", t.created}, {"token", token}});
}

http::Response remove_token(Call& c) {
    std::int64_t id = 0;
    try {
        std::size_t used = 0;
        id = std::stoll(c.param("id"), &used);
        if (used != c.param("id").size()) throw std::invalid_argument("id");
    } catch (const std::exception&) {
        refuse(400, "token id must be a number");
    }
    check(c.store().remove_api_token(id));
    return json_response(200, json{{"ok", true}});
}

// ----- the route table -----
enum class Access { Public, Any, Admin };

struct Route {
    const char* method;
    const char* pattern;  // under /api/v1; {name} matches one path segment
    Access access;
    Handler handler;
};

// Every route is documented in docs/api.md; test_admin_api.py checks that the two lists are equal.
const Route kRoutes[] = {
    {"POST", "/login", Access::Public, login},
    {"POST", "/logout", Access::Any, logout},
    {"GET", "/session", Access::Any, get_session},
    {"GET", "/me", Access::Any, get_me},
    {"POST", "/me/password", Access::Any, change_my_password},
    {"GET", "/status", Access::Admin, status},
    {"GET", "/domains", Access::Admin, list_domains},
    {"POST", "/domains", Access::Admin, add_domain},
    {"DELETE", "/domains/{name}", Access::Admin, remove_domain},
    {"GET", "/domains/{name}/dns", Access::Admin, dns_for_domain},
    {"POST", "/domains/{name}/dkim", Access::Admin, generate_dkim},
    {"DELETE", "/domains/{name}/dkim/{selector}", Access::Admin, remove_dkim},
    {"GET", "/users", Access::Admin, list_users},
    {"POST", "/users", Access::Admin, add_user},
    {"GET", "/users/{address}", Access::Admin, get_user},
    {"DELETE", "/users/{address}", Access::Admin, remove_user},
    {"GET", "/users/{address}/mailboxes", Access::Admin, user_mailboxes},
    {"PUT", "/users/{address}/password", Access::Admin, set_user_password},
    {"PUT", "/users/{address}/quota", Access::Admin, set_user_quota},
    {"PUT", "/users/{address}/enabled", Access::Admin, set_user_enabled},
    {"GET", "/aliases", Access::Admin, list_aliases},
    {"POST", "/aliases", Access::Admin, add_alias},
    {"DELETE", "/aliases/{source}", Access::Admin, remove_alias},
    {"GET", "/queue", Access::Admin, list_queue},
    {"POST", "/queue/flush", Access::Admin, flush_queue},
    {"GET", "/queue/{id}", Access::Admin, show_queue_entry},
    {"DELETE", "/queue/{id}", Access::Admin, delete_queue_entry},
    {"POST", "/queue/{id}/retry", Access::Admin, retry_queue_entry},
    {"GET", "/deliveries", Access::Admin, deliveries},
    {"GET", "/tokens", Access::Admin, list_tokens},
    {"POST", "/tokens", Access::Admin, add_token},
    {"DELETE", "/tokens/{id}", Access::Admin, remove_token},
};

std::vector<std::string> segments(std::string_view p) {
    std::vector<std::string> v;
    while (!p.empty()) {
        if (p.front() == '/') {
            p.remove_prefix(1);
            continue;
        }
        auto slash = p.find('/');
        v.emplace_back(p.substr(0, slash));
        p = slash == std::string_view::npos ? std::string_view() : p.substr(slash);
    }
    return v;
}

bool match(const char* pattern, const std::vector<std::string>& path, std::map<std::string, std::string>& params) {
    auto pat = segments(pattern);
    if (pat.size() != path.size()) return false;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < pat.size(); ++i) {
        if (pat[i].front() == '{') found[pat[i].substr(1, pat[i].size() - 2)] = path[i];
        else if (pat[i] != path[i]) return false;
    }
    params = std::move(found);
    return true;
}

bool state_changing(const std::string& m) { return m != "GET" && m != "HEAD" && m != "OPTIONS"; }

Outcome handle_api(const AppContext& ctx, const http::Request& req, const Peer& peer) {
    Outcome out;
    bool plain_ok = peer.tls || ctx.config.admin.plaintext_auth == PlaintextAuth::Always ||
                    (ctx.config.admin.plaintext_auth == PlaintextAuth::Loopback && peer.loopback);
    if (!plain_ok) {
        out.response = error_response(403, "the API is available over HTTPS only");
        return out;
    }
    auto path = segments(std::string_view(req.path).substr(std::string_view("/api/v1").size()));
    const Route* route = nullptr;
    bool path_known = false;
    std::map<std::string, std::string> params;
    for (auto& r : kRoutes) {
        std::map<std::string, std::string> p;
        if (!match(r.pattern, path, p)) continue;
        path_known = true;
        if (req.method == r.method) {
            route = &r;
            params = std::move(p);
            break;
        }
    }
    if (!route) {
        out.response = path_known ? error_response(405, "method " + req.method + " is not allowed here")
                                  : error_response(404, "no such endpoint: " + req.path);
        return out;
    }
    Call call{ctx, req, peer, std::move(params), std::nullopt, {}};
    try {
        if (state_changing(req.method)) {
            // A browser names the page that sent the request; anything but this server is a cross-site attempt.
            auto origin = req.header("origin");
            auto host = req.header("host");
            if (!origin.empty() && origin != (peer.tls ? "https://" : "http://") + host)
                refuse(403, "cross-origin request refused");
        }
        if (route->access != Access::Public) {
            call.caller = identify(call);
            if (!call.caller) refuse(401, "log in first (or send an API token)");
            if (route->access == Access::Admin && !call.caller->admin) refuse(403, "this needs an administrator");
            if (state_changing(req.method) && !call.caller->via_token &&
                !equal_secret(req.header("x-csrf-token"), call.caller->csrf))
                refuse(403, "missing or wrong CSRF token (X-CSRF-Token)");
        }
        out.response = route->handler(call);
        out.delay = call.delay;
    } catch (const ApiError& e) {
        out.response = error_response(e.status, e.message);
        if (e.status >= 500) log::error(peer.session_id) << "admin: " << req.method << " " << log::escape(req.path) << ": " << e.message;
    } catch (const std::exception& e) {
        log::error(peer.session_id) << "admin: " << req.method << " " << log::escape(req.path) << ": " << e.what();
        out.response = error_response(500, "internal error");
    }
    return out;
}

// ----- static files -----
const char* content_type(std::string_view path) {
    auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.substr(path.size() - s.size()) == s; };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".json")) return "application/json";
    return nullptr;
}

http::Response serve_static(const AppContext& ctx, const http::Request& req) {
    if (req.method != "GET" && req.method != "HEAD") return error_response(405, "method not allowed");
    std::string path = req.path == "/" ? "/index.html" : req.path;
    // Only plain file names below web_root: no "..", no hidden files, a known type.
    bool safe = path.size() < 200 && path.find("..") == std::string::npos && path.find("/.") == std::string::npos &&
                path.find('\\') == std::string::npos && path.find('\0') == std::string::npos;
    const char* type = content_type(path);
    if (!safe || !type) return error_response(404, "not found");
    std::ifstream f(ctx.web_root + path, std::ios::binary);
    if (!f) return error_response(404, "not found");
    std::ostringstream ss;
    ss << f.rdbuf();
    http::Response r;
    r.set("Content-Type", type);
    r.set("Cache-Control", "no-cache");
    r.body = ss.str();
    return r;
}

}  // namespace

Outcome handle_request(const AppContext& ctx, const http::Request& req, const Peer& peer) {
    Outcome out;
    if (req.path == "/api/v1" || req.path.rfind("/api/v1/", 0) == 0) {
        out = handle_api(ctx, req, peer);
    } else if (auto r = client_config(ctx.config, req)) {
        out.response = std::move(*r);
    } else {
        out.response = serve_static(ctx, req);
    }
    add_security_headers(out.response, peer.tls);
    return out;
}

}  // namespace roost::admin
