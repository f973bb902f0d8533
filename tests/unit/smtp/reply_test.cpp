// RFC 5321 §4.2 reply formatting.
#include "smtpd/protocol/reply.hpp"

#include <gtest/gtest.h>

#include "smtpd/protocol/command.hpp"

namespace roost::smtp {
namespace {

TEST(SmtpReply, SingleLine) {
  EXPECT_EQ(format_reply(250, "2.1.0", "Ok"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(format_reply(354, "", "End data with <CR><LF>.<CR><LF>"),
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(format_reply(250, "", ""), "250 \r\n");
  EXPECT_EQ(format_reply(250, "2.0.0", ""), "250 2.0.0\r\n");
}

TEST(SmtpReply, TextIsSanitised) {
  // Echoed client input must not be able to inject a second reply line.
  EXPECT_EQ(format_reply(501, "5.1.3", "bad <x\r\n250 ok>"), "501 5.1.3 bad <x??250 ok>\r\n");
  EXPECT_EQ(format_reply(501, "", std::string_view("a\0b\tc\x7F\xC3\xA9", 8)), "501 a?b?c???\r\n");
}

TEST(SmtpReply, LongTextTruncatedTo512) {
  std::string r = format_reply(550, "5.1.1", std::string(2000, 'x'));
  EXPECT_EQ(r.size(), kMaxReplyLineLength);
  EXPECT_EQ(r.substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(r.substr(r.size() - 2), "\r\n");
}

TEST(SmtpReply, InvalidCodeBecomes451) {
  EXPECT_EQ(format_reply(99, "", "x"), "451 x\r\n");
  EXPECT_EQ(format_reply(600, "", "x"), "451 x\r\n");
}

TEST(SmtpReply, MultiLine) {
  std::vector<std::string> lines = {"foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"};
  EXPECT_EQ(format_reply_lines(250, "", lines),
            "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n");
  std::vector<std::string> two = {"first", "second"};
  EXPECT_EQ(format_reply_lines(550, "5.7.1", two), "550-5.7.1 first\r\n550 5.7.1 second\r\n");
  std::vector<std::string> one = {"only"};
  EXPECT_EQ(format_reply_lines(220, "", one), "220 only\r\n");
  EXPECT_EQ(format_reply_lines(250, "", {}), "250 \r\n");
}

TEST(SmtpReply, Constants) {
  EXPECT_EQ(format_reply(replies::kSenderOk), "250 2.1.0 Sender ok\r\n");
  EXPECT_EQ(format_reply(replies::kMessageTooBig),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_EQ(format_reply(replies::kStartMailInput), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(format_reply(replies::kAuthFailed), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(replies::kEncryptionRequired.code, 538);
  EXPECT_EQ(replies::kEncryptionRequired.enhanced, "5.7.11");
  EXPECT_EQ(format_reply(ParseError{500, "5.5.2", "Command unrecognized"}),
            "500 5.5.2 Command unrecognized\r\n");
}

}  // namespace
}  // namespace roost::smtp
