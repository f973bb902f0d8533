// IMAP SEARCH evaluation (RFC 9051 §6.4.4, RFC 3501 §6.4.4 for RECENT/NEW/OLD, RFC 7162 §3.1.5
// MODSEQ, RFC 5182 "$") of a parsed SearchKey against one message's metadata.
//
// Pure: no I/O. BODY and TEXT keys are answered by the caller's full-text index, handed in per key:
//
//   std::vector<const SearchKey*> keys = text_keys(root);
//   TextMatches hits;
//   for (const SearchKey* k : keys) hits[k] = index.query(k->kind, k->text);  // sorted UIDs
//   SearchContext ctx{max_seq, max_uid, &hits};
//   for (each message m) if (matches(root, m, ctx)) ...
//
// Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) and SENT* dates need SearchMessage::parsed;
// needs_parsed() says whether to load it. Without it those keys do not match.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/message.hpp"
#include "imapd/protocol/types.hpp"

namespace roost::imap {

// System flag bits of SearchMessage::flags.

// What SEARCH, SORT and THREAD know about one message.
struct SearchMessage {
    std::uint32_t seq = 0, uid = 0;
    std::uint32_t flags = 0;  // kFlag* bits
    bool recent = false;
    const std::vector<std::string>* keywords = nullptr;  // may be null: none
    std::int64_t internal_date = 0;                      // unix seconds
    std::uint64_t size = 0;                              // RFC822.SIZE
    std::uint64_t modseq = 0;
    const mail::ParsedMessage* parsed = nullptr;  // may be null (see needs_parsed)
};

// BODY / TEXT key → UIDs the full-text index found for it, sorted ascending.
using TextMatches = std::map<const SearchKey*, std::vector<std::uint32_t>>;

struct SearchContext {
    std::uint32_t max_seq = 0;  // `*` in a sequence set: number of messages
    std::uint32_t max_uid = 0;  // `*` in a UID set: largest UID in use
    const TextMatches* text_matches = nullptr;  // null or a missing key: the key matches nothing
    // RFC 5182: the saved search result that "$" stands for, as sorted UIDs. Null: "$" matches
    // nothing.
    const std::vector<std::uint32_t>* saved_uids = nullptr;
};

// Every BODY / TEXT key in the tree (pointers into `key`), in tree order.
std::vector<const SearchKey*> text_keys(const SearchKey& key);
// True if evaluating `key` looks at SearchMessage::parsed (header keys, SENT* dates).
bool needs_parsed(const SearchKey& key);

bool matches(const SearchKey& key, const SearchMessage& message, const SearchContext& context);

// An RFC 5322 §3.3 date-time (obsolete forms of §4.3, asctime() and other common deviations
// accepted). `local_days` is the calendar day in the header's own zone (for SENTBEFORE/ON/SINCE,
// RFC 9051 §6.4.4), `utc_seconds` the instant (for SORT DATE, RFC 5256 §2.2). An unknown zone counts
// as UTC; a missing time as 00:00:00.
struct SentDate {
    std::int64_t local_days = 0;
    std::int64_t utc_seconds = 0;
};
std::optional<SentDate> parse_rfc5322_date(std::string_view value);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;

// Case-insensitive substring test used by header keys: both sides are folded (ASCII plus the Latin,
// Greek and Cyrillic letters of the first 1200 code points), an empty needle always matches.
bool contains_folded(std::string_view haystack, std::string_view needle);
std::string fold_case(std::string_view utf8);

}  // namespace roost::imap
