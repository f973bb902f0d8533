// Response-side string helpers (RFC 9051 §4.3, §9): how Roost writes strings, flags, sets and dates.
// Pure functions; the renderers (protocol/render) and handlers build responses from these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/protocol/types.hpp"

namespace roost::imap {

// A quoted string when every octet may appear in `quoted` (TEXT-CHAR, with `"` and `\` escaped; 8-bit only
// when `utf8_ok` and the text is valid UTF-8, RFC 9051 §4.3 / RFC 6855), otherwise a synchronising-form
// literal "{n}\r\n<bytes>" (servers never send LITERAL+ forms).
std::string quoted_or_literal(std::string_view s, bool utf8_ok);
// NIL for nullopt, else quoted_or_literal.
std::string nstring(const std::optional<std::string>& s, bool utf8_ok);
std::string nstring(std::optional<std::string_view> s, bool utf8_ok);
// An atom when `s` is non-empty and all ASTRING-CHARs (and is not "NIL", which would read as nil), else
// quoted_or_literal.
std::string astring(std::string_view s, bool utf8_ok);
// A mailbox name for a response: mUTF-7 encoded unless `utf8_mode`, then as an astring.
std::string mailbox_astring(std::string_view utf8_name, bool utf8_mode);

// System flag bits shared with storage.
// "(\Seen \Answered \Flagged \Deleted \Draft \Recent kw1 kw2)": system flags in bit order, then \Recent,
// then keywords in the given order.
std::string flag_list(std::uint32_t system_flags_bits, const std::vector<std::string>& keywords, bool recent);

// "1:3,5,7:8". Input need not be sorted or unique (it is sorted and de-duplicated); empty input gives "".
std::string format_sequence_set(std::vector<std::uint32_t> sorted_numbers);

// date-time without the quotes (RFC 9051 §9): "28-Nov-2026 12:00:00 +0000"; the day is two digits. The
// time shown is `unix_seconds` (UTC) shifted into the zone `tz_offset_minutes` east of Greenwich.
std::string imap_date_time(std::int64_t unix_seconds, int tz_offset_minutes = 0);

}  // namespace roost::imap
