#include "pop3d/protocol/command.hpp"

#include <array>
#include <limits>
#include <type_traits>
#include <vector>

namespace roost::pop3 {
namespace {

constexpr const auto& kNames = kCommandNames;

template <class T, std::size_t I = 0>
constexpr std::size_t index_of() {
    if constexpr (std::is_same_v<std::variant_alternative_t<I, Command>, T>) return I;
    else return index_of<T, I + 1>();
}
static_assert(kNames[index_of<User>()] == "USER" && kNames[index_of<Top>()] == "TOP" &&
              kNames[index_of<Uidl>()] == "UIDL" && kNames[index_of<Rset>()] == "RSET");

ParseError syntax(std::string text) { return ParseError{ParseError::Kind::Syntax, std::move(text)}; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Space-separated arguments. RFC 1939 §3 says "a single SPACE"; runs of spaces and trailing spaces are
// tolerated (they cannot change the meaning of a numeric or single-token argument).
std::vector<std::string_view> split_args(std::string_view rest) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < rest.size()) {
        if (rest[i] == ' ') {
            ++i;
            continue;
        }
        auto end = rest.find(' ', i);
        if (end == std::string_view::npos) end = rest.size();
        out.push_back(rest.substr(i, end - i));
        i = end;
    }
    return out;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// RFC 1939 §3: message-numbers are base-10. No sign, no spaces; values beyond 32 bits are refused (no
// maildrop gets near them).
std::optional<std::uint32_t> message_number(std::string_view s) {
    if (!all_digits(s)) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

// TOP's line count: any non-negative number; huge values mean "the whole body" (RFC 1939 §7).
std::optional<std::uint64_t> line_count(std::string_view s) {
    if (!all_digits(s)) return std::nullopt;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t v = 0;
    for (char c : s) {
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (max - d) / 10) return max;
        v = v * 10 + d;
    }
    return v;
}

// RFC 4422 §3.1: mechanism names are 1-20 characters from [A-Z0-9-_]; clients vary in case.
std::optional<std::string> mechanism_name(std::string_view s) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::string out;
    for (char c : s) {
        c = upper(c);
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return std::nullopt;
        out += c;
    }
    return out;
}

std::variant<Command, ParseError> optional_message(std::string_view rest, bool uidl) {
    auto args = split_args(rest);
    if (args.empty()) {
        if (uidl) return Command{Uidl{}};
        return Command{List{}};
    }
    if (args.size() > 1) return syntax("Too many arguments");
    auto n = message_number(args[0]);
    if (!n) return syntax("Invalid message number");
    if (uidl) return Command{Uidl{*n}};
    return Command{List{*n}};
}

std::optional<std::uint32_t> single_message(std::string_view rest, ParseError& error) {
    auto args = split_args(rest);
    if (args.empty()) {
        error = syntax("Missing message number");
        return std::nullopt;
    }
    if (args.size() > 1) {
        error = syntax("Too many arguments");
        return std::nullopt;
    }
    auto n = message_number(args[0]);
    if (!n) error = syntax("Invalid message number");
    return n;
}

}  // namespace

std::variant<Command, ParseError> parse_command(std::string_view line, const ParseOptions& options) {
    if (line.size() + 2 > options.max_line_length) return ParseError{ParseError::Kind::LineTooLong, "Line too long"};
    // RFC 1939 §3: keywords and arguments are printable; a NUL or bare CR inside a line is never a command.
    for (unsigned char c : line)
        if (c < 0x20 || c == 0x7F) return ParseError{ParseError::Kind::BadCharacters, "Invalid characters in command"};

    auto sp = line.find(' ');
    auto word = line.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    // RFC 1939 §3: keywords are three or four characters, case-insensitive.
    if (word.size() < 3 || word.size() > 4) return ParseError{ParseError::Kind::UnknownCommand, "Unknown command"};
    std::string keyword;
    for (char c : word) keyword += upper(c);

    std::size_t index = kNames.size();
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == keyword) index = i;
    if (index == kNames.size()) return ParseError{ParseError::Kind::UnknownCommand, "Unknown command"};

    auto no_args = [&](Command c) -> std::variant<Command, ParseError> {
        if (!split_args(rest).empty()) return syntax(std::string(keyword) + " takes no arguments");
        return c;
    };
    ParseError error{ParseError::Kind::Syntax, {}};

    switch (index) {
        case index_of<User>(): {  // USER name — RFC 1939 §7
            auto args = split_args(rest);
            if (args.empty()) return syntax("Missing user name");
            if (args.size() > 1) return syntax("USER takes one argument");
            return Command{User{std::string(args[0])}};
        }
        case index_of<Pass>():  // PASS string — RFC 1939 §7: the argument may contain spaces
            if (rest.empty()) return syntax("Missing password");
            return Command{Pass{std::string(rest)}};
        case index_of<Apop>(): return Command{Apop{}};
        case index_of<Auth>(): {  // AUTH mechanism [initial-response] — RFC 5034 §4
            auto args = split_args(rest);
            if (args.empty()) return Command{Auth{}};
            if (args.size() > 2) return syntax("Too many arguments");
            auto mech = mechanism_name(args[0]);
            if (!mech) return syntax("Invalid mechanism name");
            Auth a{std::move(*mech), std::nullopt};
            if (args.size() == 2) a.initial_response = std::string(args[1]);
            return Command{std::move(a)};
        }
        case index_of<Capa>(): return no_args(Capa{});
        case index_of<Stls>(): return no_args(Stls{});
        case index_of<Quit>(): return no_args(Quit{});
        case index_of<Stat>(): return no_args(Stat{});
        case index_of<List>(): return optional_message(rest, false);
        case index_of<Retr>(): {
            auto n = single_message(rest, error);
            if (!n) return error;
            return Command{Retr{*n}};
        }
        case index_of<Dele>(): {
            auto n = single_message(rest, error);
            if (!n) return error;
            return Command{Dele{*n}};
        }
        case index_of<Noop>(): return no_args(Noop{});
        case index_of<Rset>(): return no_args(Rset{});
        case index_of<Top>(): {  // TOP msg n — RFC 1939 §7: both arguments required
            auto args = split_args(rest);
            if (args.size() < 2) return syntax("TOP needs a message number and a line count");
            if (args.size() > 2) return syntax("Too many arguments");
            auto n = message_number(args[0]);
            if (!n) return syntax("Invalid message number");
            auto lines = line_count(args[1]);
            if (!lines) return syntax("Invalid line count");
            return Command{Top{*n, *lines}};
        }
        case index_of<Uidl>(): return optional_message(rest, true);
    }
    return ParseError{ParseError::Kind::UnknownCommand, "Unknown command"};
}

}  // namespace roost::pop3
