// Header fields, unfolding, RFC 2047 encoded-words, Content-Type / -Disposition, RFC 2231.
#include "common/mail/header.hpp"

#include <gtest/gtest.h>

namespace roost::mail {
namespace {

TEST(HeaderTest, SplitFieldsKeepsFoldingAndOffsets) {
  const std::string block = "Subject: a\r\n b\r\nTo : x@y\r\nno colon here\r\n\r\nbody";
  auto fields = split_header_fields(block);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "Subject");
  EXPECT_EQ(fields[0].value, " a\r\n b");
  EXPECT_EQ(fields[0].offset, 0u);
  EXPECT_EQ(block.substr(fields[0].offset, fields[0].size), "Subject: a\r\n b\r\n");
  EXPECT_EQ(fields[1].name, "To");  // RFC 5322 §4.5.3: WSP before the colon
  EXPECT_EQ(fields[1].value, " x@y");
  EXPECT_EQ(block.substr(fields[1].offset, fields[1].size), "To : x@y\r\n");
  EXPECT_EQ(fields[2].name, "no colon here");
  EXPECT_EQ(fields[2].value, "");
  EXPECT_EQ(unfold_trim(fields[0].value), "a b");

  EXPECT_EQ(split_header_fields(block, 1).size(), 1u);
  EXPECT_EQ(split_header_fields("A: 1\nB: 2\n  2b\n\nC: 3").size(), 2u);  // bare LF
}

TEST(HeaderTest, CaseInsensitiveLookup) {
  std::vector<HeaderField> fields = {{"Subject", " one", 0, 0}, {"SUBJECT", " two", 0, 0}};
  ASSERT_NE(find_field(fields, "subject"), nullptr);
  EXPECT_EQ(find_field(fields, "subject")->value, " one");
  EXPECT_EQ(find_field(fields, "from"), nullptr);
}

// RFC 2047 §8 examples.
TEST(HeaderTest, Rfc2047Section8Examples) {
  EXPECT_EQ(decode_rfc2047("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"), "Keith Moore <moore@cs.utk.edu>");
  EXPECT_EQ(decode_rfc2047("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
            "Keld J\xC3\xB8rn Simonsen <keld@dkuug.dk>");
  EXPECT_EQ(decode_rfc2047("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
            "Andr\xC3\xA9 Pirard <PIRARD@vm1.ulg.ac.be>");
  EXPECT_EQ(decode_rfc2047(" =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                           "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
            "If you can read this you understand the example.");
  EXPECT_EQ(decode_rfc2047("=?ISO-8859-1?Q?Olle_J=E4rnefors?="), "Olle J\xC3\xA4rnefors");
  EXPECT_EQ(decode_rfc2047("Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)"),
            "Nathaniel Borenstein <nsb@thumper.bellcore.com>    "
            "(\xD7\x9D\xD7\x95\xD7\x9C\xD7\xA9 \xD7\x9F\xD7\x91 \xD7\x99\xD7\x9C\xD7\x98\xD7\xA4\xD7\xA0)");
  // The display-whitespace table at the end of §8.
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?=)"), "(a)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  EXPECT_EQ(decode_rfc2047("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
}

TEST(HeaderTest, Rfc2047EdgeCases) {
  // RFC 2231 §5 language suffix.
  EXPECT_EQ(decode_rfc2047("=?US-ASCII*EN?Q?Keith_Moore?="), "Keith Moore");
  // A UTF-8 character split across two encoded-words is reassembled.
  EXPECT_EQ(decode_rfc2047("=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?="), "caf\xC3\xA9");
  EXPECT_EQ(decode_rfc2047("=?utf-8?b?w6k=?="), "\xC3\xA9");
  // Unknown charset: kept as written.
  EXPECT_EQ(decode_rfc2047("=?x-no-such-charset?Q?abc?= tail"), "=?x-no-such-charset?Q?abc?= tail");
  // Not encoded-words: malformed ones stay literal.
  EXPECT_EQ(decode_rfc2047("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
  EXPECT_EQ(decode_rfc2047("=?utf-8?Q?a b?="), "=?utf-8?Q?a b?=");
  EXPECT_EQ(decode_rfc2047("price =? 5"), "price =? 5");
  // Raw 8-bit: UTF-8 kept, anything else read as Latin-1; output is always UTF-8.
  EXPECT_EQ(decode_rfc2047("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(decode_rfc2047("caf\xE9"), "caf\xC3\xA9");
  EXPECT_TRUE(is_valid_utf8(decode_rfc2047("=?utf-8?q?=FF=FE?=")));
}

TEST(HeaderTest, CharsetConversion) {
  EXPECT_EQ(*charset_to_utf8("\xF0\xD2\xC9\xD7\xC5\xD4", "KOI8-R"),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  EXPECT_EQ(*charset_to_utf8("\xA3", "\"ISO-8859-2\""), "\xC5\x81");
  EXPECT_EQ(*charset_to_utf8("a\x80z", "windows-1252"), "a\xE2\x82\xAC" "z");
  EXPECT_FALSE(charset_to_utf8("x", "no-such-charset").has_value());
  EXPECT_FALSE(charset_to_utf8("x", "UTF-8//TRANSLIT").has_value());
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));  // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // surrogate
}

TEST(HeaderTest, ContentType) {
  ContentType ct = parse_content_type(" Multipart/Mixed; Boundary=\"simple boundary\"");
  EXPECT_TRUE(ct.valid);
  EXPECT_EQ(ct.type, "multipart");
  EXPECT_EQ(ct.subtype, "mixed");
  ASSERT_EQ(ct.params.size(), 1u);
  EXPECT_EQ(ct.params[0].first, "boundary");
  EXPECT_EQ(ct.params[0].second, "simple boundary");

  // RFC 2045 §5.1: comments are allowed; they are not part of values.
  ct = parse_content_type("text/plain; charset=us-ascii (Plain text)");
  ASSERT_EQ(ct.params.size(), 1u);
  EXPECT_EQ(ct.params[0].second, "us-ascii");
  ct = parse_content_type("(c) text (x) / (y) html ; (z) charset = \"a\\\"b\" ; format=flowed");
  EXPECT_EQ(ct.subtype, "html");
  ASSERT_EQ(ct.params.size(), 2u);
  EXPECT_EQ(ct.params[0].second, "a\"b");
  EXPECT_EQ(ct.params[1].second, "flowed");

  ct = parse_content_type("text/plain;\r\n\tcharset=utf-8;;; name=my file.txt");
  EXPECT_EQ(*find_param(ct.params, "charset"), "utf-8");
  EXPECT_EQ(*find_param(ct.params, "name"), "my file.txt");

  EXPECT_FALSE(parse_content_type("garbage").valid);
  EXPECT_FALSE(parse_content_type("").valid);
  EXPECT_FALSE(parse_content_type("/plain").valid);
  ct = parse_content_type("text/; ;=; =x; y; \"q\"=z; ok=1");
  EXPECT_FALSE(ct.valid);
  EXPECT_EQ(*find_param(ct.params, "ok"), "1");
}

// RFC 2231 §3, §4, §4.1 examples.
TEST(HeaderTest, Rfc2231Parameters) {
  ContentType ct = parse_content_type(
      "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n"
      " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
  ASSERT_EQ(ct.params.size(), 2u);
  EXPECT_EQ(ct.params[1].first, "url");
  EXPECT_EQ(ct.params[1].second, "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");

  ct = parse_content_type("application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
  EXPECT_EQ(*find_param(ct.params, "title"), "This is ***fun***");

  ct = parse_content_type(
      "application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
      " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"");
  EXPECT_EQ(*find_param(ct.params, "title"), "This is even more ***fun*** isn't it!");

  // Sections out of order, charset conversion, extended value wins over the plain fallback.
  ContentDisposition cd = parse_content_disposition(
      "Attachment; filename=\"fallback.pdf\"; filename*1*=m%E9.pdf; "
      "filename*0*=iso-8859-1''r%E9sum%E9%20; size=10");
  EXPECT_EQ(cd.type, "attachment");
  ASSERT_EQ(cd.params.size(), 2u);
  EXPECT_EQ(cd.params[0].first, "filename");
  EXPECT_EQ(cd.params[0].second, "r\xC3\xA9sum\xC3\xA9 m\xC3\xA9.pdf");
  EXPECT_EQ(cd.params[1].second, "10");

  cd = parse_content_disposition("inline; filename*=UTF-8''%E2%82%AC%20rates.txt");
  EXPECT_EQ(*find_param(cd.params, "filename"), "\xE2\x82\xAC rates.txt");
  // Unknown charset: bytes kept (as UTF-8 if they are, else Latin-1).
  cd = parse_content_disposition("inline; filename*=x-bogus''a%41");
  EXPECT_EQ(*find_param(cd.params, "filename"), "aA");
  // Not 2231 after all: a '*' followed by non-digits.
  cd = parse_content_disposition("inline; a*b=c");
  EXPECT_EQ(*find_param(cd.params, "a*b"), "c");
}

TEST(HeaderTest, StripCfws) {
  EXPECT_EQ(strip_cfws(" base64 (comment (nested)) "), "base64");
  EXPECT_EQ(strip_cfws("7bit\r\n "), "7bit");
  EXPECT_EQ(strip_cfws("(unterminated"), "");
}

}  // namespace
}  // namespace roost::mail
