// Message generation. Content depends only on the sequence number (not on the run), so the same messages
// reach every server compared; only the Message-ID carries a per-run nonce.
#include <cstdio>
#include <ctime>

#include "bench/bench.hpp"

namespace roost::bench {
namespace {

std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

constexpr std::size_t kLine = 72;  // body line length target (RFC 5322 §2.1.1 recommends ≤ 78)

void base64_lines(std::string& out, std::size_t raw_bytes, std::uint64_t seed) {
    static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t col = 0;
    for (std::size_t i = 0; i < raw_bytes; i += 3) {
        auto v = static_cast<std::uint32_t>(splitmix(seed) & 0xffffff);
        for (int k = 3; k >= 0; --k) out += a[(v >> (6 * k)) & 63];
        if ((col += 4) >= 76) {
            out += "\r\n";
            col = 0;
        }
    }
    if (col) out += "\r\n";
}

}  // namespace

MailGen::MailGen(std::uint64_t nonce) : nonce_(nonce) {
    char buf[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    date_ = buf;
    // 4,096 pronounceable pseudo-words, lower-case letters only (no 'q', so "qqzzqqxx" never occurs).
    static constexpr const char* cons[] = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p",
                                           "r", "s", "t", "v", "w", "z", "st", "tr", "br", "ch", "sh", "pl"};
    static constexpr const char* vow[] = {"a", "e", "i", "o", "u", "ai", "ou", "ea"};
    std::uint64_t s = 42;
    words_.reserve(4096);
    while (words_.size() < 4096) {
        std::string w;
        int syllables = 1 + static_cast<int>(splitmix(s) % 3);
        for (int i = 0; i < syllables; ++i) {
            w += cons[splitmix(s) % std::size(cons)];
            w += vow[splitmix(s) % std::size(vow)];
        }
        if (splitmix(s) % 3 == 0) w += cons[splitmix(s) % 18];
        words_.push_back(std::move(w));
    }
}

// Appends about `bytes` octets of CRLF-terminated text lines (exactly, when bytes >= 2).
void MailGen::text(std::string& out, std::size_t bytes, std::uint64_t seq, bool first_tokens) const {
    std::uint64_t s = seq * 0x2545f4914f6cdd1dull + 7;
    std::size_t end = out.size() + bytes;
    bool first = first_tokens;
    while (out.size() + 2 <= end) {
        std::size_t room = std::min(kLine, end - out.size() - 2);
        std::string line;
        if (first) {
            char t[48];
            std::snprintf(t, sizeof t, "roostbench kwd%llu tok%03llu", static_cast<unsigned long long>(seq % 10),
                          static_cast<unsigned long long>(seq % 1000));
            line = t;
            first = false;
        }
        for (;;) {
            const auto& w = words_[splitmix(s) % words_.size()];
            if (line.size() + (line.empty() ? 0 : 1) + w.size() > room) break;
            if (!line.empty()) line += ' ';
            line += w;
        }
        if (line.size() > room) line.resize(room);
        // The last line is padded to land exactly on `bytes`.
        if (end - out.size() - 2 <= kLine) line.append(room - line.size(), 'x');
        out += line;
        out += "\r\n";
    }
}

std::string MailGen::headers(std::uint64_t seq, std::string_view rcpt, std::string_view content_type) const {
    std::string h = head(seq);
    char from[96];
    std::snprintf(from, sizeof from, "From: Sender %llu <sender%llu@senders.bench.example>\r\n",
                  static_cast<unsigned long long>(seq % 50), static_cast<unsigned long long>(seq % 50));
    h += "Date: " + date_ + "\r\n";
    h += from;
    h += "To: <" + std::string(rcpt) + ">\r\n";
    std::uint64_t s = seq + 99;
    h += "Subject: bench message " + std::to_string(seq) + " " + words_[splitmix(s) % words_.size()] + " " +
         words_[splitmix(s) % words_.size()] + "\r\n";
    h += "MIME-Version: 1.0\r\n";
    h += content_type;
    h += "\r\n";
    return h;
}

std::string MailGen::head(std::uint64_t seq) const {
    char b[96];
    std::snprintf(b, sizeof b, "Message-ID: <%010llu.%016llx@roost-bench.invalid>\r\n",
                  static_cast<unsigned long long>(seq), static_cast<unsigned long long>(nonce_));
    return b;
}

void MailGen::attachment_parts(std::string& m, std::uint64_t seq, std::size_t size, const std::string& boundary) const {
    m += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    text(m, 1024, seq, true);
    m += "--" + boundary + "\r\nContent-Type: application/octet-stream; name=\"data-" + std::to_string(seq) +
         ".bin\"\r\nContent-Disposition: attachment; filename=\"data-" + std::to_string(seq) +
         ".bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    std::string closing = "--" + boundary + "--\r\n";
    auto used = m.size() + closing.size();
    // base64: 78 octets per 57 raw bytes (76 characters and CRLF)
    base64_lines(m, size > used + 78 ? (size - used) / 78 * 57 : 57, seq);
    m += closing;
}

std::string MailGen::shared_body(std::size_t size, Shape shape) const {
    std::string b = "Date: " + date_ + "\r\n" +
                    "From: Load Generator <loadgen@senders.bench.example>\r\n"
                    "To: undisclosed-recipients:;\r\n"
                    "Subject: roost-bench load message\r\n"
                    "MIME-Version: 1.0\r\n";
    if (shape == Shape::Attachment) {
        b += "Content-Type: multipart/mixed; boundary=\"=_bench_shared\"\r\n\r\n";
        auto used = head(0).size();
        attachment_parts(b, 0, size > used ? size - used : 0, "=_bench_shared");
    } else {
        b += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
        auto used = head(0).size() + b.size();
        text(b, size > used + 2 ? size - used : 2, 0, true);
    }
    b += ".\r\n";
    return b;
}

std::string MailGen::message(std::uint64_t seq, std::size_t size, Shape shape, std::string_view rcpt) const {
    int kind = shape == Shape::Plain ? 0 : static_cast<int>(seq % 10);
    std::string m;
    m.reserve(size + 1024);
    if (shape == Shape::Attachment) {
        std::string boundary = "=_bench_" + std::to_string(seq);
        m = headers(seq, rcpt, "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n");
        attachment_parts(m, seq, size, boundary);
        return m;
    }
    if (kind <= 5) {  // text/plain
        m = headers(seq, rcpt, "Content-Type: text/plain; charset=us-ascii\r\n");
        text(m, size > m.size() + 2 ? size - m.size() : 64, seq, true);
        return m;
    }
    std::string boundary = "=_bench_" + std::to_string(seq);
    if (kind <= 8) {  // multipart/alternative: the same text as plain and HTML
        m = headers(seq, rcpt, "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n");
        std::size_t part = size > m.size() + 400 ? (size - m.size() - 400) / 2 : 64;
        m += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
        text(m, part, seq, true);
        m += "--" + boundary + "\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body><p>\r\n";
        text(m, part, seq, true);
        m += "</p></body></html>\r\n--" + boundary + "--\r\n";
        return m;
    }
    // multipart/mixed: a text part and a base64 attachment
    m = headers(seq, rcpt, "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n");
    std::size_t rest = size > m.size() + 400 ? size - m.size() - 400 : 128;
    m += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    text(m, rest / 2, seq, true);
    m += "--" + boundary + "\r\nContent-Type: application/octet-stream; name=\"data-" + std::to_string(seq) +
         ".bin\"\r\nContent-Disposition: attachment; filename=\"data-" + std::to_string(seq) +
         ".bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    base64_lines(m, rest / 2 * 3 / 4, seq);
    m += "--" + boundary + "--\r\n";
    return m;
}

}  // namespace roost::bench
