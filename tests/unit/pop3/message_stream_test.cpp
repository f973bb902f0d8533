// RETR/TOP streaming (pop3d/protocol/message_stream.hpp): dot-stuffing (RFC 1939 §3) and TOP (RFC 1939 §7),
// each fed every input split at every byte. The octets a client gets back after un-stuffing equal the
// stored octets, which is what LIST and STAT report (RFC 1939 §5, §11).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "pop3d/protocol/message_stream.hpp"

namespace roost::pop3 {
namespace {

// What RETR/TOP put on the wire when the message arrives in pieces cut at `cuts`.
std::string wire(std::string_view message, const std::vector<std::size_t>& cuts, std::optional<std::uint64_t> top = {}) {
    DotStuffer s;
    std::optional<TopFilter> f;
    if (top) f.emplace(*top);
    std::string out;
    std::size_t pos = 0;
    auto feed = [&](std::string_view piece) {
        if (f) piece = f->feed(piece);
        s.feed(piece, out);
    };
    for (auto c : cuts) {
        feed(message.substr(pos, c - pos));
        pos = c;
    }
    feed(message.substr(pos));
    s.finish(out);
    return out;
}

std::string wire(std::string_view message, std::optional<std::uint64_t> top = {}) { return wire(message, {}, top); }

// A POP3 client's view (RFC 1939 §3): lines up to ".", one leading "." removed from stuffed lines. Returns
// nullopt when the terminator is missing or something follows it.
std::optional<std::string> unstuff(std::string_view w) {
    std::string out;
    std::size_t pos = 0;
    while (pos < w.size()) {
        auto lf = w.find('\n', pos);
        if (lf == std::string_view::npos) return std::nullopt;
        auto line = w.substr(pos, lf + 1 - pos);
        pos = lf + 1;
        if (line == ".\r\n") return pos == w.size() ? std::optional<std::string>(out) : std::nullopt;
        if (line.front() == '.') line.remove_prefix(1);
        out.append(line);
    }
    return std::nullopt;
}

// Every 1-cut, every 2-cut (for short inputs) and byte-at-a-time give the same wire bytes as one piece.
void expect_split_invariant(std::string_view message, std::optional<std::uint64_t> top = {}) {
    const auto whole = wire(message, top);
    for (std::size_t i = 0; i <= message.size(); ++i) {
        ASSERT_EQ(wire(message, {i}, top), whole) << "cut at " << i;
        if (message.size() > 64) continue;
        for (std::size_t j = i; j <= message.size(); ++j) ASSERT_EQ(wire(message, {i, j}, top), whole) << i << "," << j;
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < message.size(); ++i) every.push_back(i);
    ASSERT_EQ(wire(message, every, top), whole) << "byte at a time";
}

constexpr std::string_view kMessage =
    "Subject: dots\r\n"
    "From: a@example.test\r\n"
    "\r\n"
    ".leading dot\r\n"
    "..two dots\r\n"
    ".\r\n"
    "middle . dot\r\n"
    "last line\r\n";

TEST(DotStuffer, StuffsLinesStartingWithADot) {
    EXPECT_EQ(wire(kMessage),
              "Subject: dots\r\nFrom: a@example.test\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n"
              "middle . dot\r\nlast line\r\n.\r\n");
    expect_split_invariant(kMessage);
}

TEST(DotStuffer, ClientGetsTheStoredOctetsBack) {
    for (std::string_view m : {kMessage, std::string_view(".\r\n"), std::string_view("..\r\n.\r\n"),
                               std::string_view("a\r\n"), std::string_view("")}) {
        auto back = unstuff(wire(m));
        ASSERT_TRUE(back) << m;
        EXPECT_EQ(*back, m);
        EXPECT_EQ(back->size(), m.size());  // LIST's size is exactly what the client receives
    }
}

TEST(DotStuffer, FirstByteAndEmptyMessage) {
    EXPECT_EQ(wire(".x\r\n"), "..x\r\n.\r\n");
    EXPECT_EQ(wire(""), ".\r\n");
    DotStuffer s;
    std::string out;
    s.feed(".a\r\n.b\r\n", out);
    s.finish(out);
    EXPECT_EQ(s.stuffed_dots(), 2u);
    EXPECT_FALSE(s.added_line_end());
}

TEST(DotStuffer, MissingFinalLineEndIsAddedAndReported) {
    DotStuffer s;
    std::string out;
    s.feed("no final newline", out);
    s.finish(out);
    EXPECT_EQ(out, "no final newline\r\n.\r\n");
    EXPECT_TRUE(s.added_line_end());
    expect_split_invariant("a\r\nb");
}

TEST(DotStuffer, BareLfStartsALineToo) {
    // A client splitting on LF alone must never see "\n.\r\n" inside a message as the terminator.
    EXPECT_EQ(wire("a\n.\r\nb\r\n"), "a\n..\r\nb\r\n.\r\n");
    // A bare CR does not start a line for anybody.
    EXPECT_EQ(wire("a\r.b\r\n"), "a\r.b\r\n.\r\n");
    expect_split_invariant("a\n.\n..\r\n.\r.\r\n");
}

TEST(DotStuffer, LargeMessageInChunks) {
    std::string m;
    for (int i = 0; i < 5000; ++i) m += (i % 3 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
    std::vector<std::size_t> cuts;
    for (std::size_t c = 4096; c < m.size(); c += 4096) cuts.push_back(c);
    EXPECT_EQ(wire(m, cuts), wire(m));
    EXPECT_EQ(*unstuff(wire(m, cuts)), m);
}

// ----- TOP -----

TEST(TopFilter, ZeroLinesIsTheHeaderAndTheBlankLine) {
    EXPECT_EQ(wire(kMessage, 0), "Subject: dots\r\nFrom: a@example.test\r\n\r\n.\r\n");
    expect_split_invariant(kMessage, 0);
}

TEST(TopFilter, CountsBodyLines) {
    EXPECT_EQ(wire(kMessage, 1), "Subject: dots\r\nFrom: a@example.test\r\n\r\n..leading dot\r\n.\r\n");
    EXPECT_EQ(wire(kMessage, 3), "Subject: dots\r\nFrom: a@example.test\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n.\r\n");
    expect_split_invariant(kMessage, 1);
    expect_split_invariant(kMessage, 3);
}

TEST(TopFilter, MoreLinesThanTheBodyHasSendsEverything) {
    // RFC 1939 §7: "the POP3 server sends the entire message".
    EXPECT_EQ(wire(kMessage, 5), wire(kMessage));
    EXPECT_EQ(wire(kMessage, 6), wire(kMessage));
    EXPECT_EQ(wire(kMessage, UINT64_MAX), wire(kMessage));
    EXPECT_EQ(wire("H: v\r\n\r\nno newline at end", 10), "H: v\r\n\r\nno newline at end\r\n.\r\n");
}

TEST(TopFilter, MessageWithoutBodyIsSentWhole) {
    EXPECT_EQ(wire("H: v\r\nI: w\r\n", 0), "H: v\r\nI: w\r\n.\r\n");
    expect_split_invariant("H: v\r\nI: w\r\n", 0);
}

TEST(TopFilter, EmptyHeader) {
    EXPECT_EQ(wire("\r\nbody1\r\nbody2\r\n", 1), "\r\nbody1\r\n.\r\n");
    EXPECT_EQ(wire("\r\nbody1\r\nbody2\r\n", 0), "\r\n.\r\n");
}

TEST(TopFilter, BlankLineMustBeEmpty) {
    // " \r\n" is a continuation-looking line, not the end of the header; "\r\r\n" is not empty either.
    EXPECT_EQ(wire("A: b\r\n \r\n\r\r\nC: d\r\n\r\nbody\r\n", 0), "A: b\r\n \r\n\r\r\nC: d\r\n\r\n.\r\n");
    // Bare LF messages (not produced by Roost's delivery, but possible from elsewhere).
    EXPECT_EQ(wire("A: b\n\nbody\nmore\n", 1), "A: b\n\nbody\n.\r\n");
    expect_split_invariant("A: b\r\n \r\n\r\r\nC: d\r\n\r\nbody\r\n", 0);
}

TEST(TopFilter, StopsConsuming) {
    TopFilter f(0);
    EXPECT_EQ(f.feed("A: b\r\n\r\nbody"), "A: b\r\n\r\n");
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.feed("more\r\n"), "");
}

}  // namespace
}  // namespace roost::pop3
