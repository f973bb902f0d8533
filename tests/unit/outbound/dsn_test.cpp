// RFC 3464 delivery status notifications and RFC 3461 NOTIFY semantics.
#include <gtest/gtest.h>

#include "smtpd/outbound/dsn.hpp"

namespace roost::outbound {
namespace {

DsnInput sample() {
    DsnInput in;
    in.reporting_mta = "mx.example.test";
    in.sender = "alice@example.test";
    in.envid = "env-1";
    in.arrival = 1700000000;
    in.now = 1700000100;
    in.boundary = "BOUNDARY";
    in.message_id = "dsn-1@mx.example.test";
    in.original = "Return-Path: <alice@example.test>\r\nFrom: alice@example.test\r\nSubject: hi\r\n\r\nbody\r\n";
    in.recipients.push_back({"bob@remote.test", "rfc822;bob@remote.test", DsnAction::Failed, "5.1.1", "mx.remote.test",
                             "550 5.1.1 No such user", 1700000100, 0});
    return in;
}

TEST(Dsn, FailedNoticeStructure) {
    auto m = build_dsn(sample());
    EXPECT_NE(m.find("From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"), std::string::npos);
    EXPECT_NE(m.find("To: <alice@example.test>\r\n"), std::string::npos);
    EXPECT_NE(m.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
    EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"BOUNDARY\""),
              std::string::npos);
    // RFC 3464 §2.2 / §2.3 fields, per-message block then per-recipient block.
    EXPECT_NE(m.find("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n"
                     "Original-Envelope-Id: env-1\r\nArrival-Date: "),
              std::string::npos);
    EXPECT_NE(m.find("\r\n\r\nFinal-Recipient: rfc822; bob@remote.test\r\nOriginal-Recipient: rfc822; bob@remote.test\r\n"
                     "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.test\r\n"
                     "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"),
              std::string::npos);
    // The original comes back without the Return-Path the store added.
    EXPECT_NE(m.find("Content-Type: message/rfc822\r\n\r\nFrom: alice@example.test\r\n"), std::string::npos);
    EXPECT_EQ(m.find("Return-Path"), std::string::npos);
    EXPECT_TRUE(m.ends_with("\r\n--BOUNDARY--\r\n"));
}

TEST(Dsn, RetHdrsReturnsHeadersOnly) {
    auto in = sample();
    in.ret = "HDRS";
    auto m = build_dsn(in);
    EXPECT_NE(m.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.test\r\nSubject: hi\r\n"),
              std::string::npos);
    EXPECT_EQ(m.find("body\r\n"), std::string::npos);
}

TEST(Dsn, DelayedNoticeHasWillRetryUntil) {
    auto in = sample();
    in.recipients[0].action = DsnAction::Delayed;
    in.recipients[0].status = "4.4.1";
    in.recipients[0].will_retry_until = 1700400000;
    auto m = build_dsn(in);
    EXPECT_NE(m.find("Subject: Delayed Mail (still being retried)"), std::string::npos);
    EXPECT_NE(m.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
    EXPECT_NE(m.find("Will-Retry-Until: "), std::string::npos);
}

TEST(Dsn, HostileTextCannotBreakTheNotice) {
    auto in = sample();
    in.recipients[0].diagnostic = "550 evil\r\nBcc: victim@x.test";
    auto m = build_dsn(in);
    EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
}

TEST(Notify, Rfc3461Semantics) {
    EXPECT_TRUE(wants_notice(0, DsnAction::Failed));
    EXPECT_TRUE(wants_notice(0, DsnAction::Delayed));
    EXPECT_FALSE(wants_notice(0, DsnAction::Relayed));
    EXPECT_FALSE(wants_notice(kNotifyNever, DsnAction::Failed));
    EXPECT_TRUE(wants_notice(kNotifySuccess, DsnAction::Relayed));
    EXPECT_FALSE(wants_notice(kNotifySuccess, DsnAction::Failed));
    EXPECT_TRUE(wants_notice(kNotifyFailure | kNotifyDelay, DsnAction::Delayed));
}

TEST(Dsn, StatusOfReplyAndReturnPath) {
    EXPECT_EQ(status_of_reply(550, "5.1.1"), "5.1.1");
    EXPECT_EQ(status_of_reply(550, ""), "5.0.0");
    EXPECT_EQ(status_of_reply(451, "5.1.1"), "4.0.0");
    EXPECT_EQ(strip_return_path("Return-Path: <a@b>\r\nX: y\r\n"), "X: y\r\n");
    EXPECT_EQ(strip_return_path("X: y\r\n"), "X: y\r\n");
    EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace roost::outbound
