// IMAP command reader: framing (lines and literals, limits) and the command grammar of RFC 9051 §9 /
// RFC 3501 §9 plus the extensions listed in command.hpp.
#include "imapd/protocol/parser.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "imapd/protocol/mutf7.hpp"

namespace roost::imap {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Character classes (RFC 9051 §9)

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// ATOM-CHAR = <any CHAR except atom-specials>; atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
// quoted-specials / resp-specials.
bool is_atom_char(char ch) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x1f || c >= 0x7f) return false;
    switch (c) {
        case '(': case ')': case '{': case ' ': case '%': case '*': case '"': case '\\': case ']':
            return false;
        default:
            return true;
    }
}
bool is_astring_char(char c) { return is_atom_char(c) || c == ']'; }
bool is_list_char(char c) { return is_astring_char(c) || c == '%' || c == '*'; }
// tag = 1*<any ASTRING-CHAR except "+">
bool is_tag_char(char c) { return is_astring_char(c) && c != '+'; }

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = to_upper(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_upper(a[i]) != to_upper(b[i])) return false;
    }
    return true;
}

// The tag at the start of a command, or "*" if none can be read (for failure replies).
std::string tag_of(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && is_tag_char(text[i])) ++i;
    if (i == 0 || (i < text.size() && text[i] != ' ')) return "*";
    return std::string(text.substr(0, i));
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

// ---------------------------------------------------------------------------------------------------------
// Framing: a literal announcement at the end of a line segment.

struct LiteralMarker {
    std::uint64_t size = 0;  // saturates at UINT64_MAX when the number overflows
    bool sync = true;
    bool literal8 = false;
};

// `segment` is one line segment without CRLF. A marker counts when "{" (or "~{") follows SP or "(" outside a
// quoted string — everywhere else the grammar forbids a literal, and the parser rejects the command.
std::optional<LiteralMarker> literal_marker(std::string_view seg) {
    if (seg.empty() || seg.back() != '}') return std::nullopt;
    std::size_t i = seg.size() - 1;
    LiteralMarker m;
    if (i > 0 && seg[i - 1] == '+') {
        m.sync = false;
        --i;
    }
    const std::size_t digits_end = i;
    while (i > 0 && is_digit(seg[i - 1])) --i;
    if (i == digits_end || i == 0 || seg[i - 1] != '{') return std::nullopt;
    const std::size_t digits_begin = i;
    std::size_t start = i - 1;
    if (start > 0 && seg[start - 1] == '~') {
        m.literal8 = true;
        --start;
    }
    if (start == 0 || (seg[start - 1] != ' ' && seg[start - 1] != '(')) return std::nullopt;
    bool quoted = false;
    for (std::size_t k = 0; k < start; ++k) {
        if (quoted && seg[k] == '\\') {
            ++k;
        } else if (seg[k] == '"') {
            quoted = !quoted;
        }
    }
    if (quoted) return std::nullopt;
    for (std::size_t k = digits_begin; k < digits_end; ++k) {
        auto d = static_cast<std::uint64_t>(seg[k] - '0');
        if (m.size > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            m.size = std::numeric_limits<std::uint64_t>::max();
            break;
        }
        m.size = m.size * 10 + d;
    }
    return m;
}

bool is_append_line(std::string_view first_segment) {
    std::size_t sp = first_segment.find(' ');
    if (sp == std::string_view::npos) return false;
    std::string_view rest = first_segment.substr(sp + 1);
    return rest.size() >= 6 && iequals(rest.substr(0, 6), "APPEND") && (rest.size() == 6 || rest[6] == ' ');
}

// ---------------------------------------------------------------------------------------------------------
// The grammar.

struct SyntaxError {
    std::string message;
    ParseFailure::Kind kind = ParseFailure::Bad;
};
struct Incomplete {};  // prefix mode: the parser reached the announced literal whose bytes are not here yet

class Parser {
public:
    Parser(std::string_view text, const ParserOptions& options, bool prefix)
        : s_(text), options_(options), prefix_(prefix) {}

    Command command() {
        tag_ = tag();
        sp("missing command name");
        std::string name = upper(atom("missing command name"));
        if (name == "UID") {
            sp("missing UID command");
            std::string sub = upper(atom("missing UID command"));
            if (sub == "FETCH") return fetch(true);
            if (sub == "SEARCH") return search(true);
            if (sub == "STORE") return store(true);
            if (sub == "COPY") return copy_or_move<Copy>(true);
            if (sub == "MOVE") return copy_or_move<Move>(true);
            if (sub == "EXPUNGE") {
                UidExpunge c{tag_, {}};
                sp();
                c.set = sequence_set();
                end();
                return c;
            }
            if (sub == "SORT") return sort(true);
            if (sub == "THREAD") return thread(true);
            fail("unknown UID command");
        }
        if (name == "CAPABILITY") return bare<Capability>();
        if (name == "NOOP") return bare<Noop>();
        if (name == "LOGOUT") return bare<Logout>();
        if (name == "STARTTLS") return bare<StartTls>();
        if (name == "CHECK") return bare<Check>();
        if (name == "CLOSE") return bare<Close>();
        if (name == "UNSELECT") return bare<Unselect>();
        if (name == "EXPUNGE") return bare<Expunge>();
        if (name == "IDLE") return bare<Idle>();
        if (name == "NAMESPACE") return bare<Namespace>();
        if (name == "AUTHENTICATE") return authenticate();
        if (name == "LOGIN") return login();
        if (name == "SELECT") return select<Select>();
        if (name == "EXAMINE") return select<Examine>();
        if (name == "CREATE") return create();
        if (name == "DELETE") return one_mailbox<Delete>();
        if (name == "SUBSCRIBE") return one_mailbox<Subscribe>();
        if (name == "UNSUBSCRIBE") return one_mailbox<Unsubscribe>();
        if (name == "GETQUOTAROOT") return one_mailbox<GetQuotaRoot>();
        if (name == "RENAME") return rename();
        if (name == "LIST") return list();
        if (name == "LSUB") return lsub();
        if (name == "STATUS") return status();
        if (name == "APPEND") return append();
        if (name == "ENABLE") return enable();
        if (name == "ID") return id();
        if (name == "COMPRESS") return compress();
        if (name == "GETQUOTA") return getquota();
        if (name == "SETQUOTA") return setquota();
        if (name == "FETCH") return fetch(false);
        if (name == "SEARCH") return search(false);
        if (name == "STORE") return store(false);
        if (name == "COPY") return copy_or_move<Copy>(false);
        if (name == "MOVE") return copy_or_move<Move>(false);
        if (name == "SORT") return sort(false);
        if (name == "THREAD") return thread(false);
        fail("unknown command");
    }

    const std::string& parsed_tag() const { return tag_; }

private:
    // --- primitives ----------------------------------------------------------------------------------------
    [[noreturn]] void fail(std::string message) { throw SyntaxError{std::move(message)}; }
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    char peek_at(std::size_t k) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }
    bool try_char(char c) {
        if (!at_end() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect(char c, const char* message) {
        if (!try_char(c)) fail(message);
    }
    void sp(const char* message = "expected a single space") { expect(' ', message); }
    void end() {
        if (!at_end()) fail("unexpected arguments");
    }
    // Case-insensitive keyword at the current position, followed by SP, ")" or the end.
    bool peek_keyword(std::string_view kw) const {
        if (s_.size() - pos_ < kw.size() || !iequals(s_.substr(pos_, kw.size()), kw)) return false;
        char after = peek_at(kw.size());
        return after == ' ' || after == ')' || after == '\0';
    }

    std::string tag() {
        std::size_t start = pos_;
        while (!at_end() && is_tag_char(s_[pos_])) ++pos_;
        if (pos_ == start || (!at_end() && s_[pos_] != ' ')) fail("invalid tag");
        return std::string(s_.substr(start, pos_ - start));
    }

    std::string_view atom(const char* message = "expected an atom") {
        std::size_t start = pos_;
        while (!at_end() && is_atom_char(s_[pos_])) ++pos_;
        if (pos_ == start) fail(message);
        return s_.substr(start, pos_ - start);
    }

    // Letters, digits and dots: names like "RFC822.SIZE", "BODY.PEEK", "HEADER.FIELDS.NOT".
    std::string dotted_name() {
        std::size_t start = pos_;
        while (!at_end() && (is_alpha(s_[pos_]) || is_digit(s_[pos_]) || s_[pos_] == '.')) ++pos_;
        if (pos_ == start) fail("expected a data item name");
        return upper(s_.substr(start, pos_ - start));
    }

    std::uint64_t digits(std::uint64_t max, const char* message) {
        std::size_t start = pos_;
        std::uint64_t v = 0;
        while (!at_end() && is_digit(s_[pos_])) {
            auto d = static_cast<std::uint64_t>(s_[pos_] - '0');
            if (v > (max - d) / 10) fail("number out of range");
            v = v * 10 + d;
            ++pos_;
        }
        if (pos_ == start) fail(message);
        return v;
    }
    std::uint32_t number() { return static_cast<std::uint32_t>(digits(0xffffffffu, "expected a number")); }
    std::uint32_t nz_number() {
        auto v = number();
        if (v == 0) fail("expected a non-zero number");
        return v;
    }
    // number64: unsigned 63-bit (RFC 9051 §9)
    std::uint64_t number64() { return digits(0x7fffffffffffffffull, "expected a number"); }

    std::string quoted() {
        expect('"', "expected a quoted string");
        std::string out;
        bool eight_bit = false;
        while (true) {
            if (at_end()) fail("unterminated quoted string");
            char c = s_[pos_++];
            if (c == '"') break;
            if (c == '\\') {
                char e = peek();
                if (e != '"' && e != '\\') fail("invalid escape in quoted string");
                out += e;
                ++pos_;
                continue;
            }
            if (c == '\0' || c == '\r' || c == '\n') fail("invalid character in quoted string");
            if (static_cast<unsigned char>(c) >= 0x80) eight_bit = true;
            out += c;
        }
        // RFC 9051 §4.3: 8-bit quoted text is UTF-8.
        if (eight_bit && !is_valid_utf8(out)) fail("quoted string is not valid UTF-8");
        return out;
    }

    // literal = "{" number64 ["+"] "}" CRLF *CHAR8; literal8 = "~{" number64 ["+"] "}" CRLF *OCTET
    std::string literal(bool literal8_ok, bool* was_literal8 = nullptr, bool nul_ok = false) {
        bool lit8 = false;
        if (try_char('~')) {
            if (!literal8_ok) fail("literal8 is not allowed here");
            lit8 = true;
        }
        expect('{', "expected a literal");
        std::uint64_t n = digits(std::numeric_limits<std::uint64_t>::max(), "invalid literal size");
        try_char('+');
        expect('}', "invalid literal");
        if (!(peek() == '\r' && peek_at(1) == '\n')) fail("literal announcement must end the line");
        pos_ += 2;
        if (s_.size() - pos_ < n) {
            if (prefix_) throw Incomplete{};
            fail("truncated literal");
        }
        std::string out(s_.substr(pos_, static_cast<std::size_t>(n)));
        pos_ += static_cast<std::size_t>(n);
        // CHAR8 excludes NUL (RFC 9051 §9); only literal8 carries arbitrary octets.
        if (!lit8 && !nul_ok && out.find('\0') != std::string::npos) fail("NUL in literal");
        if (was_literal8) *was_literal8 = lit8;
        return out;
    }

    std::string string() {
        if (peek() == '"') return quoted();
        if (peek() == '{') return literal(false);
        fail("expected a string");
    }

    std::string astring() {
        if (peek() == '"') return quoted();
        if (peek() == '{') return literal(false);
        std::size_t start = pos_;
        while (!at_end() && is_astring_char(s_[pos_])) ++pos_;
        if (pos_ == start) fail("expected a string");
        return std::string(s_.substr(start, pos_ - start));
    }

    std::optional<std::string> nstring() {
        if (peek_keyword("NIL")) {
            pos_ += 3;
            return std::nullopt;
        }
        return string();
    }

    // mailbox = "INBOX" / astring (RFC 9051 §9, §5.1)
    std::string decode_mailbox(std::string raw) {
        if (iequals(raw, "INBOX")) return "INBOX";
        if (options_.utf8) {
            if (!is_valid_utf8(raw)) fail("mailbox name is not valid UTF-8");
            return raw;
        }
        auto decoded = mutf7_decode(raw);
        if (!decoded) fail("mailbox name is not valid modified UTF-7");
        if (iequals(*decoded, "INBOX")) return "INBOX";
        return std::move(*decoded);
    }
    std::string mailbox() { return decode_mailbox(astring()); }

    // list-mailbox = 1*list-char / string
    std::string list_mailbox() {
        if (peek() == '"' || peek() == '{') return decode_mailbox(string());
        std::size_t start = pos_;
        while (!at_end() && is_list_char(s_[pos_])) ++pos_;
        if (pos_ == start) fail("expected a mailbox pattern");
        return decode_mailbox(std::string(s_.substr(start, pos_ - start)));
    }

    // sequence-set with "*" and RFC 5182 "$"
    SequenceSet sequence_set() {
        SequenceSet set;
        if (try_char('$')) {
            set.saved = true;
            return set;
        }
        do {
            SeqRange r;
            r.first = seq_number();
            r.last = try_char(':') ? seq_number() : r.first;
            set.ranges.push_back(r);
        } while (try_char(','));
        return set;
    }
    std::uint32_t seq_number() {
        if (try_char('*')) return kStar;
        if (!is_digit(peek())) fail("invalid sequence set");
        return nz_number();
    }

    // flag = "\" atom (system flags normalised) / atom
    Flag flag() {
        if (try_char('\\')) {
            if (peek() == '*') fail("\\* is not a flag");
            std::string_view name = atom("invalid flag");
            static constexpr std::array<std::string_view, 6> kSystem = {"Answered", "Flagged", "Deleted",
                                                                         "Seen",     "Draft",   "Recent"};
            for (auto sys : kSystem) {
                if (iequals(name, sys)) return "\\" + std::string(sys);
            }
            return "\\" + std::string(name);
        }
        return std::string(atom("invalid flag"));
    }
    std::vector<Flag> flag_list() {
        expect('(', "expected a flag list");
        std::vector<Flag> flags;
        if (try_char(')')) return flags;
        do {
            flags.push_back(flag());
        } while (try_char(' '));
        expect(')', "invalid flag list");
        return flags;
    }

    // date-text / DQUOTE date-text DQUOTE, as days since the epoch
    std::int64_t date() {
        bool q = try_char('"');
        std::size_t start = pos_;
        while (is_digit(peek()) && pos_ - start < 2) ++pos_;
        if (pos_ == start) fail("invalid date");
        unsigned day = 0;
        for (std::size_t i = start; i < pos_; ++i) day = day * 10 + static_cast<unsigned>(s_[i] - '0');
        expect('-', "invalid date");
        std::int64_t days = month_year(day);
        if (q) expect('"', "invalid date");
        return days;
    }
    // date-month "-" date-year, validating `day`; returns days since the epoch.
    std::int64_t month_year(unsigned day) {
        static constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
        if (s_.size() - pos_ < 3) fail("invalid date");
        std::string mon = upper(s_.substr(pos_, 3));
        pos_ += 3;
        auto it = std::find(kMonths.begin(), kMonths.end(), mon);
        if (it == kMonths.end()) fail("invalid month");
        auto month = static_cast<unsigned>(it - kMonths.begin()) + 1;
        expect('-', "invalid date");
        std::int64_t year = fixed_digits(4, "invalid year");
        if (day < 1 || day > days_in_month(year, month)) fail("invalid day of month");
        return days_from_civil(year, month, day);
    }
    int fixed_digits(int n, const char* message) {
        int v = 0;
        for (int i = 0; i < n; ++i) {
            if (!is_digit(peek())) fail(message);
            v = v * 10 + (s_[pos_++] - '0');
        }
        return v;
    }

    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    DateTime date_time() {
        expect('"', "invalid date-time");
        unsigned day = 0;
        if (try_char(' ')) {
            day = static_cast<unsigned>(fixed_digits(1, "invalid date-time"));
        } else {
            day = static_cast<unsigned>(fixed_digits(1, "invalid date-time"));
            // Deviation: a one-digit day without the leading space is accepted, as several clients send it.
            if (is_digit(peek())) day = day * 10 + static_cast<unsigned>(s_[pos_++] - '0');
        }
        expect('-', "invalid date-time");
        std::int64_t days = month_year(day);
        sp("invalid date-time");
        int hh = fixed_digits(2, "invalid time");
        expect(':', "invalid time");
        int mm = fixed_digits(2, "invalid time");
        expect(':', "invalid time");
        int ss = fixed_digits(2, "invalid time");
        if (hh > 23 || mm > 59 || ss > 60) fail("invalid time");
        sp("invalid date-time");
        char sign = peek();
        if (sign != '+' && sign != '-') fail("invalid zone");
        ++pos_;
        int zh = fixed_digits(2, "invalid zone");
        int zm = fixed_digits(2, "invalid zone");
        if (zm > 59) fail("invalid zone");
        expect('"', "invalid date-time");
        int offset = (zh * 60 + zm) * (sign == '-' ? -1 : 1);
        // "Subtracting the timezone from the given time will give the UT form." (RFC 9051 §9 zone)
        std::int64_t local = days * 86400 + hh * 3600 + mm * 60 + ss;
        return DateTime{local - static_cast<std::int64_t>(offset) * 60, offset};
    }

    // --- commands -----------------------------------------------------------------------------------------
    template <class C>
    Command bare() {
        end();
        C c;
        c.tag = tag_;
        return c;
    }

    template <class C>
    Command one_mailbox() {
        sp();
        C c;
        c.tag = tag_;
        c.mailbox = mailbox();
        end();
        return c;
    }

    Command authenticate() {
        // RFC 9051 §6.2.2, RFC 4959 §3: AUTHENTICATE SP auth-type [SP (base64 / "=")]
        Authenticate c;
        c.tag = tag_;
        sp();
        c.mechanism = upper(atom("missing SASL mechanism"));
        if (try_char(' ')) {
            std::string_view rest = s_.substr(pos_);
            pos_ = s_.size();
            if (rest == "=") {
                c.initial_response = std::string();
            } else {
                std::size_t pad = 0;
                for (std::size_t i = 0; i < rest.size(); ++i) {
                    char ch = rest[i];
                    bool b64 = is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/';
                    if (ch == '=') {
                        ++pad;
                    } else if (!b64 || pad > 0) {
                        fail("invalid initial response");
                    }
                }
                if (rest.empty() || rest.size() % 4 != 0 || pad > 2) fail("invalid initial response");
                c.initial_response = std::string(rest);
            }
        }
        end();
        return c;
    }

    Command login() {
        Login c;
        c.tag = tag_;
        sp();
        c.user = astring();
        sp();
        c.password = astring();
        end();
        return c;
    }

    template <class C>
    Command select() {
        C c;
        c.tag = tag_;
        sp();
        c.mailbox = mailbox();
        if (try_char(' ')) {
            // RFC 4466 select-params; RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC
            expect('(', "invalid select parameters");
            do {
                std::string p = upper(atom("invalid select parameter"));
                if (p == "CONDSTORE") {
                    c.condstore = true;
                } else if (p == "QRESYNC") {
                    if (c.qresync) fail("duplicate QRESYNC parameter");
                    QresyncParams q;
                    sp();
                    expect('(', "invalid QRESYNC parameter");
                    q.uid_validity = nz_number();
                    sp();
                    q.modseq = number64();
                    if (try_char(' ')) {
                        if (peek() == '(') {
                            q.seq_match = seq_match();
                        } else {
                            q.known_uids = sequence_set();
                            if (try_char(' ')) q.seq_match = seq_match();
                        }
                    }
                    expect(')', "invalid QRESYNC parameter");
                    c.qresync = std::move(q);
                } else {
                    fail("unknown select parameter");
                }
            } while (try_char(' '));
            expect(')', "invalid select parameters");
        }
        end();
        return c;
    }
    SeqMatchData seq_match() {
        SeqMatchData m;
        expect('(', "invalid QRESYNC parameter");
        m.sequence_numbers = sequence_set();
        sp();
        m.uids = sequence_set();
        expect(')', "invalid QRESYNC parameter");
        return m;
    }

    Command create() {
        Create c;
        c.tag = tag_;
        sp();
        c.mailbox = mailbox();
        if (try_char(' ')) {
            // RFC 4466 create-params; RFC 6154 §3 USE
            expect('(', "invalid CREATE parameters");
            do {
                std::string p = upper(atom("invalid CREATE parameter"));
                if (p != "USE") fail("unknown CREATE parameter");
                sp();
                expect('(', "invalid USE parameter");
                if (!try_char(')')) {
                    do {
                        expect('\\', "invalid special-use attribute");
                        std::string_view name = atom("invalid special-use attribute");
                        static constexpr std::array<std::string_view, 7> kUse = {
                            "All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash"};
                        std::string attr = "\\" + std::string(name);
                        for (auto u : kUse) {
                            if (iequals(name, u)) attr = "\\" + std::string(u);
                        }
                        c.special_use.push_back(std::move(attr));
                    } while (try_char(' '));
                    expect(')', "invalid USE parameter");
                }
            } while (try_char(' '));
            expect(')', "invalid CREATE parameters");
        }
        end();
        return c;
    }

    Command rename() {
        Rename c;
        c.tag = tag_;
        sp();
        c.from = mailbox();
        sp();
        c.to = mailbox();
        end();
        return c;
    }

    StatusItem status_item() {
        std::string a = upper(atom("invalid status item"));
        if (a == "MESSAGES") return StatusItem::Messages;
        if (a == "UIDNEXT") return StatusItem::UidNext;
        if (a == "UIDVALIDITY") return StatusItem::UidValidity;
        if (a == "UNSEEN") return StatusItem::Unseen;
        if (a == "DELETED") return StatusItem::Deleted;
        if (a == "SIZE") return StatusItem::Size;
        if (a == "RECENT") return StatusItem::Recent;
        if (a == "HIGHESTMODSEQ") return StatusItem::HighestModSeq;
        if (a == "APPENDLIMIT") return StatusItem::AppendLimit;
        fail("unknown status item");
    }
    std::vector<StatusItem> status_items() {
        expect('(', "expected status items");
        std::vector<StatusItem> items;
        do {
            items.push_back(status_item());
        } while (try_char(' '));
        expect(')', "invalid status items");
        return items;
    }

    Command status() {
        Status c;
        c.tag = tag_;
        sp();
        c.mailbox = mailbox();
        sp();
        c.items = status_items();
        end();
        return c;
    }

    Command list() {
        // RFC 9051 §6.3.9, RFC 5258 §6, RFC 6154 §6, RFC 5819 §4
        List c;
        c.tag = tag_;
        sp();
        if (try_char('(')) {
            c.extended = true;
            if (!try_char(')')) {
                do {
                    std::string o = upper(atom("invalid selection option"));
                    if (o == "SUBSCRIBED") c.select.subscribed = true;
                    else if (o == "REMOTE") c.select.remote = true;
                    else if (o == "RECURSIVEMATCH") c.select.recursive_match = true;
                    else if (o == "SPECIAL-USE") c.select.special_use = true;
                    else fail("unknown selection option");  // RFC 5258 §3: MUST be BAD
                } while (try_char(' '));
                expect(')', "invalid selection options");
            }
            // RFC 5258 §3.1: RECURSIVEMATCH needs a base option
            if (c.select.recursive_match && !c.select.subscribed && !c.select.special_use) {
                fail("RECURSIVEMATCH requires another selection option");
            }
            sp();
        }
        c.reference = mailbox();
        sp();
        if (try_char('(')) {
            c.extended = true;
            do {
                c.patterns.push_back(list_mailbox());
            } while (try_char(' '));
            expect(')', "invalid mailbox patterns");
        } else {
            c.patterns.push_back(list_mailbox());
        }
        if (try_char(' ')) {
            if (!peek_keyword("RETURN")) fail("expected RETURN");
            pos_ += 6;
            c.extended = true;
            sp();
            expect('(', "invalid return options");
            if (!try_char(')')) {
                do {
                    std::string o = upper(atom("invalid return option"));
                    if (o == "SUBSCRIBED") {
                        c.returns.subscribed = true;
                    } else if (o == "CHILDREN") {
                        c.returns.children = true;
                    } else if (o == "SPECIAL-USE") {
                        c.returns.special_use = true;
                    } else if (o == "STATUS") {
                        sp();
                        auto items = status_items();
                        c.returns.status.insert(c.returns.status.end(), items.begin(), items.end());
                    } else {
                        fail("unknown return option");
                    }
                } while (try_char(' '));
                expect(')', "invalid return options");
            }
        }
        end();
        return c;
    }

    Command lsub() {
        Lsub c;
        c.tag = tag_;
        sp();
        c.reference = mailbox();
        sp();
        c.pattern = list_mailbox();
        end();
        return c;
    }

    Command append() {
        // RFC 9051 §6.3.12; RFC 6855 §4 utf8-literal
        Append c;
        c.tag = tag_;
        sp();
        c.mailbox = mailbox();
        sp();
        if (peek() == '(') {
            c.flags = flag_list();
            sp();
        }
        if (peek() == '"') {
            c.internal_date = date_time();
            sp();
        }
        if (peek_keyword("UTF8")) {
            if (!options_.utf8) fail("UTF8 APPEND requires ENABLE UTF8=ACCEPT");
            pos_ += 4;
            sp();
            expect('(', "invalid UTF8 APPEND");
            c.message = literal(true, nullptr, true);
            c.utf8 = true;
            expect(')', "invalid UTF8 APPEND");
        } else {
            if (peek() == '~') fail("BINARY is not supported");
            if (peek() != '{') fail("expected the message literal");
            c.message = literal(false);
        }
        end();  // Deviation: MULTIAPPEND (RFC 3502) is not implemented.
        return c;
    }

    Command enable() {
        Enable c;
        c.tag = tag_;
        sp();
        do {
            c.capabilities.push_back(upper(atom("expected a capability")));
        } while (try_char(' '));
        end();
        return c;
    }

    Command id() {
        // RFC 2971 §4
        Id c;
        c.tag = tag_;
        sp();
        if (peek_keyword("NIL")) {
            pos_ += 3;
        } else {
            expect('(', "invalid ID parameters");
            std::vector<IdParam> params;
            if (!try_char(')')) {
                do {
                    IdParam p;
                    p.name = string();
                    sp();
                    p.value = nstring();
                    params.push_back(std::move(p));
                    if (params.size() > 30) fail("too many ID parameters");  // RFC 2971 §3.3
                } while (try_char(' '));
                expect(')', "invalid ID parameters");
            }
            c.params = std::move(params);
        }
        end();
        return c;
    }

    Command compress() {
        Compress c;
        c.tag = tag_;
        sp();
        c.mechanism = upper(atom("missing compression mechanism"));
        end();
        return c;
    }

    Command getquota() {
        GetQuota c;
        c.tag = tag_;
        sp();
        c.root = astring();
        end();
        return c;
    }

    Command setquota() {
        // RFC 9208 §4.1.4
        SetQuota c;
        c.tag = tag_;
        sp();
        c.root = astring();
        sp();
        expect('(', "invalid quota list");
        if (!try_char(')')) {
            do {
                QuotaResource r;
                r.name = upper(atom("invalid resource name"));
                sp();
                r.limit = number64();
                c.resources.push_back(std::move(r));
            } while (try_char(' '));
            expect(')', "invalid quota list");
        }
        end();
        return c;
    }

    template <class C>
    Command copy_or_move(bool uid) {
        C c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        c.set = sequence_set();
        sp();
        c.mailbox = mailbox();
        end();
        return c;
    }

    // --- FETCH (RFC 9051 §6.4.5, RFC 7162 §3.1.4, §3.2.6) -------------------------------------------------
    Command fetch(bool uid) {
        Fetch c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        c.set = sequence_set();
        sp();
        if (try_char('(')) {
            do {
                c.items.push_back(fetch_att());
            } while (try_char(' '));
            expect(')', "invalid fetch attribute list");
        } else if (peek_keyword("ALL") || peek_keyword("FAST") || peek_keyword("FULL")) {
            std::string macro = upper(atom());
            using K = FetchItem::Kind;
            for (K k : {K::Flags, K::InternalDate, K::Rfc822Size}) c.items.push_back(FetchItem{k, false, {}, {}});
            if (macro != "FAST") c.items.push_back(FetchItem{K::Envelope, false, {}, {}});
            if (macro == "FULL") c.items.push_back(FetchItem{K::Body, false, {}, {}});
        } else {
            c.items.push_back(fetch_att());
        }
        if (try_char(' ')) {
            expect('(', "invalid fetch modifiers");
            do {
                std::string m = upper(atom("invalid fetch modifier"));
                if (m == "CHANGEDSINCE") {
                    sp();
                    c.changed_since = number64();  // mod-sequence-valzer
                } else if (m == "VANISHED") {
                    c.vanished = true;
                } else {
                    fail("unknown fetch modifier");
                }
            } while (try_char(' '));
            expect(')', "invalid fetch modifiers");
            // RFC 7162 §3.2.6: VANISHED only in UID FETCH with CHANGEDSINCE, else BAD
            if (c.vanished && (!uid || !c.changed_since)) fail("VANISHED requires UID FETCH and CHANGEDSINCE");
        }
        end();
        return c;
    }

    FetchItem fetch_att() {
        using K = FetchItem::Kind;
        std::string name = dotted_name();
        FetchItem item;
        if (name == "FLAGS") item.kind = K::Flags;
        else if (name == "UID") item.kind = K::Uid;
        else if (name == "INTERNALDATE") item.kind = K::InternalDate;
        else if (name == "RFC822.SIZE") item.kind = K::Rfc822Size;
        else if (name == "ENVELOPE") item.kind = K::Envelope;
        else if (name == "BODYSTRUCTURE") item.kind = K::BodyStructure;
        else if (name == "RFC822") item.kind = K::Rfc822;
        else if (name == "RFC822.HEADER") item.kind = K::Rfc822Header;
        else if (name == "RFC822.TEXT") item.kind = K::Rfc822Text;
        else if (name == "MODSEQ") item.kind = K::ModSeq;
        else if (name == "BODY" || name == "BODY.PEEK") {
            if (peek() != '[') {
                if (name == "BODY.PEEK") fail("BODY.PEEK needs a section");
                item.kind = K::Body;
                return item;
            }
            item.kind = K::BodySection;
            item.peek = name == "BODY.PEEK";
            item.section = section();
            if (try_char('<')) item.partial = partial();
        } else if (name == "BINARY" || name == "BINARY.PEEK" || name == "BINARY.SIZE") {
            // RFC 9051 §6.4.5 / §9: section-binary = "[" [section-part] "]"; BINARY.SIZE takes no partial.
            item.kind = name == "BINARY.SIZE" ? K::BinarySize : K::Binary;
            item.peek = name == "BINARY.PEEK";
            expect('[', "expected a binary section");
            if (!try_char(']')) {
                item.section.part.push_back(nz_number());
                while (try_char('.')) item.section.part.push_back(nz_number());
                expect(']', "invalid binary section");
            }
            if (item.kind == K::Binary && try_char('<')) item.partial = partial();
        } else {
            fail("unknown fetch attribute");
        }
        return item;
    }

    // partial = "<" number64 "." nz-number64 ">" (after the "<")
    Partial partial() {
        Partial p;
        p.offset = number64();
        expect('.', "invalid partial");
        p.length = number64();
        if (p.length == 0) fail("invalid partial");
        expect('>', "invalid partial");
        return p;
    }

    Section section() {
        using T = Section::Text;
        expect('[', "expected a section");
        Section sec;
        if (try_char(']')) return sec;
        bool after_part = false;
        if (is_digit(peek())) {
            sec.part.push_back(nz_number());
            while (peek() == '.' && is_digit(peek_at(1))) {
                ++pos_;
                sec.part.push_back(nz_number());
            }
            if (try_char(']')) return sec;
            expect('.', "invalid section");
            after_part = true;
        }
        std::size_t start = pos_;
        while (!at_end() && (is_alpha(s_[pos_]) || s_[pos_] == '.')) ++pos_;
        std::string text = upper(s_.substr(start, pos_ - start));
        if (text == "HEADER") {
            sec.text = T::Header;
        } else if (text == "TEXT") {
            sec.text = T::Text;
        } else if (text == "MIME" && after_part) {
            sec.text = T::Mime;
        } else if (text == "HEADER.FIELDS" || text == "HEADER.FIELDS.NOT") {
            sec.text = text == "HEADER.FIELDS" ? T::HeaderFields : T::HeaderFieldsNot;
            sp();
            expect('(', "expected a header list");
            do {
                std::string field = upper(astring());
                if (field.empty()) fail("empty header field name");
                sec.fields.push_back(std::move(field));
            } while (try_char(' '));
            expect(')', "invalid header list");
        } else {
            fail("invalid section");
        }
        expect(']', "invalid section");
        return sec;
    }

    // --- STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3) ----------------------------------------------------------
    Command store(bool uid) {
        Store c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        c.set = sequence_set();
        sp();
        if (try_char('(')) {
            do {
                std::string m = upper(atom("invalid store modifier"));
                if (m != "UNCHANGEDSINCE") fail("unknown store modifier");
                sp();
                c.unchanged_since = number64();
            } while (try_char(' '));
            expect(')', "invalid store modifiers");
            sp();
        }
        if (try_char('+')) {
            c.op = StoreOp::Add;
        } else if (try_char('-')) {
            c.op = StoreOp::Remove;
        }
        std::string item = dotted_name();
        if (item == "FLAGS.SILENT") {
            c.silent = true;
        } else if (item != "FLAGS") {
            fail("invalid store data item");
        }
        sp();
        if (peek() == '(') {
            c.flags = flag_list();
        } else {
            do {
                c.flags.push_back(flag());
            } while (try_char(' '));
        }
        end();
        return c;
    }

    // --- SEARCH (RFC 9051 §6.4.4, RFC 4731, RFC 5182, RFC 7162 §3.1.5) ------------------------------------
    std::string charset() {
        std::string cs = upper(peek() == '"' ? quoted() : std::string(atom("expected a charset")));
        if (cs != "US-ASCII" && cs != "UTF-8") {
            throw SyntaxError{"[BADCHARSET (US-ASCII UTF-8)] Unsupported charset", ParseFailure::BadCharset};
        }
        return cs;
    }

    SearchKeyPtr search_keys() {
        auto root = std::make_shared<SearchKey>();
        root->kind = SearchKey::Kind::And;
        do {
            root->children.push_back(search_key(1));
        } while (try_char(' '));
        end();
        return root;
    }

    Command search(bool uid) {
        Search c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        if (peek_keyword("RETURN")) {
            pos_ += 6;
            sp();
            c.return_given = true;
            expect('(', "invalid search return options");
            if (try_char(')')) {
                c.returns.all = true;  // RFC 4731 §3.1: "RETURN ()" is RETURN (ALL)
            } else {
                do {
                    std::string o = upper(atom("invalid search return option"));
                    if (o == "MIN") c.returns.min = true;
                    else if (o == "MAX") c.returns.max = true;
                    else if (o == "ALL") c.returns.all = true;
                    else if (o == "COUNT") c.returns.count = true;
                    else if (o == "SAVE") c.returns.save = true;
                    else fail("unknown search return option");
                } while (try_char(' '));
                expect(')', "invalid search return options");
            }
            sp();
        }
        if (peek_keyword("CHARSET")) {
            pos_ += 7;
            sp();
            c.charset = charset();
            sp();
        }
        c.key = search_keys();
        return c;
    }

    Command sort(bool uid) {
        // RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO
        Sort c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        expect('(', "invalid sort criteria");
        do {
            SortCriterion crit;
            std::string k = upper(atom("invalid sort key"));
            if (k == "REVERSE") {
                crit.reverse = true;
                sp();
                k = upper(atom("invalid sort key"));
            }
            if (k == "ARRIVAL") crit.key = SortKey::Arrival;
            else if (k == "CC") crit.key = SortKey::Cc;
            else if (k == "DATE") crit.key = SortKey::Date;
            else if (k == "FROM") crit.key = SortKey::From;
            else if (k == "SIZE") crit.key = SortKey::Size;
            else if (k == "SUBJECT") crit.key = SortKey::Subject;
            else if (k == "TO") crit.key = SortKey::To;
            else if (k == "DISPLAYFROM") crit.key = SortKey::DisplayFrom;
            else if (k == "DISPLAYTO") crit.key = SortKey::DisplayTo;
            else fail("unknown sort key");
            c.criteria.push_back(crit);
        } while (try_char(' '));
        expect(')', "invalid sort criteria");
        sp();
        c.charset = charset();
        sp();
        c.key = search_keys();
        return c;
    }

    Command thread(bool uid) {
        Thread c;
        c.tag = tag_;
        c.uid = uid;
        sp();
        std::string alg = upper(atom("missing thread algorithm"));
        if (alg == "ORDEREDSUBJECT") c.algorithm = ThreadAlgorithm::OrderedSubject;
        else if (alg == "REFERENCES") c.algorithm = ThreadAlgorithm::References;
        else fail("unknown thread algorithm");
        sp();
        c.charset = charset();
        sp();
        c.key = search_keys();
        return c;
    }

    SearchKeyPtr search_key(int depth) {
        using K = SearchKey::Kind;
        if (depth > kMaxSearchDepth) fail("search key nesting too deep");
        auto k = std::make_shared<SearchKey>();
        char c = peek();
        if (c == '(') {
            ++pos_;
            k->kind = K::And;
            do {
                k->children.push_back(search_key(depth + 1));
            } while (try_char(' '));
            expect(')', "invalid search key list");
            return k;
        }
        if (is_digit(c) || c == '*' || c == '$') {
            k->kind = K::Sequence;
            k->set = sequence_set();
            return k;
        }
        std::string name = upper(atom("invalid search key"));
        struct Simple {
            std::string_view name;
            K kind;
        };
        static constexpr Simple kSimple[] = {
            {"ALL", K::All},           {"ANSWERED", K::Answered},     {"DELETED", K::Deleted},
            {"DRAFT", K::Draft},       {"FLAGGED", K::Flagged},       {"SEEN", K::Seen},
            {"RECENT", K::Recent},     {"NEW", K::New},               {"OLD", K::Old},
            {"UNANSWERED", K::Unanswered}, {"UNDELETED", K::Undeleted}, {"UNDRAFT", K::Undraft},
            {"UNFLAGGED", K::Unflagged}, {"UNSEEN", K::Unseen},
        };
        for (const auto& s : kSimple) {
            if (name == s.name) {
                k->kind = s.kind;
                return k;
            }
        }
        static constexpr Simple kText[] = {
            {"BCC", K::Bcc}, {"CC", K::Cc}, {"FROM", K::From}, {"SUBJECT", K::Subject},
            {"TO", K::To},   {"BODY", K::Body}, {"TEXT", K::Text},
        };
        for (const auto& s : kText) {
            if (name == s.name) {
                k->kind = s.kind;
                sp();
                k->text = astring();
                return k;
            }
        }
        static constexpr Simple kDate[] = {
            {"BEFORE", K::Before},         {"ON", K::On},           {"SINCE", K::Since},
            {"SENTBEFORE", K::SentBefore}, {"SENTON", K::SentOn},   {"SENTSINCE", K::SentSince},
        };
        for (const auto& s : kDate) {
            if (name == s.name) {
                k->kind = s.kind;
                sp();
                k->date = date();
                return k;
            }
        }
        if (name == "KEYWORD" || name == "UNKEYWORD") {
            k->kind = name == "KEYWORD" ? K::Keyword : K::Unkeyword;
            sp();
            k->text = std::string(atom("invalid keyword"));
        } else if (name == "HEADER") {
            k->kind = K::Header;
            sp();
            k->field = astring();
            sp();
            k->text = astring();
        } else if (name == "LARGER" || name == "SMALLER") {
            k->kind = name == "LARGER" ? K::Larger : K::Smaller;
            sp();
            k->number = number64();
        } else if (name == "UID") {
            k->kind = K::Uid;
            sp();
            k->set = sequence_set();
        } else if (name == "NOT") {
            k->kind = K::Not;
            sp();
            k->children.push_back(search_key(depth + 1));
        } else if (name == "OR") {
            k->kind = K::Or;
            sp();
            k->children.push_back(search_key(depth + 1));
            sp();
            k->children.push_back(search_key(depth + 1));
        } else if (name == "MODSEQ") {
            // RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
            k->kind = K::ModSeq;
            sp();
            if (peek() == '"') {
                quoted();
                sp();
                std::string type = upper(atom("invalid MODSEQ entry type"));
                if (type != "PRIV" && type != "SHARED" && type != "ALL") fail("invalid MODSEQ entry type");
                sp();
            }
            k->number = number64();
        } else {
            fail("unknown search key");
        }
        return k;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    const ParserOptions& options_;
    bool prefix_;
    std::string tag_;
};

ParseFailure make_failure(std::string tag, std::string message, ParseFailure::Kind kind = ParseFailure::Bad,
                          bool fatal = false) {
    ParseFailure f;
    f.tag = std::move(tag);
    f.message = std::move(message);
    f.kind = kind;
    f.fatal = fatal;
    return f;
}

// Checks a command prefix ending in an announced literal. Returns a failure if the prefix is already wrong.
std::optional<ParseFailure> check_prefix(std::string_view text, const ParserOptions& options) {
    Parser p(text, options, true);
    try {
        p.command();
    } catch (const Incomplete&) {
        return std::nullopt;
    } catch (const SyntaxError& e) {
        return make_failure(p.parsed_tag().empty() ? tag_of(text) : p.parsed_tag(), e.message, e.kind);
    }
    return std::nullopt;  // complete already: the announced literal is empty
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Public helpers

const std::string& command_tag(const Command& command) {
    return std::visit([](const auto& c) -> const std::string& { return c.tag; }, command);
}

std::string command_name(const Command& command) {
    return std::visit(
        [](const auto& c) -> std::string {
            using C = std::decay_t<decltype(c)>;
            if constexpr (requires { c.uid; }) {
                if (c.uid) return "UID " + std::string(C::kName);
            }
            return std::string(C::kName);
        },
        command);
}

bool is_done_line(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return iequals(line, "DONE");
}

std::variant<ParsedCommand, ParseFailure> parse_command(std::string_view text, const ParserOptions& options) {
    Parser p(text, options, false);
    try {
        return ParsedCommand{p.command()};
    } catch (const SyntaxError& e) {
        return make_failure(p.parsed_tag().empty() ? tag_of(text) : p.parsed_tag(), e.message, e.kind);
    } catch (const Incomplete&) {
        return make_failure(tag_of(text), "truncated literal");
    }
}

// ---------------------------------------------------------------------------------------------------------
// CommandReader

namespace {
constexpr std::size_t kTailKeep = 32;  // enough for " {18446744073709551615+}"

void keep_tail(std::string& tail, std::string_view more) {
    if (more.size() >= kTailKeep) {
        tail.assign(more.substr(more.size() - kTailKeep));
        return;
    }
    tail.append(more);
    if (tail.size() > kTailKeep) tail.erase(0, tail.size() - kTailKeep);
}
}  // namespace

CommandReader::CommandReader(ParserLimits limits, ParserOptions options) : limits_(limits), options_(options) {}

void CommandReader::reset() {
    buf_.clear();
    segment_start_ = 0;
    literal_left_ = 0;
    literal_count_ = 0;
    append_ = false;
}

// Fails the current command from the middle of a line: the rest of the command is skipped.
ParseFailure CommandReader::fail_and_skip(std::string tag, std::string tail, std::string message) {
    reset();
    skipping_ = true;
    skip_literal_left_ = 0;
    skip_tail_ = std::move(tail);
    return make_failure(std::move(tag), std::move(message));
}

std::pair<std::size_t, ReadEvent> CommandReader::feed(std::string_view input) {
    std::size_t used = 0;
    while (true) {
        if (skipping_) {
            // Skip the rest of a failed command: to the end of the line, then through any LITERAL+ data the
            // line announced (the client sends it without waiting), and so on.
            if (skip_literal_left_ > 0) {
                auto take = static_cast<std::size_t>(
                    std::min<std::uint64_t>(skip_literal_left_, input.size() - used));
                used += take;
                skip_literal_left_ -= take;
                if (skip_literal_left_ > 0) return {used, NeedMore{}};
                skip_tail_.clear();
                continue;
            }
            std::string_view rest = input.substr(used);
            std::size_t lf = rest.find('\n');
            if (lf == std::string_view::npos) {
                keep_tail(skip_tail_, rest);
                return {input.size(), NeedMore{}};
            }
            keep_tail(skip_tail_, rest.substr(0, lf));
            used += lf + 1;
            std::string_view tail = skip_tail_;
            if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
            auto marker = literal_marker(tail);
            skip_tail_.clear();
            if (marker && !marker->sync) {
                if (marker->size > limits_.max_literal) {
                    skipping_ = false;
                    return {used, make_failure("*", "literal too big", ParseFailure::Bad, true)};
                }
                skip_literal_left_ = marker->size;
                continue;
            }
            // No literal, or a synchronising one the client will not send after our BAD.
            skipping_ = false;
            continue;
        }

        if (literal_left_ > 0) {
            auto take =
                static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, input.size() - used));
            buf_.append(input.substr(used, take));
            used += take;
            literal_left_ -= take;
            if (literal_left_ > 0) return {used, NeedMore{}};
            segment_start_ = buf_.size();
            continue;
        }

        if (used >= input.size()) return {used, NeedMore{}};
        std::string_view rest = input.substr(used);
        std::size_t lf = rest.find('\n');
        std::size_t chunk = lf == std::string_view::npos ? rest.size() : lf;
        // +1: a CR before the LF does not count against max_line
        const bool line_too_long = buf_.size() - segment_start_ + chunk > limits_.max_line + 1;
        if (line_too_long || buf_.size() + chunk > limits_.max_command) {
            // Hold nothing more: note the tag and the line's tail, then skip the rest of the command.
            std::string head = buf_.substr(0, 64);
            if (head.size() < 64) head.append(rest.substr(0, std::min<std::size_t>(chunk, 64 - head.size())));
            std::string tail = buf_.substr(std::max(segment_start_, buf_.size() > kTailKeep ? buf_.size() - kTailKeep : 0));
            keep_tail(tail, rest.substr(0, chunk));
            used += chunk;  // the LF, if any, is left for the skipper
            return {used, fail_and_skip(tag_of(head), std::move(tail), line_too_long ? "line too long" : "command too long")};
        }
        buf_.append(rest.substr(0, chunk));
        if (lf == std::string_view::npos) {
            used += chunk;
            return {used, NeedMore{}};
        }
        used += chunk + 1;
        if (buf_.size() > segment_start_ && buf_.back() == '\r') buf_.pop_back();
        if (buf_.size() - segment_start_ > limits_.max_line) {
            // Exactly one byte over: leave the LF to the skipper, which checks the tail for LITERAL+ data.
            --used;
            std::string tail = buf_.substr(std::max(segment_start_, buf_.size() > kTailKeep ? buf_.size() - kTailKeep : 0));
            return {used, fail_and_skip(tag_of(buf_.substr(0, 64)), std::move(tail), "line too long")};
        }

        std::string_view segment = std::string_view(buf_).substr(segment_start_);
        if (segment_start_ == 0) {
            if (segment.empty()) continue;  // empty line between commands: ignored
            append_ = is_append_line(segment);
        }
        auto marker = literal_marker(segment);
        if (!marker) {
            auto result = parse_command(buf_, options_);
            reset();
            if (auto* ok = std::get_if<ParsedCommand>(&result)) return {used, std::move(*ok)};
            return {used, std::move(std::get<ParseFailure>(result))};
        }

        // A literal is announced: check it before reading a byte of it.
        std::string tag = tag_of(buf_);
        const bool sync = marker->sync;
        auto refuse = [&](std::string message, ParseFailure::Kind kind) -> std::pair<std::size_t, ReadEvent> {
            reset();
            // A synchronising literal is never sent once refused; LITERAL+ data is already on its way and the
            // connection cannot be resynchronised cheaply (RFC 7888 §4: the server may close).
            return {used, make_failure(std::move(tag), std::move(message), kind, !sync)};
        };
        if (!sync && !options_.literal_plus) {
            return refuse("non-synchronizing literal not allowed", ParseFailure::Bad);
        }
        const std::uint64_t limit =
            append_ ? limits_.max_literal : std::min(limits_.max_literal, limits_.max_string_literal);
        if (marker->size > limit) {
            return append_ ? refuse("[TOOBIG] message too big", ParseFailure::TooBig)
                           : refuse("literal too big", ParseFailure::Bad);
        }
        if (literal_count_ + 1 > limits_.max_literals_per_command) {
            return refuse("too many literals in command", ParseFailure::Bad);
        }
        if (buf_.size() + 2 + marker->size > limits_.max_command) {
            return append_ ? refuse("[TOOBIG] command too big", ParseFailure::TooBig)
                           : refuse("command too long", ParseFailure::Bad);
        }
        buf_ += "\r\n";
        literal_left_ = marker->size;
        ++literal_count_;
        if (marker->size == 0) segment_start_ = buf_.size();
        if (sync) {
            // Do not invite the client to send bytes for a command that is already wrong.
            if (auto failure = check_prefix(buf_, options_)) {
                reset();
                return {used, std::move(*failure)};
            }
            return {used, NeedContinuation{marker->size}};
        }
    }
}

std::pair<std::size_t, LineEvent> CommandReader::feed_line(std::string_view input) {
    std::size_t used = 0;
    while (true) {
        if (skipping_) {
            std::size_t lf = input.find('\n', used);
            if (lf == std::string_view::npos) return {input.size(), NeedMore{}};
            used = lf + 1;
            skipping_ = false;
            skip_tail_.clear();
            skip_literal_left_ = 0;
            continue;
        }
        if (used >= input.size()) return {used, NeedMore{}};
        std::string_view rest = input.substr(used);
        std::size_t lf = rest.find('\n');
        std::size_t chunk = lf == std::string_view::npos ? rest.size() : lf;
        if (buf_.size() + chunk > limits_.max_line + 1) {
            used += chunk;
            reset();
            if (lf == std::string_view::npos) {
                skipping_ = true;
            } else {
                ++used;
            }
            return {used, make_failure("*", "line too long")};
        }
        buf_.append(rest.substr(0, chunk));
        used += chunk;
        if (lf == std::string_view::npos) return {used, NeedMore{}};
        ++used;
        if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
        if (buf_.size() > limits_.max_line) {
            reset();
            return {used, make_failure("*", "line too long")};
        }
        RawLine line{std::move(buf_)};
        reset();
        return {used, std::move(line)};
    }
}

}  // namespace roost::imap
