#include "common/core/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <unistd.h>
#include <variant>

#include "common/core/endpoint.hpp"

namespace roost {
namespace {

enum class Kind { String, StringList, UInt, Size, Duration, DurationMs, Enum, Endpoints };

// A value as it arrived, from TOML or from an environment variable (always a string there).
using Raw = std::variant<std::string, std::int64_t, std::vector<std::string>, bool>;

struct KeyDef {
    std::string_view section;  // "" = top level
    std::string_view key;
    Kind kind;
    std::string_view description;
    std::vector<std::string_view> choices;  // Enum only
    // Stores a checked value; returns an error text (without the key name) or "".
    std::function<std::string(Config&, const Raw&, bool from_env)> set;
    std::function<std::string(const Config&)> show;

    std::string full_name() const {
        return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
    }
    std::string env_name() const {
        std::string n = "ROOST_";
        if (!section.empty()) n += std::string(section) + "_";
        n += key;
        std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
        return n;
    }
};

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ',') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else if (c != ' ' && c != '\t') cur += c;
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

std::string quote_list(const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
    return s + "]";
}

std::string show_duration(std::chrono::seconds s) { return std::to_string(s.count()) + "s"; }

std::string show_size(std::uint64_t v) {
    if (v && v % (1ull << 20) == 0) return std::to_string(v >> 20) + "M";
    if (v && v % 1024 == 0) return std::to_string(v >> 10) + "K";
    return std::to_string(v);
}

template <class Acc>
KeyDef string_key(std::string_view sec, std::string_view key, std::string_view desc, Acc acc) {
    return {sec, key, Kind::String, desc, {},
            [acc](Config& c, const Raw& r, bool) -> std::string {
                if (auto* s = std::get_if<std::string>(&r)) {
                    acc(c) = *s;
                    return "";
                }
                return "expected a string";
            },
            [acc](const Config& c) { return "\"" + acc(const_cast<Config&>(c)) + "\""; }};
}

template <class Acc>
KeyDef endpoints_key(std::string_view sec, std::string_view key, std::string_view desc, Acc acc) {
    return {sec, key, Kind::Endpoints, desc, {},
            [acc](Config& c, const Raw& r, bool) -> std::string {
                std::vector<std::string> v;
                if (auto* s = std::get_if<std::string>(&r)) v = split_list(*s);
                else if (auto* l = std::get_if<std::vector<std::string>>(&r)) v = *l;
                else return "expected an array of \"address:port\" strings";
                for (auto& e : v)
                    if (!parse_endpoint(e)) return "invalid address:port '" + e + "'";
                acc(c) = std::move(v);
                return "";
            },
            [acc](const Config& c) { return quote_list(acc(const_cast<Config&>(c))); }};
}

template <class Acc>
KeyDef uint_key(std::string_view sec, std::string_view key, std::string_view desc, Acc acc,
                std::int64_t min = 0, std::int64_t max = 1'000'000'000) {
    return {sec, key, Kind::UInt, desc, {},
            [acc, min, max](Config& c, const Raw& r, bool) -> std::string {
                std::int64_t v = 0;
                if (auto* i = std::get_if<std::int64_t>(&r)) v = *i;
                else if (auto* s = std::get_if<std::string>(&r)) {
                    char* end = nullptr;
                    errno = 0;
                    v = std::strtoll(s->c_str(), &end, 10);
                    if (s->empty() || *end || errno) return "expected a whole number, got '" + *s + "'";
                } else return "expected a whole number";
                if (v < min || v > max)
                    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
                acc(c) = static_cast<std::remove_reference_t<decltype(acc(c))>>(v);
                return "";
            },
            [acc](const Config& c) { return std::to_string(acc(const_cast<Config&>(c))); }};
}

template <class Acc>
KeyDef size_key(std::string_view sec, std::string_view key, std::string_view desc, Acc acc) {
    return {sec, key, Kind::Size, desc, {},
            [acc](Config& c, const Raw& r, bool) -> std::string {
                std::uint64_t v = 0;
                if (auto* i = std::get_if<std::int64_t>(&r)) {
                    if (*i < 0) return "must not be negative";
                    v = static_cast<std::uint64_t>(*i);
                } else if (auto* s = std::get_if<std::string>(&r)) {
                    if (!parse_size(*s, v)) return "expected a size like 50M, 512K or 1048576, got '" + *s + "'";
                } else return "expected a size";
                acc(c) = v;
                return "";
            },
            [acc](const Config& c) { return "\"" + show_size(acc(const_cast<Config&>(c))) + "\""; }};
}

template <class Acc>
KeyDef duration_key(std::string_view sec, std::string_view key, std::string_view desc, Acc acc) {
    return {sec, key, Kind::Duration, desc, {},
            [acc](Config& c, const Raw& r, bool) -> std::string {
                std::chrono::seconds v{};
                if (auto* i = std::get_if<std::int64_t>(&r)) {
                    if (*i < 0) return "must not be negative";
                    v = std::chrono::seconds(*i);
                } else if (auto* s = std::get_if<std::string>(&r)) {
                    if (!parse_duration(*s, v)) return "expected a duration like 30s, 5m, 2h or 5d, got '" + *s + "'";
                } else return "expected a duration";
                acc(c) = v;
                return "";
            },
            [acc](const Config& c) { return "\"" + show_duration(acc(const_cast<Config&>(c))) + "\""; }};
}

template <class Acc>
KeyDef plaintext_key(std::string_view sec, std::string_view desc, Acc acc) {
    return {sec, "plaintext_auth", Kind::Enum, desc, {"never", "loopback", "always"},
            [acc](Config& c, const Raw& r, bool) -> std::string {
                auto* s = std::get_if<std::string>(&r);
                if (!s) return "expected one of \"never\", \"loopback\", \"always\"";
                if (*s == "never") acc(c) = PlaintextAuth::Never;
                else if (*s == "loopback") acc(c) = PlaintextAuth::Loopback;
                else if (*s == "always") acc(c) = PlaintextAuth::Always;
                else return "expected one of \"never\", \"loopback\", \"always\", got '" + *s + "'";
                return "";
            },
            [acc](const Config& c) {
                switch (acc(const_cast<Config&>(c))) {
                    case PlaintextAuth::Never: return std::string("\"never\"");
                    case PlaintextAuth::Loopback: return std::string("\"loopback\"");
                    case PlaintextAuth::Always: return std::string("\"always\"");
                }
                return std::string();
            }};
}

#define ACC(expr) [](Config& c) -> auto& { return c.expr; }

const std::vector<KeyDef>& key_table() {
    static const std::vector<KeyDef> table = [] {
        std::vector<KeyDef> t;
        t.push_back(string_key("", "hostname",
                               "Fully qualified name of this server: SMTP greeting, EHLO, Received: headers, "
                               "TLS certificate subject. Default: the system host name.",
                               ACC(hostname)));
        t.push_back(string_key("", "data_dir", "Folder holding roost.db, run/ (change notification, daemon status files) and tls/.",
                               ACC(data_dir)));
        t.push_back(string_key("", "user",
                               "After binding its ports, a daemon started as root switches to this user. "
                               "Empty: keep the current user.",
                               ACC(user)));
        {
            KeyDef d{"log", "level", Kind::Enum, "Least severe level written to stderr.",
                     {"debug", "info", "warn", "error"},
                     [](Config& c, const Raw& r, bool) -> std::string {
                         auto* s = std::get_if<std::string>(&r);
                         if (!s || (*s != "debug" && *s != "info" && *s != "warn" && *s != "error"))
                             return "expected one of \"debug\", \"info\", \"warn\", \"error\"";
                         c.log_level = *s;
                         return "";
                     },
                     [](const Config& c) { return "\"" + c.log_level + "\""; }};
            t.push_back(std::move(d));
        }
        t.push_back(string_key("tls", "cert",
                               "PEM certificate chain. Empty: data_dir/tls/cert.pem, generated self-signed "
                               "on first start.",
                               ACC(tls.cert)));
        t.push_back(string_key("tls", "key", "PEM private key. Empty: data_dir/tls/key.pem.", ACC(tls.key)));

        t.push_back(endpoints_key("smtp", "listen", "MX listeners (port 25): STARTTLS offered, AUTH never.",
                                  ACC(smtp.listen)));
        t.push_back(endpoints_key("smtp", "listen_tls", "Implicit-TLS MX listeners (rarely used).",
                                  ACC(smtp.listen_tls)));
        t.push_back(duration_key("smtp", "command_timeout",
                                 "Time allowed for the next command line to arrive, however slowly it trickles "
                                 "in (plus one second per 500 octets of it; RFC 5321 §4.5.3.2.7).",
                                 ACC(smtp_options.command_timeout)));
        t.push_back(duration_key("smtp", "data_timeout",
                                 "Time allowed between data blocks; a whole message (DATA, or one BDAT chunk) "
                                 "must arrive within this plus one second per 500 octets (RFC 5321 §4.5.3.2.5).",
                                 ACC(smtp_options.data_timeout)));
        t.push_back(string_key("smtp", "postmaster",
                               "Account address that receives mail for postmaster@ every local domain. "
                               "Empty: the oldest account.",
                               ACC(smtp_options.postmaster)));

        t.push_back(endpoints_key("submission", "listen", "Submission listeners (port 587, STARTTLS).",
                                  ACC(submission.listen)));
        t.push_back(endpoints_key("submission", "listen_tls",
                                  "Submission over implicit TLS (port 465, RFC 8314).", ACC(submission.listen_tls)));
        t.push_back(plaintext_key("submission", "Accept AUTH before TLS: never, loopback clients only, or always.",
                                  ACC(submission.plaintext_auth)));

        t.push_back(endpoints_key("imap", "listen", "IMAP listeners (port 143, STARTTLS).", ACC(imap.listen)));
        t.push_back(endpoints_key("imap", "listen_tls", "IMAP over implicit TLS (port 993).", ACC(imap.listen_tls)));
        t.push_back(plaintext_key("imap", "Accept LOGIN/AUTHENTICATE before TLS: never, loopback, always.",
                                  ACC(imap.plaintext_auth)));
        t.push_back(duration_key("imap", "idle_timeout",
                                 "Autologout timer, IDLE included (RFC 9051 §5.4); also bounds how long a command "
                                 "(with its literals, plus one second per 500 octets) may take to arrive.",
                                 ACC(imap_options.idle_timeout)));

        t.push_back(endpoints_key("pop3", "listen", "POP3 listeners (port 110, STLS).", ACC(pop3.listen)));
        t.push_back(endpoints_key("pop3", "listen_tls", "POP3 over implicit TLS (port 995).", ACC(pop3.listen_tls)));
        t.push_back(plaintext_key("pop3", "Accept USER/PASS/AUTH before TLS: never, loopback, always.",
                                  ACC(pop3.plaintext_auth)));
        t.push_back(duration_key("pop3", "idle_timeout",
                                 "Inactivity autologout (RFC 1939 §3); also bounds how long a command line may "
                                 "take to arrive.",
                                 ACC(pop3_options.idle_timeout)));

        t.push_back(endpoints_key("admin", "listen", "Admin panel and API listeners (HTTP; loopback only).",
                                  ACC(admin.listen)));
        t.push_back(endpoints_key("admin", "listen_tls", "Admin panel and API over HTTPS.", ACC(admin.listen_tls)));
        t.push_back(plaintext_key("admin", "Accept logins, sessions and API tokens over plain HTTP: never, loopback "
                                  "clients only, or always (behind a TLS-terminating proxy).", ACC(admin.plaintext_auth)));
        t.push_back(string_key("admin", "web_root",
                               "Folder with the panel's HTML/CSS/JS; empty: the files built with this Roost.",
                               ACC(admin_options.web_root)));
        t.push_back(duration_key("admin", "session_lifetime", "How long a panel login lasts.",
                                 ACC(admin_options.session_lifetime)));

        t.push_back(size_key("limits", "max_message_size",
                             "Largest message accepted (SMTP SIZE, RFC 1870; IMAP APPENDLIMIT).",
                             ACC(limits.max_message_size)));
        t.push_back(uint_key("limits", "max_recipients", "Recipients per SMTP transaction (RFC 5321 §4.5.3.1.8).",
                             ACC(limits.max_recipients), 1, 100000));
        t.push_back(uint_key("limits", "max_connections", "Concurrent connections per daemon.",
                             ACC(limits.max_connections), 1, 1000000));
        t.push_back(uint_key("limits", "max_connections_per_ip", "Concurrent connections from one client address.",
                             ACC(limits.max_connections_per_ip), 1, 1000000));
        t.push_back(uint_key("limits", "max_line_length",
                             "Longest command line and message line accepted, in octets (RFC 5321 §4.5.3.1.6 "
                             "asks for at least 1000).",
                             ACC(limits.max_line_length), 1000, 1 << 20));
        t.push_back(uint_key("limits", "max_errors",
                             "Protocol errors in one session before the client is disconnected.",
                             ACC(limits.max_errors), 1, 10000));

        t.push_back(uint_key("auth", "free_failures",
                             "Failed logins (per client address and per account) before answers slow down.",
                             ACC(auth.free_failures), 0, 1000));
        t.push_back(uint_key("auth", "lockout_after",
                             "Failed logins within the lockout window that lock the address or account out.",
                             ACC(auth.lockout_after), 1, 100000));
        t.push_back(duration_key("auth", "lockout", "How long a lock-out lasts; also the window failures are "
                                                    "counted in.",
                                 ACC(auth.lockout)));
        t.push_back(uint_key("auth", "argon2_memory_kib", "Argon2id memory cost for new password hashes.",
                             ACC(auth.argon2_memory_kib), 8, 4 << 20));
        t.push_back(uint_key("auth", "argon2_iterations", "Argon2id time cost for new password hashes.",
                             ACC(auth.argon2_iterations), 1, 100));

        {
            KeyDef d{"store", "busy_timeout", Kind::DurationMs,
                     "How long a writer waits for another process's write transaction before giving a "
                     "temporary error.",
                     {},
                     [](Config& c, const Raw& r, bool) -> std::string {
                         std::chrono::seconds s{};
                         if (auto* i = std::get_if<std::int64_t>(&r)) {
                             if (*i < 0) return "must not be negative";
                             c.store.busy_timeout = std::chrono::milliseconds(*i * 1000);
                             return "";
                         }
                         auto* str = std::get_if<std::string>(&r);
                         if (!str) return "expected a duration";
                         if (str->size() > 2 && str->ends_with("ms")) {
                             char* end = nullptr;
                             auto v = std::strtoll(str->c_str(), &end, 10);
                             if (std::string_view(end) != "ms" || v < 0) return "expected a duration";
                             c.store.busy_timeout = std::chrono::milliseconds(v);
                             return "";
                         }
                         if (!parse_duration(*str, s)) return "expected a duration like 10s or 500ms";
                         c.store.busy_timeout = s;
                         return "";
                     },
                     [](const Config& c) { return "\"" + std::to_string(c.store.busy_timeout.count()) + "ms\""; }};
            t.push_back(std::move(d));
        }

        t.push_back(string_key("relay", "host",
                               "Smarthost that receives all outbound mail. Empty: deliver to each recipient "
                               "domain's MX hosts (RFC 5321 §5.1).",
                               ACC(relay.host)));
        t.push_back(uint_key("relay", "port", "Smarthost port (587 submission, 465 implicit TLS, 25 relay).",
                             ACC(relay.port), 1, 65535));
        {
            KeyDef d{"relay", "tls", Kind::Enum,
                     "TLS to the smarthost: STARTTLS required (RFC 3207), implicit TLS (RFC 8314), or none "
                     "(loopback relays only).",
                     {"starttls", "implicit", "none"},
                     [](Config& c, const Raw& r, bool) -> std::string {
                         auto* s = std::get_if<std::string>(&r);
                         if (s && *s == "starttls") c.relay.tls = RelayTls::StartTls;
                         else if (s && *s == "implicit") c.relay.tls = RelayTls::Implicit;
                         else if (s && *s == "none") c.relay.tls = RelayTls::None;
                         else return "expected one of \"starttls\", \"implicit\", \"none\"";
                         return "";
                     },
                     [](const Config& c) {
                         switch (c.relay.tls) {
                             case RelayTls::StartTls: return std::string("\"starttls\"");
                             case RelayTls::Implicit: return std::string("\"implicit\"");
                             case RelayTls::None: return std::string("\"none\"");
                         }
                         return std::string();
                     }};
            t.push_back(std::move(d));
        }
        t.push_back(string_key("relay", "username", "AUTH user name for the smarthost (RFC 4954); empty: no AUTH.",
                               ACC(relay.username)));
        t.push_back(string_key("relay", "password", "AUTH password for the smarthost. Sent only over TLS unless "
                                                    "`tls` is \"none\".",
                               ACC(relay.password)));

        {
            KeyDef d = string_key("dns", "resolver",
                                  "Recursive DNS resolver for MX/A/AAAA lookups, as \"address:port\". Empty: the "
                                  "system's (/etc/resolv.conf).",
                                  ACC(dns.resolver));
            auto base = d.set;
            d.set = [base](Config& c, const Raw& r, bool env) -> std::string {
                auto err = base(c, r, env);
                if (err.empty() && !c.dns.resolver.empty() && !parse_endpoint(c.dns.resolver))
                    return "invalid address:port '" + c.dns.resolver + "'";
                return err;
            };
            t.push_back(std::move(d));
        }

        t.push_back(duration_key("queue", "retry_initial",
                                 "Wait before the first retry after a temporary failure; doubles with every "
                                 "attempt (RFC 5321 §4.5.4.1).",
                                 ACC(queue.retry_initial)));
        t.push_back(duration_key("queue", "retry_max", "Longest wait between two attempts.", ACC(queue.retry_max)));
        t.push_back(duration_key("queue", "lifetime",
                                 "How long a message is retried before it is returned to the sender "
                                 "(RFC 5321 §4.5.4.1: at least 4-5 days).",
                                 ACC(queue.lifetime)));
        t.push_back(duration_key("queue", "delay_notice",
                                 "Age at which the sender gets one delay notice (RFC 3464 action "
                                 "\"delayed\"). 0: never.",
                                 ACC(queue.delay_notice)));
        t.push_back(uint_key("queue", "max_connections", "Outbound SMTP connections at once, in total.",
                             ACC(queue.max_connections), 1, 10000));
        t.push_back(uint_key("queue", "max_per_domain", "Outbound SMTP connections at once to one destination.",
                             ACC(queue.max_per_domain), 1, 1000));
        t.push_back(uint_key("queue", "mx_port", "TCP port of MX hosts (25; change only for testing).",
                             ACC(queue.mx_port), 1, 65535));
        return t;
    }();
    return table;
}

#undef ACC

const KeyDef* find_key(std::string_view section, std::string_view key) {
    for (auto& d : key_table())
        if (d.section == section && d.key == key) return &d;
    return nullptr;
}

bool known_section(std::string_view section) {
    for (auto& d : key_table())
        if (d.section == section) return true;
    return false;
}

std::string where(std::string_view origin, const toml::source_region& src) {
    std::string s(origin);
    if (src.begin.line) s += ":" + std::to_string(src.begin.line);
    return s;
}

std::optional<Raw> to_raw(const toml::node& n) {
    if (auto v = n.as_string()) return Raw{std::string(v->get())};
    if (auto v = n.as_integer()) return Raw{static_cast<std::int64_t>(v->get())};
    if (auto v = n.as_boolean()) return Raw{v->get()};
    if (auto arr = n.as_array()) {
        std::vector<std::string> out;
        for (auto& e : *arr) {
            auto s = e.as_string();
            if (!s) return std::nullopt;
            out.emplace_back(s->get());
        }
        return Raw{std::move(out)};
    }
    return std::nullopt;
}

void apply(Config& c, const KeyDef& def, const Raw& raw, const std::string& where_text, bool env) {
    auto err = def.set(c, raw, env);
    if (!err.empty()) throw ConfigError(where_text + ": " + def.full_name() + ": " + err);
}

std::string system_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
    return buf;
}

}  // namespace

std::string Config::tls_cert_path() const { return tls.cert.empty() ? data_dir + "/tls/cert.pem" : tls.cert; }
std::string Config::tls_key_path() const { return tls.key.empty() ? data_dir + "/tls/key.pem" : tls.key; }

Config default_config() {
    Config c;
    c.hostname = system_hostname();
    c.smtp.listen = {"0.0.0.0:25"};
    c.submission.listen = {"0.0.0.0:587"};
    c.submission.listen_tls = {"0.0.0.0:465"};
    c.submission.plaintext_auth = PlaintextAuth::Never;
    c.imap.listen = {"0.0.0.0:143"};
    c.imap.listen_tls = {"0.0.0.0:993"};
    c.imap.plaintext_auth = PlaintextAuth::Loopback;
    c.pop3.listen = {"0.0.0.0:110"};
    c.pop3.listen_tls = {"0.0.0.0:995"};
    c.pop3.plaintext_auth = PlaintextAuth::Loopback;
    c.admin.listen = {"127.0.0.1:8080"};
    c.admin.plaintext_auth = PlaintextAuth::Loopback;
    return c;
}

Config parse_config(std::string_view text, std::string_view origin, bool env) {
    Config c = default_config();
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        throw ConfigError(where(origin, e.source()) + ": " + std::string(e.description()));
    }
    for (auto& [k, node] : root) {
        std::string_view key = k.str();
        if (auto tbl = node.as_table()) {
            if (!known_section(key))
                throw ConfigError(where(origin, k.source()) + ": unknown section [" + std::string(key) + "]");
            for (auto& [k2, n2] : *tbl) {
                auto* def = find_key(key, k2.str());
                if (!def)
                    throw ConfigError(where(origin, k2.source()) + ": unknown key '" + std::string(key) + "." +
                                      std::string(k2.str()) + "'");
                auto raw = to_raw(n2);
                if (!raw) throw ConfigError(where(origin, k2.source()) + ": " + def->full_name() + ": unsupported value type");
                apply(c, *def, *raw, where(origin, k2.source()), false);
            }
            continue;
        }
        auto* def = find_key("", key);
        if (!def) throw ConfigError(where(origin, k.source()) + ": unknown key '" + std::string(key) + "'");
        auto raw = to_raw(node);
        if (!raw) throw ConfigError(where(origin, k.source()) + ": " + def->full_name() + ": unsupported value type");
        apply(c, *def, *raw, where(origin, k.source()), false);
    }
    if (env) {
        for (auto& def : key_table()) {
            auto name = def.env_name();
            if (const char* v = std::getenv(name.c_str())) apply(c, def, Raw{std::string(v)}, "environment " + name, true);
        }
    }
    if (c.hostname.empty()) throw ConfigError(std::string(origin) + ": hostname: must not be empty");
    if (c.data_dir.empty()) throw ConfigError(std::string(origin) + ": data_dir: must not be empty");
    return c;
}

Config load_config(const std::string& path, bool env) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read config file '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path, env);
}

std::string config_path(const std::string& explicit_path) {
    if (!explicit_path.empty()) return explicit_path;
    if (const char* e = std::getenv("ROOST_CONFIG"); e && *e) return e;
    return "/etc/roost/roost.toml";
}

std::string config_reference_markdown() {
    Config defaults = default_config();
    defaults.hostname = "(system host name)";
    std::ostringstream out;
    std::string_view current = "\x01";
    for (auto& d : key_table()) {
        if (d.section != current) {
            current = d.section;
            out << "\n### " << (current.empty() ? std::string("top level") : "[" + std::string(current) + "]")
                << "\n\n| key | default | environment | description |\n|---|---|---|---|\n";
        }
        auto def = d.show(defaults);
        if (d.key == "hostname") def = "(system host name)";
        out << "| `" << d.key << "` | `" << def << "` | `" << d.env_name() << "` | " << d.description;
        if (!d.choices.empty()) {
            out << " One of:";
            for (std::size_t i = 0; i < d.choices.size(); ++i) out << (i ? ", " : " ") << '`' << d.choices[i] << '`';
            out << '.';
        }
        out << " |\n";
    }
    return out.str();
}

std::optional<std::string> config_value(const Config& c, std::string_view key) {
    auto dot = key.find('.');
    const KeyDef* def = dot == std::string_view::npos ? find_key("", key) : find_key(key.substr(0, dot), key.substr(dot + 1));
    if (!def) return std::nullopt;
    std::string toml = def->show(c);  // TOML: "text", 42 or ["a", "b"] (see quote_list)
    if (!toml.empty() && toml.front() == '"') return toml.substr(1, toml.size() - 2);
    if (toml.empty() || toml.front() != '[') return toml;
    // The entries of a list never hold a quote themselves, so every other quote opens or closes one entry;
    // an address like "[::1]:25" keeps its brackets.
    std::string out;
    bool inside = false;
    for (char ch : toml.substr(1, toml.size() - 2)) {
        if (ch == '"') {
            if (!inside && !out.empty()) out += ',';
            inside = !inside;
        } else if (inside) out += ch;
    }
    return out;
}

bool parse_size(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    std::size_t i = 0;
    std::uint64_t v = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + static_cast<unsigned>(text[i++] - '0');
    }
    if (i == 0) return false;
    std::string unit(text.substr(i));
    for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::uint64_t mult = 1;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB") mult = 1ull << 10;
    else if (unit == "M" || unit == "MB" || unit == "MIB") mult = 1ull << 20;
    else if (unit == "G" || unit == "GB" || unit == "GIB") mult = 1ull << 30;
    else return false;
    if (v > UINT64_MAX / mult) return false;
    out = v * mult;
    return true;
}

bool parse_duration(std::string_view text, std::chrono::seconds& out) {
    if (text.empty()) return false;
    std::size_t i = 0;
    std::int64_t v = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (v > 1'000'000'000'000) return false;
        v = v * 10 + (text[i++] - '0');
    }
    if (i == 0) return false;
    auto unit = text.substr(i);
    std::int64_t mult = 1;
    if (unit.empty() || unit == "s") mult = 1;
    else if (unit == "m") mult = 60;
    else if (unit == "h") mult = 3600;
    else if (unit == "d") mult = 86400;
    else return false;
    out = std::chrono::seconds(v * mult);
    return true;
}

}  // namespace roost
