// Incremental readers for message content: DATA (RFC 5321 §4.1.1.4, §4.5.2) and BDAT (RFC 3030).
//
// SMTP smuggling defence (CVE-2023-51764/51765/51766 class) — the decision, keep it:
// - ONLY <CRLF>.<CRLF> ends DATA. The CRLF before the dot is the end of the message's last line
//   (it stays in the message); at the very start of DATA, ".<CRLF>" alone ends an empty message.
// - A bare LF or a bare CR anywhere in the content is never a line ending: it does not end a line,
//   so "\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n" and friends can neither end the data nor start a
//   second pipelined message inside it. The message is still read to the real <CRLF>.<CRLF>, then
//   rejected (550 5.6.0) with the BareLineEnding flag. We do not normalise bare endings to CRLF:
//   that is what Postfix's `smtpd_forbid_bare_newline = normal` refuses too, and normalising is
//   what lets a downstream server that accepts them see a different message than we did.
// - Every problem (too big, bare line ending, NUL, over-long line) is reported only after the end
//   marker: the reader keeps consuming (and discarding, once too big) so the session never answers
//   mid-stream and never mistakes message content for commands.
// - Bytes after the end marker are not consumed: a pipelined next command stays in the caller's
//   buffer (RFC 2920 §3.1).
// The readers are pure state machines; input may be split at any byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "smtpd/protocol/reply.hpp"

namespace roost::smtp {

struct DataLimits {
  // Largest accepted message in octets after un-dot-stuffing, CRLFs included (RFC 1870 §4).
  std::uint64_t max_message_size = std::numeric_limits<std::uint64_t>::max();
  // Longest text line including its CRLF (RFC 5321 §4.5.3.1.6: 1000). Exceeding only sets a flag;
  // the session decides whether to refuse.
  std::size_t max_line_length = 1000;
};

// What was wrong with the content, known once the end was reached. Several may be set.
struct ContentFlags {
  bool too_big = false;           // → 552 5.3.4 (RFC 1870 §6.1)
  bool bare_line_ending = false;  // bare CR or LF → 550 5.6.0
  bool nul = false;               // NUL byte → 550 5.6.0
  bool line_too_long = false;     // → 550 5.6.0 (if the session enforces it)
  bool any() const { return too_big || bare_line_ending || nul || line_too_long; }
  // The reply for the most important problem (too_big first), or nullopt when clean.
  std::optional<Reply> rejection() const;
  friend bool operator==(const ContentFlags&, const ContentFlags&) = default;
};

struct FeedResult {
  std::size_t consumed;  // bytes of the input used; the rest belongs to the next command
  bool done;             // the end (of DATA / of the BDAT chunk) was reached
};

class DataReader {
 public:
  explicit DataReader(DataLimits limits = {});

  // Consumes bytes up to and including the end marker. After done, returns {0, true}.
  FeedResult feed(std::string_view bytes);

  bool done() const { return state_ == State::Done; }
  const ContentFlags& flags() const { return flags_; }
  // Un-dot-stuffed octets received so far, including those discarded once too big.
  std::uint64_t size() const { return size_; }
  // The message (complete when done()); empty-ish garbage when flags().too_big.
  const std::string& message() const { return message_; }
  std::string take_message() { return std::move(message_); }
  // Ready for the next DATA.
  void reset();

 private:
  enum class State { LineStart, Dot, DotCr, Middle, Cr, Done };
  bool step(char c);  // one byte; true at the end marker
  void middle(char c);
  void emit(char c);
  void emit(std::string_view s);
  void count_line(std::size_t n);

  DataLimits limits_;
  State state_ = State::LineStart;
  std::size_t line_length_ = 0;  // octets on the current line as sent, CRLF excluded
  std::uint64_t size_ = 0;
  ContentFlags flags_;
  std::string message_;
};

// RFC 3030 §2: BDAT chunks are exactly `size` raw octets (no dot-stuffing, no end marker). The
// reader lives for a whole transaction: the size limit is cumulative over its chunks, and the
// line checks (bare CR/LF, NUL, line length; BINARYMIME is not offered) run across chunk borders.
class BdatReader {
 public:
  explicit BdatReader(DataLimits limits = {});

  // Starts a chunk after "BDAT size [LAST]". The previous chunk must be complete.
  void start_chunk(std::uint64_t size, bool last);
  // Consumes up to the rest of the current chunk; done when the chunk is complete.
  FeedResult feed(std::string_view bytes);

  bool chunk_done() const { return remaining_ == 0; }
  // The LAST chunk has been read completely: the message is complete.
  bool complete() const { return last_ && remaining_ == 0; }
  // Would a chunk of `size` octets take the message over the limit? (The chunk must still be
  // read; the session answers 552 5.3.4 after it.)
  bool would_exceed(std::uint64_t size) const;
  const ContentFlags& flags() const { return flags_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t remaining() const { return remaining_; }
  const std::string& message() const { return message_; }
  std::string take_message() { return std::move(message_); }
  void reset();  // RSET / new transaction

 private:
  DataLimits limits_;
  std::uint64_t remaining_ = 0;
  bool last_ = false;
  bool pending_cr_ = false;  // chunk ended right after a CR
  std::size_t line_length_ = 0;
  std::uint64_t size_ = 0;
  ContentFlags flags_;
  std::string message_;
};

}  // namespace roost::smtp
