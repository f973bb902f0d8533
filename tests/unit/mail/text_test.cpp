// extract_text and the transfer-encoding decoders.
#include "common/mail/text.hpp"

#include <gtest/gtest.h>

#include "tests/unit/mail/mail_test_util.hpp"

namespace roost::mail {
namespace {

using testing::crlf;

TEST(TextTest, Base64) {
  EXPECT_EQ(decode_base64("SGVsbG8sIHdvcmxkIQ=="), "Hello, world!");
  EXPECT_EQ(decode_base64("SGVs\r\nbG8s\r\nIHdv cmxk IQ"), "Hello, world!");
  EXPECT_EQ(decode_base64("QQ==QkM="), "ABC");  // concatenated chunks
  EXPECT_EQ(decode_base64("!!!"), "");
  EXPECT_EQ(decode_base64(""), "");
}

TEST(TextTest, QuotedPrintable) {
  EXPECT_EQ(decode_quoted_printable("caf=E9 =3D ok"), "caf\xE9 = ok");
  EXPECT_EQ(decode_quoted_printable("soft=\r\nbreak\r\nhard   \r\nend"), "softbreak\r\nhard\r\nend");
  EXPECT_EQ(decode_quoted_printable("lf=\nonly\n"), "lfonly\r\n");
  EXPECT_EQ(decode_quoted_printable("bad =ZZ =4"), "bad =ZZ =4");
  EXPECT_EQ(decode_quoted_printable("lower =c3=a9"), "lower \xC3\xA9");
}

TEST(TextTest, HtmlToText) {
  EXPECT_EQ(html_to_text("<p>Hello <b>world</b> &amp; more</p><script>evil()</script>"
                         "<!-- hidden --><style>p{}</style>&#233;&#x20AC;&bogus;"),
            "\nHello world & more\n\xC3\xA9\xE2\x82\xAC&bogus;");
  EXPECT_EQ(html_to_text("a<br/>b"), "a\nb");
  EXPECT_EQ(html_to_text("<script>never closed"), "");
  EXPECT_EQ(html_to_text("1 < 2"), "1 ");  // crude: an unterminated tag eats the rest
}

constexpr std::string_view kMessage = R"(From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>
To: Bob <bob@example.net>, team: carol@example.com;
Subject: =?UTF-8?B?UsOpc3Vtw6k=?= of the week
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 au lait, s'il vous pla=EEt.=
 Encore.
--a
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+SGVsbG8gPGI+d29ybGQ8L2I+ICZhbXA7IG1vcmU8L3A+PHNjcmlwdD5ldmlsKCk8L3Njcmlw
dD4=
--a--
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

c2VjcmV0IGJpbmFyeQ==
--b
Content-Type: message/rfc822

Subject: =?iso-8859-2?Q?=A3=F3d=BC?=
From: inner@example.com

Inner body text.
--b
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit

)"
                                     "\xF0\xD2\xC9\xD7\xC5\xD4"
                                     R"(
--b--
)";

TEST(TextTest, ExtractsDecodedText) {
  const std::string raw = crlf(kMessage);
  ParsedMessage m = parse_message(raw);
  std::string text = extract_text(raw, m);
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_NE(text.find("R\xC3\xA9sum\xC3\xA9 of the week"), std::string::npos) << text;
  EXPECT_NE(text.find("Andr\xC3\xA9 andre@example.org"), std::string::npos) << text;
  EXPECT_NE(text.find("Bob bob@example.net"), std::string::npos) << text;
  EXPECT_NE(text.find("carol@example.com"), std::string::npos) << text;
  EXPECT_NE(text.find("Caf\xC3\xA9 au lait, s'il vous pla\xC3\xAEt. Encore."), std::string::npos) << text;
  EXPECT_NE(text.find("Hello world & more"), std::string::npos) << text;
  EXPECT_EQ(text.find("evil"), std::string::npos) << text;
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;  // not a text part
  EXPECT_NE(text.find("\xC5\x81\xC3\xB3" "d" "\xC5\xBA"), std::string::npos) << text;  // embedded subject
  EXPECT_NE(text.find("inner@example.com"), std::string::npos) << text;
  EXPECT_NE(text.find("Inner body text."), std::string::npos) << text;
  EXPECT_NE(text.find("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(TextTest, MaxBytesCutsOnCharacterBoundary) {
  const std::string raw = crlf(kMessage);
  ParsedMessage m = parse_message(raw);
  for (size_t max = 0; max < 200; ++max) {
    std::string text = extract_text(raw, m, max);
    EXPECT_LE(text.size(), max);
    EXPECT_TRUE(is_valid_utf8(text)) << max;
  }
}

TEST(TextTest, UnknownCharsetAndGarbageStayUtf8) {
  const std::string raw = "Content-Type: text/plain; charset=x-unheard-of\r\n\r\nna\xEFve \xFF\xFE";
  ParsedMessage m = parse_message(raw);
  std::string text = extract_text(raw, m);
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_NE(text.find("na\xC3\xAFve"), std::string::npos);  // read as Latin-1
}

}  // namespace
}  // namespace roost::mail
