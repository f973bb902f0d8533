// Modified UTF-7 (RFC 3501 §5.1.3).
#include "imapd/protocol/mutf7.hpp"

#include <cstdint>
#include <vector>

namespace roost::imap {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

bool printable_ascii(std::uint32_t c) { return c >= 0x20 && c <= 0x7e; }

// Decodes one UTF-8 sequence at s[i]; advances i. Returns nullopt (and advances one byte) when invalid.
std::optional<std::uint32_t> next_code_point(std::string_view s, std::size_t& i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((b0 & 0xe0) == 0xc0) {
        len = 2, cp = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
        len = 3, cp = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        ++i;
        return std::nullopt;
    }
    if (i + len > s.size()) {
        ++i;
        return std::nullopt;
    }
    for (int k = 1; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0) != 0x80) {
            ++i;
            return std::nullopt;
        }
        cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        ++i;
        return std::nullopt;
    }
    i += len;
    return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

void flush_shift(std::string& out, const std::vector<std::uint16_t>& units) {
    out += '&';
    std::uint32_t bits = 0;
    int nbits = 0;
    for (std::uint16_t u : units) {
        bits = (bits << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            out += kAlphabet[(bits >> nbits) & 0x3f];
        }
        bits &= (1u << nbits) - 1;
    }
    if (nbits > 0) out += kAlphabet[(bits << (6 - nbits)) & 0x3f];
    out += '-';
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        if (!next_code_point(s, i)) return false;
    }
    return true;
}

std::string mutf7_encode(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size() + 8);
    std::vector<std::uint16_t> units;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::uint32_t cp = next_code_point(utf8, i).value_or(0xfffd);
        if (printable_ascii(cp)) {
            if (!units.empty()) {
                flush_shift(out, units);
                units.clear();
            }
            if (cp == '&') {
                out += "&-";
            } else {
                out += static_cast<char>(cp);
            }
            continue;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push_back(static_cast<std::uint16_t>(0xd800 | (cp >> 10)));
            units.push_back(static_cast<std::uint16_t>(0xdc00 | (cp & 0x3ff)));
        } else {
            units.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    if (!units.empty()) flush_shift(out, units);
    return out;
}

std::optional<std::string> mutf7_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    bool previous_was_shift = false;
    std::size_t i = 0;
    while (i < in.size()) {
        char c = in[i];
        if (!printable_ascii(static_cast<unsigned char>(c))) return std::nullopt;
        if (c != '&') {
            out += c;
            ++i;
            previous_was_shift = false;
            continue;
        }
        ++i;
        if (i < in.size() && in[i] == '-') {  // "&-" is "&"
            out += '&';
            ++i;
            previous_was_shift = false;
            continue;
        }
        // RFC 3501 §5.1.3: a canonical encoder merges adjacent non-ASCII runs into one shift.
        if (previous_was_shift) return std::nullopt;
        std::uint32_t bits = 0;
        int nbits = 0;
        std::uint32_t high_surrogate = 0;
        bool any = false;
        while (true) {
            if (i >= in.size()) return std::nullopt;  // unterminated shift
            char d = in[i++];
            if (d == '-') break;
            int v = base64_value(d);
            if (v < 0) return std::nullopt;
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                auto unit = static_cast<std::uint16_t>((bits >> nbits) & 0xffff);
                bits &= (1u << nbits) - 1;
                any = true;
                if (high_surrogate != 0) {
                    if (unit < 0xdc00 || unit > 0xdfff) return std::nullopt;
                    append_utf8(out, 0x10000 + ((high_surrogate - 0xd800) << 10) + (unit - 0xdc00));
                    high_surrogate = 0;
                } else if (unit >= 0xd800 && unit <= 0xdbff) {
                    high_surrogate = unit;
                } else if (unit >= 0xdc00 && unit <= 0xdfff) {
                    return std::nullopt;
                } else {
                    if (printable_ascii(unit)) return std::nullopt;  // must represent itself
                    append_utf8(out, unit);
                }
            }
        }
        // Leftover bits: fewer than 6 and all zero (RFC 2152 padding rules as used by RFC 3501).
        if (!any || high_surrogate != 0 || nbits >= 6 || bits != 0) return std::nullopt;
        previous_was_shift = true;
    }
    return out;
}

}  // namespace roost::imap
