// Typed IMAP commands (RFC 9051 §6, RFC 3501 §6 and the extensions Roost implements), produced by the
// CommandReader (protocol/parser.hpp). Pure data: handlers never re-tokenize strings.
//
// Conventions:
//  - Every command carries the client's `tag` verbatim.
//  - Mailbox names are UTF-8: decoded from modified UTF-7 (RFC 3501 §5.1.3) unless the reader is in UTF-8
//    mode (RFC 6855 UTF8=ACCEPT / IMAP4rev2), and the name INBOX in any case is normalised to "INBOX"
//    (RFC 9051 §5.1; only the exact name, "inbox/sub" is kept as sent).
//  - Flags are strings; system flags keep their backslash and are normalised to their RFC spelling
//    ("\\seen" -> "\\Seen"); keywords are kept as sent.
//  - Atoms that name protocol things (SASL mechanism, ENABLE capabilities, COMPRESS mechanism, quota
//    resource names) are upper-cased.
//  - Each struct has `kName`, the command's wire name, for logs and the command table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "imapd/protocol/types.hpp"

namespace roost::imap {

using Flag = std::string;

// --- Any state (RFC 9051 §6.1) -------------------------------------------------------------------------
struct Capability {
    static constexpr std::string_view kName = "CAPABILITY";
    std::string tag;
};
struct Noop {
    static constexpr std::string_view kName = "NOOP";
    std::string tag;
};
struct Logout {
    static constexpr std::string_view kName = "LOGOUT";
    std::string tag;
};
// RFC 4978 COMPRESS; `mechanism` upper-cased ("DEFLATE").
struct Compress {
    static constexpr std::string_view kName = "COMPRESS";
    std::string tag;
    std::string mechanism;
};
// RFC 2971 ID; `params` is nullopt for "ID NIL". At most 30 pairs (RFC 2971 §3.3).
struct IdParam {
    std::string name;
    std::optional<std::string> value;  // NIL -> nullopt
    friend bool operator==(const IdParam&, const IdParam&) = default;
};
struct Id {
    static constexpr std::string_view kName = "ID";
    std::string tag;
    std::optional<std::vector<IdParam>> params;
};

// --- Not authenticated (RFC 9051 §6.2) ------------------------------------------------------------------
struct StartTls {
    static constexpr std::string_view kName = "STARTTLS";
    std::string tag;
};
// RFC 9051 §6.2.2, RFC 4959 SASL-IR. `initial_response` is the base64 text as sent (validated to use the
// base64 alphabet, not decoded); "=" (an empty initial response) becomes "".
struct Authenticate {
    static constexpr std::string_view kName = "AUTHENTICATE";
    std::string tag;
    std::string mechanism;  // upper-cased
    std::optional<std::string> initial_response;
};
struct Login {
    static constexpr std::string_view kName = "LOGIN";
    std::string tag;
    std::string user;
    std::string password;
};

// --- Authenticated (RFC 9051 §6.3) -----------------------------------------------------------------------
// RFC 7162 §3.2.5: QRESYNC select parameter.
struct SeqMatchData {
    SequenceSet sequence_numbers;  // known-sequence-set
    SequenceSet uids;              // known-uid-set
    friend bool operator==(const SeqMatchData&, const SeqMatchData&) = default;
};
struct QresyncParams {
    std::uint32_t uid_validity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known_uids;
    std::optional<SeqMatchData> seq_match;
    friend bool operator==(const QresyncParams&, const QresyncParams&) = default;
};
struct SelectArgs {
    std::string tag;
    std::string mailbox;
    bool condstore = false;                 // RFC 7162 §3.1.8 (CONDSTORE) select parameter
    std::optional<QresyncParams> qresync;   // RFC 7162 §3.2.5
};
struct Select : SelectArgs {
    static constexpr std::string_view kName = "SELECT";
};
struct Examine : SelectArgs {
    static constexpr std::string_view kName = "EXAMINE";
};
// RFC 6154 §3 CREATE-SPECIAL-USE: `special_use` from "USE (\Drafts ...)", known attributes normalised.
struct Create {
    static constexpr std::string_view kName = "CREATE";
    std::string tag;
    std::string mailbox;
    std::vector<std::string> special_use;
};
struct Delete {
    static constexpr std::string_view kName = "DELETE";
    std::string tag;
    std::string mailbox;
};
struct Rename {
    static constexpr std::string_view kName = "RENAME";
    std::string tag;
    std::string from;
    std::string to;
};
struct Subscribe {
    static constexpr std::string_view kName = "SUBSCRIBE";
    std::string tag;
    std::string mailbox;
};
struct Unsubscribe {
    static constexpr std::string_view kName = "UNSUBSCRIBE";
    std::string tag;
    std::string mailbox;
};

// STATUS data items (RFC 9051 §6.3.11; RECENT from RFC 3501; HIGHESTMODSEQ RFC 7162; SIZE RFC 8438;
// APPENDLIMIT RFC 7889).
enum class StatusItem { Messages, UidNext, UidValidity, Unseen, Deleted, Size, Recent, HighestModSeq, AppendLimit };

// RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS.
struct ListSelectOptions {
    bool subscribed = false;
    bool remote = false;
    bool recursive_match = false;
    bool special_use = false;
    friend bool operator==(const ListSelectOptions&, const ListSelectOptions&) = default;
};
struct ListReturnOptions {
    bool subscribed = false;
    bool children = false;
    bool special_use = false;
    std::vector<StatusItem> status;  // RETURN (STATUS (...)); empty = not requested
    friend bool operator==(const ListReturnOptions&, const ListReturnOptions&) = default;
};
struct List {
    static constexpr std::string_view kName = "LIST";
    std::string tag;
    std::string reference;
    std::vector<std::string> patterns;  // one for basic LIST; "(p1 p2)" gives several (RFC 5258 §3)
    ListSelectOptions select;
    ListReturnOptions returns;
    bool extended = false;  // selection options, RETURN or a pattern list was given (RFC 5258 §3)
};
struct Lsub {
    static constexpr std::string_view kName = "LSUB";
    std::string tag;
    std::string reference;
    std::string pattern;
};
struct Status {
    static constexpr std::string_view kName = "STATUS";
    std::string tag;
    std::string mailbox;
    std::vector<StatusItem> items;
};
// date-time of APPEND (RFC 9051 §9): `unix_seconds` is UTC seconds since the epoch; `tz_offset_minutes` is
// the zone as sent (east of Greenwich positive), kept so INTERNALDATE can be rendered in the client's zone.
struct DateTime {
    std::int64_t unix_seconds = 0;
    int tz_offset_minutes = 0;
    friend bool operator==(const DateTime&, const DateTime&) = default;
};
struct Append {
    static constexpr std::string_view kName = "APPEND";
    std::string tag;
    std::string mailbox;
    std::vector<Flag> flags;
    std::optional<DateTime> internal_date;
    std::string message;  // literal bytes
    bool utf8 = false;    // sent as RFC 6855 §4 "UTF8 (~{n}...)"
};
struct Idle {
    static constexpr std::string_view kName = "IDLE";
    std::string tag;
};
struct Namespace {
    static constexpr std::string_view kName = "NAMESPACE";
    std::string tag;
};
// RFC 5161; capabilities upper-cased.
struct Enable {
    static constexpr std::string_view kName = "ENABLE";
    std::string tag;
    std::vector<std::string> capabilities;
};
// RFC 9208 QUOTA. Quota roots are astrings, not mailbox names (no mUTF-7 decoding).
struct GetQuota {
    static constexpr std::string_view kName = "GETQUOTA";
    std::string tag;
    std::string root;
};
struct GetQuotaRoot {
    static constexpr std::string_view kName = "GETQUOTAROOT";
    std::string tag;
    std::string mailbox;
};
struct QuotaResource {
    std::string name;  // upper-cased: STORAGE, MESSAGE, MAILBOX, ANNOTATION-STORAGE, ...
    std::uint64_t limit = 0;
    friend bool operator==(const QuotaResource&, const QuotaResource&) = default;
};
struct SetQuota {
    static constexpr std::string_view kName = "SETQUOTA";
    std::string tag;
    std::string root;
    std::vector<QuotaResource> resources;
};

// --- Selected (RFC 9051 §6.4) -----------------------------------------------------------------------------
struct Check {
    static constexpr std::string_view kName = "CHECK";
    std::string tag;
};
struct Close {
    static constexpr std::string_view kName = "CLOSE";
    std::string tag;
};
struct Unselect {
    static constexpr std::string_view kName = "UNSELECT";
    std::string tag;
};
struct Expunge {
    static constexpr std::string_view kName = "EXPUNGE";
    std::string tag;
};
// RFC 4315 UIDPLUS / RFC 9051 §6.4.9: UID EXPUNGE.
struct UidExpunge {
    static constexpr std::string_view kName = "UID EXPUNGE";
    std::string tag;
    SequenceSet set;
};

// RFC 4731 ESEARCH / RFC 9051 §6.4.4.1 return options; RFC 5182 SAVE.
struct SearchReturnOptions {
    bool min = false;
    bool max = false;
    bool all = false;
    bool count = false;
    bool save = false;
    friend bool operator==(const SearchReturnOptions&, const SearchReturnOptions&) = default;
};
// `key` is always an And node holding the top-level keys (a parenthesised list is a nested And).
// `charset` is upper-cased, empty when not given; only US-ASCII and UTF-8 are accepted.
struct Search {
    static constexpr std::string_view kName = "SEARCH";
    std::string tag;
    bool uid = false;
    bool return_given = false;  // "RETURN (...)" present: answer with ESEARCH; "RETURN ()" sets returns.all
    SearchReturnOptions returns;
    std::string charset;
    SearchKeyPtr key;
};

struct FetchItem {
    enum class Kind {
        Flags, Uid, InternalDate, Rfc822Size, Envelope, BodyStructure,
        Body,         // non-extensible BODYSTRUCTURE ("BODY" without a section)
        BodySection,  // BODY[section]<partial> or BODY.PEEK[...] (peek = true)
        Rfc822, Rfc822Header, Rfc822Text,
        ModSeq,       // RFC 7162 §3.1.4.1
        Binary,       // RFC 9051 §6.4.5 BINARY[section-part]<partial> or BINARY.PEEK[...] (peek = true)
        BinarySize,   // RFC 9051 §6.4.5 BINARY.SIZE[section-part]
    };
    Kind kind = Kind::Flags;
    bool peek = false;
    Section section;
    std::optional<Partial> partial;
    friend bool operator==(const FetchItem&, const FetchItem&) = default;
};
// Macros ALL/FAST/FULL are expanded (RFC 9051 §6.4.5). Items are as the client wrote them: the handler adds
// UID for UID FETCH (RFC 9051 §6.4.9) and MODSEQ for CHANGEDSINCE (RFC 7162 §3.1.4.1).
// VANISHED is only accepted with UID FETCH and CHANGEDSINCE (RFC 7162 §3.2.6).
struct Fetch {
    static constexpr std::string_view kName = "FETCH";
    std::string tag;
    bool uid = false;
    SequenceSet set;
    std::vector<FetchItem> items;
    std::optional<std::uint64_t> changed_since;
    bool vanished = false;
};

enum class StoreOp { Replace, Add, Remove };  // FLAGS, +FLAGS, -FLAGS
struct Store {
    static constexpr std::string_view kName = "STORE";
    std::string tag;
    bool uid = false;
    SequenceSet set;
    StoreOp op = StoreOp::Replace;
    bool silent = false;
    std::vector<Flag> flags;
    std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3
};
struct Copy {
    static constexpr std::string_view kName = "COPY";
    std::string tag;
    bool uid = false;
    SequenceSet set;
    std::string mailbox;
};
// RFC 6851
struct Move {
    static constexpr std::string_view kName = "MOVE";
    std::string tag;
    bool uid = false;
    SequenceSet set;
    std::string mailbox;
};

// RFC 5256 SORT (DISPLAYFROM/DISPLAYTO from RFC 5957). Charset is mandatory there.
enum class SortKey { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo };
struct SortCriterion {
    SortKey key = SortKey::Arrival;
    bool reverse = false;
    friend bool operator==(const SortCriterion&, const SortCriterion&) = default;
};
struct Sort {
    static constexpr std::string_view kName = "SORT";
    std::string tag;
    bool uid = false;
    std::vector<SortCriterion> criteria;
    std::string charset;  // upper-cased
    SearchKeyPtr key;     // And of the keys, as for Search
};
enum class ThreadAlgorithm { OrderedSubject, References };
struct Thread {
    static constexpr std::string_view kName = "THREAD";
    std::string tag;
    bool uid = false;
    ThreadAlgorithm algorithm = ThreadAlgorithm::References;
    std::string charset;
    SearchKeyPtr key;
};

using Command = std::variant<
    Capability, Noop, Logout, Compress, Id,
    StartTls, Authenticate, Login,
    Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Status, Append, Idle, Namespace,
    Enable, GetQuota, GetQuotaRoot, SetQuota,
    Check, Close, Unselect, Expunge, UidExpunge, Search, Fetch, Store, Copy, Move, Sort, Thread>;

// The tag of any command.
const std::string& command_tag(const Command& command);
// The wire name of any command ("FETCH"; "UID FETCH" when the uid flag is set).
std::string command_name(const Command& command);

// RFC 2177 §3: while IDLE, the session reads lines itself; this says whether one is the "DONE" that ends
// IDLE (case-insensitive; a trailing CRLF or LF is allowed).
bool is_done_line(std::string_view line);

}  // namespace roost::imap
