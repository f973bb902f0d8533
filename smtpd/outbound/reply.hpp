// Client side of the SMTP wire format, pure (no I/O): parsing the server's replies (RFC 5321 §4.2),
// the EHLO keywords (RFC 5321 §4.1.1.1), and the command text the client sends (xtext for DSN parameters,
// RFC 3461 §4; dot-stuffing, RFC 5321 §4.5.2). Bounded: a reply line or a reply longer than the limits is
// an error, never an unbounded buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roost::outbound {

struct SmtpReply {
    int code = 0;                     // 200..599
    std::string enhanced;             // RFC 2034 / RFC 3463 "5.1.1", empty when the server gave none
    std::vector<std::string> lines;   // text of each line, without code, separator or enhanced code

    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    // "550 5.1.1 text1 / text2": one line, control characters removed, for logs and DSN Diagnostic-Code.
    std::string summary() const;
};

enum class ReplyParse { NeedMore, Complete, Error };

struct ReplyLimits {
    std::size_t max_line = 4096;  // RFC 5321 §4.5.3.1.5 says 512; real servers send more
    std::size_t max_lines = 200;
};

// Parses one complete reply at the start of `buffer`. On Complete, `consumed` is the number of bytes it
// took (up to and including the final line's LF). NeedMore: no complete reply yet. Error: not SMTP
// (bad code, mixed codes in one reply, a line over the limit, too many lines). Lines end in CRLF; a bare
// LF is accepted.
ReplyParse parse_reply(std::string_view buffer, SmtpReply& out, std::size_t& consumed, const ReplyLimits& limits = {});

// What an EHLO reply advertises (RFC 5321 §4.1.1.1: the first line is the greeting, each further line one
// keyword with optional parameters; keywords are case-insensitive).
struct Capabilities {
    bool esmtp = false;        // EHLO was answered positively
    bool starttls = false;     // RFC 3207
    bool pipelining = false;   // RFC 2920
    bool eightbitmime = false; // RFC 6152
    bool smtputf8 = false;     // RFC 6531
    bool dsn = false;          // RFC 3461
    bool size = false;         // RFC 1870
    std::uint64_t max_size = 0;  // SIZE parameter; 0 = no limit given
    bool enhanced_status = false;  // RFC 2034
    std::vector<std::string> auth;  // RFC 4954 mechanisms, upper-case
    bool has_auth(std::string_view mechanism) const;
};
Capabilities parse_ehlo(const SmtpReply& reply);

// RFC 3461 §4: xtext encoding of DSN parameters (ENVID, ORCPT address).
std::string encode_xtext(std::string_view text);

// RFC 5321 §4.5.2: a line starting with '.' gets another; the message is terminated by CRLF "." CRLF.
// A message not ending in CRLF gets one first.
std::string dot_stuff(std::string_view message);

// True if the text has octets >= 0x80 (needs BODY=8BITMIME, RFC 6152).
bool has_8bit(std::string_view text);

}  // namespace roost::outbound
