// POP3 command-line parser: one line (without its CRLF) in, one typed command out.
//
// Pure: no I/O, no Asio, no storage, no policy. It decides what the client *said*; whether the command is
// allowed in the current state or before TLS is the session's job (its command table).
//
// RFC 1939 §3 (general syntax), §4-§7 (commands); RFC 2449 §3-§5 (grammar, 255-octet commands, CAPA);
// RFC 2595 §4 (STLS); RFC 5034 §4 (AUTH mechanism [initial-response]).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace roost::pop3 {

// RFC 2449 §4: servers that support CAPA MUST accept commands of up to 255 octets including CRLF. That is
// the floor; the session may allow longer lines (limits.max_line_length) but never less.
inline constexpr std::size_t kMinCommandLineLength = 255;

struct ParseOptions {
    // Longest accepted command line, INCLUDING the CRLF the caller has stripped.
    std::size_t max_line_length = 4096;
};

// Commands of RFC 1939 and its extensions. Message numbers are as sent (0 and numbers beyond the maildrop
// parse fine and are answered "no such message" by the session).
struct User {
    std::string name;
};
struct Pass {
    std::string password;  // RFC 1939 §7: the rest of the line, spaces included
};
struct Apop {};  // recognised so it can be refused clearly (never offered: no timestamp in the greeting)
struct Auth {
    // Upper-cased SASL mechanism name; empty for a bare "AUTH" (the pre-RFC 5034 mechanism listing that
    // some clients still send; see the session).
    std::string mechanism;
    // RFC 5034 §4: base64 text as sent ("=" stands for an empty response); nullopt when absent.
    std::optional<std::string> initial_response;
};
struct Capa {};
struct Stls {};
struct Quit {};
struct Stat {};
struct List {
    std::optional<std::uint32_t> msg;
};
struct Retr {
    std::uint32_t msg;
};
struct Dele {
    std::uint32_t msg;
};
struct Noop {};
struct Rset {};
struct Top {
    std::uint32_t msg;
    std::uint64_t lines;  // RFC 1939 §7: non-negative; saturates at UINT64_MAX ("the whole message")
};
struct Uidl {
    std::optional<std::uint32_t> msg;
};

// The order of alternatives is the order of the session's command table (session/commands.hpp).
using Command = std::variant<User, Pass, Apop, Auth, Capa, Stls, Quit, Stat, List, Retr, Dele, Noop, Rset, Top, Uidl>;

// The keyword of each alternative of Command, in variant order.
inline constexpr std::array<std::string_view, std::variant_size_v<Command>> kCommandNames{
    "USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "QUIT", "STAT",
    "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP",  "UIDL",
};
constexpr std::string_view command_name(std::size_t variant_index) {
    return variant_index < kCommandNames.size() ? kCommandNames[variant_index] : std::string_view("?");
}
inline std::string_view command_name(const Command& command) { return command_name(command.index()); }

// What the session answers with "-ERR <text>". Fixed texts: nothing the client sent is echoed.
struct ParseError {
    enum class Kind {
        UnknownCommand,  // RFC 1939 §3: unrecognized → negative status
        Syntax,          // recognised keyword, bad arguments
        LineTooLong,
        BadCharacters,   // control characters (NUL, bare CR, ...) in the line
    };
    Kind kind;
    std::string text;
};

std::variant<Command, ParseError> parse_command(std::string_view line, const ParseOptions& options = {});

}  // namespace roost::pop3
