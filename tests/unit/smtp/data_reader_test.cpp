// RFC 5321 §4.1.1.4 / §4.5.2 DATA reader and RFC 3030 BDAT reader, including the SMTP smuggling
// defence (see data_reader.hpp) and feeding every input split at every byte.
#include "smtpd/protocol/data_reader.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace roost::smtp {
namespace {

struct Outcome {
  std::string message;
  ContentFlags flags;
  std::size_t consumed = 0;
  bool done = false;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{consumed=" << o.consumed << " done=" << o.done << " big=" << o.flags.too_big
            << " bare=" << o.flags.bare_line_ending << " nul=" << o.flags.nul
            << " long=" << o.flags.line_too_long << " message(" << o.message.size() << ")}";
}

// Feeds `input` cut at `cuts` (ascending offsets); stops at the end marker like a session would.
Outcome run(std::string_view input, const std::vector<std::size_t>& cuts, DataLimits limits = {}) {
  DataReader reader(limits);
  Outcome out;
  std::size_t start = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(input.size());
  for (std::size_t end : bounds) {
    std::string_view piece = input.substr(start, end - start);
    FeedResult r = reader.feed(piece);
    out.consumed += r.consumed;
    EXPECT_LE(r.consumed, piece.size());
    if (r.done) {
      out.done = true;
      break;
    }
    EXPECT_EQ(r.consumed, piece.size()) << "a chunk must be used up unless the end was reached";
    start = end;
  }
  EXPECT_EQ(out.done, reader.done());
  out.flags = reader.flags();
  out.message = reader.message();
  return out;
}

Outcome run_whole(std::string_view input, DataLimits limits = {}) { return run(input, {}, limits); }

// Every 1-cut and 2-cut split, plus byte-at-a-time and random chunkings, must agree with the
// single-shot result.
void expect_split_invariant(std::string_view input, DataLimits limits = {}) {
  const Outcome whole = run_whole(input, limits);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    ASSERT_EQ(run(input, {i}, limits), whole) << "cut at " << i;
  }
  if (input.size() <= 160) {
    for (std::size_t i = 0; i <= input.size(); ++i) {
      for (std::size_t j = i; j <= input.size(); ++j) {
        ASSERT_EQ(run(input, {i, j}, limits), whole) << "cuts at " << i << "," << j;
      }
    }
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  ASSERT_EQ(run(input, every, limits), whole) << "byte at a time";
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t pos = 0; pos < input.size();) {
      pos += 1 + rng() % 7;
      if (pos < input.size()) cuts.push_back(pos);
    }
    ASSERT_EQ(run(input, cuts, limits), whole) << "random round " << round;
  }
}

const std::string kAppendixD3 =
    "Date: Thu, 21 May 1998 05:33:29 -0700\r\n"
    "From: John Q. Public <JQP@bar.com>\r\n"
    "Subject: The Next Meeting of the Board\r\n"
    "To: Jones@xyz.com\r\n"
    "\r\n"
    "Bill:\r\n"
    "The next meeting of the board of directors will be\r\n"
    "on Tuesday.\r\n"
    "John.\r\n";

// ---- Basics -------------------------------------------------------------------------------

TEST(SmtpDataReader, AppendixD3Message) {
  std::string wire = kAppendixD3 + ".\r\nQUIT\r\n";
  Outcome o = run_whole(wire);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, kAppendixD3);
  EXPECT_EQ(o.consumed, kAppendixD3.size() + 3);  // "QUIT\r\n" stays with the caller
  EXPECT_FALSE(o.flags.any());
  EXPECT_EQ(o.flags.rejection(), std::nullopt);
  expect_split_invariant(wire);
}

TEST(SmtpDataReader, EmptyMessage) {
  Outcome o = run_whole(".\r\nRSET\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "");
  EXPECT_EQ(o.consumed, 3u);
  Outcome blank = run_whole("\r\n.\r\n");
  EXPECT_TRUE(blank.done);
  EXPECT_EQ(blank.message, "\r\n");
  EXPECT_EQ(blank.consumed, 5u);
}

TEST(SmtpDataReader, DotUnstuffing) {  // RFC 5321 §4.5.2
  std::string wire = "..leading dot\r\n..\r\n...\r\nmid.dle\r\n.x\r\n. \r\n.\r\n";
  Outcome o = run_whole(wire);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, ".leading dot\r\n.\r\n..\r\nmid.dle\r\nx\r\n \r\n");
  EXPECT_EQ(o.consumed, wire.size());
  EXPECT_FALSE(o.flags.any());
  expect_split_invariant(wire + "NEXT");
}

TEST(SmtpDataReader, NotTheEnd) {
  for (std::string_view wire :
       {"abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\r\n..\r\n", "abc\r\n .\r\n"}) {
    Outcome o = run_whole(wire);
    EXPECT_FALSE(o.done) << wire;
    EXPECT_EQ(o.consumed, wire.size());
  }
}

TEST(SmtpDataReader, PipelinedBytesAfterEndAreNotConsumed) {
  std::string wire = "Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";
  DataReader r;
  FeedResult f = r.feed(wire);
  EXPECT_TRUE(f.done);
  EXPECT_EQ(wire.substr(f.consumed), "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
  // Once done, nothing more is consumed.
  FeedResult again = r.feed("more");
  EXPECT_TRUE(again.done);
  EXPECT_EQ(again.consumed, 0u);
  expect_split_invariant(wire);
}

TEST(SmtpDataReader, ResetForNextMessage) {
  DataReader r(DataLimits{.max_message_size = 8, .max_line_length = 1000});
  EXPECT_TRUE(r.feed("0123456789\n\r\n.\r\n").done);
  EXPECT_TRUE(r.flags().too_big);
  EXPECT_TRUE(r.flags().bare_line_ending);
  r.reset();
  EXPECT_FALSE(r.done());
  EXPECT_FALSE(r.flags().any());
  EXPECT_EQ(r.size(), 0u);
  FeedResult f = r.feed("ok\r\n.\r\n");
  EXPECT_TRUE(f.done);
  EXPECT_EQ(r.message(), "ok\r\n");
  EXPECT_EQ(r.take_message(), "ok\r\n");
}

// ---- SMTP smuggling ------------------------------------------------------------------------

// None of these sequences is <CRLF>.<CRLF>; none may end the data.
const std::vector<std::string> kSmugglingEndings = {
    "\n.\n",       "\r.\r",     "\r\n.\n",   "\n.\r\n",     "\r.\r\n",    "\n.\r",   "\r\n.\r",
    "\r\n.\r\r\n", "\n\n.\n\n", "\r\r.\r\r", "\r\n.\n\r\n", "\r\n.\r \n", "\n.\n.\n"};

TEST(SmtpDataReader, SmugglingSequencesNeverEndData) {
  for (const std::string& fake : kSmugglingEndings) {
    SCOPED_TRACE(::testing::PrintToString(fake));
    std::string content = "From: a@b.example\r\n\r\nhello" + fake +
                          "MAIL FROM:<admin@victim.example>\r\nRCPT TO:<x@victim.example>\r\nDATA\r\n"
                          "Subject: smuggled\r\n\r\nevil";
    std::string wire = content + fake + "\r\n.\r\nQUIT\r\n";
    Outcome o = run_whole(wire);
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.consumed, wire.size() - 6) << "only the real <CRLF>.<CRLF> ends the data";
    EXPECT_TRUE(o.flags.bare_line_ending);
    ASSERT_TRUE(o.flags.rejection());
    EXPECT_EQ(o.flags.rejection()->code, 550);
    EXPECT_EQ(o.flags.rejection()->enhanced, "5.6.0");
    // The smuggled commands are message content, not commands.
    EXPECT_NE(o.message.find("MAIL FROM:<admin@victim.example>"), std::string::npos);
    EXPECT_NE(o.message.find("Subject: smuggled"), std::string::npos);
    expect_split_invariant(wire);
  }
}

TEST(SmtpDataReader, SmugglingSequenceAsFirstBytes) {
  for (const std::string& fake : kSmugglingEndings) {
    SCOPED_TRACE(::testing::PrintToString(fake));
    // Fake endings right at the start of DATA, and a ".<LF>" where ".<CRLF>" would end it.
    for (std::string wire : {fake + "x\r\n.\r\n", ".\n" + fake + "\r\n.\r\n"}) {
      Outcome o = run_whole(wire);
      EXPECT_TRUE(o.done);
      EXPECT_EQ(o.consumed, wire.size());
      EXPECT_TRUE(o.flags.bare_line_ending);
    }
  }
  Outcome dot_lf = run_whole(".\nMAIL FROM:<a@b.example>\n");
  EXPECT_FALSE(dot_lf.done);
}

TEST(SmtpDataReader, BareLineEndingsAreNotNormalised) {
  Outcome lf = run_whole("a\nb\r\n.\r\n");
  EXPECT_TRUE(lf.done);
  EXPECT_TRUE(lf.flags.bare_line_ending);
  EXPECT_EQ(lf.message, "a\nb\r\n");
  Outcome cr = run_whole("a\rb\r\n.\r\n");
  EXPECT_TRUE(cr.flags.bare_line_ending);
  EXPECT_EQ(cr.message, "a\rb\r\n");
  // A bare CR right before the real terminator: still a real <CRLF>.<CRLF> after it.
  Outcome crcrlf = run_whole("a\r\r\n.\r\n");
  EXPECT_TRUE(crcrlf.done);
  EXPECT_TRUE(crcrlf.flags.bare_line_ending);
  EXPECT_EQ(crcrlf.message, "a\r\r\n");
  expect_split_invariant("a\r\r\n.\r\nX");
  Outcome clean = run_whole("a\r\nb\r\n.\r\n");
  EXPECT_FALSE(clean.flags.bare_line_ending);
}

// ---- Limits and flags -----------------------------------------------------------------------

TEST(SmtpDataReader, SizeLimitReportedAfterEnd) {
  DataLimits limits{.max_message_size = 10, .max_line_length = 1000};
  Outcome exact = run_whole("01234567\r\n.\r\n", limits);  // 10 octets
  EXPECT_FALSE(exact.flags.too_big);
  EXPECT_EQ(exact.message, "01234567\r\n");

  std::string wire = "012345678\r\n" + std::string(5000, 'x') + "\r\n.\r\nQUIT\r\n";
  Outcome big = run_whole(wire, limits);
  EXPECT_TRUE(big.done);  // read to the end; never a reply mid-stream
  EXPECT_TRUE(big.flags.too_big);
  EXPECT_EQ(big.consumed, wire.size() - 6);
  EXPECT_TRUE(big.message.empty()) << "discarded, not buffered";
  ASSERT_TRUE(big.flags.rejection());
  EXPECT_EQ(big.flags.rejection()->code, 552);
  EXPECT_EQ(big.flags.rejection()->enhanced, "5.3.4");
  expect_split_invariant("012345678\r\nabc\r\n.\r\nQUIT\r\n", limits);
}

TEST(SmtpDataReader, SizeCountsUnstuffedOctets) {  // RFC 1870 §4: dot-stuffing does not count
  DataLimits limits{.max_message_size = 9, .max_line_length = 1000};
  Outcome o = run_whole("..234567\r\n.\r\n", limits);  // ".234567\r\n" = 9 octets
  EXPECT_FALSE(o.flags.too_big);
  EXPECT_EQ(o.message, ".234567\r\n");
  DataReader r(limits);
  r.feed("..234567\r\n.\r\n");
  EXPECT_EQ(r.size(), 9u);
}

TEST(SmtpDataReader, TooBigHasPriorityOverOtherFlags) {
  Outcome o = run_whole(std::string("a\nb\0c", 5) + std::string(50, 'x') + "\r\n.\r\n",
                        DataLimits{.max_message_size = 10, .max_line_length = 20});
  EXPECT_TRUE(o.flags.too_big && o.flags.bare_line_ending && o.flags.nul && o.flags.line_too_long);
  EXPECT_EQ(o.flags.rejection()->enhanced, "5.3.4");
}

TEST(SmtpDataReader, LineLengthLimit) {  // RFC 5321 §4.5.3.1.6: 1000 including CRLF
  std::string ok(998, 'a');
  Outcome o = run_whole(ok + "\r\n.\r\n");
  EXPECT_FALSE(o.flags.line_too_long);
  Outcome longer = run_whole(ok + "a\r\nshort\r\n.\r\n");
  EXPECT_TRUE(longer.done);
  EXPECT_TRUE(longer.flags.line_too_long);
  EXPECT_EQ(longer.message, ok + "a\r\nshort\r\n");  // flagged, not truncated
  EXPECT_EQ(longer.flags.rejection()->code, 550);
  DataLimits small{.max_message_size = UINT64_MAX, .max_line_length = 10};
  EXPECT_FALSE(run_whole("12345678\r\n.\r\n", small).flags.line_too_long);
  EXPECT_TRUE(run_whole("123456789\r\n.\r\n", small).flags.line_too_long);
  EXPECT_TRUE(run_whole("..2345678\r\n.\r\n", small).flags.line_too_long);  // the wire line counts
  EXPECT_FALSE(run_whole("12345678\r\n12345678\r\n.\r\n", small).flags.line_too_long);
  expect_split_invariant("123456789\r\n12\r\n.\r\nX", small);
}

TEST(SmtpDataReader, NulByteFlagged) {
  std::string wire("a\0b\r\n.\r\n", 8);
  Outcome o = run_whole(wire);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.flags.nul);
  EXPECT_FALSE(o.flags.bare_line_ending);
  EXPECT_EQ(o.flags.rejection()->code, 550);
  EXPECT_EQ(o.flags.rejection()->text, replies::kNulInMessage.text);
  expect_split_invariant(wire);
}

TEST(SmtpDataReader, EightBitContentPassesThrough) {
  std::string wire = "Subject: caf\xC3\xA9\r\n\r\n\xFF\xFE\r\n.\r\n";
  Outcome o = run_whole(wire);
  EXPECT_FALSE(o.flags.any());
  EXPECT_EQ(o.message, "Subject: caf\xC3\xA9\r\n\r\n\xFF\xFE\r\n");
}

TEST(SmtpDataReader, MixedTranscriptsSplitEverywhere) {
  for (std::string wire :
       {std::string("..\r\n.\r\n"), std::string(".\r\n"), std::string("\r\n.\r\n\r\n.\r\n"),
        std::string("a\r\n..\r\n.a\r\n.\r.\r\n\n.\n\r\n.\r\nMAIL"), std::string("x\r\r\r\n\n\n.\r\n.\r\n"),
        std::string("\0.\r\n.\r\n", 8)}) {
    SCOPED_TRACE(::testing::PrintToString(wire));
    expect_split_invariant(wire);
  }
}

// Property test against an independent oracle: DATA ends exactly after the first <CRLF>.<CRLF>
// (counting the CRLF of the DATA command line), and the flags match a direct scan.
TEST(SmtpDataReader, RandomStreamsMatchOracle) {
  std::mt19937 rng(20240229);
  const std::string alphabet("\r\n.a\0", 5);
  for (int round = 0; round < 20000; ++round) {
    std::string in;
    std::size_t len = rng() % 24;
    for (std::size_t i = 0; i < len; ++i) in.push_back(alphabet[rng() % alphabet.size()]);
    std::size_t marker = ("\r\n" + in).find("\r\n.\r\n");
    Outcome whole = run_whole(in);
    ASSERT_EQ(whole.done, marker != std::string::npos) << ::testing::PrintToString(in);
    ASSERT_EQ(whole.consumed, whole.done ? marker + 3 : in.size()) << ::testing::PrintToString(in);
    std::string_view used = std::string_view(in).substr(0, whole.consumed);
    bool bare = false;
    for (std::size_t i = 0; i < used.size(); ++i) {
      if (used[i] == '\n' && (i == 0 || used[i - 1] != '\r')) bare = true;
      if (used[i] == '\r' && (i + 1 == used.size() || used[i + 1] != '\n')) bare = true;
    }
    if (whole.done) {
      ASSERT_EQ(whole.flags.bare_line_ending, bare) << ::testing::PrintToString(in);
      ASSERT_EQ(whole.flags.nul, used.find('\0') != std::string_view::npos);
    }
    std::size_t cut = in.empty() ? 0 : rng() % (in.size() + 1);
    ASSERT_EQ(run(in, {cut}), whole) << ::testing::PrintToString(in) << " cut " << cut;
  }
}

// ---- BDAT (RFC 3030) ------------------------------------------------------------------------

TEST(SmtpBdatReader, ExactOctetsAndPipelinedRemainder) {
  BdatReader r;
  r.start_chunk(5, false);
  FeedResult f = r.feed("hel");
  EXPECT_EQ(f.consumed, 3u);
  EXPECT_FALSE(f.done);
  EXPECT_EQ(r.remaining(), 2u);
  f = r.feed("lo\r\nBDAT 3 LAST\r\n");
  EXPECT_EQ(f.consumed, 2u);  // the next command stays with the caller
  EXPECT_TRUE(f.done);
  EXPECT_TRUE(r.chunk_done());
  EXPECT_FALSE(r.complete());
  r.start_chunk(3, true);
  f = r.feed("\r\n.QUIT\r\n");  // raw: no dot handling
  EXPECT_EQ(f.consumed, 3u);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.message(), "hello\r\n.");
  EXPECT_FALSE(r.flags().any());
  EXPECT_EQ(r.feed("x").consumed, 0u);
}

TEST(SmtpBdatReader, EmptyLastChunk) {
  BdatReader r;
  r.start_chunk(4, false);
  r.feed("ab\r\n");
  r.start_chunk(0, true);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.feed("QUIT\r\n").consumed, 0u);
  EXPECT_EQ(r.take_message(), "ab\r\n");
}

TEST(SmtpBdatReader, CumulativeSizeLimit) {
  BdatReader r(DataLimits{.max_message_size = 10, .max_line_length = 1000});
  r.start_chunk(6, false);
  r.feed("12345\n");
  EXPECT_FALSE(r.would_exceed(4));
  EXPECT_TRUE(r.would_exceed(5));
  EXPECT_TRUE(r.would_exceed(UINT64_MAX));
  r.start_chunk(5, true);
  FeedResult f = r.feed("abcdeQUIT");
  EXPECT_EQ(f.consumed, 5u);  // still consumed in full
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.flags().too_big);
  EXPECT_TRUE(r.message().empty());
  EXPECT_EQ(r.size(), 11u);
  EXPECT_EQ(r.flags().rejection()->code, 552);
  r.reset();
  EXPECT_FALSE(r.flags().any());
  EXPECT_EQ(r.size(), 0u);
}

TEST(SmtpBdatReader, LineChecksAcrossChunkBorders) {
  {
    BdatReader r;  // CRLF split over two chunks is fine
    r.start_chunk(2, false);
    r.feed("a\r");
    r.start_chunk(3, true);
    r.feed("\nb\n");
    EXPECT_TRUE(r.flags().bare_line_ending);  // the final bare LF
  }
  {
    BdatReader r;
    r.start_chunk(2, false);
    r.feed("a\r");
    r.start_chunk(4, true);
    r.feed("\nb\r\n");
    EXPECT_FALSE(r.flags().bare_line_ending);
    EXPECT_EQ(r.message(), "a\r\nb\r\n");
  }
  {
    BdatReader r;  // message ending in a bare CR
    r.start_chunk(2, true);
    r.feed("a\r");
    EXPECT_TRUE(r.flags().bare_line_ending);
  }
  {
    BdatReader r;  // bare CR before an empty LAST chunk
    r.start_chunk(2, false);
    r.feed("a\r");
    r.start_chunk(0, true);
    EXPECT_TRUE(r.flags().bare_line_ending);
  }
  {
    BdatReader r(DataLimits{.max_message_size = UINT64_MAX, .max_line_length = 6});
    r.start_chunk(13, true);
    r.feed(std::string("abcd\r\nabcde\0\r\n", 13));
    EXPECT_TRUE(r.flags().line_too_long);
    EXPECT_TRUE(r.flags().nul);
  }
}

TEST(SmtpBdatReader, SplitEverywhere) {
  const std::string payload = "Subject: x\r\n\r\n.\r\n..\r\nbody\r\n";
  for (std::size_t cut = 0; cut <= payload.size(); ++cut) {
    BdatReader r;
    r.start_chunk(payload.size(), true);
    std::string wire = payload + "QUIT\r\n";
    FeedResult a = r.feed(std::string_view(wire).substr(0, cut));
    FeedResult b = r.feed(std::string_view(wire).substr(a.consumed));
    EXPECT_EQ(a.consumed + b.consumed, payload.size());
    EXPECT_TRUE(r.complete());
    EXPECT_EQ(r.message(), payload);
    EXPECT_FALSE(r.flags().any());
  }
}

}  // namespace
}  // namespace roost::smtp
