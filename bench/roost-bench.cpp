// roost-bench — drives any SMTP, IMAP and POP3 server on given host, ports and credentials, and reports a
// table on stdout and the same figures as JSON (--json FILE). See docs/benchmarks.md.
//
// Security posture: a client only. It connects to the host and ports it is given (plain TCP, no TLS: the
// loads measure the servers, not the ciphers), sends the credentials it is given, writes only the JSON file
// it is told to and, in `machine` mode, one scratch file per --data-dir which it deletes. `connections`
// reads /proc of the PIDs it is given.
#include <boost/asio/co_spawn.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "bench/bench.hpp"

using namespace roost::bench;

namespace {

constexpr const char* kUsage = R"(usage: roost-bench MODE [--option value ...]

Target (every mode but machine):
  --host 127.0.0.1  --smtp-port 25  --imap-port 143  --pop3-port 110
  --time-limit SECONDS (300)   the run stops itself after this; figures are then marked INCOMPLETE
  --json FILE ('-' = stdout)   the same figures as JSON     --label TEXT   free text copied to the report
  --pids PID[,PID...]          the server's processes: CPU it used per operation is reported (with all
                               descendants, from /proc); `connections` also reads their memory

Modes:
  smtp          --rcpt 'bench{1..10}@anchor.test' --messages 2000 --size 4K --connections 20 [--no-pipelining]
                [--shape plain|attachment]   messages/s accepted, latency of the final 250
  e2e           as smtp, plus --password P [--wait status|idle] [--poll-ms 5]; every --rcpt is also an IMAP
                login; a message counts once STATUS INBOX (or IDLE) shows it
  idle-latency  --user U --password P [--rcpt U] --messages 100 --size 4K [--gap-ms 20] [--timeout-ms 10000]
                one IMAP session in IDLE, one message at a time over SMTP; 250 -> '* N EXISTS'
  populate      --user U --password P --count 10000 --size 4K [--shape varied|plain|attachment] [--connections 10]
                [--check imap|pop3]   deliver over SMTP until the INBOX holds --count messages
  imap          --user U --password P [--search-user U2] [--phases fetch-meta,fetch-body,search,store]
                [--fetch-messages 10000] [--body-messages 1000] [--search-queries 20] [--store-messages 10000]
                [--batch 100]
  pop3          --user U --password P --messages 1000     RETR 1..N, no DELE
  connections   --users 'bench{1..4}@anchor.test' --password P --count 1000 --pids PID[,PID...]
                [--parallel 16] [--settle-ms 2000]   K sessions in IDLE; server memory per connection
                (Rss and Pss summed over the PIDs and all their descendants, from /proc)
  machine       --data-dir DIR[,DIR...] [--samples 200] [--block 4K]   cores, memory, fdatasync latency
Every mode accepts --figure NAME to rename its figure(s).
Exit status: 0 all figures complete, 1 failure, 3 server does not serve the protocol, 4 incomplete figures.
)";

}  // namespace

int main(int argc, char** argv) {
    auto started = std::chrono::steady_clock::now();
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string mode = argv[1];
    Report report;
    report.mode = mode;
    std::string json_path;
    bool ok = true;
    std::unique_ptr<Options> opts;
    try {
        opts = std::make_unique<Options>(argc, argv, 2, std::set<std::string>{"no-pipelining"});
        auto& o = *opts;
        json_path = o.str("json", "");
        report.label = o.str("label", "");
        if (mode == "machine") {
            report.host = "localhost";
            mode_machine(o, report);
        } else {
            Target t;
            t.host = o.str("host", "127.0.0.1");
            report.host = t.host;
            t.smtp = endpoint(t.host, o.num("smtp-port", 25));
            t.imap = endpoint(t.host, o.num("imap-port", 143));
            t.pop3 = endpoint(t.host, o.num("pop3-port", 110));
            auto limit = std::chrono::seconds(o.num("time-limit", 300));
            using Fn = task<void> (*)(Run&, Options&, const Target&, Report&);
            Fn fn = mode == "smtp"           ? mode_smtp
                    : mode == "e2e"          ? mode_e2e
                    : mode == "idle-latency" ? mode_idle_latency
                    : mode == "populate"     ? mode_populate
                    : mode == "imap"         ? mode_imap
                    : mode == "pop3"         ? mode_pop3
                    : mode == "connections"  ? mode_connections
                                             : nullptr;
            if (!fn) throw BenchError("unknown mode '" + mode + "'");
            asio::io_context io(1);
            Run run(io, limit);
            for (auto& p : o.list("pids", "")) run.server_pids.push_back(std::atoi(p.c_str()));
            std::exception_ptr failure;
            asio::co_spawn(io, fn(run, o, t, report), [&](std::exception_ptr e) {
                failure = e;
                run.finish();
            });
            io.run();
            if (failure) std::rethrow_exception(failure);
            if (run.timed_out)
                for (auto& f : report.figures) f.complete = false;
        }
    } catch (const Unavailable& e) {
        report.error = e.what();
        report.unavailable = true;
        ok = false;
    } catch (const std::exception& e) {
        report.error = e.what();
        ok = false;
    }
    if (opts) report.params = opts->used();
    bool incomplete = false;
    for (auto& f : report.figures) incomplete = incomplete || !f.complete || f.errors > 0;
    report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.tool_cpu_s = tool_cpu_seconds();
    print_table(report);
    if (!json_path.empty()) {
        auto js = to_json(report);
        if (json_path == "-") std::fputs(js.c_str(), stdout);
        else {
            std::ofstream f(json_path);
            f << js;
            if (!f) {
                std::fprintf(stderr, "roost-bench: cannot write %s\n", json_path.c_str());
                return 1;
            }
        }
    }
    // 0: every figure complete; 1: the run failed; 3: the server does not serve the protocol; 4: some
    // figures are incomplete or counted errors.
    return !ok ? (report.unavailable ? 3 : 1) : incomplete ? 4 : 0;
}
