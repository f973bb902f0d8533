// to_blob / from_blob: exact round trip, rejection of bad blobs.
#include "common/mail/serialize.hpp"

#include <gtest/gtest.h>

#include "tests/unit/mail/mail_test_util.hpp"

namespace roost::mail {
namespace {

using testing::crlf;

const std::string kMessages[] = {
    crlf(R"(From: "A \"quoted\" name" <a@example.org>
Sender: s@example.org
To: g: x@y.test, z@w.test;, plain@example.net
Cc: =?utf-8?q?caf=C3=A9?= <c@example.org>
Subject: 8-bit )" "\xFF\xFE" R"( garbage
Message-ID: <m@example.org>
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Language: en, fr
Content-Disposition: inline; filename*=utf-8''%E2%82%AC.txt
Content-ID: <part1@example.org>
Content-MD5: abc=
Content-Location: http://x.test/

hello
--b
Content-Type: message/rfc822

Subject: inner
From: inner@example.org

inner body
--b--
)"),
    "",
    "no header at all, no newline",
    "\r\n\r\n",
};

TEST(SerializeTest, RoundTripIsExact) {
  for (const std::string& raw : kMessages) {
    ParsedMessage m = parse_message(raw);
    std::string blob = to_blob(m);
    std::optional<ParsedMessage> back = from_blob(blob);
    ASSERT_TRUE(back.has_value()) << raw;
    EXPECT_EQ(*back, m) << raw;
    EXPECT_EQ(to_blob(*back), blob);
  }
}

TEST(SerializeTest, RoundTripPreservesEveryField) {
  ParsedMessage m;
  m.limits_hit = true;
  m.top_headers = {{"X", "\xFF raw", 1, 2}};
  m.envelope.from = {Address{"n", "@r", "m", "h", false, false}};
  m.envelope.sender = {Address{"", "", "other", "h", false, false}};  // differs from from
  m.envelope.reply_to = {};                                            // empty, not from
  m.envelope.bcc = {Address{"", "", "g", "", true, false}, Address{"", "", "", "", false, true}};
  m.root.type = "message";
  m.root.subtype = "rfc822";
  m.root.encoding = "8BIT";
  m.root.language = {"en"};
  m.root.params = {{"a", "b"}};
  m.root.disposition_params = {{"c", "d"}};
  m.root.header_offset = 1ull << 40;
  m.root.envelope = Envelope{};
  m.root.children.resize(1);
  m.root.children[0].body_lines = 7;
  auto back = from_blob(to_blob(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
}

TEST(SerializeTest, BlobIsCompact) {
  ParsedMessage m = parse_message(kMessages[0]);
  EXPECT_LT(to_blob(m).size(), kMessages[0].size() + 256);
}

TEST(SerializeTest, RejectsBadBlobs) {
  EXPECT_FALSE(from_blob("").has_value());
  EXPECT_FALSE(from_blob("garbage").has_value());
  // A huge element count in a short blob is refused before anything is allocated for it: version,
  // a root part with 16 empty fields, then a children count of 2^32 - 1.
  std::string huge = "\x02" + std::string(16, '\0') + "\xff\xff\xff\xff\x0f";
  EXPECT_FALSE(from_blob(huge).has_value());
  std::string blob = to_blob(parse_message(kMessages[0]));
  for (size_t cut = 0; cut < blob.size(); cut += 7) EXPECT_FALSE(from_blob(blob.substr(0, cut)).has_value());
  std::string wrong_version = blob;
  wrong_version[0] = 0x03;  // version 3
  EXPECT_FALSE(from_blob(wrong_version).has_value());
  // Any single-byte corruption is either rejected or decodes to something; it never crashes.
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    (void)from_blob(bad);
  }
}

}  // namespace
}  // namespace roost::mail
