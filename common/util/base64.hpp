// Base64 (RFC 4648 §4) encoding and decoding.
//
// Two decoders with different contracts:
//  - base64_decode: strict, for protocol payloads (SASL, RFC 4954 §4 / RFC 9051 §6.2.2) where any
//    deviation from the canonical alphabet means a malformed command.
//  - base64_decode_lenient: for MIME bodies (RFC 2045 §6.8), where line breaks are normal and
//    damaged input should yield whatever could be recovered instead of an error.
// Neither throws on bad input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roost {

// RFC 4648 §4, with '=' padding, no line breaks.
[[nodiscard]] std::string base64_encode(std::string_view data);

// RFC 4648 §4 strict decoding: length must be a multiple of 4, padding is required, any character
// outside the alphabet (whitespace and CR/LF included) is rejected, and so are non-zero pad bits
// (RFC 4648 §3.5, which permits rejecting them) so every input has exactly one valid encoding.
// The empty string decodes to the empty string.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

// MIME-style decoding (RFC 2045 §6.8): skips space, tab, CR and LF; stops at '=' (end of data) or at the
// first other character outside the alphabet and returns what was decoded up to there. A dangling
// single sextet at the end is dropped. Never fails: the result is always engaged.
[[nodiscard]] std::optional<std::string> base64_decode_lenient(std::string_view text);

}  // namespace roost
