// CommandReader framing: literals (RFC 9051 §4.3, RFC 7888 LITERAL+), limits, recovery, and input split at
// every byte boundary.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "imapd/protocol/parser.hpp"

namespace roost::imap {
namespace {

// One line per event, with the fields that matter, so event streams can be compared.
std::string describe(const ReadEvent& e) {
    if (std::holds_alternative<NeedMore>(e)) return "more";
    if (auto* c = std::get_if<NeedContinuation>(&e)) return "+" + std::to_string(c->size);
    if (auto* f = std::get_if<ParseFailure>(&e)) {
        return "FAIL tag=" + f->tag + " kind=" + std::to_string(f->kind) + (f->fatal ? " fatal" : "");
    }
    const Command& cmd = std::get<ParsedCommand>(e).command;
    std::string out = "CMD " + command_tag(cmd) + " " + command_name(cmd);
    std::visit(
        [&out](const auto& c) {
            if constexpr (requires { c.mailbox; }) out += " mailbox=" + c.mailbox;
            if constexpr (requires { c.message; }) out += " message=" + c.message;
            if constexpr (requires { c.user; }) out += " user=" + c.user + " password=" + c.password;
            if constexpr (requires { c.flags; }) {
                for (const auto& f : c.flags) out += " flag=" + f;
            }
            if constexpr (requires { c.internal_date; }) {
                if (c.internal_date) out += " date=" + std::to_string(c.internal_date->unix_seconds);
            }
            if constexpr (requires { c.key; }) {
                if (c.key) {
                    for (const auto& k : c.key->children) out += " key=" + std::to_string(int(k->kind)) + ":" + k->text;
                }
            }
            if constexpr (requires { c.items; }) out += " items=" + std::to_string(c.items.size());
        },
        cmd);
    return out;
}

// Feeds `input` in pieces of `chunk` bytes (0 = all at once), answering continuations by feeding on.
// Returns every non-NeedMore event.
std::vector<std::string> run(CommandReader& reader, std::string_view input, std::size_t chunk = 0,
                             std::size_t* max_buffered = nullptr) {
    std::vector<std::string> events;
    if (chunk == 0) chunk = input.size() ? input.size() : 1;
    for (std::size_t off = 0; off < input.size(); off += chunk) {
        std::string_view piece = input.substr(off, chunk);
        while (!piece.empty()) {
            auto [used, event] = reader.feed(piece);
            if (max_buffered) *max_buffered = std::max(*max_buffered, reader.buffered());
            EXPECT_LE(used, piece.size());
            piece.remove_prefix(used);
            if (std::holds_alternative<NeedMore>(event)) {
                EXPECT_TRUE(piece.empty()) << "NeedMore without consuming everything";
                break;
            }
            events.push_back(describe(event));
        }
    }
    return events;
}

std::vector<std::string> run_split(std::string_view input, std::size_t split, ParserLimits limits = {}) {
    CommandReader reader(limits);
    std::vector<std::string> events = run(reader, input.substr(0, split));
    auto more = run(reader, input.substr(split));
    events.insert(events.end(), more.begin(), more.end());
    return events;
}

using Events = std::vector<std::string>;

TEST(ParserFraming, SynchronisingLiteralAsksForContinuation) {
    CommandReader r;
    auto [u1, e1] = r.feed("a001 LOGIN {4}\r\n");
    EXPECT_EQ(u1, 16u);
    ASSERT_TRUE(std::holds_alternative<NeedContinuation>(e1));
    EXPECT_EQ(std::get<NeedContinuation>(e1).size, 4u);
    auto [u2, e2] = r.feed("fred {6}\r\n");
    EXPECT_EQ(u2, 10u);
    EXPECT_EQ(describe(e2), "+6");
    auto [u3, e3] = r.feed("sesame\r\nb NOOP\r\n");
    EXPECT_EQ(u3, 8u);
    EXPECT_EQ(describe(e3), "CMD a001 LOGIN user=fred password=sesame");
    auto [u4, e4] = r.feed("b NOOP\r\n");
    EXPECT_EQ(u4, 8u);
    EXPECT_EQ(describe(e4), "CMD b NOOP");
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(ParserFraming, LiteralPlusNeedsNoContinuation) {
    CommandReader r;
    // RFC 7888 §3 example
    EXPECT_EQ(run(r, "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n"),
              (Events{"CMD A001 LOGIN user=FRED FOOBAR password=fat man"}));
    EXPECT_EQ(run(r, "a LOGIN {0+}\r\n {0}\r\n\r\n"), (Events{"+0", "CMD a LOGIN user= password="}));
}

TEST(ParserFraming, LiteralPlusDisabledIsFatal) {
    CommandReader r({}, {.utf8 = false, .literal_plus = false});
    EXPECT_EQ(run(r, "A001 LOGIN {4+}\r\nFRED x\r\n").front(), "FAIL tag=A001 kind=0 fatal");
}

TEST(ParserFraming, TooBigAppendLiteralRefusedBeforeData) {
    ParserLimits limits;
    limits.max_literal = 1000;
    CommandReader r(limits);
    auto [used, e] = r.feed("A1 APPEND INBOX (\\Seen) {1001}\r\n");
    ASSERT_TRUE(std::holds_alternative<ParseFailure>(e));
    const auto& f = std::get<ParseFailure>(e);
    EXPECT_EQ(f.tag, "A1");
    EXPECT_EQ(f.kind, ParseFailure::TooBig);  // tagged NO [TOOBIG] (RFC 7889 §4)
    EXPECT_EQ(f.message.rfind("[TOOBIG]", 0), 0u);
    EXPECT_FALSE(f.fatal);
    EXPECT_EQ(r.buffered(), 0u);
    // The client does not send the literal; the next command is read normally.
    EXPECT_EQ(run(r, "A2 APPEND INBOX {3}\r\nabc\r\n"), (Events{"+3", "CMD A2 APPEND mailbox=INBOX message=abc"}));
    EXPECT_EQ(run(r, "A3 append INBOX {1000}\r\n"), (Events{"+1000"}));
}

TEST(ParserFraming, TooBigStringLiteralIsBad) {
    ParserLimits limits;
    limits.max_string_literal = 10;
    CommandReader r(limits);
    EXPECT_EQ(run(r, "a LOGIN {11}\r\n"), (Events{"FAIL tag=a kind=0"}));
    EXPECT_EQ(run(r, "a LOGIN {10}\r\n0123456789 x\r\n"), (Events{"+10", "CMD a LOGIN user=0123456789 password=x"}));
    EXPECT_EQ(run(r, "a LOGIN {99999999999999999999999999}\r\n"), (Events{"FAIL tag=a kind=0"}));
}

TEST(ParserFraming, TooBigNonSynchronisingLiteralIsFatal) {
    ParserLimits limits;
    limits.max_literal = 100;
    CommandReader r(limits);
    EXPECT_EQ(run(r, "a APPEND INBOX {101+}\r\n"), (Events{"FAIL tag=a kind=1 fatal"}));
}

TEST(ParserFraming, BadPrefixFailsBeforeContinuation) {
    CommandReader r;
    EXPECT_EQ(run(r, "a FROB {5}\r\n"), (Events{"FAIL tag=a kind=0"}));
    EXPECT_EQ(run(r, "b SELECT INBOX {5}\r\n"), (Events{"FAIL tag=b kind=0"}));
    EXPECT_EQ(run(r, "c SEARCH CHARSET KOI8-R TEXT {5}\r\n"), (Events{"FAIL tag=c kind=2"}));
    EXPECT_EQ(run(r, "d APPEND INBOX ~{5}\r\n"), (Events{"FAIL tag=d kind=0"}));
    EXPECT_EQ(run(r, "e NOOP\r\n"), (Events{"CMD e NOOP"}));
}

TEST(ParserFraming, SessionRefusesLiteralThenResets) {
    CommandReader r;
    EXPECT_EQ(run(r, "a APPEND INBOX {5}\r\n"), (Events{"+5"}));
    r.reset();  // e.g. the session answered "a NO [OVERQUOTA]" instead of "+"
    EXPECT_EQ(run(r, "b NOOP\r\n"), (Events{"CMD b NOOP"}));
}

TEST(ParserFraming, MarkerInsideQuotesIsNotALiteral) {
    CommandReader r;
    EXPECT_EQ(run(r, "a LOGIN x \"{5}\"\r\n"), (Events{"CMD a LOGIN user=x password={5}"}));
    EXPECT_EQ(run(r, "a LOGIN x \"y {5}\r\n"), (Events{"FAIL tag=a kind=0"}));
    EXPECT_EQ(run(r, "a LOGIN x \"\\\" {5}\r\n"), (Events{"FAIL tag=a kind=0"}));
    EXPECT_EQ(run(r, "a LOGIN x y{5}\r\n"), (Events{"FAIL tag=a kind=0"}));
}

TEST(ParserFraming, PipelinedCommands) {
    CommandReader r;
    EXPECT_EQ(run(r, "a NOOP\r\nb UID FETCH 1:* FLAGS\r\nc LOGOUT\r\n"),
              (Events{"CMD a NOOP", "CMD b UID FETCH items=1", "CMD c LOGOUT"}));
}

TEST(ParserFraming, EmptyLinesIgnoredAndBareLfAccepted) {
    CommandReader r;
    EXPECT_EQ(run(r, "\r\n\r\n\na NOOP\nb LOGIN {1}\nx y\n"), (Events{"CMD a NOOP", "+1", "CMD b LOGIN user=x password=y"}));
}

TEST(ParserFraming, NulInLineIsBad) {
    CommandReader r;
    EXPECT_EQ(run(r, std::string("a LOGIN a\0b c\r\nb NOOP\r\n", 23)), (Events{"FAIL tag=a kind=0", "CMD b NOOP"}));
    EXPECT_EQ(run(r, std::string("a LOGIN {3}\r\na\0b c\r\n", 21)), (Events{"+3", "FAIL tag=a kind=0"}));
}

TEST(ParserFraming, OverLongLineIsBoundedAndSkipped) {
    ParserLimits limits;
    limits.max_line = 100;
    CommandReader r(limits);
    std::size_t peak = 0;
    std::string input = "a1 SEARCH TEXT " + std::string(100000, 'x') + "\r\nb NOOP\r\n";
    EXPECT_EQ(run(r, input, 7, &peak), (Events{"FAIL tag=a1 kind=0", "CMD b NOOP"}));
    EXPECT_LE(peak, 110u);
    // Exactly at the limit is fine; one over is not.
    CommandReader r2(limits);
    std::string at = "a LOGIN x " + std::string(90, 'y');
    ASSERT_EQ(at.size(), 100u);
    EXPECT_EQ(run(r2, at + "\r\n").size(), 1u);
    EXPECT_EQ(run(r2, at + "\r\n")[0].substr(0, 11), "CMD a LOGIN");
    EXPECT_EQ(run(r2, at + "z\r\nb NOOP\r\n"), (Events{"FAIL tag=a kind=0", "CMD b NOOP"}));
    EXPECT_EQ(run(r2, at + "z\nb NOOP\n"), (Events{"FAIL tag=a kind=0", "CMD b NOOP"}));
}

TEST(ParserFraming, OverLongLineSkipsAnnouncedLiteralPlusData) {
    ParserLimits limits;
    limits.max_line = 100;
    for (std::size_t chunk : {0, 1, 3, 50}) {
        CommandReader r(limits);
        // The literal bytes look like a command; they must not be executed.
        std::string input = "a LOGIN " + std::string(200, 'u') + " {10+}\r\nc LOGOUT\r\n {3+}\r\nxyz\r\nb NOOP\r\n";
        EXPECT_EQ(run(r, input, chunk), (Events{"FAIL tag=a kind=0", "CMD b NOOP"})) << chunk;
    }
}

TEST(ParserFraming, TooManyLiterals) {
    ParserLimits limits;
    limits.max_literals_per_command = 2;
    CommandReader r(limits);
    EXPECT_EQ(run(r, "a FETCH 1 BODY[HEADER.FIELDS ({1}\r\nA {1}\r\nB {1}\r\n"),
              (Events{"+1", "+1", "FAIL tag=a kind=0"}));
    EXPECT_EQ(run(r, "b NOOP\r\n"), (Events{"CMD b NOOP"}));
}

TEST(ParserFraming, CommandSizeLimit) {
    ParserLimits limits;
    limits.max_command = 100;
    CommandReader r(limits);
    EXPECT_EQ(run(r, "a APPEND INBOX {90}\r\n"), (Events{"FAIL tag=a kind=1"}));
    EXPECT_EQ(run(r, "a APPEND INBOX {60}\r\n" + std::string(60, 'm') + "\r\n").size(), 2u);
}

TEST(ParserFraming, FeedLine) {
    CommandReader r;
    auto [u1, e1] = r.feed_line("dGVzdA==\r\nDONE\r\n");
    EXPECT_EQ(u1, 10u);
    ASSERT_TRUE(std::holds_alternative<RawLine>(e1));
    EXPECT_EQ(std::get<RawLine>(e1).text, "dGVzdA==");
    auto [u2, e2] = r.feed_line("DO");
    EXPECT_EQ(u2, 2u);
    EXPECT_TRUE(std::holds_alternative<NeedMore>(e2));
    auto [u3, e3] = r.feed_line("NE\r\n");
    EXPECT_EQ(u3, 4u);
    EXPECT_TRUE(is_done_line(std::get<RawLine>(e3).text));

    ParserLimits limits;
    limits.max_line = 10;
    CommandReader small(limits);
    auto [u4, e4] = small.feed_line(std::string(50, 'x'));
    EXPECT_EQ(u4, 50u);
    EXPECT_TRUE(std::holds_alternative<ParseFailure>(e4));
    auto [u5, e5] = small.feed_line("yyy\r\n*\r\n");
    EXPECT_EQ(u5, 8u);  // the rest of the long line is skipped, then the next line is read
    ASSERT_TRUE(std::holds_alternative<RawLine>(e5));
    EXPECT_EQ(std::get<RawLine>(e5).text, "*");
}

// Every command, fed split at every byte boundary and byte by byte, gives the same events.
TEST(ParserFraming, SplitAtEveryByte) {
    const std::string append_msg = "From: a@b.example\r\nSubject: hi\r\n\r\nbody {5}\r\n";
    const std::vector<std::string> inputs = {
        "A003 APPEND saved-messages (\\Seen $Work) \" 7-Feb-1994 21:52:25 -0800\" {" +
            std::to_string(append_msg.size()) + "}\r\n" + append_msg + "\r\nA004 NOOP\r\n",
        "a001 LOGIN {4}\r\nfred {8}\r\np\"a ss\r\n\r\n",
        "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\nA002 LOGOUT\r\n",
        "t SEARCH CHARSET UTF-8 OR SUBJECT {5}\r\ncaf\xc3\xa9 FROM {2+}\r\nab NOT SEEN\r\nu NOOP\r\n",
        "f1 UID FETCH 1:*,7 (FLAGS BODY.PEEK[HEADER.FIELDS ({4}\r\nDATE \"FROM\")]<0.100>) (CHANGEDSINCE 5)\r\n",
        "\r\nbad FROB\r\nx LOGIN {3}\r\nabc \"p\\\\w\"\nz NOOP\r\n",
        "a APPEND INBOX {200}\r\n" + std::string(200, 'q') + "\r\n",
    };
    for (const auto& input : inputs) {
        CommandReader whole;
        const Events expected = run(whole, input);
        ASSERT_FALSE(expected.empty());
        for (const auto& e : expected) EXPECT_EQ(e.find("FAIL tag=bad"), e.find("FAIL")) << e;
        for (std::size_t split = 0; split <= input.size(); ++split) {
            ASSERT_EQ(run_split(input, split), expected) << "split at " << split << " of: " << input;
        }
        CommandReader bytewise;
        EXPECT_EQ(run(bytewise, input, 1), expected);
    }
}

TEST(ParserFraming, SplitAtEveryByteWithLimits) {
    ParserLimits limits;
    limits.max_line = 40;
    limits.max_literal = 50;
    const std::string input =
        "a SEARCH TEXT " + std::string(80, 'x') + " {5+}\r\nq NOO\r\n" +  // over-long, literal skipped
        "b APPEND INBOX {51}\r\n" +                                   // too big, refused
        "c APPEND INBOX {2}\r\nhi\r\n"
        "d NOOP\r\n";
    CommandReader whole(limits);
    const Events expected = run(whole, input);
    EXPECT_EQ(expected, (Events{"FAIL tag=a kind=0", "FAIL tag=b kind=1", "+2",
                                "CMD c APPEND mailbox=INBOX message=hi", "CMD d NOOP"}));
    for (std::size_t split = 0; split <= input.size(); ++split) {
        ASSERT_EQ(run_split(input, split, limits), expected) << "split at " << split;
    }
}

TEST(ParserFraming, Utf8ModeToggle) {
    CommandReader r;
    EXPECT_EQ(run(r, "a SELECT \"caf\xc3\xa9\"\r\n"), (Events{"FAIL tag=a kind=0"}));
    r.set_utf8(true);
    EXPECT_EQ(run(r, "a SELECT \"caf\xc3\xa9\"\r\n"), (Events{"CMD a SELECT mailbox=caf\xc3\xa9"}));
}

}  // namespace
}  // namespace roost::imap
