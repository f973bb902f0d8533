// Parse-once model of an RFC 5322 / MIME message: what IMAP FETCH and SEARCH need, recorded at
// delivery so they never re-parse the stored bytes.
//
// Security posture: input is hostile (any bytes from the network). The parser is one forward pass
// over the buffer, never recurses, never throws on malformed input (only std::bad_alloc), and keeps
// memory bounded by ParseLimits: at most max_parts Part objects, at most max_depth nesting, at most
// max_header_fields / max_header_bytes of fields recorded per header block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mail/address.hpp"
#include "common/mail/header.hpp"

namespace roost::mail {

// RFC 3501 §7.4.2 ENVELOPE. Strings are the raw header values, unfolded and trimmed, RFC 2047
// encoded-words left as they are (clients decode). Empty string = field absent (IMAP NIL).
// sender and reply_to are copies of from when absent or empty, as §7.4.2 requires.
struct Envelope {
  std::string date, subject, in_reply_to, message_id;
  std::vector<Address> from, sender, reply_to, to, cc, bcc;
  bool operator==(const Envelope&) const = default;
};

// One MIME entity. Offsets are into the whole raw message.
struct Part {
  uint64_t header_offset = 0, header_size = 0;  // header block incl. the blank line that ends it
  uint64_t body_offset = 0, body_size = 0;
  uint64_t body_lines = 0;  // LF count in the body, plus one for a final line without LF
  std::string type = "text", subtype = "plain";  // lower-case
  Params params;                                 // RFC 2231-decoded to UTF-8, names lower-case
  std::string id, description, encoding = "7BIT", md5;  // raw (unfolded, trimmed); encoding upper
  std::string disposition;                              // lower-case, empty = absent
  Params disposition_params;
  std::vector<std::string> language;
  std::string location;
  // Multipart: the body parts (may be empty when no delimiter was found). message/rfc822 and
  // message/global: exactly one child, the embedded message, and `envelope` is set. Other: none.
  std::vector<Part> children;
  std::optional<Envelope> envelope;
  bool operator==(const Part&) const = default;

  bool is_multipart() const noexcept { return type == "multipart"; }
  bool is_message() const noexcept { return envelope.has_value(); }
};

struct ParsedMessage {
  Part root;
  Envelope envelope;
  std::vector<HeaderField> top_headers;  // top-level header fields, in order (bounded by limits)
  bool limits_hit = false;  // some ParseLimits bound was reached; the tree is a truncated view
  bool operator==(const ParsedMessage&) const = default;
};

struct ParseLimits {
  size_t max_depth = 64;            // nesting of multipart/message levels; deeper → opaque leaf
  size_t max_parts = 5000;          // Part objects in the tree, root included
  size_t max_header_bytes = 1 << 20;  // per header block: bytes examined for fields
  size_t max_header_fields = 5000;  // per header block: fields recorded
};

// Never fails: any byte string is a message (RFC 5322 §3.5 allows a missing body; a missing header
// is an empty one). Accepts CRLF and bare-LF line endings. Rules, with their sources:
//  - RFC 2046 §5.1.1: the line break before a delimiter belongs to the delimiter; preamble and
//    epilogue belong to no part; a missing close-delimiter is tolerated (parts end at the end of the
//    enclosing entity); outer delimiters end inner entities.
//  - RFC 2045 §5.2: no (or an invalid) Content-Type means text/plain; RFC 2046 §5.1.5: inside
//    multipart/digest the default is message/rfc822.
//  - Beyond max_depth or max_parts, an entity that would nest is kept as an opaque
//    application/octet-stream leaf; a multipart that would exceed max_parts stops splitting (the
//    rest of its body is treated as epilogue).
ParsedMessage parse_message(std::string_view raw, const ParseLimits& limits = {});

// IMAP section numbers (RFC 3501 §6.4.5): "1.2" → {1, 2}. An empty path is the whole message.
// Part numbers of a message/rfc822 part address the embedded message's body parts; part 1 of a
// non-multipart message is its body. Returns nullptr for a path that does not exist.
const Part* find_section(const Part& root, std::span<const uint32_t> path) noexcept;

}  // namespace roost::mail
