// roost-bench — a load generator for any SMTP, IMAP and POP3 server (Roost, Postfix + Dovecot, …).
//
// One io_context on one thread drives every connection with C++20 coroutines. The tool must never be the
// bottleneck: messages are generated once (or once per message when their content must vary), commands are
// pipelined where the protocol allows it, nothing is copied that can be written from where it lies, and the
// tool reports its own CPU time next to the wall time so a reader can check that it was mostly idle.
//
// Every load is bounded twice: by a count (messages, commands, connections) and by a time limit after which
// every socket is closed and the figures are reported as incomplete.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace roost::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <class T = void>
using task = asio::awaitable<T>;
using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// A failure the run should report (protocol error, refused login, unexpected reply).
struct BenchError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The server is not serving this protocol (connection refused, `* BYE` greeting).
struct Unavailable : BenchError {
    using BenchError::BenchError;
};
// The run's time limit passed; every connection was closed.
struct Stopped : BenchError {
    Stopped() : BenchError("time limit reached") {}
};

class Conn;
class Event;

// The run: its io_context, its deadline, and what must be closed or woken when the deadline passes.
class Run {
public:
    Run(asio::io_context& io, std::chrono::seconds limit);
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    asio::io_context& io;
    Clock::time_point started;
    Clock::time_point deadline;
    bool stopping = false;   // the deadline passed (or finish() was called)
    bool timed_out = false;  // the deadline passed
    std::vector<int> server_pids;  // --pids: the server's processes (with descendants), for CPU and memory

    void finish();  // cancels the deadline so io.run() can return
    void track(Conn* c) { conns_.insert(c); }
    void untrack(Conn* c) { conns_.erase(c); }
    void track(Event* e) { events_.insert(e); }
    void untrack(Event* e) { events_.erase(e); }
    task<void> sleep(std::chrono::microseconds d);

private:
    void expire();
    asio::steady_timer timer_;
    std::unordered_set<Conn*> conns_;
    std::unordered_set<Event*> events_;
};

// A condition to wait for: waiters re-check their condition after every wake-up (single thread, so checking
// and then waiting cannot race with a notify). Every wait ends at the run's deadline at the latest.
class Event {
public:
    explicit Event(Run& run) : run_(run) { run_.track(this); }
    ~Event() { run_.untrack(this); }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    void notify();
    task<void> wait(Clock::time_point until = Clock::time_point::max());

private:
    Run& run_;
    std::vector<asio::steady_timer*> waiters_;
};

// One TCP connection with a read buffer: line reads, exact-length skips, gathered writes. TCP_NODELAY is set
// so pipelined groups leave in one segment and replies are not held back by Nagle's algorithm.
class Conn {
public:
    explicit Conn(Run& run);
    ~Conn();
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    task<void> connect(const tcp::endpoint& ep);
    // The next line without its CR LF. The view is valid until the next read on this connection.
    task<std::string_view> line();
    // Consumes exactly n bytes (an IMAP literal) without keeping them.
    task<void> discard(std::size_t n);
    // Consumes bytes up to and including `terminator`; returns how many came before it. Scans with memmem
    // instead of splitting lines, so a 5 MiB POP3 body costs a few memory passes, not 70,000 line reads.
    task<std::uint64_t> skip_through(std::string_view terminator);
    // The next n buffered-or-read bytes, not consumed (n <= 64 KiB).
    task<std::string_view> peek(std::size_t n);
    task<void> write(std::string_view a);
    task<void> write(std::string_view a, std::string_view b);  // one writev
    void close();
    bool is_open() const { return sock_.is_open(); }
    std::uint64_t bytes_read() const { return bytes_read_; }

private:
    task<void> fill();
    Run& run_;
    tcp::socket sock_;
    std::vector<char> buf_;
    std::size_t head_ = 0, tail_ = 0;
    std::uint64_t bytes_read_ = 0;
};

// ---------------------------------------------------------------------------------------------- protocols

struct SmtpReply {
    int code = 0;
    std::string text;  // the last line, for error messages
};
// Reads one (possibly multi-line) reply; `lines` receives the text after the code of every line (EHLO).
task<SmtpReply> smtp_reply(Conn& c, std::vector<std::string>* lines = nullptr);

struct SmtpClient {
    explicit SmtpClient(Run& run) : c(run) {}
    Conn c;
    bool pipelining = false;  // RFC 2920
    bool size = false;        // RFC 1870
    // Greeting and EHLO (RFC 5321 §4.1.1.1); fills in the extensions offered.
    task<void> hello(const tcp::endpoint& ep, std::string_view helo);
    // One transaction. With PIPELINING: MAIL, RCPT and DATA in one write, then the content and the final
    // dot in one write (RFC 2920 §3.1). `content` is the message followed by CRLF.CRLF, dot-stuffed;
    // it may come in two pieces (a per-message head and a shared body) that go out in one writev.
    struct Result {
        int code = 0;               // the final reply (or the first failing one)
        std::string text;
        Clock::time_point started;  // MAIL FROM written
        Clock::time_point dot;      // the last byte of content handed to the kernel
        Clock::time_point done;     // final reply read
    };
    task<Result> send(std::string_view from, std::string_view rcpt, std::size_t size, std::string_view head,
                      std::string_view body);
    task<void> quit();
};

class ImapClient {
public:
    explicit ImapClient(Run& run) : c(run) {}
    Conn c;
    struct Result {
        std::string status;  // OK, NO, BAD
        std::string text;
        std::size_t untagged = 0;
        std::uint64_t literal_bytes = 0;
    };
    // Called with every untagged response line up to its first literal ("* 7 FETCH (BODY[] {4096}").
    using Untagged = std::function<void(std::string_view)>;

    task<void> open(const tcp::endpoint& ep);  // reads the greeting; `* BYE` → Unavailable
    task<void> login(std::string_view user, std::string_view password);
    // Sends one tagged command and reads until its tagged reply. Throws on NO/BAD unless allow_fail.
    task<Result> command(std::string_view cmd, const Untagged& on_untagged = {}, bool allow_fail = false);
    // IDLE (RFC 2177): start waits for the continuation; then read lines with c.line() until done() is sent.
    task<void> idle_start();
    task<Result> idle_done(const Untagged& on_untagged = {});
    // Reads one response line, skipping any literal in it; returns the part before the first literal.
    task<std::string> response_line(std::uint64_t* literal_bytes = nullptr);
    task<std::uint64_t> status_messages(std::string_view mailbox);  // STATUS mailbox (MESSAGES)
    const std::string& idle_tag() const { return idle_tag_; }

private:
    std::string next_tag();
    std::string idle_tag_;
    std::uint64_t tag_ = 0;
};

std::string imap_quote(std::string_view s);

struct Pop3Client {
    explicit Pop3Client(Run& run) : c(run) {}
    Conn c;
    task<void> open(const tcp::endpoint& ep);
    task<void> login(std::string_view user, std::string_view password);  // USER/PASS (RFC 1939 §7)
    task<std::string> command(std::string_view cmd);                     // single-line +OK reply
    task<std::uint64_t> multiline();                                     // bytes of a dot-terminated body
};

// ---------------------------------------------------------------------------------------------- messages

// Deterministic, 7-bit, well-formed RFC 5322 messages. Lines never start with '.', so no dot-stuffing is
// needed. Body text carries search tokens: "roostbench" in every message, "kwdN" (N = seq mod 10) in
// a tenth, "tokNNN" (NNN = seq mod 1000) in a thousandth; no message contains "qqzzqqxx".
class MailGen {
public:
    explicit MailGen(std::uint64_t nonce);
    // Plain: text/plain. Varied: by sequence number, 6 in 10 text/plain, 3 multipart/alternative (text +
    // HTML), 1 multipart/mixed with a base64 attachment. Attachment: a 1 KiB text part and a base64
    // attachment making up the rest, as large messages usually are.
    enum class Shape { Plain, Varied, Attachment };
    // The whole message (no terminating dot), about `size` octets (exactly, for Plain).
    std::string message(std::uint64_t seq, std::size_t size, Shape shape, std::string_view rcpt) const;
    // Fixed-content form for the SMTP loads: a per-message first line (Message-ID) and one shared rest
    // that ends with CRLF.CRLF; together exactly `size` octets before the terminator.
    std::string head(std::uint64_t seq) const;
    std::string shared_body(std::size_t size, Shape shape = Shape::Plain) const;  // Plain or Attachment

private:
    void text(std::string& out, std::size_t bytes, std::uint64_t seq, bool first_tokens) const;
    // Appends a text part of about 1 KiB and a base64 attachment, then the closing boundary, so that `m` ends
    // up about `size` octets long.
    void attachment_parts(std::string& m, std::uint64_t seq, std::size_t size, const std::string& boundary) const;
    std::string headers(std::uint64_t seq, std::string_view rcpt, std::string_view content_type) const;
    std::uint64_t nonce_;
    std::string date_;
    std::vector<std::string> words_;
};

// ---------------------------------------------------------------------------------------------- results

struct Figure {
    std::string name;  // "smtp", "imap.fetch-meta"
    double value = 0;  // the headline number
    std::string unit;  // "msg/s"
    bool higher_is_better = true;
    std::string latency_of;      // what the latency samples measure
    std::vector<double> lat_ms;  // samples
    std::uint64_t count = 0;     // operations that succeeded
    std::uint64_t errors = 0;
    double seconds = 0;  // measured interval
    bool complete = true;
    std::vector<std::pair<std::string, double>> extra;
    std::vector<std::pair<std::string, std::string>> notes;
};

struct Report {
    std::string mode, label, host;
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<Figure> figures;
    std::string error;  // the run failed before producing figures
    bool unavailable = false;
    double wall_s = 0, tool_cpu_s = 0;
};

double percentile(std::vector<double>& sorted, double p);  // nearest rank; sorted ascending
void print_table(const Report& r);
std::string to_json(const Report& r);
std::string json_escape(std::string_view s);

// ---------------------------------------------------------------------------------------------- options

// --key value / --key=value pairs; flags are listed. Every key a mode does not read is an error.
class Options {
public:
    Options(int argc, char** argv, int first, const std::set<std::string>& flags);
    std::string str(const std::string& key, const std::string& def);
    long long num(const std::string& key, long long def);
    std::uint64_t size(const std::string& key, std::uint64_t def);  // 4K, 100K, 5M
    bool flag(const std::string& key);
    std::vector<std::string> list(const std::string& key, const std::string& def);  // a,b,{1..20}
    void reject_unused() const;
    const std::vector<std::pair<std::string, std::string>>& used() const { return used_list_; }

private:
    std::map<std::string, std::string> kv_;
    std::set<std::string> used_;
    std::vector<std::pair<std::string, std::string>> used_list_;
    void mark(const std::string& key, const std::string& value);
};

std::vector<std::string> expand_braces(const std::string& s);  // "bench{1..3}@x" → 3 addresses
std::uint64_t parse_size(const std::string& s);
tcp::endpoint endpoint(const std::string& host, long long port);

// ---------------------------------------------------------------------------------------------- system

struct ProcMemory {
    std::uint64_t rss_kib = 0, pss_kib = 0;
    std::size_t processes = 0;
};
// Sums Rss and Pss (/proc/PID/smaps_rollup) over the given processes and all their descendants.
ProcMemory tree_memory(const std::vector<int>& roots);
// CPU used so far by the given processes and their descendants (children already reaped by a process of the
// tree are included through cutime/cstime), and the machine's busy/total jiffies from /proc/stat.
struct CpuSample {
    double server_s = 0, tool_s = 0;
    std::uint64_t busy = 0, total = 0;  // jiffies, all cores
};
CpuSample cpu_sample(const std::vector<int>& roots);
// Adds to a figure: server_cpu_s and server_cpu_ms_per_op; machine_busy_pct (all cores, everything); and
// others_busy_pct, the share of all cores used by neither the server nor this tool (other work on the
// machine: the figure is only as good as this is small).
void add_cpu(Figure& f, const CpuSample& before, const CpuSample& after, bool have_pids);
double tool_cpu_seconds();
void raise_fd_limit();

// ---------------------------------------------------------------------------------------------- modes

struct Target {
    std::string host;
    tcp::endpoint smtp, imap, pop3;
};

task<void> mode_smtp(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_e2e(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_idle_latency(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_populate(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_imap(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_pop3(Run& run, Options& o, const Target& t, Report& r);
task<void> mode_connections(Run& run, Options& o, const Target& t, Report& r);
void mode_machine(Options& o, Report& r);  // synchronous: cores, memory, fdatasync latency

}  // namespace roost::bench
