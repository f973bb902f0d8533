// parse_message: MIME tree, exact offsets, line counts, defaults, limits.
#include "common/mail/message.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "tests/unit/mail/mail_test_util.hpp"

namespace roost::mail {
namespace {

using testing::body_of;
using testing::crlf;
using testing::expect_invariants;
using testing::header_of;

// RFC 2046 §5.1.1, verbatim.
constexpr std::string_view kRfc2046Example =
    R"(From: Nathaniel Borenstein <nsb@bellcore.com>
To: Ned Freed <ned@innosoft.com>
Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)
Subject: Sample message
MIME-Version: 1.0
Content-type: multipart/mixed; boundary="simple boundary"

This is the preamble.  It is to be ignored, though it
is a handy place for composition agents to include an
explanatory note to non-MIME conformant readers.

--simple boundary

This is implicitly typed plain US-ASCII text.
It does NOT end with a linebreak.
--simple boundary
Content-type: text/plain; charset=us-ascii

This is explicitly typed plain US-ASCII text.
It DOES end with a linebreak.

--simple boundary--

This is the epilogue.  It is also to be ignored.
)";

void check_rfc2046_example(const std::string& raw, std::string_view nl) {
  auto nls = [&](std::string_view lf_text) {
    return nl == "\n" ? std::string(lf_text) : crlf(lf_text);
  };
  ParsedMessage m = parse_message(raw);
  expect_invariants(raw, m.root);
  const Part& root = m.root;
  EXPECT_EQ(root.type, "multipart");
  EXPECT_EQ(root.subtype, "mixed");
  ASSERT_EQ(root.params.size(), 1u);
  EXPECT_EQ(root.params[0].first, "boundary");
  EXPECT_EQ(root.params[0].second, "simple boundary");
  EXPECT_EQ(root.header_offset, 0u);
  EXPECT_EQ(header_of(raw, root), raw.substr(0, raw.find(nls("\n\n")) + 2 * nl.size()));
  EXPECT_EQ(root.body_offset + root.body_size, raw.size());
  EXPECT_FALSE(m.limits_hit);

  ASSERT_EQ(root.children.size(), 2u);
  const Part& p1 = root.children[0];
  EXPECT_EQ(header_of(raw, p1), nl);  // no header fields: just the blank line
  EXPECT_EQ(body_of(raw, p1),
            nls("This is implicitly typed plain US-ASCII text.\nIt does NOT end with a linebreak."));
  EXPECT_EQ(p1.type, "text");
  EXPECT_EQ(p1.subtype, "plain");
  EXPECT_TRUE(p1.params.empty());
  EXPECT_EQ(p1.encoding, "7BIT");
  EXPECT_EQ(p1.body_lines, 2u);

  const Part& p2 = root.children[1];
  EXPECT_EQ(header_of(raw, p2), nls("Content-type: text/plain; charset=us-ascii\n\n"));
  EXPECT_EQ(body_of(raw, p2),
            nls("This is explicitly typed plain US-ASCII text.\nIt DOES end with a linebreak.\n"));
  ASSERT_EQ(p2.params.size(), 1u);
  EXPECT_EQ(p2.params[0], (std::pair<std::string, std::string>{"charset", "us-ascii"}));
  EXPECT_EQ(p2.body_lines, 2u);

  EXPECT_EQ(m.envelope.subject, "Sample message");
  EXPECT_EQ(m.envelope.date, "Sun, 21 Mar 1993 23:56:48 -0800 (PST)");
  ASSERT_EQ(m.envelope.from.size(), 1u);
  EXPECT_EQ(m.envelope.from[0].name, "Nathaniel Borenstein");
  EXPECT_EQ(m.envelope.from[0].mailbox, "nsb");
  EXPECT_EQ(m.envelope.from[0].host, "bellcore.com");
  EXPECT_EQ(m.envelope.sender, m.envelope.from);  // RFC 3501 §7.4.2 default
  EXPECT_EQ(m.envelope.reply_to, m.envelope.from);
  ASSERT_EQ(m.envelope.to.size(), 1u);
  EXPECT_EQ(m.envelope.to[0].mailbox, "ned");
  EXPECT_TRUE(m.envelope.cc.empty());
  ASSERT_EQ(m.top_headers.size(), 6u);
  EXPECT_EQ(m.top_headers[3].name, "Subject");
  EXPECT_EQ(m.top_headers[3].value, " Sample message");
  EXPECT_EQ(raw.substr(m.top_headers[3].offset, m.top_headers[3].size),
            nls("Subject: Sample message\n"));
}

TEST(MessageTest, Rfc2046ExampleCrlf) { check_rfc2046_example(crlf(kRfc2046Example), "\r\n"); }

TEST(MessageTest, Rfc2046ExampleLfOnly) { check_rfc2046_example(std::string(kRfc2046Example), "\n"); }

constexpr std::string_view kNested = R"(From: Alice <alice@example.org>
To: Bob <bob@example.net>
Subject: Fwd: report
Message-ID: <outer@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain; charset=utf-8

See the forwarded message.
--outer
Content-Type: message/rfc822
Content-Description: forwarded

From: Carol <carol@example.com>
Sender: Dave <dave@example.com>
Reply-To: list@example.com
To: "Team" <team@example.com>, Eve <eve@example.com>
Cc: undisclosed-recipients:;
Subject: Quarterly report
Date: Mon, 1 Jan 2024 10:00:00 +0000
In-Reply-To: <prev@example.com>
Message-ID: <inner@example.com>
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain

Numbers are up.
Line two.
--alt
Content-Type: text/html

<p>Numbers are up.</p>
--alt--
--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

AAECAwQ=
--outer--
)";

TEST(MessageTest, NestedMultipartWithMessageRfc822) {
  const std::string raw = crlf(kNested);
  ParsedMessage m = parse_message(raw);
  expect_invariants(raw, m.root);
  ASSERT_EQ(m.root.children.size(), 3u);
  EXPECT_EQ(m.envelope.message_id, "<outer@example.org>");

  const Part& text = m.root.children[0];
  EXPECT_EQ(body_of(raw, text), "See the forwarded message.");
  EXPECT_EQ(text.body_lines, 1u);

  const Part& msg = m.root.children[1];
  EXPECT_EQ(msg.type, "message");
  EXPECT_EQ(msg.subtype, "rfc822");
  EXPECT_EQ(msg.description, "forwarded");
  ASSERT_TRUE(msg.envelope.has_value());
  const Envelope& env = *msg.envelope;
  EXPECT_EQ(env.subject, "Quarterly report");
  EXPECT_EQ(env.date, "Mon, 1 Jan 2024 10:00:00 +0000");
  EXPECT_EQ(env.in_reply_to, "<prev@example.com>");
  EXPECT_EQ(env.message_id, "<inner@example.com>");
  ASSERT_EQ(env.from.size(), 1u);
  EXPECT_EQ(env.from[0].name, "Carol");
  ASSERT_EQ(env.sender.size(), 1u);
  EXPECT_EQ(env.sender[0].mailbox, "dave");
  ASSERT_EQ(env.reply_to.size(), 1u);
  EXPECT_EQ(env.reply_to[0].mailbox, "list");
  EXPECT_EQ(env.reply_to[0].name, "");
  ASSERT_EQ(env.to.size(), 2u);
  EXPECT_EQ(env.to[0].name, "Team");
  ASSERT_EQ(env.cc.size(), 2u);
  EXPECT_TRUE(env.cc[0].group_start);
  EXPECT_EQ(env.cc[0].mailbox, "undisclosed-recipients");
  EXPECT_TRUE(env.cc[1].group_end);

  // The message/rfc822 body is the whole embedded message; its one child is that message.
  std::string_view embedded = body_of(raw, msg);
  EXPECT_EQ(embedded.substr(0, 6), "From: ");
  EXPECT_EQ(embedded.substr(embedded.size() - 7), "--alt--");
  EXPECT_EQ(msg.body_lines, 21u);
  ASSERT_EQ(msg.children.size(), 1u);
  const Part& inner = msg.children[0];
  EXPECT_EQ(inner.header_offset, msg.body_offset);
  EXPECT_EQ(inner.body_offset + inner.body_size, msg.body_offset + msg.body_size);
  EXPECT_EQ(inner.type, "multipart");
  EXPECT_EQ(inner.subtype, "alternative");
  ASSERT_EQ(inner.children.size(), 2u);
  EXPECT_EQ(body_of(raw, inner.children[0]), "Numbers are up.\r\nLine two.");
  EXPECT_EQ(inner.children[0].body_lines, 2u);
  EXPECT_EQ(body_of(raw, inner.children[1]), "<p>Numbers are up.</p>");
  EXPECT_EQ(inner.children[1].subtype, "html");

  const Part& att = m.root.children[2];
  EXPECT_EQ(att.type, "application");
  EXPECT_EQ(att.encoding, "BASE64");
  EXPECT_EQ(att.disposition, "attachment");
  ASSERT_EQ(att.disposition_params.size(), 1u);
  EXPECT_EQ(att.disposition_params[0].second, "data.bin");
  EXPECT_EQ(body_of(raw, att), "AAECAwQ=");

  // IMAP section numbers (RFC 3501 §6.4.5).
  const uint32_t s2[] = {2};
  const uint32_t s21[] = {2, 1};
  const uint32_t s22[] = {2, 2};
  const uint32_t s23[] = {2, 3};
  const uint32_t s4[] = {4};
  const uint32_t s11[] = {1, 1};
  EXPECT_EQ(find_section(m.root, {}), &m.root);
  EXPECT_EQ(find_section(m.root, s2), &msg);
  EXPECT_EQ(find_section(m.root, s21), &inner.children[0]);
  EXPECT_EQ(find_section(m.root, s22), &inner.children[1]);
  EXPECT_EQ(find_section(m.root, s23), nullptr);
  EXPECT_EQ(find_section(m.root, s4), nullptr);
  EXPECT_EQ(find_section(m.root, s11), nullptr);
}

TEST(MessageTest, SinglePartSectionOneIsTheBody) {
  const std::string raw = crlf("Subject: hi\n\nbody\n");
  ParsedMessage m = parse_message(raw);
  const uint32_t s1[] = {1};
  const uint32_t s2[] = {2};
  EXPECT_EQ(find_section(m.root, s1), &m.root);
  EXPECT_EQ(find_section(m.root, s2), nullptr);
}

TEST(MessageTest, DigestDefaultsToMessageRfc822) {
  const std::string raw = crlf(R"(Content-Type: multipart/digest; boundary="d"

--d

Subject: first

one
--d
Content-Type: text/plain

not a message
--d

Subject: third
Content-Type: multipart/mixed; boundary=x

--x

inner
--x--
--d--
)");
  ParsedMessage m = parse_message(raw);
  expect_invariants(raw, m.root);
  ASSERT_EQ(m.root.children.size(), 3u);
  const Part& a = m.root.children[0];
  EXPECT_EQ(a.type, "message");  // RFC 2046 §5.1.5
  EXPECT_EQ(a.subtype, "rfc822");
  ASSERT_TRUE(a.envelope);
  EXPECT_EQ(a.envelope->subject, "first");
  ASSERT_EQ(a.children.size(), 1u);
  EXPECT_EQ(a.children[0].type, "text");  // inside the embedded message, the default is text again
  EXPECT_EQ(body_of(raw, a.children[0]), "one");

  EXPECT_EQ(m.root.children[1].type, "text");
  EXPECT_FALSE(m.root.children[1].envelope);

  const Part& c = m.root.children[2];
  ASSERT_TRUE(c.envelope);
  EXPECT_EQ(c.envelope->subject, "third");
  ASSERT_EQ(c.children.size(), 1u);
  ASSERT_EQ(c.children[0].children.size(), 1u);
  EXPECT_EQ(body_of(raw, c.children[0].children[0]), "inner");
  EXPECT_EQ(c.children[0].children[0].type, "text");  // multipart/mixed child: text/plain default
}

TEST(MessageTest, LineCounts) {
  auto lines_of = [](std::string body) {
    std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + body + "\r\n--b--\r\n";
    ParsedMessage m = parse_message(raw);
    EXPECT_EQ(m.root.children.size(), 1u);
    EXPECT_EQ(body_of(raw, m.root.children.at(0)), body);
    return m.root.children.at(0).body_lines;
  };
  EXPECT_EQ(lines_of(""), 0u);
  EXPECT_EQ(lines_of("a"), 1u);
  EXPECT_EQ(lines_of("a\r\n"), 1u);
  EXPECT_EQ(lines_of("a\r\nb"), 2u);
  EXPECT_EQ(lines_of("a\r\nb\r\n"), 2u);
  EXPECT_EQ(lines_of("\r\n\r\n\r\n"), 3u);

  ParsedMessage m = parse_message("Subject: x\n\none\ntwo\nthree\n");
  EXPECT_EQ(m.root.body_lines, 3u);
}

TEST(MessageTest, MissingFinalBoundary) {
  const std::string raw = crlf(R"(Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

first
--b
Content-Type: multipart/alternative; boundary=inner

--inner

alt one
--inner

alt two
)");
  ParsedMessage m = parse_message(raw);
  expect_invariants(raw, m.root);
  ASSERT_EQ(m.root.children.size(), 2u);
  EXPECT_EQ(body_of(raw, m.root.children[0]), "first");
  const Part& alt = m.root.children[1];
  EXPECT_EQ(alt.body_offset + alt.body_size, raw.size());
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(body_of(raw, alt.children[1]), "alt two\r\n");  // runs to the end of the message
}

TEST(MessageTest, OuterDelimiterClosesInnerMultipart) {
  const std::string raw = crlf(R"(Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner

a
--outer

b
--outer--
)");
  ParsedMessage m = parse_message(raw);
  expect_invariants(raw, m.root);
  ASSERT_EQ(m.root.children.size(), 2u);
  ASSERT_EQ(m.root.children[0].children.size(), 1u);
  EXPECT_EQ(body_of(raw, m.root.children[0].children[0]), "a");
  EXPECT_EQ(body_of(raw, m.root.children[1]), "b");
}

TEST(MessageTest, BoundaryMustMatchWholeLine) {
  const std::string raw = crlf(R"(Content-Type: multipart/mixed; boundary=abc

--abc

--abcdef is text
--abc x is text too
--abc  
Content-Type: text/plain

second
--abc--  
)");
  ParsedMessage m = parse_message(raw);
  ASSERT_EQ(m.root.children.size(), 2u);  // transport padding after the boundary is allowed
  EXPECT_EQ(body_of(raw, m.root.children[0]), "--abcdef is text\r\n--abc x is text too");
  EXPECT_EQ(body_of(raw, m.root.children[1]), "second");
}

TEST(MessageTest, HeaderWithoutBody) {
  const std::string raw = "Subject: only a header\r\nFrom: a@b.example\r\n";
  ParsedMessage m = parse_message(raw);
  EXPECT_EQ(m.root.header_size, raw.size());
  EXPECT_EQ(m.root.body_offset, raw.size());
  EXPECT_EQ(m.root.body_size, 0u);
  EXPECT_EQ(m.root.body_lines, 0u);
  EXPECT_EQ(m.envelope.subject, "only a header");
  ASSERT_EQ(m.envelope.from.size(), 1u);
  EXPECT_EQ(m.envelope.from[0].host, "b.example");
}

TEST(MessageTest, MessageWithoutHeader) {
  const std::string raw = "\r\nJust a body.\r\n";
  ParsedMessage m = parse_message(raw);
  EXPECT_EQ(m.root.header_size, 2u);
  EXPECT_EQ(body_of(raw, m.root), "Just a body.\r\n");
  EXPECT_TRUE(m.top_headers.empty());
  EXPECT_EQ(m.root.type, "text");
  EXPECT_TRUE(m.envelope.from.empty());

  ParsedMessage empty = parse_message("");
  EXPECT_EQ(empty.root.header_size, 0u);
  EXPECT_EQ(empty.root.body_size, 0u);
}

TEST(MessageTest, PartHeaderCutByDelimiter) {
  const std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n--b--\r\n";
  ParsedMessage m = parse_message(raw);
  ASSERT_EQ(m.root.children.size(), 1u);
  const Part& p = m.root.children[0];
  EXPECT_EQ(header_of(raw, p), "Content-Type: text/html");
  EXPECT_EQ(p.body_size, 0u);
  EXPECT_EQ(p.subtype, "html");
}

TEST(MessageTest, ContentFieldsAndDefaults) {
  const std::string raw = crlf(R"(Content-Type: text/plain;
 charset="iso-8859-1"; format=flowed
Content-Transfer-Encoding: Quoted-Printable (comment)
Content-ID: <id1@example>
Content-Description: A description
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Disposition: inline; filename*=UTF-8''%E2%82%AC.txt
Content-Language: en, de (German)
Content-Location: http://example.com/x

body
)");
  ParsedMessage m = parse_message(raw);
  const Part& p = m.root;
  EXPECT_EQ(p.params.size(), 2u);
  EXPECT_EQ(*find_param(p.params, "charset"), "iso-8859-1");
  EXPECT_EQ(p.encoding, "QUOTED-PRINTABLE");
  EXPECT_EQ(p.id, "<id1@example>");
  EXPECT_EQ(p.description, "A description");
  EXPECT_EQ(p.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  EXPECT_EQ(p.disposition, "inline");
  EXPECT_EQ(*find_param(p.disposition_params, "filename"), "\xE2\x82\xAC.txt");
  EXPECT_EQ(p.language, (std::vector<std::string>{"en", "de"}));
  EXPECT_EQ(p.location, "http://example.com/x");

  ParsedMessage invalid = parse_message("Content-Type: garbage\r\n\r\nx");
  EXPECT_EQ(invalid.root.type, "text");  // RFC 2045 §5.2
  EXPECT_EQ(invalid.root.subtype, "plain");
}

TEST(MessageTest, EncodedMessageRfc822IsALeaf) {
  const std::string raw = crlf(R"(Content-Type: message/rfc822
Content-Transfer-Encoding: base64

U3ViamVjdDogeA0KDQpib2R5
)");
  ParsedMessage m = parse_message(raw);
  EXPECT_TRUE(m.root.children.empty());
  EXPECT_FALSE(m.root.envelope);
}

TEST(MessageTest, MultipartWithoutBoundaryHasNoChildren) {
  ParsedMessage m = parse_message("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n");
  EXPECT_EQ(m.root.type, "multipart");
  EXPECT_TRUE(m.root.children.empty());
}

TEST(MessageTest, DeepNestingIsBounded) {
  constexpr int kLevels = 10000;
  std::string raw;
  for (int i = 0; i < kLevels; ++i)
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  raw += "Content-Type: text/plain\r\n\r\ndeep\r\n";
  for (int i = kLevels; i-- > 0;) raw += "--b" + std::to_string(i) + "--\r\n";

  auto t0 = std::chrono::steady_clock::now();
  ParsedMessage m = parse_message(raw);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_TRUE(m.limits_hit);
  expect_invariants(raw, m.root);

  size_t depth = 0;
  const Part* p = &m.root;
  while (!p->children.empty()) {
    ASSERT_EQ(p->children.size(), 1u);
    p = &p->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, ParseLimits{}.max_depth);
  EXPECT_EQ(p->type, "application");  // the level that would nest deeper is opaque
  EXPECT_EQ(p->subtype, "octet-stream");

  ParseLimits small;
  small.max_depth = 3;
  ParsedMessage s = parse_message(raw, small);
  depth = 0;
  for (p = &s.root; !p->children.empty(); p = &p->children[0]) ++depth;
  EXPECT_EQ(depth, 3u);
}

TEST(MessageTest, DeepMessageRfc822NestingIsBounded) {
  std::string raw;
  for (int i = 0; i < 10000; ++i) raw += "Subject: level\r\nContent-Type: message/rfc822\r\n\r\n";
  raw += "Subject: bottom\r\n\r\nhello\r\n";
  ParsedMessage m = parse_message(raw);
  size_t depth = 0;
  for (const Part* p = &m.root; !p->children.empty(); p = &p->children[0]) ++depth;
  EXPECT_EQ(depth, 64u);
  EXPECT_TRUE(m.limits_hit);
  expect_invariants(raw, m.root);
}

TEST(MessageTest, PartCountIsBounded) {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 100000; ++i) raw += "--b\r\n\r\nx\r\n";
  raw += "--b--\r\n";
  ParsedMessage m = parse_message(raw);
  EXPECT_EQ(m.root.children.size(), ParseLimits{}.max_parts - 1);  // root counts too
  EXPECT_TRUE(m.limits_hit);
  expect_invariants(raw, m.root);
  EXPECT_EQ(body_of(raw, m.root.children.back()), "x");
}

TEST(MessageTest, ManyHeaderFieldsAreBounded) {
  std::string raw;
  for (int i = 0; i < 100000; ++i) raw += "X-Field-" + std::to_string(i) + ": value\r\n";
  raw += "Subject: after the cap\r\n\r\nbody\r\n";
  auto t0 = std::chrono::steady_clock::now();
  ParsedMessage m = parse_message(raw);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(m.top_headers.size(), ParseLimits{}.max_header_fields);
  EXPECT_TRUE(m.limits_hit);
  EXPECT_EQ(m.envelope.subject, "");  // beyond the recorded fields
  EXPECT_EQ(body_of(raw, m.root), "body\r\n");  // offsets stay exact regardless

  ParseLimits bytes;
  bytes.max_header_bytes = 1000;
  ParsedMessage b = parse_message(raw, bytes);
  EXPECT_LT(b.top_headers.size(), 100u);
  EXPECT_EQ(body_of(raw, b.root), "body\r\n");
}

TEST(MessageTest, GarbageNeverBreaksInvariants) {
  std::mt19937 rng(12345);
  const std::string alphabet = "-\r\n:;= \"bB/\\()<>@,\x80\xff" "abcmultipartxContent-Type";
  for (int round = 0; round < 300; ++round) {
    std::string raw = round % 2 ? "Content-Type: multipart/mixed; boundary=b\r\n\r\n" : "";
    size_t len = rng() % 2000;
    for (size_t i = 0; i < len; ++i) {
      switch (rng() % 8) {
        case 0: raw += "\r\n--b"; break;
        case 1: raw += "\r\nContent-Type: message/rfc822\r\n\r\n"; break;
        case 2: raw += "\nContent-Type: multipart/digest; boundary=b\n\n"; break;
        default: raw += alphabet[rng() % alphabet.size()];
      }
    }
    ParsedMessage m = parse_message(raw);
    expect_invariants(raw, m.root);
  }
}

}  // namespace
}  // namespace roost::mail
