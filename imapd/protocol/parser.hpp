// Incremental, bounded IMAP command reader (RFC 9051 §2.2, §4, §9; RFC 3501 §9; RFC 7888 LITERAL+).
//
// The session feeds whatever bytes it has; the reader consumes a prefix and reports one event. It never does
// I/O and never holds more than one command (at most `max_command` bytes) plus one line (`max_line`).
//
// Framing is done first: a command is lines joined by literals. When a line ends in a literal announcement
// ("{n}", "{n+}", "~{n}") its size is checked against the limits BEFORE any literal byte is read:
//  - synchronising literal: the command so far is also checked for syntax; if everything is fine the reader
//    returns NeedContinuation and the session writes "+ ..."; otherwise a ParseFailure (the client waits for
//    "+" and so never sends the bytes — RFC 9051 §7.5 / RFC 7889 §4 [TOOBIG]);
//  - non-synchronising literal (RFC 7888): the client sends the bytes anyway, so a literal over the limit is
//    a fatal failure (RFC 7888 §4: the server may close the connection).
// When the last line arrives, the whole command is parsed into a typed Command (protocol/command.hpp).
//
// Invariants the session can rely on:
//  - After any ParseFailure the reader is already positioned for the next command (a non-fatal failure in
//    the middle of a line makes it discard the rest of that command, including any LITERAL+ data it
//    announces). reset() is only needed when the session refuses a literal the reader accepted.
//  - NeedMore is returned only when all of `input` was consumed; any other event may leave input unconsumed
//    (feed the rest next). The events do not depend on how the input is split.
//  - Lines may end in CRLF or a bare LF (Deviation: RFC 9051 requires CRLF; bare LF is accepted as Dovecot
//    does). Empty lines between commands are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "imapd/protocol/command.hpp"

namespace roost::imap {

struct ParserLimits {
    // Longest line (one segment between literals, without CRLF).
    std::size_t max_line = 65536;
    // Largest literal in APPEND (advertise as APPENDLIMIT, RFC 7889).
    std::size_t max_literal = 64 << 20;
    // Largest whole command: lines plus literal bytes.
    std::size_t max_command = 70 << 20;
    std::size_t max_literals_per_command = 64;
    // Largest literal in any command other than APPEND (LOGIN password, SEARCH text, ...): these are held
    // as strings and have no business being megabytes long.
    std::size_t max_string_literal = 1 << 20;
};

struct ParserOptions {
    // UTF8=ACCEPT enabled (RFC 6855) or IMAP4rev2 (RFC 9051 §5.1): mailbox names are UTF-8, not mUTF-7,
    // and APPEND accepts "UTF8 (~{n}...)".
    bool utf8 = false;
    // LITERAL+ advertised (RFC 7888). When false a non-synchronising literal is a fatal failure.
    bool literal_plus = true;
};

// Longest OR/NOT/parenthesis nesting in SEARCH, SORT and THREAD keys (stack-exhaustion guard).
inline constexpr int kMaxSearchDepth = 100;

struct NeedMore {};
struct NeedContinuation {
    std::uint64_t size;
};
struct ParsedCommand {
    Command command;
};
struct ParseFailure {
    enum Kind {
        Bad,         // "<tag> BAD <message>"
        TooBig,      // APPEND literal over max_literal: "<tag> NO <message>"; message starts with "[TOOBIG]"
        BadCharset,  // unsupported SEARCH/SORT/THREAD charset: "<tag> NO <message>" (RFC 9051 §6.4.4);
                     // message starts with "[BADCHARSET (US-ASCII UTF-8)]"
    };
    std::string tag;      // "*" if no valid tag could be read
    std::string message;  // safe to send: never echoes client bytes
    bool fatal = false;   // close the connection after replying ("* BYE")
    Kind kind = Bad;
};
using ReadEvent = std::variant<NeedMore, NeedContinuation, ParsedCommand, ParseFailure>;

// A line read raw (AUTHENTICATE responses, RFC 9051 §6.2.2; "DONE" ending IDLE, RFC 2177).
struct RawLine {
    std::string text;  // without CRLF
};
using LineEvent = std::variant<NeedMore, RawLine, ParseFailure>;

class CommandReader {
public:
    explicit CommandReader(ParserLimits limits = {}, ParserOptions options = {});

    // Consumes a prefix of `input` (returns how much) and yields the next event. NeedMore means all of
    // `input` was consumed.
    std::pair<std::size_t, ReadEvent> feed(std::string_view input);

    // Reads one raw line (bounded by max_line) outside command syntax. A line over the limit gives a
    // ParseFailure (tag "*") and the rest of it is skipped. Must not be interleaved with a partly read
    // command.
    std::pair<std::size_t, LineEvent> feed_line(std::string_view input);

    // Discards the partial command (e.g. the session refused a synchronising literal the reader accepted).
    // If the reader is skipping the rest of an over-long line it keeps doing so.
    void reset();

    void set_utf8(bool utf8) { options_.utf8 = utf8; }
    void set_literal_plus(bool on) { options_.literal_plus = on; }
    // Between commands only (e.g. smaller limits before authentication).
    void set_limits(const ParserLimits& limits) { limits_ = limits; }
    const ParserLimits& limits() const { return limits_; }
    const ParserOptions& options() const { return options_; }

    // Bytes currently held (for tests and the fuzzer's memory invariant).
    std::size_t buffered() const { return buf_.size(); }

private:
    ParseFailure fail_and_skip(std::string tag, std::string tail, std::string message);

    ParserLimits limits_;
    ParserOptions options_;

    std::string buf_;             // the command so far: lines joined as "{n}\r\n<n bytes>"
    std::size_t segment_start_ = 0;
    std::uint64_t literal_left_ = 0;
    std::size_t literal_count_ = 0;
    bool append_ = false;         // the command being read is APPEND (decides TooBig vs Bad)

    // Skipping the rest of a command after a failure in the middle of a line.
    bool skipping_ = false;
    std::uint64_t skip_literal_left_ = 0;
    std::string skip_tail_;       // last bytes of the skipped line, to spot a "{n+}" announcement
};

// Parses one complete command held in `text` (lines joined by "{n}\r\n<bytes>", no final CRLF) — the
// reader's second stage, exposed for tests and tools. Returns ParsedCommand or ParseFailure.
std::variant<ParsedCommand, ParseFailure> parse_command(std::string_view text, const ParserOptions& options = {});

}  // namespace roost::imap
