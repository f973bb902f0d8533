// RFC 5322 §3.4 address lists, shaped for IMAP ENVELOPE (RFC 3501 §7.4.2 / RFC 9051 §7.5.2).
//
// Pure and total: never throws on malformed input (only std::bad_alloc), best effort on junk.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace roost::mail {

// One ENVELOPE address. A group `name: a@b, c@d;` becomes a start marker {group_start, mailbox =
// "name"}, the members, then an end marker {group_end, all empty} — IMAP's (NIL NIL "name" NIL) and
// (NIL NIL NIL NIL). An empty host with neither flag set means the address had no '@'.
struct Address {
  std::string name;     // display name as in the header: quotes and folding removed, RFC 2047
                        // encoded-words NOT decoded (see display_name_utf8). For `a@b (Comment)`
                        // without a phrase, the comment text.
  std::string route;    // obsolete source route "@a,@b" (RFC 5322 §4.4), usually empty
  std::string mailbox;  // local part, unquoted
  std::string host;     // domain (a domain literal keeps its brackets)
  bool group_start = false, group_end = false;
  bool operator==(const Address&) const = default;
};

// Parses a raw (possibly folded) address-list / mailbox-list header value. Stops after
// `max_addresses` entries (group markers included); an open group is then still closed.
std::vector<Address> parse_address_list(std::string_view value, size_t max_addresses = 10000);

// The display name decoded to UTF-8 (RFC 2047), for search and display.
std::string display_name_utf8(const Address& address);

}  // namespace roost::mail
