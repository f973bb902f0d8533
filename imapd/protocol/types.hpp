// IMAP value types shared by the parser (protocol/parser), the renderers (protocol/render), the search
// evaluator (protocol/search) and the session. Pure data: no I/O, no Asio, no storage.
// Grammar references are to RFC 9051 §9 (and RFC 3501 §9 for IMAP4rev1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace roost::imap {

// Stored system flags (same bits as store::SystemFlag); \Recent is per session, not stored.
inline constexpr std::uint32_t kFlagSeen = 1u << 0;
inline constexpr std::uint32_t kFlagAnswered = 1u << 1;
inline constexpr std::uint32_t kFlagFlagged = 1u << 2;
inline constexpr std::uint32_t kFlagDeleted = 1u << 3;
inline constexpr std::uint32_t kFlagDraft = 1u << 4;

// sequence-set (RFC 9051 §9): ranges of message numbers or UIDs; `*` is kStar until resolved against the
// mailbox (largest number in use). "$" (RFC 5182 SEARCHRES) is `saved = true`.
inline constexpr std::uint32_t kStar = 0xffffffffu;
struct SeqRange {
    std::uint32_t first = 0;  // may be kStar
    std::uint32_t last = 0;   // may be kStar; order as written (3:1 == 1:3)
    friend bool operator==(const SeqRange&, const SeqRange&) = default;
};
struct SequenceSet {
    std::vector<SeqRange> ranges;
    bool saved = false;  // "$"
    // True if n (1-based) is in the set, with `*` meaning `max`.
    bool contains(std::uint32_t n, std::uint32_t max) const;
    friend bool operator==(const SequenceSet&, const SequenceSet&) = default;
};

// SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4; MODSEQ from RFC 7162 §3.1.5).
struct SearchKey;
using SearchKeyPtr = std::shared_ptr<SearchKey>;
struct SearchKey {
    enum class Kind {
        All, Answered, Deleted, Draft, Flagged, Seen, Recent, New, Old,  // flags / RFC 3501 compat
        Unanswered, Undeleted, Undraft, Unflagged, Unseen,
        Keyword, Unkeyword,          // text = flag
        Bcc, Cc, From, Subject, To,  // text = substring (case-insensitive)
        Body, Text,                  // text = substring; answered from the full-text index
        Header,                      // field + text
        Before, On, Since,           // date = internal date (days since epoch, UTC date)
        SentBefore, SentOn, SentSince,  // date from the Date: header
        Larger, Smaller,             // number = octets
        Uid,                         // set = UIDs
        Sequence,                    // set = message sequence numbers
        Not,                         // children[0]
        Or,                          // children[0], children[1]
        And,                         // children (a parenthesised list or the top-level list)
        ModSeq,                      // number = mod-sequence (RFC 7162); entry name/type ignored
    };
    Kind kind = Kind::All;
    std::string text;       // string argument
    std::string field;      // HEADER field-name
    std::int64_t date = 0;  // days since 1970-01-01 for date keys
    std::uint64_t number = 0;
    SequenceSet set;
    std::vector<SearchKeyPtr> children;
};

// FETCH body section (RFC 9051 §6.4.5): BODY[<section>]<<partial>>.
struct Section {
    std::vector<std::uint32_t> part;  // "1.2.3"; empty = whole message
    enum class Text { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime } text = Text::None;
    std::vector<std::string> fields;  // for HEADER.FIELDS (.NOT), upper-cased
    friend bool operator==(const Section&, const Section&) = default;
};
struct Partial {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    friend bool operator==(const Partial&, const Partial&) = default;
};

}  // namespace roost::imap
