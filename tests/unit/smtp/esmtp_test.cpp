// RFC 5321 §4.1.1.1 EHLO reply and the options derived from it.
#include "smtpd/protocol/esmtp.hpp"

#include <gtest/gtest.h>

namespace roost::smtp {
namespace {

TEST(SmtpEsmtp, AllExtensions) {
  Extensions e;
  e.size = 10485760;
  e.starttls = true;
  e.auth_mechanisms = {"PLAIN", "LOGIN"};
  EXPECT_EQ(ehlo_keywords(e), (std::vector<std::string>{"PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8",
                                                        "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN",
                                                        "CHUNKING", "DSN"}));
  EXPECT_EQ(format_ehlo_reply("mx.example greets client.example", e),
            "250-mx.example greets client.example\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n"
            "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n"
            "250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250 DSN\r\n");
}

TEST(SmtpEsmtp, NothingAdvertised) {
  Extensions e;
  e.pipelining = e.eightbitmime = e.smtputf8 = e.enhanced_status_codes = e.chunking = e.dsn = false;
  EXPECT_TRUE(ehlo_keywords(e).empty());
  EXPECT_EQ(format_ehlo_reply("mx.example", e), "250 mx.example\r\n");
  ParseOptions o = parse_options_for(e);
  EXPECT_EQ(o.max_line_length, kMaxCommandLineLength);
  EXPECT_FALSE(o.size || o.eightbitmime || o.smtputf8 || o.dsn || o.auth || o.chunking || o.binarymime);
  // Parameters of unadvertised extensions are unknown: 555.
  auto r = parse_command("MAIL FROM:<a@x.example> BODY=8BITMIME", o);
  ASSERT_TRUE(std::holds_alternative<ParseError>(r));
  EXPECT_EQ(std::get<ParseError>(r).code, 555);
  auto b = parse_command("BDAT 1 LAST", o);
  ASSERT_TRUE(std::holds_alternative<ParseError>(b));
  EXPECT_EQ(std::get<ParseError>(b).code, 502);
}

TEST(SmtpEsmtp, SizeZeroMeansNoLimit) {  // RFC 1870 §4
  Extensions e;
  e.size = 0;
  EXPECT_EQ(ehlo_keywords(e).at(1), "SIZE 0");
}

TEST(SmtpEsmtp, OptionsFollowExtensions) {
  Extensions e;
  e.size = 1000;
  e.auth_mechanisms = {"PLAIN"};
  ParseOptions o = parse_options_for(e, true);
  EXPECT_TRUE(o.size && o.eightbitmime && o.smtputf8 && o.dsn && o.auth && o.chunking);
  EXPECT_FALSE(o.binarymime);
  EXPECT_TRUE(o.smtputf8_transaction);
  EXPECT_GE(o.max_line_length, 512u + 26 + 530 + 500 + 10);
  EXPECT_EQ(o.max_auth_line_length, kMaxAuthLineLength);
  // A DSN-sized RCPT line (RFC 3461 §5.4: 512 + 530) parses.
  std::string line =
      "RCPT TO:<a@x.example> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + std::string(480, 'a');
  EXPECT_TRUE(std::holds_alternative<Command>(parse_command(line, o)));
}

}  // namespace
}  // namespace roost::smtp
