#include "common/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>
#include <unistd.h>

namespace roost::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::string g_service = "roost";
std::mutex g_service_mutex;

const char* level_name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warn";
        case Level::Error: return "error";
    }
    return "?";
}
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
Level level() { return static_cast<Level>(g_level.load()); }
void set_service(std::string_view name) {
    std::lock_guard lock(g_service_mutex);
    g_service = name;
}

bool parse_level(std::string_view text, Level& out) {
    if (text == "debug") out = Level::Debug;
    else if (text == "info") out = Level::Info;
    else if (text == "warn" || text == "warning") out = Level::Warn;
    else if (text == "error") out = Level::Error;
    else return false;
    return true;
}

std::string escape(std::string_view raw, std::size_t max) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(raw.size(), max) + 8);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        auto c = static_cast<unsigned char>(raw[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else out += static_cast<char>(c);  // UTF-8 passes through; it cannot forge a line break
    }
    return out;
}

Line::Line(Level level, std::string_view session) : enabled_(static_cast<int>(level) >= g_level.load()) {
    if (!enabled_) return;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    {
        std::lock_guard lock(g_service_mutex);
        out_ << ts << ' ' << level_name(level) << ' ' << g_service;
    }
    if (!session.empty()) out_ << '[' << session << ']';
    out_ << ' ';
}

Line::~Line() {
    if (!enabled_) return;
    out_ << '\n';
    auto s = out_.str();
    // One write per line keeps lines from different threads whole.
    [[maybe_unused]] auto r = ::write(STDERR_FILENO, s.data(), s.size());
}

Line& Line::kv(std::string_view key, std::string_view value) {
    if (enabled_) out_ << ' ' << key << '=' << escape(value);
    return *this;
}

Line& Line::kv(std::string_view key, long long value) {
    if (enabled_) out_ << ' ' << key << '=' << value;
    return *this;
}

std::string new_session_id() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string id(10, ' ');
    auto v = rng();
    for (auto& c : id) {
        c = alphabet[v & 31];
        v >>= 5;
    }
    return id;
}

}  // namespace roost::log
