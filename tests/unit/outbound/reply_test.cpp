// RFC 5321 §4.2 replies as the client reads them, fed whole and split at every byte; EHLO keywords;
// xtext (RFC 3461 §4) and dot-stuffing (RFC 5321 §4.5.2).
#include <gtest/gtest.h>

#include "smtpd/outbound/reply.hpp"

namespace roost::outbound {
namespace {

// Feeds `wire` in two pieces split at every offset: only the full input completes, with the same result.
SmtpReply parse_all_splits(const std::string& wire) {
    SmtpReply whole;
    std::size_t used = 0;
    EXPECT_EQ(parse_reply(wire, whole, used), ReplyParse::Complete);
    EXPECT_EQ(used, wire.size());
    for (std::size_t cut = 0; cut < wire.size(); ++cut) {
        SmtpReply r;
        std::size_t u = 0;
        EXPECT_EQ(parse_reply(wire.substr(0, cut), r, u), ReplyParse::NeedMore) << "cut at " << cut;
    }
    return whole;
}

TEST(ReplyParse, SingleLineWithEnhancedCode) {
    auto r = parse_all_splits("250 2.1.0 Sender ok\r\n");
    EXPECT_EQ(r.code, 250);
    EXPECT_EQ(r.enhanced, "2.1.0");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "Sender ok");
    EXPECT_EQ(r.summary(), "250 2.1.0 Sender ok");
    EXPECT_TRUE(r.positive());
}

TEST(ReplyParse, MultiLineEhlo) {
    auto r = parse_all_splits("250-mx.remote.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
                              "250-AUTH PLAIN login\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
                              "250 SMTPUTF8\r\n");
    EXPECT_EQ(r.lines.size(), 9u);
    auto c = parse_ehlo(r);
    EXPECT_TRUE(c.esmtp && c.pipelining && c.starttls && c.eightbitmime && c.dsn && c.smtputf8 && c.size);
    EXPECT_EQ(c.max_size, 10240000u);
    EXPECT_TRUE(c.has_auth("PLAIN"));
    EXPECT_TRUE(c.has_auth("LOGIN"));  // keywords and mechanisms are case-insensitive
    EXPECT_FALSE(c.has_auth("CRAM-MD5"));
}

TEST(ReplyParse, CodeWithoutTextAndBareLf) {
    auto r = parse_all_splits("354\n");
    EXPECT_EQ(r.code, 354);
    EXPECT_TRUE(r.enhanced.empty());
}

TEST(ReplyParse, EnhancedCodeMustMatchTheClass) {
    SmtpReply r;
    std::size_t used = 0;
    ASSERT_EQ(parse_reply("550 4.1.1 odd\r\n", r, used), ReplyParse::Complete);
    EXPECT_EQ(r.enhanced, "");
    EXPECT_EQ(r.lines[0], "4.1.1 odd");
}

TEST(ReplyParse, TwoRepliesInOneBufferArePipelinedReplies) {
    std::string buf = "250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n";
    SmtpReply r;
    std::size_t used = 0;
    ASSERT_EQ(parse_reply(buf, r, used), ReplyParse::Complete);
    EXPECT_EQ(r.code, 250);
    buf.erase(0, used);
    ASSERT_EQ(parse_reply(buf, r, used), ReplyParse::Complete);
    EXPECT_EQ(r.code, 550);
    EXPECT_EQ(r.enhanced, "5.1.1");
    EXPECT_TRUE(r.permanent());
}

TEST(ReplyParse, Errors) {
    SmtpReply r;
    std::size_t used = 0;
    EXPECT_EQ(parse_reply("hello\r\n", r, used), ReplyParse::Error);
    EXPECT_EQ(parse_reply("600 no\r\n", r, used), ReplyParse::Error);
    EXPECT_EQ(parse_reply("250-a\r\n251 b\r\n", r, used), ReplyParse::Error);  // mixed codes
    EXPECT_EQ(parse_reply("250xok\r\n", r, used), ReplyParse::Error);
    ReplyLimits small{16, 3};
    EXPECT_EQ(parse_reply(std::string(40, '2'), r, used, small), ReplyParse::Error);  // line over the limit
    EXPECT_EQ(parse_reply("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", r, used, small), ReplyParse::Error);
}

TEST(ReplyParse, SummaryRemovesControlCharacters) {
    SmtpReply r;
    std::size_t used = 0;
    ASSERT_EQ(parse_reply("451 4.3.0 bad\x01text\r\n", r, used), ReplyParse::Complete);
    EXPECT_EQ(r.summary(), "451 4.3.0 bad?text");
}

TEST(Xtext, EncodesPlusEqualsAndControls) {
    EXPECT_EQ(encode_xtext("a+b=c d@e"), "a+2Bb+3Dc+20d@e");
    EXPECT_EQ(encode_xtext("plain"), "plain");
}

TEST(DotStuff, DoublesLeadingDotsAndTerminates) {
    EXPECT_EQ(dot_stuff(".a\r\nb\r\n..c\r\n"), "..a\r\nb\r\n...c\r\n.\r\n");
    EXPECT_EQ(dot_stuff("no final crlf"), "no final crlf\r\n.\r\n");
    EXPECT_EQ(dot_stuff(""), ".\r\n");
    EXPECT_TRUE(has_8bit("caf\xc3\xa9"));
    EXPECT_FALSE(has_8bit("cafe"));
}

}  // namespace
}  // namespace roost::outbound
