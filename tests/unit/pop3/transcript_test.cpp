// Client transcripts (RFC 1939 §10, RFC 2449 §5, RFC 5034 §6) run through the protocol layer the way the
// session does: the client stream arrives in arbitrary pieces (PIPELINING, RFC 2449 §6.6), lines are cut at
// LF and parsed, and TRANSACTION commands act on a Maildrop whose messages are streamed with DotStuffer.
// The server's bytes must not depend on how the client's bytes were cut.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "pop3d/protocol/command.hpp"
#include "pop3d/protocol/maildrop.hpp"
#include "pop3d/protocol/message_stream.hpp"
#include "pop3d/protocol/response.hpp"

namespace roost::pop3 {
namespace {

// RFC 1939 §10's maildrop: two messages of 120 and 200 octets.
std::string make_message(std::size_t size, char fill) {
    // A header, one body line, and a last line "." that needs stuffing.
    std::string m = "Subject: x\r\n\r\n" + std::string(size - 19, fill) + "\r\n.\r\n";
    EXPECT_EQ(m.size(), size);
    return m;
}

class MiniSession {
public:
    MiniSession() : bodies_{{10, make_message(120, 'a')}, {20, make_message(200, 'b')}} {
        maildrop_ = Maildrop(1, {{1, 120, 10}, {2, 200, 20}});
    }

    void receive(std::string_view bytes) {
        buffer_.append(bytes);
        std::size_t lf;
        while ((lf = buffer_.find('\n')) != std::string::npos) {
            std::string line = buffer_.substr(0, lf);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            buffer_.erase(0, lf + 1);
            on_line(line);
        }
    }
    const std::string& output() const { return out_; }
    const std::vector<std::uint32_t>& removed() const { return removed_; }

private:
    void on_line(std::string_view line) {
        auto r = parse_command(line);
        if (auto* e = std::get_if<ParseError>(&r)) {
            out_ += err(e->text);
            return;
        }
        auto& cmd = std::get<Command>(r);
        if (std::holds_alternative<User>(cmd)) out_ += ok("Send PASS");
        else if (std::holds_alternative<Pass>(cmd)) out_ += ok("maildrop has 2 messages (320 octets)");
        else if (std::holds_alternative<Stat>(cmd))
            out_ += ok(std::to_string(maildrop_.count()) + " " + std::to_string(maildrop_.total_size()));
        else if (auto* l = std::get_if<List>(&cmd)) {
            if (l->msg) {
                out_ += maildrop_.lookup(*l->msg) == Maildrop::Lookup::Found
                            ? ok(scan_listing(*l->msg, maildrop_.message(*l->msg).size))
                            : err("no such message");
            } else {
                out_ += ok(std::to_string(maildrop_.count()) + " messages (" + std::to_string(maildrop_.total_size()) +
                           " octets)");
                for (std::uint32_t i = 1; i <= maildrop_.snapshot_size(); ++i)
                    if (!maildrop_.is_deleted(i)) out_ += scan_listing(i, maildrop_.message(i).size) + "\r\n";
                out_ += kEndOfMultiline;
            }
        } else if (auto* g = std::get_if<Retr>(&cmd)) {
            if (maildrop_.lookup(g->msg) != Maildrop::Lookup::Found) {
                out_ += err("no such message");
                return;
            }
            const auto& m = maildrop_.message(g->msg);
            out_ += ok(std::to_string(m.size) + " octets");
            DotStuffer s;
            s.feed(bodies_.at(m.blob_id), out_);
            s.finish(out_);
        } else if (auto* d = std::get_if<Dele>(&cmd)) {
            out_ += maildrop_.mark_deleted(d->msg) == Maildrop::Lookup::Found
                        ? ok("message " + std::to_string(d->msg) + " deleted")
                        : err("no such message");
        } else if (std::holds_alternative<Quit>(cmd)) {
            removed_ = maildrop_.deleted_uids();
            out_ += ok("dewey POP3 server signing off (maildrop empty)");
        } else if (std::holds_alternative<Capa>(cmd)) {
            Capabilities c;
            c.user = true;
            c.sasl = {"PLAIN"};
            out_ += format_capabilities(c);
        } else if (auto* a = std::get_if<Auth>(&cmd)) {
            out_ += a->mechanism == "PLAIN" && a->initial_response ? ok("Logged in") : err("Unsupported");
        } else {
            out_ += err("unexpected");
        }
    }

    std::map<std::int64_t, std::string> bodies_;
    Maildrop maildrop_;
    std::string buffer_, out_;
    std::vector<std::uint32_t> removed_;
};

std::string run(std::string_view client, const std::vector<std::size_t>& cuts) {
    MiniSession s;
    std::size_t pos = 0;
    for (auto c : cuts) {
        s.receive(client.substr(pos, c - pos));
        pos = c;
    }
    s.receive(client.substr(pos));
    return s.output();
}

void expect_split_invariant(std::string_view client) {
    auto whole = run(client, {});
    for (std::size_t i = 0; i <= client.size(); ++i) ASSERT_EQ(run(client, {i}), whole) << "cut at " << i;
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < client.size(); ++i) every.push_back(i);
    ASSERT_EQ(run(client, every), whole) << "byte at a time";
}

// RFC 1939 §10, with USER/PASS in place of APOP (not offered by Roost).
constexpr std::string_view kRfc1939Client =
    "USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n";

TEST(Pop3Transcript, Rfc1939Section10) {
    MiniSession s;
    s.receive(kRfc1939Client);
    const std::string expected = "+OK Send PASS\r\n"
                                 "+OK maildrop has 2 messages (320 octets)\r\n"
                                 "+OK 2 320\r\n"
                                 "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
                                 "+OK 120 octets\r\n";
    ASSERT_EQ(s.output().substr(0, expected.size()), expected);
    EXPECT_NE(s.output().find("+OK message 1 deleted\r\n+OK 200 octets\r\n"), std::string::npos);
    EXPECT_NE(s.output().find("\r\n..\r\n"), std::string::npos);  // the stuffed last line
    EXPECT_TRUE(s.output().ends_with("\r\n+OK dewey POP3 server signing off (maildrop empty)\r\n"));
    EXPECT_EQ(s.removed(), (std::vector<std::uint32_t>{1, 2}));
    expect_split_invariant(kRfc1939Client);
}

TEST(Pop3Transcript, PipelinedBatchWithErrorsKeepsOrder) {
    // RFC 2449 §6.6: commands are processed in turn; a bad one gets -ERR and the rest continue.
    constexpr std::string_view client = "CAPA\r\nAUTH PLAIN AHUAcA==\r\nLIST 3\r\nBOGUS\r\nDELE 1\r\nDELE 1x\r\nSTAT\r\n"
                                        "LIST\r\nquit\r\n";
    MiniSession s;
    s.receive(client);
    EXPECT_NE(s.output().find("-ERR no such message\r\n-ERR Unknown command\r\n+OK message 1 deleted\r\n"
                              "-ERR Invalid message number\r\n+OK 1 200\r\n+OK 1 messages (200 octets)\r\n2 200\r\n.\r\n"),
              std::string::npos)
        << s.output();
    expect_split_invariant(client);
}

TEST(Pop3Transcript, LfOnlyClientsAreUnderstood) {
    MiniSession a, b;
    a.receive("STAT\nLIST 1\nQUIT\n");
    b.receive("STAT\r\nLIST 1\r\nQUIT\r\n");
    EXPECT_EQ(a.output(), b.output());
}

}  // namespace
}  // namespace roost::pop3
