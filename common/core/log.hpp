// Structured logging: one line per event, `time level service[session] message key=value ...`.
// Client input must pass through log::escape() before it reaches a line (no raw control characters),
// and credentials never do (STYLE 14).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace roost::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
Level level();
void set_service(std::string_view name);
bool parse_level(std::string_view text, Level& out);

// Escapes control characters and non-UTF-8-looking bytes (\r, \n, \xNN) and caps the length.
std::string escape(std::string_view raw, std::size_t max = 200);

// A line under construction; written to stderr (one write(2) call) when it is destroyed.
class Line {
public:
    Line(Level level, std::string_view session);
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;
    ~Line();
    template <class T>
    Line& operator<<(const T& v) {
        if (enabled_) out_ << v;
        return *this;
    }
    // key=value with the value escaped.
    Line& kv(std::string_view key, std::string_view value);
    Line& kv(std::string_view key, long long value);

private:
    bool enabled_;
    std::ostringstream out_;
};

inline Line debug(std::string_view session = {}) { return Line(Level::Debug, session); }
inline Line info(std::string_view session = {}) { return Line(Level::Info, session); }
inline Line warn(std::string_view session = {}) { return Line(Level::Warn, session); }
inline Line error(std::string_view session = {}) { return Line(Level::Error, session); }

// A short random session id (base32, 10 chars) for tying a connection's lines together.
std::string new_session_id();

}  // namespace roost::log
