// POP3 responses: status lines with RFC 2449 §8 / RFC 3206 response codes, multi-line listings, the CAPA
// list, SASL challenges and unique-ids.
//
// Text passed in is sanitised: control characters and 8-bit bytes become '?', so nothing can inject a
// line end, and the first line stays within RFC 2449 §4's 512 octets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roost::pop3 {

// RFC 1939 §3, RFC 2449 §4: a response's first line is at most 512 octets including CRLF.
inline constexpr std::size_t kMaxResponseLineLength = 512;
// RFC 1939 §7 (UIDL): a unique-id is 1 to 70 characters in 0x21..0x7E.
inline constexpr std::size_t kMaxUniqueIdLength = 70;

// Extended response codes (RFC 2449 §8, registry at IANA "POP3 Extended Response Codes").
enum class Code {
    None,
    InUse,       // [IN-USE]      RFC 2449 §8.1.2: authenticated, but the maildrop is locked
    LoginDelay,  // [LOGIN-DELAY] RFC 2449 §8.1.1: logins refused until a delay has passed
    SysTemp,     // [SYS/TEMP]    RFC 3206 §4: temporary system problem, retry later
    SysPerm,     // [SYS/PERM]    RFC 3206 §4: permanent system problem, needs an administrator
    Auth,        // [AUTH]        RFC 3206 §5: the credentials are wrong
};
std::string_view code_text(Code code);  // "IN-USE", "SYS/TEMP", ... ("" for None)

// "+OK text\r\n" / "+OK\r\n" for empty text.
std::string ok(std::string_view text = {});
// "-ERR [CODE] text\r\n".
std::string err(std::string_view text);
std::string err(Code code, std::string_view text);

// RFC 5034 §4: a server challenge, "+ <base64>\r\n" ("+ \r\n" for an empty one).
std::string challenge(std::string_view base64);

// The multi-line terminator (RFC 1939 §3).
inline constexpr std::string_view kEndOfMultiline = ".\r\n";

// RFC 1939 §5 LIST: "msg size"; RFC 1939 §7 UIDL: "msg unique-id". Both without CRLF.
std::string scan_listing(std::uint32_t msg, std::uint64_t size);
std::string unique_id_listing(std::uint32_t msg, std::string_view unique_id);

// Roost's unique-id: "<UIDVALIDITY>.<UID>" in decimal, the same pair that names the message over IMAP
// (RFC 9051 §2.3.1.1). Stable across sessions; never reused while UIDVALIDITY is unchanged, and a new
// UIDVALIDITY makes every id new. At most 21 characters, all in 0x21..0x7E.
std::string unique_id(std::uint32_t uidvalidity, std::uint32_t uid);

// What CAPA lists (RFC 2449 §5-§6, RFC 2595 §4, RFC 3206 §6, RFC 5034 §5).
struct Capabilities {
    bool user = false;                  // USER/PASS usable on this connection now
    std::vector<std::string> sasl;      // AUTH mechanisms usable now; empty: no SASL line
    bool stls = false;                  // STLS present and permitted in the current state
    std::string implementation = "Roost";
};
// The whole response: "+OK Capability list follows\r\n" ... ".\r\n".
std::string format_capabilities(const Capabilities& caps);

}  // namespace roost::pop3
