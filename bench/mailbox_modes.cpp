// Loads on stored mail: `imap` (FETCH metadata, FETCH BODY[], SEARCH TEXT, STORE), `pop3` (RETR),
// `connections` (memory per idle IMAP connection), and `machine` (cores, memory, fdatasync latency).
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "bench/bench.hpp"

namespace roost::bench {
namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool untagged_exists(std::string_view line, std::uint64_t& n) {
    if (line.size() < 10 || line[0] != '*' || line.substr(line.size() - 7) != " EXISTS") return false;
    auto d = line.substr(2, line.size() - 9);
    return std::from_chars(d.data(), d.data() + d.size(), n).ec == std::errc{};
}

task<std::uint64_t> open_mailbox(ImapClient& c, std::string_view verb) {
    std::uint64_t n = 0;
    bool found = false;
    co_await c.command(std::string(verb) + " INBOX", [&](std::string_view line) {
        if (untagged_exists(line, n)) found = true;
    });
    if (!found) throw BenchError(std::string(verb) + " INBOX without EXISTS");
    co_return n;
}

task<void> connect_login(ImapClient& c, const Target& t, const std::string& user, const std::string& password) {
    co_await c.open(t.imap);
    co_await c.login(user, password);
}

std::string range(std::uint64_t a, std::uint64_t b) { return std::to_string(a) + ":" + std::to_string(b); }

// ---- the four IMAP loads; each fills one figure and may throw (the caller records the error)

task<void> fetch_meta(Run& run, const Target& t, const std::string& user, const std::string& pw, std::uint64_t want,
                      std::uint64_t batch, Figure& f) {
    ImapClient c(run);
    co_await connect_login(c, t, user, pw);
    auto n = co_await open_mailbox(c, "EXAMINE");
    auto count = std::min(want, n);
    f.extra.emplace_back("mailbox_messages", static_cast<double>(n));
    auto t0 = Clock::now();
    std::uint64_t fetched = 0;
    for (std::uint64_t i = 1; i <= count && !run.stopping; i += batch) {
        auto j = std::min(i + batch - 1, count);
        auto ts = Clock::now();
        co_await c.command("FETCH " + range(i, j) + " (FLAGS ENVELOPE BODYSTRUCTURE)", [&](std::string_view line) {
            if (line.find(" FETCH ") != std::string_view::npos) ++fetched;
        });
        f.lat_ms.push_back(ms_between(ts, Clock::now()));
    }
    f.seconds = since(t0);
    f.count = fetched;
    f.value = static_cast<double>(fetched) / std::max(1e-9, f.seconds);
    f.unit = "msg/s";
    f.complete = fetched >= count && count == want;
    f.latency_of = "one FETCH of " + std::to_string(batch) + " messages (FLAGS ENVELOPE BODYSTRUCTURE)";
    co_await c.command("LOGOUT", {}, true);
}

task<void> fetch_body(Run& run, const Target& t, const std::string& user, const std::string& pw, std::uint64_t want,
                      Figure& f) {
    ImapClient c(run);
    co_await connect_login(c, t, user, pw);
    // EXAMINE: read-only, so BODY[] does not set \Seen and every run sees the same mailbox (RFC 9051 §6.3.3).
    auto n = co_await open_mailbox(c, "EXAMINE");
    if (n == 0) throw BenchError("mailbox is empty");
    std::uint64_t bytes = 0, s = 12345;
    auto t0 = Clock::now();
    std::uint64_t done = 0;
    for (std::uint64_t k = 0; k < want && !run.stopping; ++k) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        auto seq = 1 + (s >> 33) % n;
        auto ts = Clock::now();
        auto r = co_await c.command("FETCH " + std::to_string(seq) + " BODY[]");
        f.lat_ms.push_back(ms_between(ts, Clock::now()));
        bytes += r.literal_bytes;
        ++done;
    }
    f.seconds = since(t0);
    f.count = done;
    f.value = static_cast<double>(done) / std::max(1e-9, f.seconds);
    f.unit = "msg/s";
    f.complete = done == want;
    f.latency_of = "FETCH n BODY[] of one message (random n, EXAMINE)";
    f.extra.emplace_back("MB_per_s", static_cast<double>(bytes) / std::max(1e-9, f.seconds) / 1e6);
    f.extra.emplace_back("mean_message_bytes", done ? static_cast<double>(bytes) / static_cast<double>(done) : 0.0);
    f.extra.emplace_back("mailbox_messages", static_cast<double>(n));
    co_await c.command("LOGOUT", {}, true);
}

// The queries and, for a mailbox filled by `populate` (message i carries sequence i-1), their exact answers.
struct Query {
    std::string criteria;
    std::uint64_t expected;
};
std::vector<Query> search_queries(std::uint64_t n, std::uint64_t count) {
    auto with_mod = [n](std::uint64_t mod, std::uint64_t rem) { return n > rem ? (n - 1 - rem) / mod + 1 : 0; };
    std::vector<Query> q;
    for (std::uint64_t i = 0; q.size() < count; ++i) {
        char b[64];
        switch (i % 10) {
            case 0: case 1: case 2: case 3: case 4: {
                auto tok = (i * 137 + 42) % 1000;
                std::snprintf(b, sizeof b, "TEXT tok%03llu", static_cast<unsigned long long>(tok));
                q.push_back({b, with_mod(1000, tok)});
                break;
            }
            case 5: case 6: {
                auto k = i % 10 == 5 ? (i / 10) % 10 : (i / 10 + 5) % 10;
                std::snprintf(b, sizeof b, "TEXT kwd%llu", static_cast<unsigned long long>(k));
                q.push_back({b, with_mod(10, k)});
                break;
            }
            case 7: q.push_back({"TEXT roostbench", n}); break;
            case 8: {
                auto tok = (i * 59 + 7) % 1000;
                std::snprintf(b, sizeof b, "TEXT kwd%llu TEXT tok%03llu", static_cast<unsigned long long>(tok % 10),
                              static_cast<unsigned long long>(tok));
                q.push_back({b, with_mod(1000, tok)});
                break;
            }
            default: q.push_back({"TEXT qqzzqqxx", 0}); break;
        }
    }
    return q;
}

task<void> search(Run& run, const Target& t, const std::string& user, const std::string& pw, std::uint64_t queries,
                  Figure& f) {
    ImapClient c(run);
    co_await connect_login(c, t, user, pw);
    auto n = co_await open_mailbox(c, "EXAMINE");
    f.extra.emplace_back("mailbox_messages", static_cast<double>(n));
    std::uint64_t total = 0, mismatches = 0, done = 0;
    std::string hits_list;
    auto t0 = Clock::now();
    for (auto& q : search_queries(n, queries)) {
        if (run.stopping) break;
        std::uint64_t hits = 0;
        auto ts = Clock::now();
        co_await c.command("SEARCH " + q.criteria, [&](std::string_view line) {
            if (line.rfind("* SEARCH", 0) != 0) return;
            for (std::size_t p = 8; p < line.size(); ++p)
                if (line[p] == ' ' && p + 1 < line.size() && std::isdigit(static_cast<unsigned char>(line[p + 1]))) ++hits;
        });
        f.lat_ms.push_back(ms_between(ts, Clock::now()));
        total += hits;
        ++done;
        if (hits != q.expected) ++mismatches;
        if (!hits_list.empty()) hits_list += ' ';
        hits_list += std::to_string(hits);
    }
    f.seconds = since(t0);
    f.count = done;
    f.value = static_cast<double>(done) / std::max(1e-9, f.seconds);
    f.unit = "queries/s";
    f.complete = done == queries;
    f.latency_of = "one SEARCH TEXT over the whole mailbox";
    f.extra.emplace_back("total_hits", static_cast<double>(total));
    f.extra.emplace_back("queries_not_matching_expected_hits", static_cast<double>(mismatches));
    f.notes.emplace_back("hits_per_query", hits_list);
    co_await c.command("LOGOUT", {}, true);
}

task<void> store(Run& run, const Target& t, const std::string& user, const std::string& pw, std::uint64_t want,
                 std::uint64_t batch, Figure& f) {
    ImapClient c(run);
    co_await connect_login(c, t, user, pw);
    auto n = co_await open_mailbox(c, "SELECT");
    auto count = std::min(want, n);
    f.extra.emplace_back("mailbox_messages", static_cast<double>(n));
    auto t0 = Clock::now();
    std::uint64_t changed = 0;
    // Set \Flagged on every message, then clear it again, so each run starts from the same flags.
    for (const char* op : {"+FLAGS.SILENT", "-FLAGS.SILENT"}) {
        for (std::uint64_t i = 1; i <= count && !run.stopping; i += batch) {
            auto j = std::min(i + batch - 1, count);
            auto ts = Clock::now();
            co_await c.command("STORE " + range(i, j) + " " + op + " (\\Flagged)");
            f.lat_ms.push_back(ms_between(ts, Clock::now()));
            changed += j - i + 1;
        }
    }
    f.seconds = since(t0);
    f.count = changed;
    f.value = static_cast<double>(changed) / std::max(1e-9, f.seconds);
    f.unit = "msg/s";
    f.complete = changed == 2 * want;
    f.latency_of = "one STORE of " + std::to_string(batch) + " messages (+FLAGS.SILENT then -FLAGS.SILENT (\\Flagged))";
    co_await c.command("LOGOUT", {}, true);
}

}  // namespace

task<void> mode_imap(Run& run, Options& o, const Target& t, Report& r) {
    auto user = o.str("user", "");
    auto password = o.str("password", "");
    auto search_user = o.str("search-user", user);
    auto phases = o.list("phases", "fetch-meta,fetch-body,search,store");
    auto fetch_n = static_cast<std::uint64_t>(o.num("fetch-messages", 10000));
    auto body_n = static_cast<std::uint64_t>(o.num("body-messages", 1000));
    auto queries = static_cast<std::uint64_t>(o.num("search-queries", 20));
    auto store_n = static_cast<std::uint64_t>(o.num("store-messages", 10000));
    auto batch = static_cast<std::uint64_t>(std::max(1LL, o.num("batch", 100)));
    auto prefix = o.str("figure", "imap");
    o.reject_unused();
    if (user.empty()) throw BenchError("--user is required");
    for (auto& phase : phases) {
        if (run.stopping) break;
        Figure f;
        f.name = prefix + "." + phase;
        auto c0 = cpu_sample(run.server_pids);
        try {
            if (phase == "fetch-meta") co_await fetch_meta(run, t, user, password, fetch_n, batch, f);
            else if (phase == "fetch-body") co_await fetch_body(run, t, user, password, body_n, f);
            else if (phase == "search") co_await search(run, t, search_user, password, queries, f);
            else if (phase == "store") co_await store(run, t, user, password, store_n, batch, f);
            else throw BenchError("unknown phase '" + phase + "' (fetch-meta, fetch-body, search, store)");
        } catch (const Unavailable&) {
            throw;
        } catch (const std::exception& e) {
            f.complete = false;
            f.errors += 1;
            f.notes.emplace_back("error", e.what());
        }
        if (run.timed_out) f.complete = false;
        add_cpu(f, c0, cpu_sample(run.server_pids), !run.server_pids.empty());
        r.figures.push_back(std::move(f));
    }
}

// ------------------------------------------------------------------------------------------------ pop3

task<void> mode_pop3(Run& run, Options& o, const Target& t, Report& r) {
    auto user = o.str("user", "");
    auto password = o.str("password", "");
    auto want = static_cast<std::uint64_t>(o.num("messages", 1000));
    Figure f;
    f.name = o.str("figure", "pop3.retr");
    o.reject_unused();
    if (user.empty()) throw BenchError("--user is required");
    Pop3Client p(run);
    co_await p.open(t.pop3);
    co_await p.login(user, password);
    auto stat = co_await p.command("STAT");
    auto n = std::strtoull(stat.c_str() + 4, nullptr, 10);
    auto count = std::min<std::uint64_t>(want, n);
    std::uint64_t bytes = 0, done = 0;
    auto c0 = cpu_sample(run.server_pids);
    auto t0 = Clock::now();
    for (std::uint64_t i = 1; i <= count && !run.stopping; ++i) {
        auto ts = Clock::now();
        co_await p.command("RETR " + std::to_string(i));
        std::uint64_t body = co_await p.multiline();
        bytes += body;
        f.lat_ms.push_back(ms_between(ts, Clock::now()));
        ++done;
    }
    f.seconds = since(t0);
    auto c1 = cpu_sample(run.server_pids);
    co_await p.command("QUIT");  // no DELE: the maildrop is unchanged
    f.count = done;
    f.value = static_cast<double>(done) / std::max(1e-9, f.seconds);
    f.unit = "msg/s";
    f.complete = done == want && !run.timed_out;
    f.latency_of = "RETR of one message, +OK to the final '.'";
    f.extra.emplace_back("MB_per_s", static_cast<double>(bytes) / std::max(1e-9, f.seconds) / 1e6);
    f.extra.emplace_back("mean_message_bytes", done ? static_cast<double>(bytes) / static_cast<double>(done) : 0.0);
    f.extra.emplace_back("maildrop_messages", static_cast<double>(n));
    add_cpu(f, c0, c1, !run.server_pids.empty());
    r.figures.push_back(std::move(f));
}

// ------------------------------------------------------------------------------------------------ connections

namespace {

struct Fleet {
    explicit Fleet(Run& run) : done(run) {}
    std::vector<std::unique_ptr<ImapClient>> sessions;
    std::vector<bool> up;
    std::vector<double> setup_ms;
    std::size_t next = 0, end = 0;  // the sessions a batch of workers handles: [next, end)
    int workers = 0;
    Event done;
    std::uint64_t failed = 0;
    std::string first_error;
};

task<void> open_worker(Run& run, Fleet& fl, const Target& t, const std::vector<std::string>& users, const std::string& pw) {
    while (!run.stopping && fl.next < fl.end) {
        auto i = fl.next++;
        auto& c = *fl.sessions[i];
        auto ts = Clock::now();
        try {
            co_await connect_login(c, t, users[i % users.size()], pw);
            co_await open_mailbox(c, "SELECT");
            co_await c.idle_start();
            fl.up[i] = true;
            fl.setup_ms.push_back(ms_between(ts, Clock::now()));
        } catch (const std::exception& e) {
            ++fl.failed;
            if (fl.first_error.empty()) fl.first_error = e.what();
            c.c.close();
        }
    }
    if (--fl.workers == 0) fl.done.notify();
}

task<void> check_worker(Run& run, Fleet& fl, std::uint64_t& alive) {
    while (!run.stopping && fl.next < fl.end) {
        auto i = fl.next++;
        if (!fl.up[i]) continue;
        try {
            auto r = co_await fl.sessions[i]->idle_done();
            if (r.status == "OK") ++alive;
        } catch (const std::exception&) {
        }
        fl.sessions[i]->c.close();
    }
    if (--fl.workers == 0) fl.done.notify();
}

template <class Worker>
task<void> run_workers(Run& run, Fleet& fl, std::size_t from, std::size_t to, int parallel, Worker make) {
    fl.next = from;
    fl.end = to;
    fl.workers = parallel;
    for (int w = 0; w < parallel; ++w) asio::co_spawn(run.io, make(), asio::detached);
    while (fl.workers > 0) co_await fl.done.wait();  // workers use fl: wait for them even after a stop
}

}  // namespace

// Memory per connection is measured as a slope: sessions are opened in two equal halves and the figure is
// (memory after all - memory after the first half) / (sessions in the second half). One-time costs — a
// worker thread's malloc arena grown by password hashing, caches warmed by the first SELECT — land in the
// first half and stay out of the figure; the average over all sessions (one-time costs included) is
// reported next to it.
task<void> mode_connections(Run& run, Options& o, const Target& t, Report& r) {
    auto users = o.list("users", "");
    auto password = o.str("password", "");
    auto k = static_cast<std::size_t>(std::max(2LL, o.num("count", 1000)));
    auto parallel = static_cast<int>(std::max(1LL, o.num("parallel", 16)));
    auto settle = std::chrono::milliseconds(o.num("settle-ms", 2000));
    const auto& pids = run.server_pids;
    auto prefix = o.str("figure", "connections");
    o.reject_unused();
    if (users.empty()) throw BenchError("--users is required");
    raise_fd_limit();

    Fleet fl(run);
    for (std::size_t i = 0; i < k; ++i) fl.sessions.push_back(std::make_unique<ImapClient>(run));
    fl.up.assign(k, false);
    auto opener = [&] { return open_worker(run, fl, t, users, password); };
    auto count_up = [&] {
        std::uint64_t n = 0;
        for (bool u : fl.up) n += u;
        return n;
    };

    auto m0 = tree_memory(pids);
    auto c0 = cpu_sample(pids);
    auto t0 = Clock::now();
    co_await run_workers(run, fl, 0, k / 2, parallel, opener);
    double setup_s = since(t0);
    auto n1 = count_up();
    if (n1 == 0) throw Unavailable("no IMAP connection could be established: " + fl.first_error);
    co_await run.sleep(settle);
    auto m1 = tree_memory(pids);
    auto t1 = Clock::now();
    co_await run_workers(run, fl, k / 2, k, parallel, opener);
    setup_s += since(t1);
    auto c1 = cpu_sample(pids);
    auto n2 = count_up();
    co_await run.sleep(settle);
    auto m2 = tree_memory(pids);

    // Leave IDLE on every connection: proves they were all still alive when memory was read.
    std::uint64_t alive = 0;
    co_await run_workers(run, fl, 0, k, parallel, [&] { return check_worker(run, fl, alive); });

    auto slope = [&](std::uint64_t a, std::uint64_t b) {
        return n2 > n1 ? (static_cast<double>(b) - static_cast<double>(a)) / static_cast<double>(n2 - n1) : std::nan("");
    };
    auto average = [&](std::uint64_t a, std::uint64_t b) {
        return (static_cast<double>(b) - static_cast<double>(a)) / static_cast<double>(n2);
    };
    Figure rss, pss;
    rss.name = prefix + ".rss-per-conn";
    pss.name = prefix + ".pss-per-conn";
    rss.value = slope(m1.rss_kib, m2.rss_kib);
    pss.value = slope(m1.pss_kib, m2.pss_kib);
    for (auto* f : {&rss, &pss}) {
        f->unit = "KiB";
        f->higher_is_better = false;
        f->count = n2;
        f->errors = fl.failed + (n2 - alive);
        f->seconds = setup_s;
        f->complete = n2 == k && alive == n2 && !pids.empty() && !run.timed_out;
    }
    rss.lat_ms = fl.setup_ms;
    rss.latency_of = "connect + LOGIN + SELECT INBOX + IDLE accepted, per connection (" + std::to_string(parallel) + " in parallel)";
    rss.extra.emplace_back("rss_avg_incl_one_time_kib", average(m0.rss_kib, m2.rss_kib));
    rss.extra.emplace_back("rss_kib_at_0", static_cast<double>(m0.rss_kib));
    rss.extra.emplace_back("rss_kib_at_half", static_cast<double>(m1.rss_kib));
    rss.extra.emplace_back("rss_kib_at_all", static_cast<double>(m2.rss_kib));
    rss.extra.emplace_back("processes_at_0", static_cast<double>(m0.processes));
    rss.extra.emplace_back("processes_at_all", static_cast<double>(m2.processes));
    rss.extra.emplace_back("alive_at_end", static_cast<double>(alive));
    rss.extra.emplace_back("setup_conn_per_s", static_cast<double>(n2) / std::max(1e-9, setup_s));
    pss.extra.emplace_back("pss_avg_incl_one_time_kib", average(m0.pss_kib, m2.pss_kib));
    pss.extra.emplace_back("pss_kib_at_0", static_cast<double>(m0.pss_kib));
    pss.extra.emplace_back("pss_kib_at_all", static_cast<double>(m2.pss_kib));
    add_cpu(rss, c0, c1, !pids.empty());  // per connection set up (LOGIN included)
    if (pids.empty()) rss.notes.emplace_back("warning", "no --pids given: memory not measured");
    if (!fl.first_error.empty()) rss.notes.emplace_back("first_error", fl.first_error);
    r.figures.push_back(std::move(rss));
    r.figures.push_back(std::move(pss));
}

// ------------------------------------------------------------------------------------------------ machine

namespace {

std::string fs_type(long t) {
    switch (static_cast<unsigned long>(t)) {
        case 0xEF53: return "ext2/3/4";
        case 0x58465342: return "xfs";
        case 0x9123683E: return "btrfs";
        case 0x01021994: return "tmpfs";
        case 0x794c7630: return "overlayfs";
        case 0x2FC12FC1: return "zfs";
        case 0xF2F52010: return "f2fs";
        default: {
            char b[32];
            std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(t));
            return b;
        }
    }
}

std::string read_field(const char* path, const char* key) {
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0) {
            auto c = line.find(':');
            auto v = c == std::string::npos ? "" : line.substr(c + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    return "";
}

}  // namespace

void mode_machine(Options& o, Report& r) {
    auto dirs = o.list("data-dir", ".");
    auto samples = static_cast<int>(o.num("samples", 200));
    auto block = o.size("block", 4096);
    o.reject_unused();

    Figure m;
    m.name = "machine";
    cpu_set_t set;
    CPU_ZERO(&set);
    int usable = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    m.value = usable;
    m.unit = "cores";
    m.extra.emplace_back("hardware_threads", static_cast<double>(std::thread::hardware_concurrency()));
    m.extra.emplace_back("mem_total_gib", std::atof(read_field("/proc/meminfo", "MemTotal").c_str()) / (1024.0 * 1024.0));
    m.notes.emplace_back("cpu_model", read_field("/proc/cpuinfo", "model name"));
    utsname u{};
    if (::uname(&u) == 0) m.notes.emplace_back("kernel", std::string(u.sysname) + " " + u.release + " " + u.machine);
    r.figures.push_back(m);

    // write + fdatasync of one block, appended each time (as a WAL or a queue file grows), median reported.
    std::string buf(block, 'r');
    for (auto& dir : dirs) {
        Figure f;
        f.name = "fdatasync[" + dir + "]";
        f.unit = "ms p50";
        f.higher_is_better = false;
        f.latency_of = "pwrite of " + std::to_string(block) + " bytes appended + fdatasync";
        auto path = dir + "/.roost-bench-fsync-" + std::to_string(::getpid());
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            f.complete = false;
            f.notes.emplace_back("error", path + ": " + std::strerror(errno));
            r.figures.push_back(std::move(f));
            continue;
        }
        struct statfs sf{};
        if (::fstatfs(fd, &sf) == 0) f.notes.emplace_back("filesystem", fs_type(static_cast<long>(sf.f_type)));
        struct stat st{};
        if (::fstat(fd, &st) == 0) f.notes.emplace_back("device", std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
        auto t0 = Clock::now();
        for (int i = 0; i < samples; ++i) {
            auto off = static_cast<off_t>(static_cast<std::uint64_t>(i) * block);
            if (::pwrite(fd, buf.data(), buf.size(), off) != static_cast<ssize_t>(buf.size())) {
                ++f.errors;
                break;
            }
            auto ts = Clock::now();
            if (::fdatasync(fd) != 0) ++f.errors;
            f.lat_ms.push_back(ms_between(ts, Clock::now()));
        }
        f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        ::close(fd);
        ::unlink(path.c_str());
        f.count = f.lat_ms.size();
        auto sorted = f.lat_ms;
        std::sort(sorted.begin(), sorted.end());
        f.value = percentile(sorted, 50);
        f.complete = f.count == static_cast<std::uint64_t>(samples);
        r.figures.push_back(std::move(f));
    }
}

}  // namespace roost::bench
