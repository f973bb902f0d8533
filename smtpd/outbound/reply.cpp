#include "smtpd/outbound/reply.hpp"

#include <cctype>

namespace roost::outbound {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

std::string upper(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return o;
}

// RFC 3463 §2: class "." subject "." detail, 1-3 digits each; the class matches the reply's first digit
// (RFC 2034 §4).
std::size_t enhanced_length(std::string_view text, int code) {
    std::size_t i = 0;
    if (text.empty() || text[0] != static_cast<char>('0' + code / 100)) return 0;
    i = 1;
    for (int part = 0; part < 2; ++part) {
        if (i >= text.size() || text[i] != '.') return 0;
        ++i;
        std::size_t start = i;
        while (i < text.size() && digit(text[i]) && i - start < 3) ++i;
        if (i == start) return 0;
    }
    if (i < text.size() && text[i] != ' ') return 0;
    return i;
}

}  // namespace

std::string SmtpReply::summary() const {
    std::string s = std::to_string(code);
    if (!enhanced.empty()) s += " " + enhanced;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        s += i ? " / " : " ";
        for (char c : lines[i]) s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

ReplyParse parse_reply(std::string_view buffer, SmtpReply& out, std::size_t& consumed, const ReplyLimits& limits) {
    SmtpReply r;
    std::size_t pos = 0;
    for (;;) {
        auto lf = buffer.find('\n', pos);
        if (lf == std::string_view::npos) {
            if (buffer.size() - pos > limits.max_line) return ReplyParse::Error;
            return ReplyParse::NeedMore;
        }
        if (lf - pos > limits.max_line) return ReplyParse::Error;
        auto line = buffer.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = lf + 1;
        // RFC 5321 §4.2: Reply-code [ SP / "-" textstring ] CRLF; Reply-code is %x32-35 %x30-35 %x30-39.
        if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !digit(line[1]) || !digit(line[2]))
            return ReplyParse::Error;
        if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return ReplyParse::Error;
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (r.lines.empty()) r.code = code;
        else if (code != r.code) return ReplyParse::Error;
        bool more = line.size() > 3 && line[3] == '-';
        auto text = line.size() > 4 ? line.substr(4) : std::string_view{};
        if (auto n = enhanced_length(text, code); n && code != 354 && code / 100 != 3) {
            if (r.lines.empty()) r.enhanced = std::string(text.substr(0, n));
            text.remove_prefix(n);
            while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        }
        r.lines.emplace_back(text);
        if (r.lines.size() > limits.max_lines) return ReplyParse::Error;
        if (!more) break;
    }
    out = std::move(r);
    consumed = pos;
    return ReplyParse::Complete;
}

bool Capabilities::has_auth(std::string_view mechanism) const {
    for (auto& m : auth)
        if (m == mechanism) return true;
    return false;
}

Capabilities parse_ehlo(const SmtpReply& reply) {
    Capabilities c;
    if (reply.code != 250) return c;
    c.esmtp = true;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::string_view l = reply.lines[i];
        auto sp = l.find(' ');
        auto kw = upper(l.substr(0, sp));
        auto params = sp == std::string_view::npos ? std::string_view{} : l.substr(sp + 1);
        if (kw == "STARTTLS") c.starttls = true;
        else if (kw == "PIPELINING") c.pipelining = true;
        else if (kw == "8BITMIME") c.eightbitmime = true;
        else if (kw == "SMTPUTF8") c.smtputf8 = true;
        else if (kw == "DSN") c.dsn = true;
        else if (kw == "ENHANCEDSTATUSCODES") c.enhanced_status = true;
        else if (kw == "SIZE") {
            c.size = true;
            std::uint64_t v = 0;
            bool ok = !params.empty();
            for (char ch : params) {
                if (!digit(ch) || v > (UINT64_MAX - 9) / 10) {
                    ok = false;
                    break;
                }
                v = v * 10 + static_cast<unsigned>(ch - '0');
            }
            if (ok) c.max_size = v;
        } else if (kw == "AUTH") {
            std::size_t p = 0;
            while (p < params.size()) {
                auto e = params.find(' ', p);
                auto m = params.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p);
                if (!m.empty()) c.auth.push_back(upper(m));
                if (e == std::string_view::npos) break;
                p = e + 1;
            }
        }
    }
    return c;
}

std::string encode_xtext(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string o;
    for (unsigned char c : text) {
        // xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "=".
        if (c >= 33 && c <= 126 && c != '+' && c != '=') o += static_cast<char>(c);
        else {
            o += '+';
            o += hex[c >> 4];
            o += hex[c & 15];
        }
    }
    return o;
}

std::string dot_stuff(std::string_view m) {
    std::string o;
    o.reserve(m.size() + m.size() / 64 + 8);
    bool line_start = true;
    for (char c : m) {
        if (line_start && c == '.') o += '.';
        o += c;
        line_start = c == '\n';
    }
    if (!o.empty() && !(o.size() >= 2 && o[o.size() - 2] == '\r' && o.back() == '\n')) {
        if (o.back() == '\r') o += '\n';
        else o += "\r\n";
    }
    o += ".\r\n";
    return o;
}

bool has_8bit(std::string_view text) {
    for (unsigned char c : text)
        if (c >= 0x80) return true;
    return false;
}

}  // namespace roost::outbound
