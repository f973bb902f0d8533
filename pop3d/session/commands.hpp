// The POP3 command table (STYLE 4): for every command, the states it is valid in, whether it belongs to a
// login (refused before TLS unless `[pop3] plaintext_auth` allows this client; RFC 2595 §2.3, RFC 8314),
// and how it interacts with pipelining (RFC 2449 §6.6). The session checks state and TLS from this table
// before any handler runs.
#pragma once

#include <array>
#include <string_view>
#include <variant>

#include "pop3d/protocol/command.hpp"

namespace roost::pop3d {

enum StateBits : unsigned {
    kAuthorization = 1u << 0,  // RFC 1939 §4
    kTransaction = 1u << 1,    // RFC 1939 §5
};

enum class Pipelining {
    Normal,   // the reply may wait in the output buffer while more pipelined commands are read
    Barrier,  // pending replies are flushed first: the command talks to the client itself (AUTH challenges)
              // or replaces the stream (STLS: anything pipelined after it is discarded, RFC 2595 §4)
    Last,     // QUIT: nothing after it is read
};

struct CommandSpec {
    std::string_view name;
    unsigned states;
    bool login;  // USER, PASS, AUTH: needs TLS or a plaintext_auth exemption
    Pipelining pipelining;
};

// Indexed by pop3::Command's variant index.
inline constexpr std::array<CommandSpec, std::variant_size_v<pop3::Command>> kCommands{{
    {"USER", kAuthorization, true, Pipelining::Normal},     // RFC 1939 §7
    {"PASS", kAuthorization, true, Pipelining::Normal},     // RFC 1939 §7
    {"APOP", kAuthorization, false, Pipelining::Normal},    // RFC 1939 §7 (refused: see session.cpp)
    {"AUTH", kAuthorization, true, Pipelining::Barrier},    // RFC 5034 §4
    {"CAPA", kAuthorization | kTransaction, false, Pipelining::Normal},  // RFC 2449 §5
    {"STLS", kAuthorization, false, Pipelining::Barrier},   // RFC 2595 §4
    {"QUIT", kAuthorization | kTransaction, false, Pipelining::Last},  // RFC 1939 §4, §6
    {"STAT", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"LIST", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"RETR", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"DELE", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"NOOP", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"RSET", kTransaction, false, Pipelining::Normal},      // RFC 1939 §5
    {"TOP", kTransaction, false, Pipelining::Normal},       // RFC 1939 §7
    {"UIDL", kTransaction, false, Pipelining::Normal},      // RFC 1939 §7
}};

// The table and the parser agree on every position.
constexpr bool table_matches_parser() {
    for (std::size_t i = 0; i < kCommands.size(); ++i)
        if (kCommands[i].name != pop3::kCommandNames[i]) return false;
    return true;
}
static_assert(table_matches_parser());

}  // namespace roost::pop3d
