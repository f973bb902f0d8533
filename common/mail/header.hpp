// Header-block primitives for RFC 5322 / MIME: field splitting, unfolding, RFC 2047 encoded words,
// Content-Type / Content-Disposition with RFC 2231 parameters, charset conversion.
//
// Pure functions over byte strings: no I/O, never throw on malformed input (they may throw
// std::bad_alloc). Every function is lenient: garbage yields a best-effort result, not an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost::mail {

using Params = std::vector<std::pair<std::string, std::string>>;

// One header field, owning its bytes. `value` is everything after the colon up to (not including)
// the line break that ends the field: leading whitespace and folding (CRLF/LF + WSP) are kept as
// they are in the message. `offset`/`size` locate the whole field (name through final line break).
struct HeaderField {
  std::string name;   // as written, trailing whitespace before ':' removed (RFC 5322 §4.5.3 obs)
  std::string value;  // raw
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const HeaderField&) const = default;
};

// Same, as views into the block passed to split_header_fields(); offsets relative to that block.
struct HeaderFieldView {
  std::string_view name;
  std::string_view value;
  size_t offset = 0;
  size_t size = 0;
};

// Split a header block (the bytes up to and including the blank line, or less) into fields.
// A line that starts with SP/HT continues the previous field (RFC 5322 §2.2.3); a line without a
// colon becomes a field with that line as name and an empty value (lenient, like Dovecot).
// CRLF and bare LF both end a line. Stops at the first empty line or after `max_fields` fields.
std::vector<HeaderFieldView> split_header_fields(std::string_view block,
                                                 size_t max_fields = SIZE_MAX);

// RFC 5322 §2.2.3: remove every CRLF (or bare LF) that is followed by WSP; drop any other CR/LF.
std::string unfold(std::string_view value);
// unfold() then trim leading/trailing WSP — the form IMAP ENVELOPE strings use.
std::string unfold_trim(std::string_view value);

bool iequals(std::string_view a, std::string_view b) noexcept;
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

// First field whose name equals `name` ignoring ASCII case, or nullptr.
const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name) noexcept;
const HeaderFieldView* find_field(const std::vector<HeaderFieldView>& fields,
                                  std::string_view name) noexcept;

// Convert `data` in `charset` (any name iconv knows, plus common aliases) to UTF-8.
// Invalid input sequences become U+FFFD. Returns nullopt when the charset is unknown.
std::optional<std::string> charset_to_utf8(std::string_view data, std::string_view charset);
// Make `data` valid UTF-8, replacing each invalid byte with U+FFFD.
std::string sanitize_utf8(std::string_view data);
bool is_valid_utf8(std::string_view data) noexcept;

// RFC 2047: decode encoded-words (B and Q, RFC 2231 §5 `charset*lang` accepted) in an unstructured
// value to UTF-8. Whitespace between adjacent encoded-words is dropped (§6.2); folding is removed.
// An encoded-word with an unknown charset or bad encoding is kept as written. Text outside
// encoded-words that is not valid UTF-8 is sanitized.
std::string decode_rfc2047(std::string_view value);

struct ContentType {
  std::string type = "text", subtype = "plain";  // lower-case
  Params params;                                 // names lower-case, values decoded (RFC 2231)
  bool valid = false;                            // false: absent or unparsable → defaults above
};
struct ContentDisposition {
  std::string type;  // lower-case, empty if absent/unparsable
  Params params;
};

// RFC 2045 §5.1 `type "/" subtype *(";" parameter)`, CFWS allowed anywhere; RFC 2231 parameter
// continuations (name*0, name*1*), charset/language (name*=utf-8'en'%E2%82%AC) decoded to UTF-8.
ContentType parse_content_type(std::string_view value);
// RFC 2183 `disposition-type *(";" parameter)`.
ContentDisposition parse_content_disposition(std::string_view value);
// The `*(";" parameter)` tail alone (input starts at the first ';' or at a parameter).
Params parse_parameters(std::string_view value);

// Value of parameter `name` (lower-case), or nullptr.
const std::string* find_param(const Params& params, std::string_view name) noexcept;

// Strip RFC 5322 CFWS around a single token-ish value (Content-Transfer-Encoding, Content-ID…):
// removes comments and surrounding whitespace, unfolds.
std::string strip_cfws(std::string_view value);

}  // namespace roost::mail
