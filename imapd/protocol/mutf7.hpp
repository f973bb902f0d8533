// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), used on the wire unless UTF8=ACCEPT is enabled
// (RFC 6855 §3) or the session speaks IMAP4rev2 (RFC 9051 §5.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roost::imap {

// UTF-8 -> modified UTF-7. Printable US-ASCII other than "&" represents itself, "&" becomes "&-", every
// other run of characters is one "&<modified base64 of UTF-16BE>-" shift. Invalid UTF-8 input bytes are
// encoded as U+FFFD (names reaching this function come from storage and are valid UTF-8).
std::string mutf7_encode(std::string_view utf8);

// Modified UTF-7 -> UTF-8, strict: returns nullopt for anything an RFC 3501 encoder would not produce —
// bytes outside 0x20-0x7e, an unterminated shift, characters outside the modified base64 alphabet, non-zero
// or too many padding bits, an empty shift other than "&-", printable US-ASCII encoded in base64, two
// adjacent shifts, and unpaired UTF-16 surrogates.
std::optional<std::string> mutf7_decode(std::string_view mutf7);

// True if `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace roost::imap
