// RFC 9051 §6.4.4 SEARCH keys, RFC 3501 §6.4.4 (RECENT, NEW, OLD), RFC 7162 §3.1.5 (MODSEQ),
// RFC 5182 ("$"), RFC 5322 §3.3 / §4.3 (date-time, obsolete forms).
#include "imapd/protocol/search.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/mail/address.hpp"
#include "common/mail/header.hpp"

namespace roost::imap {
namespace {

using Kind = SearchKey::Kind;

// --- case folding --------------------------------------------------------------------------------

char32_t fold_code_point(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c >= 0x100 && c <= 0x137) return c | 1;  // Latin Extended-A pairs: even upper, odd lower
    if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
    if (c >= 0x14A && c <= 0x177) return c | 1;
    if (c == 0x178) return 0xFF;
    if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;  // Greek
    if (c >= 0x400 && c <= 0x40F) return c + 80;               // Cyrillic Ѐ–Џ
    if (c >= 0x410 && c <= 0x42F) return c + 32;               // Cyrillic А–Я
    return c;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

// --- header access -------------------------------------------------------------------------------

// Decoded (RFC 2047) values of every top-level field called `name`.
template <typename F>
bool any_field(const mail::ParsedMessage& m, std::string_view name, F&& pred) {
    for (const auto& f : m.top_headers)
        if (mail::iequals(f.name, name) && pred(f)) return true;
    return false;
}

bool header_contains(const mail::ParsedMessage& m, std::string_view name, std::string_view needle) {
    std::string folded_needle = fold_case(needle);
    return any_field(m, name, [&](const mail::HeaderField& f) {
        return fold_case(mail::decode_rfc2047(mail::unfold(f.value))).find(folded_needle) != std::string::npos;
    });
}

// Address fields match on the decoded header text and on each address's decoded display name and
// mailbox@host, so "FROM jörg" finds a name written as a quoted encoded-word too.
bool address_contains(const mail::ParsedMessage& m, std::string_view name, std::string_view needle) {
    if (header_contains(m, name, needle)) return true;
    std::string folded_needle = fold_case(needle);
    return any_field(m, name, [&](const mail::HeaderField& f) {
        for (const auto& a : mail::parse_address_list(f.value)) {
            if (a.group_start || a.group_end) continue;
            std::string s = mail::display_name_utf8(a) + " <" + a.mailbox + "@" + a.host + ">";
            if (fold_case(s).find(folded_needle) != std::string::npos) return true;
        }
        return false;
    });
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool date_matches(Kind kind, std::int64_t day, std::int64_t key_day) {
    switch (kind) {
        case Kind::Before: case Kind::SentBefore: return day < key_day;
        case Kind::On: case Kind::SentOn: return day == key_day;
        default: return day >= key_day;  // Since, SentSince
    }
}

bool in_sorted(const std::vector<std::uint32_t>& v, std::uint32_t x) {
    return std::binary_search(v.begin(), v.end(), x);
}

bool set_contains(const SequenceSet& set, std::uint32_t n, std::uint32_t max, const SearchMessage& m,
                  const SearchContext& ctx) {
    // RFC 5182 §2.1: "$" is the saved result, whether used as UIDs or as sequence numbers.
    if (set.saved) return ctx.saved_uids && in_sorted(*ctx.saved_uids, m.uid);
    return set.contains(n, max);
}

// --- date parsing --------------------------------------------------------------------------------

int month_from_name(std::string_view s) {
    static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
    if (s.size() < 3) return 0;
    for (int i = 0; i < 12; ++i)
        if (mail::iequals(s.substr(0, 3), kMonths[i])) return i + 1;
    return 0;
}

bool is_day_name(std::string_view s) {
    static constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    if (s.size() < 3) return false;
    for (const char* d : kDays)
        if (mail::iequals(s.substr(0, 3), d)) return true;
    return false;
}

// RFC 5322 §4.3 obs-zone; military zones are "-0000" (unknown) there, i.e. UTC.
std::optional<int> zone_from_name(std::string_view s) {
    struct Z {
        const char* name;
        int minutes;
    };
    static constexpr Z kZones[] = {{"UT", 0},        {"UTC", 0},       {"GMT", 0},       {"Z", 0},
                                   {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60},
                                   {"MST", -7 * 60}, {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60}};
    for (const auto& z : kZones)
        if (mail::iequals(s, z.name)) return z.minutes;
    if (s.size() == 1 && std::isalpha(static_cast<unsigned char>(s[0]))) return 0;
    return std::nullopt;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_alpha(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

int to_int(std::string_view s) {  // all_digits(s), short
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

struct DateParts {
    int day = -1, month = 0, year = -1;
    int hour = -1, minute = 0, second = 0;
    std::optional<int> zone;  // minutes east of UTC
};

void parse_time(std::string_view t, DateParts& d) {
    int v[3] = {0, 0, 0};
    int n = 0;
    size_t b = 0;
    while (n < 3 && b <= t.size()) {
        size_t e = t.find(':', b);
        if (e == std::string_view::npos) e = t.size();
        std::string_view piece = t.substr(b, e - b);
        if (!all_digits(piece) || piece.size() > 2) break;
        v[n++] = to_int(piece);
        b = e + 1;
    }
    // RFC 5256 §2.2: an invalid time counts as 00:00:00.
    if (n >= 2 && v[0] < 24 && v[1] < 60 && v[2] <= 60) {
        d.hour = v[0];
        d.minute = v[1];
        d.second = v[2];
    } else {
        d.hour = 0;
    }
}

void take_token(std::string_view tok, DateParts& d) {
    if (tok.empty()) return;
    if (tok.find(':') != std::string_view::npos) {
        if (d.hour < 0) parse_time(tok, d);
        return;
    }
    if ((tok[0] == '+' || tok[0] == '-') && all_digits(tok.substr(1))) {
        std::string_view z = tok.substr(1);
        if (!d.zone && z.size() == 4) {
            int hh = to_int(z.substr(0, 2)), mm = to_int(z.substr(2));
            if (mm < 60) d.zone = (tok[0] == '-' ? -1 : 1) * (hh * 60 + mm);
        }
        return;
    }
    if (has_alpha(tok)) {
        if (int m = month_from_name(tok); m && !d.month && tok.size() <= 9) {
            d.month = m;
        } else if (!is_day_name(tok) && !d.zone && (d.hour >= 0 || d.year >= 0)) {
            if (auto z = zone_from_name(tok)) d.zone = z;
        }
        return;
    }
    if (!all_digits(tok) || tok.size() > 4) return;
    int v = to_int(tok);
    if (d.day < 0 && tok.size() <= 2 && v >= 1 && v <= 31 && d.year < 0) {
        d.day = v;
    } else if (d.year < 0) {
        // RFC 5322 §4.3: two-digit years below 50 are 20xx, others (and three digits) add 1900.
        if (tok.size() == 2) v += v < 50 ? 2000 : 1900;
        else if (tok.size() == 3) v += 1900;
        d.year = v;
    }
}

// --- evaluation ----------------------------------------------------------------------------------

bool has_keyword(const SearchMessage& m, std::string_view k) {
    if (!m.keywords) return false;
    return std::any_of(m.keywords->begin(), m.keywords->end(),
                       [&](const std::string& s) { return mail::iequals(s, k); });
}

bool eval(const SearchKey& key, const SearchMessage& m, const SearchContext& ctx);

bool eval_header_key(const SearchKey& key, const mail::ParsedMessage& p) {
    switch (key.kind) {
        case Kind::From: return address_contains(p, "from", key.text);
        case Kind::To: return address_contains(p, "to", key.text);
        case Kind::Cc: return address_contains(p, "cc", key.text);
        case Kind::Bcc: return address_contains(p, "bcc", key.text);
        case Kind::Subject: return header_contains(p, "subject", key.text);
        case Kind::Header:
            // RFC 9051 §6.4.4: an empty string matches every message that has the field.
            if (key.text.empty())
                return any_field(p, key.field, [](const mail::HeaderField&) { return true; });
            return header_contains(p, key.field, key.text);
        default: {
            // SENTBEFORE / SENTON / SENTSINCE: the Date: header's own calendar day.
            if (p.envelope.date.empty()) return false;
            auto d = parse_rfc5322_date(p.envelope.date);
            return d && date_matches(key.kind, d->local_days, key.date);
        }
    }
}

// Search programs come from the IMAP parser, which bounds their nesting, so recursion is bounded.
bool eval(const SearchKey& key, const SearchMessage& m, const SearchContext& ctx) {
    const bool seen = m.flags & kFlagSeen;
    switch (key.kind) {
        case Kind::All: return true;
        case Kind::Answered: return m.flags & kFlagAnswered;
        case Kind::Deleted: return m.flags & kFlagDeleted;
        case Kind::Draft: return m.flags & kFlagDraft;
        case Kind::Flagged: return m.flags & kFlagFlagged;
        case Kind::Seen: return seen;
        case Kind::Unanswered: return !(m.flags & kFlagAnswered);
        case Kind::Undeleted: return !(m.flags & kFlagDeleted);
        case Kind::Undraft: return !(m.flags & kFlagDraft);
        case Kind::Unflagged: return !(m.flags & kFlagFlagged);
        case Kind::Unseen: return !seen;
        // RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
        case Kind::Recent: return m.recent;
        case Kind::New: return m.recent && !seen;
        case Kind::Old: return !m.recent;
        case Kind::Keyword: return has_keyword(m, key.text);
        case Kind::Unkeyword: return !has_keyword(m, key.text);
        case Kind::Body:
        case Kind::Text: {
            if (!ctx.text_matches) return false;
            auto it = ctx.text_matches->find(&key);
            return it != ctx.text_matches->end() && in_sorted(it->second, m.uid);
        }
        case Kind::Bcc: case Kind::Cc: case Kind::From: case Kind::Subject: case Kind::To:
        case Kind::Header: case Kind::SentBefore: case Kind::SentOn: case Kind::SentSince:
            return m.parsed && eval_header_key(key, *m.parsed);
        // RFC 9051 §6.4.4: internal date, disregarding time; Roost keeps it in UTC.
        case Kind::Before: case Kind::On: case Kind::Since:
            return date_matches(key.kind, floor_div(m.internal_date, 86400), key.date);
        case Kind::Larger: return m.size > key.number;
        case Kind::Smaller: return m.size < key.number;
        case Kind::Uid: return set_contains(key.set, m.uid, ctx.max_uid, m, ctx);
        case Kind::Sequence: return set_contains(key.set, m.seq, ctx.max_seq, m, ctx);
        case Kind::ModSeq: return m.modseq >= key.number;  // RFC 7162 §3.1.5
        case Kind::Not: return !key.children.empty() && key.children[0] && !eval(*key.children[0], m, ctx);
        case Kind::Or:
            return key.children.size() >= 2 &&
                   ((key.children[0] && eval(*key.children[0], m, ctx)) ||
                    (key.children[1] && eval(*key.children[1], m, ctx)));
        case Kind::And:
            for (const auto& c : key.children)
                if (c && !eval(*c, m, ctx)) return false;
            return true;
    }
    return false;
}

template <typename F>
void walk(const SearchKey& key, F&& f) {
    f(key);
    for (const auto& c : key.children)
        if (c) walk(*c, f);
}

}  // namespace

std::string fold_case(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = s[i];
        if (c < 0x80) {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
            ++i;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len == 1 || i + len > s.size() || !mail::is_valid_utf8(s.substr(i, len))) {
            out += static_cast<char>(c);  // not UTF-8: compare the byte as it is
            ++i;
            continue;
        }
        char32_t cp = c & (0xFF >> (len + 1));
        for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        append_utf8(out, fold_code_point(cp));
        i += len;
    }
    return out;
}

bool contains_folded(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    return fold_case(haystack).find(fold_case(needle)) != std::string::npos;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    // Howard Hinnant's algorithm.
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<SentDate> parse_rfc5322_date(std::string_view value) {
    // Comments become spaces (RFC 5322 §3.2.2 CFWS), then tokens split on WSP and ','. Tokens such
    // as "3-Jan-2022" split on '-' too; "2022-01-03" is read as ISO 8601.
    std::string text;
    text.reserve(value.size());
    int depth = 0;
    for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '\\' && depth > 0) {
            ++i;
            continue;
        }
        if (c == '(') {
            ++depth;
            c = ' ';
        } else if (c == ')' && depth > 0) {
            --depth;
            c = ' ';
        } else if (depth > 0 || c == ',' || c == '\t' || c == '\r' || c == '\n') {
            c = ' ';
        }
        text += c;
    }
    DateParts d;
    size_t b = 0;
    while (b < text.size()) {
        size_t e = text.find(' ', b);
        if (e == std::string::npos) e = text.size();
        std::string_view tok = std::string_view(text).substr(b, e - b);
        b = e + 1;
        if (tok.empty()) continue;
        size_t dash = tok.find('-', 1);
        if (dash != std::string_view::npos && tok.find(':') == std::string_view::npos) {
            std::vector<std::string_view> pieces;
            size_t pb = 0;
            while (pb <= tok.size()) {
                size_t pe = tok.find('-', pb == 0 ? 1 : pb);
                if (pe == std::string_view::npos) pe = tok.size();
                pieces.push_back(tok.substr(pb, pe - pb));
                pb = pe + 1;
            }
            if (pieces.size() == 3 && all_digits(pieces[0]) && pieces[0].size() == 4 && all_digits(pieces[1]) &&
                all_digits(pieces[2]) && pieces[1].size() <= 2 && pieces[2].size() <= 2) {
                d.year = to_int(pieces[0]);
                d.month = to_int(pieces[1]);
                d.day = to_int(pieces[2]);
                if (d.month < 1 || d.month > 12) return std::nullopt;
            } else {
                for (auto p : pieces) take_token(p, d);
            }
            continue;
        }
        take_token(tok, d);
    }
    if (d.day < 1 || d.month < 1 || d.year < 0 || d.year > 9999) return std::nullopt;
    if (static_cast<unsigned>(d.day) > days_in_month(d.year, d.month)) return std::nullopt;
    SentDate out;
    out.local_days = days_from_civil(d.year, d.month, d.day);
    // RFC 5256 §2.2: an invalid or unknown zone counts as UTC, a missing time as 00:00:00.
    int zone = d.zone.value_or(0);
    out.utc_seconds = out.local_days * 86400 + std::max(d.hour, 0) * 3600 + d.minute * 60 + d.second -
                      static_cast<std::int64_t>(zone) * 60;
    return out;
}

std::vector<const SearchKey*> text_keys(const SearchKey& key) {
    std::vector<const SearchKey*> out;
    walk(key, [&](const SearchKey& k) {
        if (k.kind == Kind::Body || k.kind == Kind::Text) out.push_back(&k);
    });
    return out;
}

bool needs_parsed(const SearchKey& key) {
    bool needed = false;
    walk(key, [&](const SearchKey& k) {
        switch (k.kind) {
            case Kind::Bcc: case Kind::Cc: case Kind::From: case Kind::Subject: case Kind::To:
            case Kind::Header: case Kind::SentBefore: case Kind::SentOn: case Kind::SentSince:
                needed = true;
                break;
            default:
                break;
        }
    });
    return needed;
}

bool matches(const SearchKey& key, const SearchMessage& message, const SearchContext& context) {
    return eval(key, message, context);
}

}  // namespace roost::imap
