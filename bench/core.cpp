// The machinery every mode shares: the run and its deadline, connections, the three protocol clients,
// options, percentiles, the table and the JSON report, and /proc readings.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/bench.hpp"

namespace roost::bench {

using asio::use_awaitable;

// ------------------------------------------------------------------------------------------------ Run

Run::Run(asio::io_context& io_, std::chrono::seconds limit)
    : io(io_), started(Clock::now()), deadline(started + limit), timer_(io_, deadline) {
    timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) expire();
    });
}

void Run::expire() {
    stopping = true;
    timed_out = true;
    // Copies: closing or notifying may make a coroutine untrack itself later, never now (single thread,
    // nothing resumes inside close()), but keep the iteration independent of that anyway.
    for (auto* c : std::vector<Conn*>(conns_.begin(), conns_.end())) c->close();
    for (auto* e : std::vector<Event*>(events_.begin(), events_.end())) e->notify();
}

void Run::finish() {
    stopping = true;
    timer_.cancel();
}

task<void> Run::sleep(std::chrono::microseconds d) {
    auto until = std::min(Clock::now() + d, deadline);
    asio::steady_timer t(io, until);
    co_await t.async_wait(asio::as_tuple(use_awaitable));
}

void Event::notify() {
    for (auto* w : waiters_) w->cancel();
    waiters_.clear();
}

task<void> Event::wait(Clock::time_point until) {
    // Once the run stops, waiters poll (every millisecond) until what they wait for has ended: a coroutine
    // must not return while coroutines it started still use its locals.
    asio::steady_timer t(run_.io, run_.stopping ? Clock::now() + std::chrono::milliseconds(1) : std::min(until, run_.deadline));
    waiters_.push_back(&t);
    co_await t.async_wait(asio::as_tuple(use_awaitable));
    std::erase(waiters_, &t);
}

// ------------------------------------------------------------------------------------------------ Conn

Conn::Conn(Run& run) : run_(run), sock_(run.io), buf_(64 * 1024) { run_.track(this); }
Conn::~Conn() { run_.untrack(this); }

void Conn::close() {
    boost::system::error_code ec;
    sock_.close(ec);
}

task<void> Conn::connect(const tcp::endpoint& ep) {
    if (run_.stopping) throw Stopped();
    auto [ec] = co_await sock_.async_connect(ep, asio::as_tuple(use_awaitable));
    if (ec) {
        if (run_.stopping) throw Stopped();
        throw Unavailable("connect " + ep.address().to_string() + ":" + std::to_string(ep.port()) + ": " + ec.message());
    }
    sock_.set_option(tcp::no_delay(true));
}

task<void> Conn::fill() {
    if (head_ == tail_) head_ = tail_ = 0;
    if (tail_ == buf_.size()) {
        if (head_ > 0) {
            std::memmove(buf_.data(), buf_.data() + head_, tail_ - head_);
            tail_ -= head_;
            head_ = 0;
        } else {
            if (buf_.size() >= (256u << 20)) throw BenchError("response line longer than 256 MiB");
            buf_.resize(buf_.size() * 2);
        }
    }
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf_.data() + tail_, buf_.size() - tail_),
                                                  asio::as_tuple(use_awaitable));
    if (ec) {
        if (run_.stopping) throw Stopped();
        throw BenchError(ec == asio::error::eof ? "connection closed by server" : "read: " + ec.message());
    }
    tail_ += n;
    bytes_read_ += n;
}

task<std::string_view> Conn::line() {
    std::size_t scanned = head_;
    for (;;) {
        if (auto* nl = static_cast<char*>(std::memchr(buf_.data() + scanned, '\n', tail_ - scanned))) {
            std::size_t end = static_cast<std::size_t>(nl - buf_.data());
            std::size_t start = head_;
            head_ = end + 1;
            if (end > start && buf_[end - 1] == '\r') --end;
            co_return std::string_view(buf_.data() + start, end - start);
        }
        std::size_t offset = tail_ - head_;  // fill() may move the unread bytes to the front
        co_await fill();
        scanned = head_ + offset;
    }
}

task<void> Conn::discard(std::size_t n) {
    while (n > 0) {
        if (head_ == tail_) co_await fill();
        std::size_t take = std::min(n, tail_ - head_);
        head_ += take;
        n -= take;
    }
}

task<std::uint64_t> Conn::skip_through(std::string_view terminator) {
    std::uint64_t skipped = 0;
    for (;;) {
        if (tail_ - head_ >= terminator.size()) {
            if (auto* hit = static_cast<const char*>(
                    ::memmem(buf_.data() + head_, tail_ - head_, terminator.data(), terminator.size()))) {
                auto before = static_cast<std::size_t>(hit - (buf_.data() + head_));
                head_ += before + terminator.size();
                co_return skipped + before;
            }
            // Keep the last bytes: the terminator may straddle this read and the next.
            auto keep = terminator.size() - 1;
            auto drop = tail_ - head_ - keep;
            head_ += drop;
            skipped += drop;
        }
        co_await fill();
    }
}

task<std::string_view> Conn::peek(std::size_t n) {
    while (tail_ - head_ < n) co_await fill();
    co_return std::string_view(buf_.data() + head_, n);
}

task<void> Conn::write(std::string_view a) {
    if (run_.stopping) throw Stopped();
    auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(a.data(), a.size()), asio::as_tuple(use_awaitable));
    if (ec) {
        if (run_.stopping) throw Stopped();
        throw BenchError("write: " + ec.message());
    }
}

task<void> Conn::write(std::string_view a, std::string_view b) {
    if (run_.stopping) throw Stopped();
    std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
    auto [ec, n] = co_await asio::async_write(sock_, bufs, asio::as_tuple(use_awaitable));
    if (ec) {
        if (run_.stopping) throw Stopped();
        throw BenchError("write: " + ec.message());
    }
}

// ------------------------------------------------------------------------------------------------ SMTP

namespace {
int reply_code(std::string_view line) {
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])))
        throw BenchError("malformed SMTP reply: " + std::string(line.substr(0, 200)));
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}
std::string upper(std::string_view s) {
    std::string u(s);
    for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return u;
}
}  // namespace

task<SmtpReply> smtp_reply(Conn& c, std::vector<std::string>* lines) {
    SmtpReply r;
    for (;;) {
        auto line = co_await c.line();
        r.code = reply_code(line);
        if (lines) lines->emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
        if (line.size() < 4 || line[3] != '-') {
            r.text = std::string(line.substr(0, 300));
            co_return r;
        }
    }
}

task<void> SmtpClient::hello(const tcp::endpoint& ep, std::string_view helo) {
    co_await c.connect(ep);
    auto greeting = co_await smtp_reply(c);
    if (greeting.code != 220) throw Unavailable("SMTP greeting: " + greeting.text);
    co_await c.write("EHLO " + std::string(helo) + "\r\n");
    std::vector<std::string> lines;
    auto r = co_await smtp_reply(c, &lines);
    if (r.code != 250) throw BenchError("EHLO: " + r.text);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        auto kw = upper(lines[i].substr(0, lines[i].find(' ')));
        if (kw == "PIPELINING") pipelining = true;
        if (kw == "SIZE") size = true;
    }
}

task<SmtpClient::Result> SmtpClient::send(std::string_view from, std::string_view rcpt, std::size_t msg_size,
                                          std::string_view head, std::string_view body) {
    Result res;
    std::string mail = "MAIL FROM:<" + std::string(from) + ">";
    if (size) mail += " SIZE=" + std::to_string(msg_size);
    mail += "\r\n";
    std::string rcpt_cmd = "RCPT TO:<" + std::string(rcpt) + ">\r\n";
    res.started = Clock::now();
    SmtpReply m, t, d;
    if (pipelining) {
        co_await c.write(mail + rcpt_cmd + "DATA\r\n");
        m = co_await smtp_reply(c);
        t = co_await smtp_reply(c);
        d = co_await smtp_reply(c);
    } else {
        co_await c.write(mail);
        m = co_await smtp_reply(c);
        if (m.code / 100 == 2) {
            co_await c.write(rcpt_cmd);
            t = co_await smtp_reply(c);
            if (t.code / 100 == 2) {
                co_await c.write("DATA\r\n");
                d = co_await smtp_reply(c);
            }
        }
    }
    const SmtpReply* failed = m.code / 100 != 2 ? &m : t.code / 100 != 2 ? &t : d.code != 354 ? &d : nullptr;
    if (d.code == 354 && failed) {
        // A server that accepted DATA after a failed RCPT (RFC 2920 §3.1 says it must not): end the empty
        // transaction cleanly.
        co_await c.write(".\r\n");
        co_await smtp_reply(c);
    }
    if (failed) {
        res.code = failed->code;
        res.text = failed->text;
        co_await c.write("RSET\r\n");
        co_await smtp_reply(c);
        res.dot = res.done = Clock::now();
        co_return res;
    }
    co_await c.write(head, body);
    res.dot = Clock::now();
    auto f = co_await smtp_reply(c);
    res.done = Clock::now();
    res.code = f.code;
    res.text = std::move(f.text);
    co_return res;
}

task<void> SmtpClient::quit() {
    co_await c.write("QUIT\r\n");
    co_await smtp_reply(c);
    c.close();
}

// ------------------------------------------------------------------------------------------------ IMAP

namespace {
// "{123}" or "{123+}" at the end of a line → 123.
bool literal_at_end(std::string_view line, std::size_t& n) {
    if (line.empty() || line.back() != '}') return false;
    auto open = line.rfind('{');
    if (open == std::string_view::npos) return false;
    auto digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    if (digits.empty() || digits.size() > 12) return false;
    n = 0;
    for (char ch : digits) {
        if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
        n = n * 10 + static_cast<std::size_t>(ch - '0');
    }
    return true;
}
}  // namespace

std::string imap_quote(std::string_view s) {
    std::string q = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') q += '\\';
        q += ch;
    }
    return q + "\"";
}

std::string ImapClient::next_tag() {
    std::string tag(1, 'b');  // not "b" + to_string(): GCC 12 -Wrestrict false positive (PR 105329)
    tag += std::to_string(++tag_);
    return tag;
}

task<void> ImapClient::open(const tcp::endpoint& ep) {
    co_await c.connect(ep);
    std::string_view first = co_await c.line();
    std::string g(first);
    if (g.rfind("* OK", 0) != 0 && g.rfind("* PREAUTH", 0) != 0) throw Unavailable("IMAP greeting: " + g.substr(0, 200));
}

task<std::string> ImapClient::response_line(std::uint64_t* literal_bytes) {
    auto line = co_await c.line();
    std::string first(line);
    std::size_t n = 0;
    std::string_view rest = line;
    while (literal_at_end(rest, n)) {
        co_await c.discard(n);
        if (literal_bytes) *literal_bytes += n;
        rest = co_await c.line();  // the remainder of the response after the literal
    }
    co_return first;
}

task<ImapClient::Result> ImapClient::command(std::string_view cmd, const Untagged& on_untagged, bool allow_fail) {
    auto tag = next_tag();
    co_await c.write(tag + " " + std::string(cmd) + "\r\n");
    Result r;
    for (;;) {
        auto line = co_await c.line();
        if (line.size() > tag.size() && line.substr(0, tag.size()) == tag && line[tag.size()] == ' ') {
            auto rest = line.substr(tag.size() + 1);
            auto sp = rest.find(' ');
            r.status = std::string(rest.substr(0, sp));
            r.text = std::string(rest.substr(0, 300));
            if (r.status != "OK" && !allow_fail)
                throw BenchError("IMAP '" + std::string(cmd.substr(0, 60)) + "': " + r.text);
            co_return r;
        }
        if (!line.empty() && line[0] == '+') throw BenchError("unexpected IMAP continuation: " + std::string(line.substr(0, 200)));
        if (line.rfind("* BYE", 0) == 0 && cmd != "LOGOUT") throw Unavailable("IMAP: " + std::string(line.substr(0, 200)));
        ++r.untagged;
        if (on_untagged) on_untagged(line);
        std::size_t n = 0;
        std::string_view rest = line;
        while (literal_at_end(rest, n)) {
            co_await c.discard(n);
            r.literal_bytes += n;
            rest = co_await c.line();
        }
    }
}

task<void> ImapClient::login(std::string_view user, std::string_view password) {
    auto r = co_await command("LOGIN " + imap_quote(user) + " " + imap_quote(password), {}, true);
    if (r.status != "OK") throw BenchError("IMAP LOGIN " + std::string(user) + ": " + r.text);
}

task<void> ImapClient::idle_start() {
    idle_tag_ = next_tag();
    co_await c.write(idle_tag_ + " IDLE\r\n");
    for (;;) {
        auto line = co_await c.line();
        if (!line.empty() && line[0] == '+') co_return;
        if (line.rfind(idle_tag_, 0) == 0) throw BenchError("IDLE refused: " + std::string(line.substr(0, 200)));
    }
}

task<ImapClient::Result> ImapClient::idle_done(const Untagged& on_untagged) {
    co_await c.write("DONE\r\n");
    Result r;
    for (;;) {
        auto line = co_await response_line();
        if (line.rfind(idle_tag_ + " ", 0) == 0) {
            r.text = line.substr(idle_tag_.size() + 1);
            r.status = r.text.substr(0, r.text.find(' '));
            co_return r;
        }
        ++r.untagged;
        if (on_untagged) on_untagged(line);
    }
}

task<std::uint64_t> ImapClient::status_messages(std::string_view mailbox) {
    std::uint64_t messages = 0;
    bool seen = false;
    co_await command("STATUS " + imap_quote(mailbox) + " (MESSAGES)", [&](std::string_view line) {
        auto p = line.find("MESSAGES ");
        if (line.rfind("* STATUS", 0) == 0 && p != std::string_view::npos) {
            messages = std::strtoull(std::string(line.substr(p + 9, 20)).c_str(), nullptr, 10);
            seen = true;
        }
    });
    if (!seen) throw BenchError("STATUS without MESSAGES");
    co_return messages;
}

// ------------------------------------------------------------------------------------------------ POP3

task<void> Pop3Client::open(const tcp::endpoint& ep) {
    co_await c.connect(ep);
    std::string_view first = co_await c.line();
    std::string g(first);
    if (g.rfind("+OK", 0) != 0) throw Unavailable("POP3 greeting: " + g.substr(0, 200));
}

task<std::string> Pop3Client::command(std::string_view cmd) {
    co_await c.write(std::string(cmd) + "\r\n");
    std::string_view reply = co_await c.line();
    std::string line(reply);
    if (line.rfind("+OK", 0) != 0) throw BenchError("POP3 '" + std::string(cmd.substr(0, 4)) + "': " + line.substr(0, 200));
    co_return line;
}

task<void> Pop3Client::login(std::string_view user, std::string_view password) {
    co_await command("USER " + std::string(user));
    co_await command("PASS " + std::string(password));
}

task<std::uint64_t> Pop3Client::multiline() {
    // RFC 1939 §3: the body ends with CRLF "." CRLF; an empty body is just "." CRLF. Bytes are counted as
    // sent (dot-stuffing included).
    // (Each co_await result goes to a local first: GCC 12 miscompiles some co_await sub-expressions.)
    std::string_view start = co_await c.peek(3);
    if (start == ".\r\n") {
        co_await c.discard(3);
        co_return 0;
    }
    std::uint64_t body = co_await c.skip_through("\r\n.\r\n");
    co_return body + 2;
}

// ------------------------------------------------------------------------------------------------ options

Options::Options(int argc, char** argv, int first, const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) throw BenchError("unexpected argument '" + a + "'");
        a = a.substr(2);
        auto eq = a.find('=');
        if (eq != std::string::npos) kv_[a.substr(0, eq)] = a.substr(eq + 1);
        else if (flags.count(a)) kv_[a] = "1";
        else if (i + 1 < argc) kv_[a] = argv[++i];
        else throw BenchError("option --" + a + " needs a value");
    }
}

void Options::mark(const std::string& key, const std::string& value) {
    if (used_.insert(key).second) used_list_.emplace_back(key, value);
}

std::string Options::str(const std::string& key, const std::string& def) {
    auto it = kv_.find(key);
    auto v = it == kv_.end() ? def : it->second;
    mark(key, key == "password" ? "***" : v);
    return v;
}

long long Options::num(const std::string& key, long long def) {
    auto s = str(key, std::to_string(def));
    char* end = nullptr;
    auto v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end) throw BenchError("--" + key + ": not a number: '" + s + "'");
    return v;
}

std::uint64_t Options::size(const std::string& key, std::uint64_t def) {
    auto it = kv_.find(key);
    if (it == kv_.end()) {
        mark(key, std::to_string(def));
        return def;
    }
    mark(key, it->second);
    return parse_size(it->second);
}

bool Options::flag(const std::string& key) {
    auto it = kv_.find(key);
    bool v = it != kv_.end() && it->second != "0" && it->second != "false";
    mark(key, v ? "true" : "false");
    return v;
}

std::vector<std::string> Options::list(const std::string& key, const std::string& def) {
    std::vector<std::string> out;
    std::stringstream ss(str(key, def));
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            for (auto& e : expand_braces(item)) out.push_back(e);
    return out;
}

void Options::reject_unused() const {
    for (auto& [k, v] : kv_)
        if (!used_.count(k)) throw BenchError("unknown option --" + k + " for this mode");
}

std::vector<std::string> expand_braces(const std::string& s) {
    auto open = s.find('{');
    auto dots = s.find("..", open == std::string::npos ? 0 : open);
    auto close = s.find('}', dots == std::string::npos ? 0 : dots);
    if (open == std::string::npos || dots == std::string::npos || close == std::string::npos) return {s};
    long a = std::stol(s.substr(open + 1, dots - open - 1));
    long b = std::stol(s.substr(dots + 2, close - dots - 2));
    std::vector<std::string> out;
    for (long i = a; a <= b ? i <= b : i >= b; i += a <= b ? 1 : -1)
        for (auto& rest : expand_braces(s.substr(close + 1))) out.push_back(s.substr(0, open) + std::to_string(i) + rest);
    return out;
}

std::uint64_t parse_size(const std::string& s) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    std::string unit = upper(end ? end : "");
    if (unit == "KIB") unit = "K";
    if (unit == "MIB") unit = "M";
    if (unit == "GIB") unit = "G";
    std::uint64_t mult = unit.empty() || unit == "B" ? 1 : unit == "K" ? 1024 : unit == "M" ? 1 << 20 : unit == "G" ? 1ull << 30 : 0;
    if (!mult || end == s.c_str() || v < 0) throw BenchError("not a size: '" + s + "' (use 4096, 4K, 100K, 5M)");
    return static_cast<std::uint64_t>(v * static_cast<double>(mult));
}

tcp::endpoint endpoint(const std::string& host, long long port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) throw BenchError("--host must be an IP address: '" + host + "'");
    if (port <= 0 || port > 65535) throw BenchError("bad port " + std::to_string(port));
    return {addr, static_cast<unsigned short>(port)};
}

// ------------------------------------------------------------------------------------------------ results

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return std::nan("");
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

namespace {
std::string fmt(double v, int prec = 1) {
    if (std::isnan(v)) return "-";
    char b[64];
    if (std::fabs(v) >= 100000) std::snprintf(b, sizeof b, "%.0f", v);
    else std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
}
std::string json_num(double v) {
    if (std::isnan(v) || std::isinf(v)) return "null";
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}
}  // namespace

void print_table(const Report& r) {
    std::printf("roost-bench %s  host=%s%s%s\n", r.mode.c_str(), r.host.c_str(), r.label.empty() ? "" : "  label=",
                r.label.c_str());
    if (!r.error.empty()) std::printf("  %s: %s\n", r.unavailable ? "UNAVAILABLE" : "ERROR", r.error.c_str());
    if (r.figures.empty()) return;
    std::printf("%-26s %12s %-9s %8s %6s %9s %9s %9s %9s  %s\n", "figure", "value", "unit", "count", "errors",
                "p50 ms", "p90 ms", "p99 ms", "max ms", "");
    for (auto f : r.figures) {
        std::sort(f.lat_ms.begin(), f.lat_ms.end());
        std::printf("%-26s %12s %-9s %8llu %6llu %9s %9s %9s %9s  %s\n", f.name.c_str(), fmt(f.value).c_str(),
                    f.unit.c_str(), static_cast<unsigned long long>(f.count), static_cast<unsigned long long>(f.errors),
                    fmt(percentile(f.lat_ms, 50), 2).c_str(), fmt(percentile(f.lat_ms, 90), 2).c_str(),
                    fmt(percentile(f.lat_ms, 99), 2).c_str(), fmt(f.lat_ms.empty() ? std::nan("") : f.lat_ms.back(), 2).c_str(),
                    f.complete ? "" : "INCOMPLETE");
        for (auto& [k, v] : f.extra) std::printf("    %-28s %s\n", k.c_str(), fmt(v, 3).c_str());
        for (auto& [k, v] : f.notes) std::printf("    %-28s %s\n", k.c_str(), v.c_str());
        if (!f.latency_of.empty() && !f.lat_ms.empty()) std::printf("    %-28s %s\n", "latency of", f.latency_of.c_str());
    }
    std::printf("tool: wall %.2f s, cpu %.2f s (%.0f%% of one core)\n", r.wall_s, r.tool_cpu_s,
                r.wall_s > 0 ? 100 * r.tool_cpu_s / r.wall_s : 0.0);
}

std::string json_escape(std::string_view s) {
    std::string o = "\"";
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') o += '\\', o += static_cast<char>(ch);
        else if (ch == '\n') o += "\\n";
        else if (ch == '\r') o += "\\r";
        else if (ch == '\t') o += "\\t";
        else if (ch < 0x20 || ch >= 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            o += b;
        } else o += static_cast<char>(ch);
    }
    return o + "\"";
}

std::string to_json(const Report& r) {
    std::ostringstream o;
    o << "{\"tool\":\"roost-bench\",\"format\":1,\"mode\":" << json_escape(r.mode) << ",\"label\":" << json_escape(r.label)
      << ",\"host\":" << json_escape(r.host) << ",\"params\":{";
    for (std::size_t i = 0; i < r.params.size(); ++i)
        o << (i ? "," : "") << json_escape(r.params[i].first) << ":" << json_escape(r.params[i].second);
    o << "},\"error\":" << (r.error.empty() ? "null" : json_escape(r.error))
      << ",\"unavailable\":" << (r.unavailable ? "true" : "false") << ",\"wall_s\":" << json_num(r.wall_s)
      << ",\"tool_cpu_s\":" << json_num(r.tool_cpu_s) << ",\"figures\":[";
    for (std::size_t i = 0; i < r.figures.size(); ++i) {
        auto f = r.figures[i];
        std::sort(f.lat_ms.begin(), f.lat_ms.end());
        double mean = 0;
        for (double v : f.lat_ms) mean += v;
        if (!f.lat_ms.empty()) mean /= static_cast<double>(f.lat_ms.size());
        o << (i ? "," : "") << "{\"name\":" << json_escape(f.name) << ",\"value\":" << json_num(f.value)
          << ",\"unit\":" << json_escape(f.unit) << ",\"higher_is_better\":" << (f.higher_is_better ? "true" : "false")
          << ",\"count\":" << f.count << ",\"errors\":" << f.errors << ",\"seconds\":" << json_num(f.seconds)
          << ",\"complete\":" << (f.complete ? "true" : "false");
        if (!f.lat_ms.empty())
            o << ",\"latency_ms\":{\"of\":" << json_escape(f.latency_of) << ",\"samples\":" << f.lat_ms.size()
              << ",\"mean\":" << json_num(mean) << ",\"p50\":" << json_num(percentile(f.lat_ms, 50))
              << ",\"p90\":" << json_num(percentile(f.lat_ms, 90)) << ",\"p99\":" << json_num(percentile(f.lat_ms, 99))
              << ",\"max\":" << json_num(f.lat_ms.back()) << "}";
        o << ",\"extra\":{";
        for (std::size_t j = 0; j < f.extra.size(); ++j)
            o << (j ? "," : "") << json_escape(f.extra[j].first) << ":" << json_num(f.extra[j].second);
        o << "},\"notes\":{";
        for (std::size_t j = 0; j < f.notes.size(); ++j)
            o << (j ? "," : "") << json_escape(f.notes[j].first) << ":" << json_escape(f.notes[j].second);
        o << "}}";
    }
    o << "]}\n";
    return o.str();
}

// ------------------------------------------------------------------------------------------------ /proc

namespace {

// The given processes and all their descendants (parents from field 4 of /proc/PID/stat).
std::vector<int> process_tree(const std::vector<int>& roots) {
    std::map<int, std::vector<int>> children;
    if (DIR* d = ::opendir("/proc")) {
        while (auto* e = ::readdir(d)) {
            if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
            std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
            std::string stat;
            std::getline(f, stat);
            auto close = stat.rfind(')');
            if (close == std::string::npos || close + 2 >= stat.size()) continue;
            std::istringstream rest(stat.substr(close + 2));
            char state;
            int ppid = 0;
            rest >> state >> ppid;
            children[ppid].push_back(std::atoi(e->d_name));
        }
        ::closedir(d);
    }
    std::set<int> seen;
    std::vector<int> pending(roots.begin(), roots.end()), out;
    while (!pending.empty()) {
        int pid = pending.back();
        pending.pop_back();
        if (pid <= 0 || !seen.insert(pid).second) continue;
        out.push_back(pid);
        for (int c : children[pid]) pending.push_back(c);
    }
    return out;
}

}  // namespace

ProcMemory tree_memory(const std::vector<int>& roots) {
    ProcMemory m;
    for (int pid : process_tree(roots)) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/smaps_rollup");
        if (!f) continue;
        ++m.processes;
        std::string line, key;
        std::uint64_t kib;
        while (std::getline(f, line)) {
            std::istringstream ls(line);
            if (!(ls >> key >> kib)) continue;
            if (key == "Rss:") m.rss_kib += kib;
            else if (key == "Pss:") m.pss_kib += kib;
        }
    }
    return m;
}

CpuSample cpu_sample(const std::vector<int>& roots) {
    CpuSample s;
    static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    for (int pid : process_tree(roots)) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        std::getline(f, stat);
        auto close = stat.rfind(')');
        if (close == std::string::npos || close + 2 >= stat.size()) continue;
        std::istringstream rest(stat.substr(close + 2));
        std::string field;
        std::uint64_t jiffies = 0;
        for (int i = 3; i <= 17 && rest >> field; ++i)  // utime(14) stime(15) cutime(16) cstime(17)
            if (i >= 14) jiffies += std::strtoull(field.c_str(), nullptr, 10);
        s.server_s += static_cast<double>(jiffies) / tick;
    }
    std::ifstream st("/proc/stat");
    std::string cpu;
    st >> cpu;
    std::uint64_t v[10] = {};
    for (auto& x : v) st >> x;
    for (int i = 0; i < 8; ++i) s.total += v[i];  // guest time is already inside user
    s.busy = s.total - v[3] - v[4];             // minus idle and iowait
    s.tool_s = tool_cpu_seconds();
    return s;
}

void add_cpu(Figure& f, const CpuSample& a, const CpuSample& b, bool have_pids) {
    if (have_pids) {
        double used = b.server_s - a.server_s;
        f.extra.emplace_back("server_cpu_s", used);
        if (f.count) f.extra.emplace_back("server_cpu_ms_per_op", 1000.0 * used / static_cast<double>(f.count));
    }
    if (b.total <= a.total) return;
    double total = static_cast<double>(b.total - a.total), busy = static_cast<double>(b.busy - a.busy);
    f.extra.emplace_back("machine_busy_pct", 100.0 * busy / total);
    if (have_pids) {
        static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
        double others = busy / tick - (b.server_s - a.server_s) - (b.tool_s - a.tool_s);
        f.extra.emplace_back("others_busy_pct", std::max(0.0, 100.0 * others * tick / total));
    }
}

double tool_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void raise_fd_limit() {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
        l.rlim_cur = l.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &l);
    }
}

}  // namespace roost::bench
