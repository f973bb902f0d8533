// Response-side string helpers (RFC 9051 §4.3, §9).
#include "imapd/protocol/strings.hpp"

#include <algorithm>
#include <cstdio>

#include "imapd/protocol/mutf7.hpp"

namespace roost::imap {
namespace {

bool is_astring_char(unsigned char c) {
    if (c <= 0x1f || c >= 0x7f) return false;
    switch (c) {
        case '(': case ')': case '{': case ' ': case '%': case '*': case '"': case '\\':
            return false;
        default:
            return true;  // includes "]" (resp-specials are allowed in astring)
    }
}

// Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
}

}  // namespace

std::string quoted_or_literal(std::string_view s, bool utf8_ok) {
    bool quotable = true;
    bool eight_bit = false;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == 0 || c == '\r' || c == '\n') {
            quotable = false;
            break;
        }
        if (c >= 0x80) eight_bit = true;
    }
    if (quotable && eight_bit) quotable = utf8_ok && is_valid_utf8(s);
    if (!quotable) {
        std::string out = "{" + std::to_string(s.size()) + "}\r\n";
        out.append(s);
        return out;
    }
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string nstring(const std::optional<std::string>& s, bool utf8_ok) {
    return s ? quoted_or_literal(*s, utf8_ok) : std::string("NIL");
}

std::string nstring(std::optional<std::string_view> s, bool utf8_ok) {
    return s ? quoted_or_literal(*s, utf8_ok) : std::string("NIL");
}

std::string astring(std::string_view s, bool utf8_ok) {
    bool atom = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_astring_char(static_cast<unsigned char>(c));
    });
    if (atom && s.size() == 3 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'I' || s[1] == 'i') &&
        (s[2] == 'L' || s[2] == 'l')) {
        atom = false;
    }
    return atom ? std::string(s) : quoted_or_literal(s, utf8_ok);
}

std::string mailbox_astring(std::string_view utf8_name, bool utf8_mode) {
    if (utf8_mode) return astring(utf8_name, true);
    return astring(mutf7_encode(utf8_name), false);
}

std::string flag_list(std::uint32_t bits, const std::vector<std::string>& keywords, bool recent) {
    static constexpr const char* kNames[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};
    std::string out = "(";
    auto add = [&out](std::string_view f) {
        if (out.size() > 1) out += ' ';
        out.append(f);
    };
    for (int i = 0; i < 5; ++i) {
        if (bits & (1u << i)) add(kNames[i]);
    }
    if (recent) add("\\Recent");
    for (const auto& k : keywords) add(k);
    out += ')';
    return out;
}

std::string format_sequence_set(std::vector<std::uint32_t> numbers) {
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    std::string out;
    std::size_t i = 0;
    while (i < numbers.size()) {
        std::size_t j = i;
        while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(numbers[i]);
        if (j > i) {
            out += ':';
            out += std::to_string(numbers[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string imap_date_time(std::int64_t unix_seconds, int tz_offset_minutes) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::int64_t local = unix_seconds + static_cast<std::int64_t>(tz_offset_minutes) * 60;
    std::int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    std::int64_t secs = local - days * 86400;
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    int off = tz_offset_minutes < 0 ? -tz_offset_minutes : tz_offset_minutes;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02u-%s-%04lld %02lld:%02lld:%02lld %c%02d%02d", d, kMonths[m - 1],
                  static_cast<long long>(y), static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  tz_offset_minutes < 0 ? '-' : '+', off / 60 % 100, off % 60);
    return buf;
}

}  // namespace roost::imap
