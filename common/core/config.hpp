// Roost configuration: one TOML file, every key defined once in config.cpp's table (key, type, default,
// description). That table drives parsing, validation, environment overrides (ROOST_<SECTION>_<KEY>) and
// docs/configuration.md (`roost config docs`), so the four can never drift apart (STYLE 13).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace roost {

// Whether a service accepts passwords before TLS. RFC 8314 §4 / RFC 3207 §4 recommend never on the internet;
// "loopback" mirrors Dovecot's treatment of local connections as secure.
enum class PlaintextAuth { Never, Loopback, Always };

struct ServiceConfig {
    std::vector<std::string> listen;      // "addr:port", "[v6]:port"
    std::vector<std::string> listen_tls;  // implicit TLS (RFC 8314)
    PlaintextAuth plaintext_auth = PlaintextAuth::Never;
};

struct TlsConfig {
    std::string cert;  // PEM chain; empty: data_dir/tls/cert.pem, generated self-signed on first start
    std::string key;
};

struct LimitsConfig {
    std::uint64_t max_message_size = 50ull << 20;
    std::uint32_t max_recipients = 100;
    std::uint32_t max_connections = 5000;
    std::uint32_t max_connections_per_ip = 50;
    std::uint32_t max_line_length = 4096;
    std::uint32_t max_errors = 10;
};

struct SmtpConfig {
    std::chrono::seconds command_timeout{300};  // RFC 5321 §4.5.3.2.7: 5 minutes
    std::chrono::seconds data_timeout{600};     // RFC 5321 §4.5.3.2.5/6: 3 and 10 minutes
    std::string postmaster;                      // account that receives postmaster@ (empty: first account)
};

struct ImapConfig {
    std::chrono::seconds idle_timeout{1800};  // RFC 9051 §5.4: at least 30 minutes
};

struct Pop3Config {
    std::chrono::seconds idle_timeout{600};  // RFC 1939 §3: at least 10 minutes
};

struct AuthConfig {
    std::uint32_t free_failures = 3;
    std::uint32_t lockout_after = 10;
    std::chrono::seconds lockout{900};
    std::uint32_t argon2_memory_kib = 19456;
    std::uint32_t argon2_iterations = 2;
};

struct StoreConfig {
    std::chrono::milliseconds busy_timeout{10000};
};

// How outbound mail leaves (smtpd/outbound). Empty host: straight to each domain's MX (RFC 5321 §5.1).
enum class RelayTls { StartTls, Implicit, None };

struct RelayConfig {
    std::string host;  // smarthost; empty = deliver directly
    std::uint16_t port = 587;
    RelayTls tls = RelayTls::StartTls;
    std::string username;  // AUTH when set (RFC 4954)
    std::string password;
};

struct DnsConfig {
    std::string resolver;  // "addr:port" of a recursive resolver; empty = the system's (/etc/resolv.conf)
};

struct QueueConfig {
    std::chrono::seconds retry_initial{300};   // first retry after a temporary failure; doubles each time
    std::chrono::seconds retry_max{14400};     // cap of the back-off
    std::chrono::seconds lifetime{5 * 86400};  // RFC 5321 §4.5.4.1: give up after 4-5 days
    std::chrono::seconds delay_notice{4 * 3600};  // 0 = never send a delay DSN
    std::uint32_t max_connections = 20;        // outbound SMTP connections in total
    std::uint32_t max_per_domain = 4;          // outbound connections to one destination
    std::uint16_t mx_port = 25;
};

// roost-admin (admin-ui/): where the panel's files are and how long a login lasts.
struct AdminConfig {
    std::string web_root;                       // empty: the admin-ui/web folder of the source tree at build time
    std::chrono::seconds session_lifetime{43200};  // 12 hours
};

struct Config {
    std::string hostname;
    std::string data_dir = "/var/lib/roost";
    std::string user;  // drop privileges to this user after binding ports (empty: keep the current user)
    std::string log_level = "info";
    TlsConfig tls;
    ServiceConfig smtp, submission, imap, pop3, admin;
    LimitsConfig limits;
    SmtpConfig smtp_options;
    ImapConfig imap_options;
    Pop3Config pop3_options;
    AuthConfig auth;
    StoreConfig store;
    RelayConfig relay;
    DnsConfig dns;
    QueueConfig queue;
    AdminConfig admin_options;

    std::string database_path() const { return data_dir + "/roost.db"; }
    std::string tls_cert_path() const;
    std::string tls_key_path() const;
    std::string run_dir() const { return data_dir + "/run"; }
};

// A configuration problem, naming the key and (when it came from the file) the line.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Defaults only (hostname from the system).
Config default_config();
// Parses TOML text; `origin` names the file in messages. Applies environment overrides when `env` is true.
Config parse_config(std::string_view toml_text, std::string_view origin, bool env = true);
// Reads and parses a file. A missing file is an error.
Config load_config(const std::string& path, bool env = true);
// The config path: explicit --config value, else $ROOST_CONFIG, else /etc/roost/roost.toml.
std::string config_path(const std::string& explicit_path);
// Markdown reference of every key (the body of docs/configuration.md).
std::string config_reference_markdown();
// The effective value of one key ("hostname", "smtp.listen"), written the way its ROOST_* environment
// variable takes it: strings unquoted, lists comma-separated, sizes and durations with their unit
// (`roost config get`). std::nullopt for an unknown key.
std::optional<std::string> config_value(const Config& c, std::string_view key);

// Parses "50M", "10MiB", "1024" into bytes; "30s", "5m", "2h", "5d", "90" (seconds) into seconds.
bool parse_size(std::string_view text, std::uint64_t& out);
bool parse_duration(std::string_view text, std::chrono::seconds& out);

}  // namespace roost
