// Configuration: defaults, every kind of error (each naming its key and line), sizes and durations,
// environment overrides, and the generated reference in docs/configuration.md.
#include "common/core/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace roost;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (had_) ::setenv(name_.c_str(), old_.c_str(), 1);
        else ::unsetenv(name_.c_str());
    }

private:
    std::string name_, old_;
    bool had_ = false;
};

// The message of the ConfigError that parsing `text` throws (fails the test if none is thrown).
std::string config_error(const std::string& text, bool env = false) {
    try {
        parse_config(text, "roost.toml", env);
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return {};
}

TEST(ConfigDefaults, EmptyFileGivesDocumentedDefaults) {
    auto c = parse_config("", "roost.toml", false);
    EXPECT_FALSE(c.hostname.empty());
    EXPECT_EQ(c.data_dir, "/var/lib/roost");
    EXPECT_EQ(c.user, "");
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.smtp.listen, std::vector<std::string>{"0.0.0.0:25"});
    EXPECT_TRUE(c.smtp.listen_tls.empty());
    EXPECT_EQ(c.submission.listen, std::vector<std::string>{"0.0.0.0:587"});
    EXPECT_EQ(c.submission.listen_tls, std::vector<std::string>{"0.0.0.0:465"});
    EXPECT_EQ(c.submission.plaintext_auth, PlaintextAuth::Never);
    EXPECT_EQ(c.imap.listen, std::vector<std::string>{"0.0.0.0:143"});
    EXPECT_EQ(c.imap.listen_tls, std::vector<std::string>{"0.0.0.0:993"});
    EXPECT_EQ(c.imap.plaintext_auth, PlaintextAuth::Loopback);
    EXPECT_EQ(c.pop3.listen, std::vector<std::string>{"0.0.0.0:110"});
    EXPECT_EQ(c.pop3.listen_tls, std::vector<std::string>{"0.0.0.0:995"});
    EXPECT_EQ(c.pop3.plaintext_auth, PlaintextAuth::Loopback);
    EXPECT_EQ(c.admin.listen, std::vector<std::string>{"127.0.0.1:8080"});
    EXPECT_TRUE(c.admin.listen_tls.empty());
    EXPECT_EQ(c.limits.max_message_size, 50ull << 20);
    EXPECT_EQ(c.limits.max_recipients, 100u);
    EXPECT_EQ(c.limits.max_connections, 5000u);
    EXPECT_EQ(c.limits.max_connections_per_ip, 50u);
    EXPECT_EQ(c.limits.max_line_length, 4096u);
    EXPECT_EQ(c.limits.max_errors, 10u);
    EXPECT_EQ(c.smtp_options.command_timeout, 300s);
    EXPECT_EQ(c.smtp_options.data_timeout, 600s);
    EXPECT_EQ(c.smtp_options.postmaster, "");
    EXPECT_EQ(c.imap_options.idle_timeout, 1800s);
    EXPECT_EQ(c.pop3_options.idle_timeout, 600s);
    EXPECT_EQ(c.auth.free_failures, 3u);
    EXPECT_EQ(c.auth.lockout_after, 10u);
    EXPECT_EQ(c.auth.lockout, 900s);
    EXPECT_EQ(c.auth.argon2_memory_kib, 19456u);
    EXPECT_EQ(c.auth.argon2_iterations, 2u);
    EXPECT_EQ(c.store.busy_timeout, 10000ms);
}

TEST(ConfigDefaults, DerivedPathsFollowDataDir) {
    auto c = parse_config("data_dir = \"/srv/mail\"\n", "roost.toml", false);
    EXPECT_EQ(c.database_path(), "/srv/mail/roost.db");
    EXPECT_EQ(c.run_dir(), "/srv/mail/run");
    EXPECT_EQ(c.tls_cert_path(), "/srv/mail/tls/cert.pem");
    EXPECT_EQ(c.tls_key_path(), "/srv/mail/tls/key.pem");
    auto d = parse_config("data_dir = \"/srv/mail\"\n[tls]\ncert = \"/etc/c.pem\"\nkey = \"/etc/k.pem\"\n", "roost.toml",
                          false);
    EXPECT_EQ(d.tls_cert_path(), "/etc/c.pem");
    EXPECT_EQ(d.tls_key_path(), "/etc/k.pem");
}

TEST(ConfigParse, EveryKindOfValueIsStored) {
    auto c = parse_config(R"(hostname = "mx.example.test"
data_dir = "/tmp/roost-data"
user = "mail"

[log]
level = "debug"

[smtp]
listen = ["127.0.0.1:2525", "[::1]:2525"]
command_timeout = "7m"
data_timeout = 90
postmaster = "admin@example.test"

[submission]
listen = []
plaintext_auth = "always"

[imap]
plaintext_auth = "never"
idle_timeout = "2h"

[limits]
max_message_size = "10M"
max_recipients = 7
max_line_length = 2000

[auth]
lockout = "5d"

[store]
busy_timeout = "250ms"
)",
                          "roost.toml", false);
    EXPECT_EQ(c.hostname, "mx.example.test");
    EXPECT_EQ(c.data_dir, "/tmp/roost-data");
    EXPECT_EQ(c.user, "mail");
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.smtp.listen, (std::vector<std::string>{"127.0.0.1:2525", "[::1]:2525"}));
    EXPECT_EQ(c.smtp_options.command_timeout, 420s);
    EXPECT_EQ(c.smtp_options.data_timeout, 90s);
    EXPECT_EQ(c.smtp_options.postmaster, "admin@example.test");
    EXPECT_TRUE(c.submission.listen.empty());
    EXPECT_EQ(c.submission.plaintext_auth, PlaintextAuth::Always);
    EXPECT_EQ(c.imap.plaintext_auth, PlaintextAuth::Never);
    EXPECT_EQ(c.imap_options.idle_timeout, 7200s);
    EXPECT_EQ(c.limits.max_message_size, 10ull << 20);
    EXPECT_EQ(c.limits.max_recipients, 7u);
    EXPECT_EQ(c.limits.max_line_length, 2000u);
    EXPECT_EQ(c.auth.lockout, 5 * 86400s);
    EXPECT_EQ(c.store.busy_timeout, 250ms);
}

TEST(ConfigParse, BusyTimeoutAcceptsSecondsAndMilliseconds) {
    EXPECT_EQ(parse_config("[store]\nbusy_timeout = 3\n", "r", false).store.busy_timeout, 3000ms);
    EXPECT_EQ(parse_config("[store]\nbusy_timeout = \"2s\"\n", "r", false).store.busy_timeout, 2000ms);
    EXPECT_EQ(parse_config("[store]\nbusy_timeout = \"1500ms\"\n", "r", false).store.busy_timeout, 1500ms);
    EXPECT_THAT(config_error("[store]\nbusy_timeout = \"fast\"\n"), HasSubstr("roost.toml:2: store.busy_timeout"));
    EXPECT_THAT(config_error("[store]\nbusy_timeout = \"5xms\"\n"), HasSubstr("store.busy_timeout"));
}

TEST(ConfigErrors, UnknownKeyNamesKeyAndLine) {
    auto msg = config_error("hostname = \"mx.example.test\"\n\n[smtp]\nlisen = [\"127.0.0.1:25\"]\n");
    EXPECT_THAT(msg, HasSubstr("lisen"));
    EXPECT_THAT(msg, HasSubstr("roost.toml:4"));
    EXPECT_THAT(msg, HasSubstr("unknown key 'smtp.lisen'"));
}

TEST(ConfigErrors, UnknownTopLevelKeyNamesKeyAndLine) {
    auto msg = config_error("# comment\nhostnme = \"x.example\"\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:2"));
    EXPECT_THAT(msg, HasSubstr("unknown key 'hostnme'"));
    // A section name used as a plain key is not a key either.
    EXPECT_THAT(config_error("smtp = \"x\"\n"), HasSubstr("roost.toml:1: unknown key 'smtp'"));
}

TEST(ConfigErrors, UnknownSectionNamesSectionAndLine) {
    auto msg = config_error("hostname = \"mx.example.test\"\n[smpt]\nlisten = []\n");
    EXPECT_THAT(msg, HasSubstr("smpt"));
    EXPECT_THAT(msg, HasSubstr("roost.toml:2"));
    EXPECT_THAT(msg, HasSubstr("unknown section"));
}

TEST(ConfigErrors, NestedTableIsAnUnknownKey) {
    auto msg = config_error("[smtp]\nlisten = []\n[smtp.extra]\nx = 1\n");
    EXPECT_THAT(msg, HasSubstr("smtp.extra"));
    EXPECT_THAT(msg, HasSubstr("roost.toml:3"));
}

TEST(ConfigErrors, WrongTypeNamesKeyAndLine) {
    auto msg = config_error("[limits]\n\nmax_recipients = \"lots\"\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:3"));
    EXPECT_THAT(msg, HasSubstr("limits.max_recipients"));
    EXPECT_THAT(msg, HasSubstr("lots"));

    EXPECT_THAT(config_error("hostname = 5\n"), HasSubstr("roost.toml:1: hostname: expected a string"));
    EXPECT_THAT(config_error("[smtp]\nlisten = 25\n"), HasSubstr("roost.toml:2: smtp.listen: expected an array"));
    EXPECT_THAT(config_error("[smtp]\nlisten = [25]\n"), HasSubstr("roost.toml:2: smtp.listen"));
    EXPECT_THAT(config_error("[limits]\nmax_recipients = 1.5\n"), HasSubstr("roost.toml:2: limits.max_recipients"));
    EXPECT_THAT(config_error("[limits]\nmax_recipients = true\n"), HasSubstr("roost.toml:2: limits.max_recipients"));
    EXPECT_THAT(config_error("[imap]\nplaintext_auth = 1\n"), HasSubstr("roost.toml:2: imap.plaintext_auth"));
    EXPECT_THAT(config_error("[log]\nlevel = \"verbose\"\n"), HasSubstr("roost.toml:2: log.level"));
}

TEST(ConfigErrors, OutOfRangeNumberNamesKeyAndBounds) {
    auto msg = config_error("[limits]\nmax_line_length = 10\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:2: limits.max_line_length"));
    EXPECT_THAT(msg, HasSubstr("between 1000 and"));
    EXPECT_THAT(config_error("[limits]\nmax_recipients = 0\n"), HasSubstr("limits.max_recipients"));
    EXPECT_THAT(config_error("[limits]\nmax_recipients = -3\n"), HasSubstr("limits.max_recipients"));
}

TEST(ConfigErrors, BadEndpointNamesKeyLineAndValue) {
    auto msg = config_error("[imap]\nlisten = [\"127.0.0.1:143\", \"localhost:143\"]\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:2: imap.listen"));
    EXPECT_THAT(msg, HasSubstr("'localhost:143'"));
    EXPECT_THAT(config_error("[pop3]\nlisten_tls = [\"127.0.0.1:99999\"]\n"), HasSubstr("pop3.listen_tls"));
    EXPECT_THAT(config_error("[admin]\nlisten = [\"::1:8080\"]\n"), HasSubstr("admin.listen"));
}

TEST(ConfigErrors, BadPlaintextAuthEnumNamesChoices) {
    auto msg = config_error("[submission]\nplaintext_auth = \"sometimes\"\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:2: submission.plaintext_auth"));
    EXPECT_THAT(msg, HasSubstr("sometimes"));
    EXPECT_THAT(msg, HasSubstr("\"loopback\""));
}

TEST(ConfigErrors, BadSizeAndDurationNameKeyAndLine) {
    auto size = config_error("[limits]\nmax_message_size = \"50X\"\n");
    EXPECT_THAT(size, HasSubstr("roost.toml:2: limits.max_message_size"));
    EXPECT_THAT(size, HasSubstr("50X"));
    EXPECT_THAT(config_error("[limits]\nmax_message_size = -1\n"), HasSubstr("limits.max_message_size"));
    auto dur = config_error("[smtp]\n\n\ncommand_timeout = \"5y\"\n");
    EXPECT_THAT(dur, HasSubstr("roost.toml:4: smtp.command_timeout"));
    EXPECT_THAT(dur, HasSubstr("5y"));
    EXPECT_THAT(config_error("[pop3]\nidle_timeout = -5\n"), HasSubstr("roost.toml:2: pop3.idle_timeout"));
}

TEST(ConfigErrors, TomlSyntaxErrorNamesLine) {
    auto msg = config_error("hostname = \"a.example\"\n[smtp]\nlisten = [\"127.0.0.1:25\"\n");
    EXPECT_THAT(msg, HasSubstr("roost.toml:"));
    EXPECT_THAT(msg, ::testing::Not(HasSubstr("roost.toml:1:")));
}

TEST(ConfigErrors, EmptyHostnameAndDataDirRejected) {
    EXPECT_THAT(config_error("hostname = \"\"\n"), HasSubstr("hostname: must not be empty"));
    EXPECT_THAT(config_error("data_dir = \"\"\n"), HasSubstr("data_dir: must not be empty"));
}

TEST(ConfigErrors, MissingFileIsAnError) {
    try {
        load_config("/nonexistent/roost-test/roost.toml", false);
        FAIL() << "no error for a missing file";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent/roost-test/roost.toml"));
    }
}

TEST(ConfigFile, LoadConfigReadsFileAndNamesItInErrors) {
    std::string path = ::testing::TempDir() + "roost-config-test.toml";
    {
        std::ofstream f(path);
        f << "hostname = \"file.example.test\"\n[smtp]\nlisen = []\n";
    }
    try {
        load_config(path, false);
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path + ":3: unknown key 'smtp.lisen'"));
    }
    {
        std::ofstream f(path);
        f << "hostname = \"file.example.test\"\n";
    }
    EXPECT_EQ(load_config(path, false).hostname, "file.example.test");
    std::remove(path.c_str());
}

TEST(ConfigPath, ExplicitThenEnvironmentThenDefault) {
    {
        ScopedEnv e("ROOST_CONFIG", "/from/env.toml");
        EXPECT_EQ(config_path("/explicit.toml"), "/explicit.toml");
        EXPECT_EQ(config_path(""), "/from/env.toml");
    }
    ::unsetenv("ROOST_CONFIG");
    EXPECT_EQ(config_path(""), "/etc/roost/roost.toml");
}

TEST(Sizes, UnitsAndPlainNumbers) {
    std::uint64_t v = 0;
    ASSERT_TRUE(parse_size("50M", v));
    EXPECT_EQ(v, 50ull * 1024 * 1024);
    ASSERT_TRUE(parse_size("512K", v));
    EXPECT_EQ(v, 512ull * 1024);
    ASSERT_TRUE(parse_size("1G", v));
    EXPECT_EQ(v, 1ull << 30);
    ASSERT_TRUE(parse_size("1048576", v));
    EXPECT_EQ(v, 1048576u);
    ASSERT_TRUE(parse_size("0", v));
    EXPECT_EQ(v, 0u);
    ASSERT_TRUE(parse_size("10MiB", v));
    EXPECT_EQ(v, 10ull << 20);
    ASSERT_TRUE(parse_size("2gb", v));
    EXPECT_EQ(v, 2ull << 30);
    ASSERT_TRUE(parse_size("100B", v));
    EXPECT_EQ(v, 100u);
}

TEST(Sizes, Rejects) {
    std::uint64_t v = 12345;
    for (const char* bad : {"", "M", "-1", "1.5M", "50 M", "50X", "5T", " 5", "99999999999999999999",
                            "17179869184G"})
        EXPECT_FALSE(parse_size(bad, v)) << bad;
    EXPECT_EQ(v, 12345u) << "a rejected size must not change the output";
}

TEST(Sizes, ConfigAcceptsIntegersAndStrings) {
    EXPECT_EQ(parse_config("[limits]\nmax_message_size = 1000\n", "r", false).limits.max_message_size, 1000u);
    EXPECT_EQ(parse_config("[limits]\nmax_message_size = \"512K\"\n", "r", false).limits.max_message_size, 512u << 10);
    EXPECT_EQ(parse_config("[limits]\nmax_message_size = \"1G\"\n", "r", false).limits.max_message_size, 1ull << 30);
}

TEST(Durations, Units) {
    std::chrono::seconds d{};
    ASSERT_TRUE(parse_duration("30s", d));
    EXPECT_EQ(d, 30s);
    ASSERT_TRUE(parse_duration("5m", d));
    EXPECT_EQ(d, 300s);
    ASSERT_TRUE(parse_duration("2h", d));
    EXPECT_EQ(d, 7200s);
    ASSERT_TRUE(parse_duration("5d", d));
    EXPECT_EQ(d, 5 * 86400s);
    ASSERT_TRUE(parse_duration("90", d));
    EXPECT_EQ(d, 90s);
    ASSERT_TRUE(parse_duration("0s", d));
    EXPECT_EQ(d, 0s);
}

TEST(Durations, Rejects) {
    std::chrono::seconds d{42};
    for (const char* bad : {"", "s", "-5s", "5y", "1w", "5 m", "1.5h", "5ms", "10000000000000000d"})
        EXPECT_FALSE(parse_duration(bad, d)) << bad;
    EXPECT_EQ(d, 42s);
}

TEST(ConfigEnv, OverridesTakePrecedenceOverFile) {
    ScopedEnv listen("ROOST_SMTP_LISTEN", "127.0.0.1:1,127.0.0.1:2");
    ScopedEnv host("ROOST_HOSTNAME", "env.example.test");
    ScopedEnv size("ROOST_LIMITS_MAX_MESSAGE_SIZE", "1G");
    ScopedEnv auth("ROOST_IMAP_PLAINTEXT_AUTH", "always");
    ScopedEnv timeout("ROOST_SMTP_COMMAND_TIMEOUT", "90");
    ScopedEnv recipients("ROOST_LIMITS_MAX_RECIPIENTS", "12");
    auto c = parse_config(R"(hostname = "file.example.test"
[smtp]
listen = ["0.0.0.0:25"]
command_timeout = "10m"
[imap]
plaintext_auth = "never"
[limits]
max_message_size = "10M"
max_recipients = 50
)",
                          "roost.toml", true);
    EXPECT_EQ(c.hostname, "env.example.test");
    EXPECT_EQ(c.smtp.listen, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"}));
    EXPECT_EQ(c.limits.max_message_size, 1ull << 30);
    EXPECT_EQ(c.imap.plaintext_auth, PlaintextAuth::Always);
    EXPECT_EQ(c.smtp_options.command_timeout, 90s);
    EXPECT_EQ(c.limits.max_recipients, 12u);
}

TEST(ConfigEnv, IgnoredWhenDisabled) {
    ScopedEnv host("ROOST_HOSTNAME", "env.example.test");
    EXPECT_EQ(parse_config("hostname = \"file.example.test\"\n", "r", false).hostname, "file.example.test");
}

TEST(ConfigEnv, EmptyListDisablesListener) {
    ScopedEnv listen("ROOST_SUBMISSION_LISTEN_TLS", "");
    EXPECT_TRUE(parse_config("", "r", true).submission.listen_tls.empty());
}

TEST(ConfigEnv, BadValueNamesTheVariable) {
    {
        ScopedEnv bad("ROOST_LIMITS_MAX_MESSAGE_SIZE", "huge");
        auto msg = config_error("", true);
        EXPECT_THAT(msg, HasSubstr("ROOST_LIMITS_MAX_MESSAGE_SIZE"));
        EXPECT_THAT(msg, HasSubstr("huge"));
    }
    {
        ScopedEnv bad("ROOST_SMTP_LISTEN", "127.0.0.1:25,nowhere");
        auto msg = config_error("", true);
        EXPECT_THAT(msg, HasSubstr("ROOST_SMTP_LISTEN"));
        EXPECT_THAT(msg, HasSubstr("nowhere"));
    }
    {
        ScopedEnv bad("ROOST_LIMITS_MAX_RECIPIENTS", "12abc");
        EXPECT_THAT(config_error("", true), HasSubstr("ROOST_LIMITS_MAX_RECIPIENTS"));
    }
    {
        ScopedEnv bad("ROOST_POP3_PLAINTEXT_AUTH", "sometimes");
        EXPECT_THAT(config_error("", true), HasSubstr("ROOST_POP3_PLAINTEXT_AUTH"));
    }
    {
        ScopedEnv bad("ROOST_HOSTNAME", "");
        EXPECT_THAT(config_error("", true), HasSubstr("hostname: must not be empty"));
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(ConfigDocs, ReferenceDocumentsEveryKeyAndEnvironmentName) {
    auto md = config_reference_markdown();
    for (const char* needle : {"| `hostname` |", "| `listen` |", "| `plaintext_auth` |", "`ROOST_SMTP_LISTEN`",
                               "`ROOST_LIMITS_MAX_MESSAGE_SIZE`", "`ROOST_STORE_BUSY_TIMEOUT`", "### [limits]",
                               "| `max_message_size` | `\"50M\"` |", "| `busy_timeout` | `\"10000ms\"` |",
                               "| `command_timeout` | `\"300s\"` |", "One of: `never`, `loopback`, `always`."})
        EXPECT_THAT(md, HasSubstr(needle));
}

TEST(ConfigDocs, ConfigurationMdMatchesGeneratedReference) {
    auto doc = read_file(std::string(ROOST_SOURCE_DIR) + "/docs/configuration.md");
    ASSERT_FALSE(doc.empty()) << "docs/configuration.md not found under " << ROOST_SOURCE_DIR;
    const std::string begin = "<!-- BEGIN GENERATED -->\n", end = "<!-- END GENERATED -->";
    auto b = doc.find(begin);
    auto e = doc.find(end);
    ASSERT_NE(b, std::string::npos);
    ASSERT_NE(e, std::string::npos);
    ASSERT_LT(b, e);
    auto generated = doc.substr(b + begin.size(), e - b - begin.size());
    EXPECT_EQ(generated, config_reference_markdown())
        << "docs/configuration.md is stale: regenerate the block with `roost config docs`";
}

}  // namespace
