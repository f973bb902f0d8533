// Logging: escaping of client input, length cap, one line per event, level filtering.
#include "common/core/log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>

using namespace roost;
using ::testing::HasSubstr;

namespace {

TEST(LogEscape, CrLfAndControlCharacters) {
    EXPECT_EQ(log::escape("RCPT TO:<a@b>\r\nDATA"), "RCPT TO:<a@b>\\r\\nDATA");
    EXPECT_EQ(log::escape("a\tb"), "a\\tb");
    EXPECT_EQ(log::escape(std::string("x\0y", 3)), "x\\x00y");
    EXPECT_EQ(log::escape("\x01\x1b[31m\x7f"), "\\x01\\x1b[31m\\x7f");
    // A literal backslash is escaped too, so client input cannot forge an escape sequence.
    EXPECT_EQ(log::escape("a\\r\\nb"), "a\\\\r\\\\nb");
    // UTF-8 passes through unchanged.
    EXPECT_EQ(log::escape("Grüße ✓"), "Grüße ✓");
}

TEST(LogEscape, OutputNeverContainsRawControlCharacters) {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    auto out = log::escape(all, 10000);
    for (unsigned char c : out) EXPECT_FALSE(c < 0x20 || c == 0x7f) << "raw control byte " << int(c);
}

TEST(LogEscape, CapsLength) {
    auto s = log::escape(std::string(10000, 'a'), 200);
    EXPECT_EQ(s, std::string(200, 'a') + "...");
    EXPECT_EQ(log::escape(std::string(200, 'a'), 200), std::string(200, 'a')) << "exactly at the cap: no marker";
    EXPECT_EQ(log::escape("abcdef", 3), "abc...");
    // Escapes count toward the cap; the result stays bounded.
    auto esc = log::escape(std::string(10000, '\n'), 200);
    EXPECT_TRUE(esc.ends_with("...")) << esc;
    EXPECT_LE(esc.size(), 200u + 6u);
    EXPECT_GE(esc.size(), 200u);
    EXPECT_LE(log::escape(std::string(10000, '\x01'), 50).size(), 50u + 6u);
    // Default cap is 200.
    EXPECT_EQ(log::escape(std::string(500, 'b')).size(), 203u);
}

// Captures what is written to stderr while it is alive.
class StderrCapture {
public:
    StderrCapture() {
        std::fflush(stderr);
        path_ = ::testing::TempDir() + "roost-log-capture-" + std::to_string(::getpid());
        int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    std::string finish() {
        restore();
        std::string out;
        if (FILE* f = std::fopen(path_.c_str(), "rb")) {
            char buf[4096];
            std::size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
            std::fclose(f);
        }
        std::remove(path_.c_str());
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    std::string path_;
    int saved_ = -1;
};

TEST(LogLine, InjectedLineBreakStaysOnOneLine) {
    log::set_level(log::Level::Info);
    log::set_service("testd");
    StderrCapture cap;
    log::info("sess123456").kv("cmd", "MAIL FROM:<x>\r\n2024-01-01 error fake line").kv("n", 42) << " done";
    auto out = cap.finish();
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.find('\n'), out.size() - 1) << "exactly one line: " << out;
    EXPECT_EQ(out.find('\r'), std::string::npos);
    EXPECT_THAT(out, HasSubstr(" info testd[sess123456] "));
    EXPECT_THAT(out, HasSubstr("cmd=MAIL FROM:<x>\\r\\n2024-01-01 error fake line"));
    EXPECT_THAT(out, HasSubstr(" n=42"));
    EXPECT_THAT(out, HasSubstr(" done\n"));
}

TEST(LogLine, LevelFiltersLines) {
    log::set_service("testd");
    log::set_level(log::Level::Warn);
    StderrCapture cap;
    log::debug() << "debug-line";
    log::info() << "info-line";
    log::warn() << "warn-line";
    log::error() << "error-line";
    auto out = cap.finish();
    log::set_level(log::Level::Info);
    EXPECT_EQ(out.find("debug-line"), std::string::npos);
    EXPECT_EQ(out.find("info-line"), std::string::npos);
    EXPECT_THAT(out, HasSubstr(" warn testd warn-line\n"));
    EXPECT_THAT(out, HasSubstr(" error testd error-line\n"));
}

TEST(LogLevel, Parse) {
    log::Level l{};
    ASSERT_TRUE(log::parse_level("debug", l));
    EXPECT_EQ(l, log::Level::Debug);
    ASSERT_TRUE(log::parse_level("warning", l));
    EXPECT_EQ(l, log::Level::Warn);
    ASSERT_TRUE(log::parse_level("error", l));
    EXPECT_EQ(l, log::Level::Error);
    EXPECT_FALSE(log::parse_level("verbose", l));
    EXPECT_FALSE(log::parse_level("", l));
}

TEST(LogSession, IdsAreShortBase32AndDistinct) {
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        auto id = log::new_session_id();
        ASSERT_EQ(id.size(), 10u);
        for (char c : id) EXPECT_NE(std::string("abcdefghijklmnopqrstuvwxyz234567").find(c), std::string::npos);
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
