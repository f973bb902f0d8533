// Decoded text of a parsed message, for the full-text index (SQLite FTS5).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/mail/message.hpp"

namespace roost::mail {

// Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8). Lenient: invalid characters are skipped
// (base64) or kept literally (quoted-printable); both accept CRLF and bare LF.
std::string decode_base64(std::string_view in);
std::string decode_quoted_printable(std::string_view in);

// Crude text/html → text: drops tags, comments, <script>/<style> content; decodes common entities.
std::string html_to_text(std::string_view html);

// UTF-8 text for indexing: decoded Subject, From, To (names and addresses), then every text/* part
// (transfer encoding undone, charset converted, HTML stripped), including the headers and text of
// embedded message/rfc822 parts. Output is valid UTF-8, at most max_bytes long (cut on a
// character boundary); parts are separated by newlines.
std::string extract_text(std::string_view raw, const ParsedMessage& message,
                         size_t max_bytes = 1 << 20);

// The body only (what IMAP SEARCH BODY looks in, RFC 9051 §6.4.4): every text/* part, and the headers and
// text of embedded message/rfc822 parts, but not the top-level header.
std::string extract_body_text(std::string_view raw, const ParsedMessage& message, size_t max_bytes = 1 << 20);

// The top-level header fields, unfolded and RFC 2047-decoded, one "Name: value" per line (SEARCH TEXT
// looks in the header too).
std::string extract_header_text(const ParsedMessage& message, size_t max_bytes = 1 << 16);

}  // namespace roost::mail
