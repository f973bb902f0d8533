// Loads that start with SMTP: `smtp` (accept rate), `e2e` (rate at which mail becomes visible over IMAP),
// `idle-latency` (250 → `* N EXISTS` in IDLE) and `populate` (fill a mailbox for the IMAP and POP3 loads).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <random>

#include "bench/bench.hpp"

namespace roost::bench {
namespace {

using asio::use_awaitable;

std::uint64_t run_nonce() { return std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32); }

// N messages over C connections. Sessions connect and say EHLO first; the clock starts when all of them are
// ready, so connection set-up is not part of the rate.
struct SmtpLoad {
    tcp::endpoint ep;
    std::vector<std::string> rcpts;
    std::string from = "loadgen@senders.bench.example";
    std::size_t size = 4096;
    std::uint64_t messages = 0;
    std::uint64_t seq_base = 0;  // varied content: message i carries sequence seq_base + i
    int connections = 1;
    bool allow_pipelining = true;
    MailGen::Shape shape = MailGen::Shape::Plain;  // Varied: per-message content, else one shared body
    const MailGen* gen = nullptr;

    std::uint64_t next = 0, accepted = 0, rejected = 0, sessions_failed = 0;
    std::vector<std::uint64_t> accepted_per_rcpt;
    std::vector<std::vector<Clock::time_point>> accept_times;  // per recipient, in order
    std::vector<double> lat_final, lat_txn;
    Clock::time_point t0, t_end;
    bool pipelining_used = false;
    std::string first_error;
    std::map<int, std::uint64_t> failure_codes;
    std::uint64_t bytes = 0;
};

struct SmtpShared {
    SmtpShared(Run& run, int sessions) : ready(run), done(run), waiting(sessions), alive(sessions) {}
    Event ready, done;
    int waiting, alive;
    std::string body;  // shared content for fixed-size loads
};

void note_error(SmtpLoad& L, const std::string& e) {
    if (L.first_error.empty()) L.first_error = e;
}

task<void> smtp_session(Run& run, SmtpLoad& L, SmtpShared& S) {
    SmtpClient client(run);
    bool counted_ready = false;
    auto mark_ready = [&] {
        if (counted_ready) return;
        counted_ready = true;
        if (--S.waiting == 0) {
            L.t0 = Clock::now();
            S.ready.notify();
        }
    };
    try {
        co_await client.hello(L.ep, "loadgen.bench.example");
        if (!L.allow_pipelining) client.pipelining = false;
        if (client.pipelining) L.pipelining_used = true;
        mark_ready();
        while (S.waiting > 0 && !run.stopping) co_await S.ready.wait();
        std::string varied;
        for (;;) {
            if (run.stopping) break;
            std::uint64_t i = L.next++;
            if (i >= L.messages) break;
            std::size_t r = i % L.rcpts.size();
            std::string head;
            std::string_view body;
            if (L.shape == MailGen::Shape::Varied) {
                varied = L.gen->message(L.seq_base + i, L.size, MailGen::Shape::Varied, L.rcpts[r]);
                varied += ".\r\n";
                body = varied;
            } else {
                head = L.gen->head(i);
                body = S.body;
            }
            auto res = co_await client.send(L.from, L.rcpts[r], head.size() + body.size() - 3, head, body);
            if (res.code == 250) {
                ++L.accepted;
                ++L.accepted_per_rcpt[r];
                L.accept_times[r].push_back(res.done);
                L.lat_final.push_back(ms_between(res.dot, res.done));
                L.lat_txn.push_back(ms_between(res.started, res.done));
                L.bytes += head.size() + body.size() - 3;
                L.t_end = res.done;
            } else {
                ++L.rejected;
                ++L.failure_codes[res.code];
                note_error(L, std::to_string(res.code) + " " + res.text);
                if (res.code == 421) throw BenchError("server closed the session: " + res.text);
            }
        }
        if (!run.stopping) co_await client.quit();
    } catch (const Stopped&) {
    } catch (const std::exception& e) {
        ++L.sessions_failed;
        note_error(L, e.what());
    }
    mark_ready();
    if (--S.alive == 0) S.done.notify();
}

task<void> smtp_load(Run& run, SmtpLoad& L) {
    if (L.rcpts.empty()) throw BenchError("no recipients (--rcpt)");
    L.accepted_per_rcpt.assign(L.rcpts.size(), 0);
    L.accept_times.assign(L.rcpts.size(), {});
    L.lat_final.reserve(L.messages);
    L.lat_txn.reserve(L.messages);
    int sessions = static_cast<int>(std::min<std::uint64_t>(static_cast<std::uint64_t>(L.connections), std::max<std::uint64_t>(L.messages, 1)));
    SmtpShared S(run, sessions);
    if (L.shape != MailGen::Shape::Varied) S.body = L.gen->shared_body(L.size, L.shape);
    for (int i = 0; i < sessions; ++i) asio::co_spawn(run.io, smtp_session(run, L, S), asio::detached);
    while (S.alive > 0) co_await S.done.wait();  // sessions use S and L: wait for them even after a stop
    if (L.t_end < L.t0) L.t_end = L.t0;
    if (L.accepted == 0 && L.sessions_failed == static_cast<std::uint64_t>(sessions))
        throw Unavailable("no SMTP session succeeded: " + L.first_error);
}

SmtpLoad load_from_options(Options& o, const Target& t, const MailGen& gen) {
    SmtpLoad L;
    L.ep = t.smtp;
    L.rcpts = o.list("rcpt", "");
    L.from = o.str("from", L.from);
    L.messages = static_cast<std::uint64_t>(o.num("messages", 2000));
    L.size = o.size("size", 4096);
    L.connections = static_cast<int>(o.num("connections", 20));
    L.allow_pipelining = !o.flag("no-pipelining");
    auto shape = o.str("shape", "plain");
    if (shape != "plain" && shape != "attachment") throw BenchError("--shape must be plain or attachment");
    L.shape = shape == "plain" ? MailGen::Shape::Plain : MailGen::Shape::Attachment;
    L.gen = &gen;
    if (L.connections < 1) throw BenchError("--connections must be at least 1");
    return L;
}

void smtp_figure(const SmtpLoad& L, Run& run, Figure& f) {
    f.seconds = std::max(1e-9, std::chrono::duration<double>(L.t_end - L.t0).count());
    f.value = static_cast<double>(L.accepted) / f.seconds;
    f.unit = "msg/s";
    f.count = L.accepted;
    f.errors = L.rejected + L.sessions_failed;
    f.complete = !run.timed_out && L.accepted + L.rejected >= L.messages;
    f.lat_ms = L.lat_final;
    f.latency_of = "final 250 after the end of data ('.' handed to the kernel -> 250 read)";
    auto txn = L.lat_txn;
    std::sort(txn.begin(), txn.end());
    f.extra.emplace_back("transaction_p50_ms", percentile(txn, 50));
    f.extra.emplace_back("transaction_p99_ms", percentile(txn, 99));
    f.extra.emplace_back("MB_per_s", static_cast<double>(L.bytes) / f.seconds / 1e6);
    f.notes.emplace_back("pipelining", L.pipelining_used ? "used" : "not used");
    f.notes.emplace_back("message_size", std::to_string(L.size));
    f.notes.emplace_back("shape", L.shape == MailGen::Shape::Attachment ? "1 KiB text + base64 attachment" : "text/plain");
    if (!L.first_error.empty()) f.notes.emplace_back("first_error", L.first_error);
    for (auto& [code, n] : L.failure_codes) f.extra.emplace_back("replies_" + std::to_string(code), static_cast<double>(n));
}

std::uint64_t parse_exists(std::string_view line, bool& ok) {
    // "* 123 EXISTS"
    ok = false;
    if (line.size() < 10 || line[0] != '*' || line.substr(line.size() - 7) != " EXISTS") return 0;
    std::uint64_t n = 0;
    auto digits = line.substr(2, line.size() - 9);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    ok = ec == std::errc{} && p == digits.data() + digits.size();
    return n;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ smtp

task<void> mode_smtp(Run& run, Options& o, const Target& t, Report& r) {
    MailGen gen(run_nonce());
    auto L = load_from_options(o, t, gen);
    Figure f;
    f.name = o.str("figure", "smtp");
    o.reject_unused();
    auto c0 = cpu_sample(run.server_pids);
    co_await smtp_load(run, L);
    auto c1 = cpu_sample(run.server_pids);
    smtp_figure(L, run, f);
    add_cpu(f, c0, c1, !run.server_pids.empty());
    r.figures.push_back(std::move(f));
}

// ------------------------------------------------------------------------------------------------ e2e

namespace {

struct Poller {
    explicit Poller(Run& run) : imap(run) {}
    ImapClient imap;
    std::uint64_t baseline = 0, visible = 0, expected = 0;
    std::vector<Clock::time_point> visible_times;  // the k-th new message was first seen at [k]
    Clock::time_point done_at{};
    bool done = false;
    std::string error;
};

struct E2eShared {
    explicit E2eShared(Run& run) : changed(run) {}
    Event changed;
    bool smtp_done = false;
    int pollers_left = 0;
};

void saw(Poller& p, std::uint64_t total) {
    auto now = Clock::now();
    while (p.baseline + p.visible_times.size() < total) p.visible_times.push_back(now);
    p.visible = total > p.baseline ? total - p.baseline : 0;
}

bool satisfied(const Poller& p, const SmtpLoad& L, std::size_t i, const E2eShared& s) {
    return p.visible >= (s.smtp_done ? L.accepted_per_rcpt[i] : p.expected);
}

task<void> poll_status(Run& run, Poller& p, const SmtpLoad& L, std::size_t i, E2eShared& s, std::chrono::microseconds every) {
    try {
        while (!run.stopping) {
            std::uint64_t total = co_await p.imap.status_messages("INBOX");
            saw(p, total);
            if (satisfied(p, L, i, s)) break;
            co_await run.sleep(every);
        }
        if (!run.stopping) {
            p.done = true;
            p.done_at = p.visible_times.empty() ? Clock::now() : p.visible_times.back();
        }
    } catch (const Stopped&) {
    } catch (const std::exception& e) {
        p.error = e.what();
    }
    if (--s.pollers_left == 0) s.changed.notify();
}

task<void> poll_idle(Run& run, Poller& p, const SmtpLoad& L, std::size_t i, E2eShared& s) {
    try {
        while (!run.stopping && !satisfied(p, L, i, s)) {
            auto line = co_await p.imap.response_line();
            bool ok = false;
            auto n = parse_exists(line, ok);
            if (ok) saw(p, n);
        }
        if (!run.stopping) {
            p.done = true;
            p.done_at = p.visible_times.empty() ? Clock::now() : p.visible_times.back();
            co_await p.imap.idle_done();
        }
    } catch (const Stopped&) {
    } catch (const std::exception& e) {
        p.error = e.what();
    }
    if (--s.pollers_left == 0) s.changed.notify();
}

task<void> run_smtp_then_flag(Run& run, SmtpLoad& L, E2eShared& s, std::string& error) {
    try {
        co_await smtp_load(run, L);
    } catch (const std::exception& e) {
        error = e.what();
    }
    s.smtp_done = true;
    s.changed.notify();
}

}  // namespace

task<void> mode_e2e(Run& run, Options& o, const Target& t, Report& r) {
    MailGen gen(run_nonce());
    auto L = load_from_options(o, t, gen);
    auto password = o.str("password", "");
    auto wait = o.str("wait", "status");
    auto poll = std::chrono::microseconds(static_cast<long long>(o.num("poll-ms", 5)) * 1000);
    Figure f;
    f.name = o.str("figure", "e2e");
    o.reject_unused();
    if (wait != "status" && wait != "idle") throw BenchError("--wait must be status or idle");
    if (L.rcpts.empty()) throw BenchError("no recipients (--rcpt): each is also the IMAP login");

    std::vector<std::unique_ptr<Poller>> pollers;
    for (std::size_t i = 0; i < L.rcpts.size(); ++i) {
        auto p = std::make_unique<Poller>(run);
        co_await p->imap.open(t.imap);
        co_await p->imap.login(L.rcpts[i], password);
        if (wait == "status") {
            p->baseline = co_await p->imap.status_messages("INBOX");
        } else {
            bool found = false;
            co_await p->imap.command("SELECT INBOX", [&](std::string_view line) {
                bool ok = false;
                auto n = parse_exists(line, ok);
                if (ok) p->baseline = n, found = true;
            });
            if (!found) throw BenchError("SELECT INBOX without EXISTS");
            co_await p->imap.idle_start();
        }
        for (std::uint64_t k = i; k < L.messages; k += L.rcpts.size()) ++p->expected;
        pollers.push_back(std::move(p));
    }

    auto c0 = cpu_sample(run.server_pids);
    E2eShared s(run);
    s.pollers_left = static_cast<int>(pollers.size());
    std::string smtp_error;
    L.accepted_per_rcpt.assign(L.rcpts.size(), 0);  // read by pollers before smtp_load starts
    asio::co_spawn(run.io, run_smtp_then_flag(run, L, s, smtp_error), asio::detached);
    for (std::size_t i = 0; i < pollers.size(); ++i) {
        if (wait == "status") asio::co_spawn(run.io, poll_status(run, *pollers[i], L, i, s, poll), asio::detached);
        else asio::co_spawn(run.io, poll_idle(run, *pollers[i], L, i, s), asio::detached);
    }
    while (!s.smtp_done || s.pollers_left > 0) co_await s.changed.wait();  // they use s, L and pollers
    auto c1 = cpu_sample(run.server_pids);
    if (!smtp_error.empty() && L.accepted == 0) throw Unavailable(smtp_error);

    Clock::time_point all_visible = L.t0;
    std::uint64_t visible = 0;
    bool all_done = true;
    for (std::size_t i = 0; i < pollers.size(); ++i) {
        auto& p = *pollers[i];
        visible += std::min(p.visible, L.accepted_per_rcpt[i]);
        if (!p.done) all_done = false;
        if (!p.visible_times.empty()) all_visible = std::max(all_visible, p.visible_times.back());
        if (!p.error.empty()) f.notes.emplace_back("imap_error_" + L.rcpts[i], p.error);
        // FIFO pairing: the k-th accepted message against the k-th one to become visible.
        auto n = std::min(p.visible_times.size(), L.accept_times[i].size());
        for (std::size_t k = 0; k < n; ++k)
            f.lat_ms.push_back(std::max(0.0, ms_between(L.accept_times[i][k], p.visible_times[k])));
    }
    f.seconds = std::max(1e-9, std::chrono::duration<double>(all_visible - L.t0).count());
    f.value = static_cast<double>(visible) / f.seconds;
    f.unit = "msg/s";
    f.count = visible;
    f.errors = L.rejected + L.sessions_failed + (L.accepted - std::min(L.accepted, visible));
    f.complete = all_done && !run.timed_out && L.accepted + L.rejected >= L.messages;
    f.latency_of = "k-th 250 -> k-th message visible over IMAP (FIFO pairing; resolution: the poll interval)";
    double smtp_s = std::max(1e-9, std::chrono::duration<double>(L.t_end - L.t0).count());
    f.extra.emplace_back("smtp_accept_msg_per_s", static_cast<double>(L.accepted) / smtp_s);
    if (visible > 0)
        f.extra.emplace_back("drain_after_last_250_s", std::max(0.0, std::chrono::duration<double>(all_visible - L.t_end).count()));
    f.notes.emplace_back("wait", wait == "status" ? "STATUS INBOX (MESSAGES) every " + std::to_string(poll.count() / 1000) + " ms" : "IDLE");
    f.notes.emplace_back("pipelining", L.pipelining_used ? "used" : "not used");
    f.notes.emplace_back("message_size", std::to_string(L.size));
    if (!L.first_error.empty()) f.notes.emplace_back("first_error", L.first_error);
    add_cpu(f, c0, c1, !run.server_pids.empty());
    r.figures.push_back(std::move(f));
}

// ------------------------------------------------------------------------------------------------ idle-latency

namespace {

struct IdleWatch {
    explicit IdleWatch(Run& run) : changed(run) {}
    Event changed;
    std::uint64_t exists = 0;
    std::vector<std::pair<std::uint64_t, Clock::time_point>> seen;  // (EXISTS value, arrival)
    bool ended = false;
    bool closing = false;  // the mode closed the session on purpose: not an error
    std::string error;
};

task<void> idle_reader(Run& run, ImapClient& imap, IdleWatch& w) {
    try {
        for (;;) {
            auto line = co_await imap.response_line();
            bool ok = false;
            auto n = parse_exists(line, ok);
            if (ok && n > w.exists) {
                w.exists = n;
                w.seen.emplace_back(n, Clock::now());
                w.changed.notify();
            }
            if (line.rfind(imap.idle_tag() + " ", 0) == 0) break;  // DONE was answered
        }
    } catch (const Stopped&) {
    } catch (const std::exception& e) {
        if (!w.closing) w.error = e.what();
    }
    w.ended = true;
    w.changed.notify();
}

}  // namespace

task<void> mode_idle_latency(Run& run, Options& o, const Target& t, Report& r) {
    auto user = o.str("user", "");
    auto password = o.str("password", "");
    auto rcpt = o.str("rcpt", user);
    auto messages = static_cast<std::uint64_t>(o.num("messages", 100));
    auto size = o.size("size", 4096);
    auto gap = std::chrono::milliseconds(o.num("gap-ms", 20));
    auto per_message = std::chrono::milliseconds(o.num("timeout-ms", 10000));
    Figure f250, fdot;
    f250.name = o.str("figure", "idle-latency");
    fdot.name = f250.name + ".from-dot";
    o.reject_unused();
    if (user.empty()) throw BenchError("--user is required");

    ImapClient imap(run);
    co_await imap.open(t.imap);
    co_await imap.login(user, password);
    IdleWatch w(run);
    co_await imap.command("SELECT INBOX", [&](std::string_view line) {
        bool ok = false;
        auto n = parse_exists(line, ok);
        if (ok) w.exists = n;
    });
    std::uint64_t baseline = w.exists;
    co_await imap.idle_start();
    asio::co_spawn(run.io, idle_reader(run, imap, w), asio::detached);

    // From here on the reader uses `imap` and `w`: every way out of this block ends it first.
    std::exception_ptr failure;
    std::uint64_t accepted = 0, early = 0, timeouts = 0, rejected = 0;
    auto t0 = Clock::now(), t1 = t0;
    try {
        MailGen gen(run_nonce());
        auto body = gen.shared_body(size);
        SmtpClient smtp(run);
        co_await smtp.hello(t.smtp, "loadgen.bench.example");
        t0 = Clock::now();
        for (std::uint64_t i = 0; i < messages && !run.stopping && !w.ended; ++i) {
            auto head = gen.head(i);
            auto res = co_await smtp.send("loadgen@senders.bench.example", rcpt, head.size() + body.size() - 3, head, body);
            if (res.code != 250) {
                ++rejected;
                f250.notes.emplace_back("rejected", std::to_string(res.code) + " " + res.text);
                continue;
            }
            ++accepted;
            auto target = baseline + accepted;
            auto until = Clock::now() + per_message;
            while (w.exists < target && !w.ended && !run.stopping && Clock::now() < until) co_await w.changed.wait(until);
            if (w.exists < target) {
                ++timeouts;
                continue;
            }
            Clock::time_point at{};
            for (auto it = w.seen.rbegin(); it != w.seen.rend(); ++it)
                if (it->first >= target) at = it->second;
                else break;
            double from_250 = ms_between(res.done, at);
            if (from_250 < 0) ++early;
            f250.lat_ms.push_back(std::max(0.0, from_250));
            fdot.lat_ms.push_back(ms_between(res.dot, at));
            if (gap.count() > 0) co_await run.sleep(gap);
        }
        t1 = Clock::now();
        if (!run.stopping && !w.ended) {
            co_await imap.c.write("DONE\r\n");  // the reader ends at the tagged reply
            auto until = Clock::now() + std::chrono::seconds(5);
            while (!w.ended && !run.stopping && Clock::now() < until) co_await w.changed.wait(until);
            co_await smtp.quit();
        }
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    if (!w.ended) {
        w.closing = true;
        imap.c.close();
    }
    while (!w.ended) co_await w.changed.wait();
    if (failure) std::rethrow_exception(failure);
    for (auto* f : {&f250, &fdot}) {
        auto sorted = f->lat_ms;
        std::sort(sorted.begin(), sorted.end());
        f->value = percentile(sorted, 50);
        f->unit = "ms p50";
        f->higher_is_better = false;
        f->count = f->lat_ms.size();
        f->errors = timeouts + rejected;
        f->seconds = std::chrono::duration<double>(t1 - t0).count();
        f->complete = !run.timed_out && f->count == messages;
    }
    f250.latency_of = "250 read -> '* N EXISTS' read (0 when EXISTS came first)";
    fdot.latency_of = "'.' handed to the kernel -> '* N EXISTS' read";
    f250.extra.emplace_back("exists_before_250", static_cast<double>(early));
    f250.extra.emplace_back("timeouts", static_cast<double>(timeouts));
    if (!w.error.empty()) f250.notes.emplace_back("imap_error", w.error);
    r.figures.push_back(std::move(f250));
    r.figures.push_back(std::move(fdot));
}

// ------------------------------------------------------------------------------------------------ populate

namespace {

task<std::uint64_t> count_messages(Run& run, const Target& t, const std::string& via, const std::string& user,
                                   const std::string& password) {
    if (via == "pop3") {
        Pop3Client p(run);
        co_await p.open(t.pop3);
        co_await p.login(user, password);
        auto stat = co_await p.command("STAT");  // "+OK n size"
        co_await p.command("QUIT");
        co_return std::strtoull(stat.c_str() + 4, nullptr, 10);
    }
    ImapClient imap(run);
    co_await imap.open(t.imap);
    co_await imap.login(user, password);
    auto n = co_await imap.status_messages("INBOX");
    co_await imap.command("LOGOUT", {}, true);
    co_return n;
}

}  // namespace

task<void> mode_populate(Run& run, Options& o, const Target& t, Report& r) {
    auto user = o.str("user", "");
    auto password = o.str("password", "");
    auto rcpt = o.str("rcpt", user);
    auto target = static_cast<std::uint64_t>(o.num("count", 10000));
    auto size = o.size("size", 4096);
    auto shape = o.str("shape", "varied");
    auto via = o.str("check", "imap");
    auto connections = static_cast<int>(o.num("connections", 10));
    Figure f;
    f.name = o.str("figure", "populate");
    o.reject_unused();
    if (user.empty()) throw BenchError("--user is required");
    if (via != "imap" && via != "pop3") throw BenchError("--check must be imap or pop3");
    if (shape != "varied" && shape != "plain" && shape != "attachment")
        throw BenchError("--shape must be varied, plain or attachment");

    MailGen gen(run_nonce());
    auto t0 = Clock::now();
    auto have = co_await count_messages(run, t, via, user, password);
    f.extra.emplace_back("before", static_cast<double>(have));
    std::uint64_t sent = 0;
    for (int round = 0; round < 3 && have < target && !run.stopping; ++round) {
        SmtpLoad L;
        L.ep = t.smtp;
        L.rcpts = {rcpt};
        L.size = size;
        L.messages = target - have;
        L.seq_base = have;
        L.connections = connections;
        L.shape = shape == "varied" ? MailGen::Shape::Varied : shape == "plain" ? MailGen::Shape::Plain : MailGen::Shape::Attachment;
        L.gen = &gen;
        co_await smtp_load(run, L);
        sent += L.accepted;
        f.errors += L.rejected + L.sessions_failed;
        if (!L.first_error.empty()) f.notes.emplace_back("first_error", L.first_error);
        // Wait until the server shows what it accepted (a queueing server delivers later).
        auto expect = have + L.accepted;
        auto stalled_since = Clock::now();
        std::uint64_t last = have;
        while (!run.stopping) {
            have = co_await count_messages(run, t, via, user, password);
            if (have >= expect) break;
            if (have != last) last = have, stalled_since = Clock::now();
            if (Clock::now() - stalled_since > std::chrono::seconds(60)) break;  // lost messages: deliver more
            co_await run.sleep(std::chrono::milliseconds(200));
        }
    }
    f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    f.count = sent;
    f.value = static_cast<double>(have);
    f.unit = "messages";
    f.complete = have >= target;
    f.extra.emplace_back("after", static_cast<double>(have));
    f.extra.emplace_back("delivered_msg_per_s", sent ? static_cast<double>(sent) / f.seconds : 0.0);
    r.figures.push_back(std::move(f));
}

}  // namespace roost::bench
