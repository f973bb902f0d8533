// IMAP FETCH renderers over the parse-once message model (common/mail/message.hpp): ENVELOPE,
// BODY / BODYSTRUCTURE, and BODY[section]<partial> resolution to byte ranges of the stored message.
//
// Pure: no I/O, no storage. Section resolution answers "which bytes", so the caller reads only those
// from storage; the only bytes it ever needs to hand in are one header block, for HEADER.FIELDS.
//
// Conventions (Dovecot's, so clients see what they are used to):
//  - media type, subtype, parameter names, transfer encoding and disposition type are sent in lower
//    case ("text" "plain" ("charset" "us-ascii") … "7bit"); parameter values as written.
//  - a text/* part without a charset parameter gets ("charset" "us-ascii") (RFC 2045 §5.2 default).
//  - a multipart without parts gets one empty text/plain child (RFC 9051 §9: 1*body).
//  - strings are quoted when they can be, literals otherwise (CR, LF, or 8-bit bytes while UTF-8 is
//    not enabled, or invalid UTF-8 while it is). NUL bytes, which no IMAP string may carry, are
//    dropped.
//  - empty envelope / body fields are NIL.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/message.hpp"
#include "imapd/protocol/types.hpp"

namespace roost::imap {

// RFC 9051 §7.5.2 ENVELOPE: the parenthesised list, starting with "(". `utf8`: the client enabled
// UTF8=ACCEPT (RFC 9051 / RFC 6855), so valid UTF-8 may go into quoted strings.
std::string render_envelope(const mail::Envelope& envelope, bool utf8);

// RFC 9051 §7.5.2 BODY (extended = false) and BODYSTRUCTURE (extended = true) of `part` (usually
// ParsedMessage::root), starting with "(".
std::string render_body_structure(const mail::Part& part, bool extended, bool utf8 = false);

// A run of bytes of the stored message (offsets into the whole raw message).
struct ByteRange {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// The content of a BODY[section]: either ranges of the stored message, concatenated, or bytes built
// here (HEADER.FIELDS results). An empty section (nonexistent part, RFC 9051 §6.4.5) is
// use_synthesized with an empty string.
struct SectionData {
    std::vector<ByteRange> ranges;
    std::string synthesized;
    bool use_synthesized = false;

    std::uint64_t size() const noexcept;
    // Assemble the content from the raw message (tests, small messages; the session streams ranges).
    std::string materialize(std::string_view raw_message) const;
};

// For HEADER.FIELDS / HEADER.FIELDS.NOT: the header block resolve_section() needs (read it from
// storage and pass it in). nullopt when the section needs no header bytes or does not exist.
std::optional<ByteRange> header_block_range(const mail::ParsedMessage& message, const Section& section);

// RFC 9051 §6.4.5 / RFC 3501 §6.4.5: which bytes BODY[section] returns.
//  - [] whole message; [HEADER] / [TEXT] / [HEADER.FIELDS …] of the message, or with a part number
//    of a message/rfc822 (or message/global) part, of the embedded message;
//  - [n.m] the body of part n.m (numbers inside a message/rfc822 part address the embedded
//    message's parts; part 1 of a non-multipart message is its body);
//  - [n.MIME] the MIME header of part n;
//  - a part that does not exist, or HEADER/TEXT on a part that is not a message → empty content.
// HEADER and HEADER.FIELDS results include the blank line ending the header (HEADER.FIELDS: the
// matching fields as written, each ending in a line break, then "\r\n"). `header_block` must be the bytes
// at header_block_range() for HEADER.FIELDS sections (ignored otherwise); nullopt if its size does
// not match that range (a caller bug) or MIME is asked of the whole message.
std::optional<SectionData> resolve_section(const mail::ParsedMessage& message, const Section& section,
                                           std::string_view header_block = {});

// RFC 9051 §6.4.5 partial `<offset.length>`: the sub-range, clipped to the content (an offset past
// the end gives empty content).
SectionData apply_partial(const SectionData& data, const Partial& partial);

// RFC 9051 §6.4.5 BINARY[section-part]: where the part's body is and how to undo its
// Content-Transfer-Encoding. The whole message ([]) and composite parts (multipart/*, message/*) can
// only carry identity encodings (RFC 2045 §6.4) and are returned as stored.
struct BinarySource {
    enum class Encoding { Identity, Base64, QuotedPrintable, Unknown };
    ByteRange range;
    Encoding encoding = Encoding::Identity;
    bool text = false;  // text/*: line breaks go out as CRLF (RFC 9051 §7.5.2 BINARY)
};
// nullopt: the part does not exist (the content is then empty, as for BODY[]).
std::optional<BinarySource> binary_source(const mail::ParsedMessage& message, std::span<const std::uint32_t> part);
// The decoded content of `body` (the bytes at source.range); nullopt when the encoding is unknown, which
// the session answers with NO [UNKNOWN-CTE].
std::optional<std::string> decode_binary(const BinarySource& source, std::string_view body);
// "BINARY[1.2]<0>" or "BINARY.SIZE[1.2]" as echoed in the FETCH response.
std::string render_binary_name(std::span<const std::uint32_t> part, std::optional<Partial> partial, bool size);

// The section name as echoed in the FETCH response: "BODY[1.2.HEADER.FIELDS (FROM TO)]<0>"
// (RFC 9051 §7.5.2: only the origin octet of a partial is echoed).
std::string render_fetch_section_name(const Section& section, std::optional<Partial> partial);

}  // namespace roost::imap
