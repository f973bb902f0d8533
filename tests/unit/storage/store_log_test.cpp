// The delivery log and hourly traffic counts (migration 6): lines written in the transactions that move the
// mail (local delivery, queueing, each attempt's outcome), refused SMTP steps recorded without waiting,
// search by text and status, pruning by age and row count, and removal of panel administrators.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "store_test_util.hpp"

namespace roost::store::test {
namespace {

using ::testing::ElementsAre;
using std::chrono::seconds;

std::int64_t now_s() {
    return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class LogTest : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        alice_ = account("alice@example.test").id;
    }
    std::vector<DeliveryLogEntry> log(DeliveryLogQuery q = {}) {
        auto r = store().recent_deliveries(q);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::vector<DeliveryLogEntry>{};
    }
    TrafficHour totals() {
        TrafficHour t;
        auto rows = store().traffic(now_s() - 7 * 86400);
        EXPECT_TRUE(rows) << rows.error().message;
        for (auto& h : *rows) {
            t.received += h.received;
            t.sent += h.sent;
            t.rejected += h.rejected;
        }
        return t;
    }
    // Rejections are written by the writer's next batch: any later synchronous write waits for it.
    void sync() { ASSERT_TRUE(store().clear_auth_failures("nothing")); }
    static std::vector<std::string> statuses(const std::vector<DeliveryLogEntry>& v) {
        std::vector<std::string> out;
        for (auto& e : v) out.push_back(e.status);
        return out;
    }
    std::int64_t alice_ = 0;
};

TEST_F(LogTest, LocalAndQueuedDeliveriesAreLoggedWithTheDecodedSubjectAndCounted) {
    DeliveryRequest r;
    r.raw = "From: bob@remote.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Bern\r\n\r\nHallo\r\n";
    r.envelope_from = "bob@remote.test";
    r.accounts = {alice_};
    r.remote.push_back({"carol@far.test", "", 0});
    auto size = r.raw.size();
    ASSERT_TRUE(store().deliver_sync(std::move(r)));

    auto v = log();
    ASSERT_EQ(v.size(), 2u);
    // Newest first: the queued line was written after the local one.
    EXPECT_EQ(v[0].direction, "outbound");
    EXPECT_EQ(v[0].status, "queued");
    EXPECT_EQ(v[0].recipient, "carol@far.test");
    EXPECT_EQ(v[1].direction, "local");
    EXPECT_EQ(v[1].status, "delivered");
    EXPECT_EQ(v[1].recipient, "alice@example.test");
    EXPECT_EQ(v[1].mailbox, "INBOX");
    for (auto& e : v) {
        EXPECT_EQ(e.sender, "bob@remote.test");
        EXPECT_EQ(e.subject, "Grüße aus Bern");
        EXPECT_EQ(e.size, size);
        EXPECT_GE(e.time, now_s() - 5);
    }
    EXPECT_GT(v[0].id, v[1].id);
    // One message received, whatever its number of recipients; nothing sent yet.
    auto t = totals();
    EXPECT_EQ(t.received, 1u);
    EXPECT_EQ(t.sent, 0u);
    // The queue keeps the subject for its listing.
    EXPECT_EQ(store().list_queue()->front().subject, "Grüße aus Bern");
}

TEST_F(LogTest, AttemptOutcomesAreLoggedAndDeliveriesCountAsSent) {
    DeliveryRequest r;
    r.raw = make_message("out");
    r.envelope_from = "alice@example.test";
    r.remote = {{"a@remote.test", "", 0}, {"b@remote.test", "", 0}};
    auto id = store().deliver_sync(std::move(r))->queue_id;
    auto e = store().claim_queue(now_s(), seconds(60), 10, "h:1:1")->front();
    AttemptOutcome o;
    o.queue_id = id;
    o.recipients.push_back({e.recipients[0].id, RecipientOutcome::Status::Delivered, "250 2.0.0 Ok: queued", "mx.remote.test"});
    o.recipients.push_back({e.recipients[1].id, RecipientOutcome::Status::Deferred, "451 4.7.1 greylisted", "mx.remote.test"});
    o.next_attempt = now_s() + 300;
    DeliveryRequest bounce;  // a notice made by the delivery service is not "received" mail
    bounce.raw = "Return-Path: <>\r\n" + make_message("dsn");
    bounce.accounts = {alice_};
    o.notices.push_back(bounce);
    ASSERT_TRUE(store().wait<Ok>([&](auto done) { store().complete_attempt(o, std::move(done)); }));

    auto v = log();
    ASSERT_EQ(v.size(), 5u);  // 2 queued, 2 outcomes, 1 local notice
    EXPECT_THAT(statuses(v), ElementsAre("delivered", "deferred", "delivered", "queued", "queued"));
    EXPECT_EQ(v[0].direction, "local");  // the notice, delivered last in the transaction
    EXPECT_EQ(v[0].sender, "");
    EXPECT_EQ(v[1].recipient, "b@remote.test");
    EXPECT_EQ(v[1].detail, "451 4.7.1 greylisted");
    EXPECT_EQ(v[1].subject, "test out");
    EXPECT_EQ(v[2].recipient, "a@remote.test");
    EXPECT_EQ(v[2].direction, "outbound");
    EXPECT_EQ(v[2].detail, "250 2.0.0 Ok: queued");
    auto t = totals();
    EXPECT_EQ(t.received, 1u);
    EXPECT_EQ(t.sent, 1u);
}

TEST_F(LogTest, RejectionsAreRecordedWithoutWaitingAndCounted) {
    Rejection r;
    r.client = "192.0.2.7";
    r.sender = "spam@bad.test";
    r.recipient = "nobody@example.test";
    r.reply = "550 5.1.1 Mailbox unavailable";
    store().record_rejection(r);
    r.recipient = "victim@elsewhere.test";
    r.reply = "554 5.7.1 Relay access denied";
    store().record_rejection(r);
    Rejection data;
    data.client = "192.0.2.8";
    data.sender = "x@bad.test";
    data.recipient = "alice@example.test";
    data.subject = "smuggled";
    data.reply = "550 5.6.11 Bare LF not allowed";
    data.size = 1234;
    data.time = now_s() - 7200;  // two hours ago
    store().record_rejection(data);
    sync();

    auto v = log({100, "", "rejected"});
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].time, data.time);  // newest line first, whatever time it carries
    EXPECT_EQ(v[0].subject, "smuggled");
    EXPECT_EQ(v[0].size, 1234u);
    EXPECT_EQ(v[1].recipient, "victim@elsewhere.test");
    EXPECT_EQ(v[1].detail, "554 5.7.1 Relay access denied");
    EXPECT_EQ(v[2].direction, "inbound");
    EXPECT_EQ(v[2].client, "192.0.2.7");
    EXPECT_EQ(v[2].sender, "spam@bad.test");
    EXPECT_EQ(totals().rejected, 3u);
    // Per hour: two now, one two hours ago.
    auto rows = *store().traffic(now_s() - 3 * 3600);
    std::uint64_t older = 0, current = 0;
    for (auto& h : rows) (h.hour <= data.time ? older : current) += h.rejected;
    EXPECT_EQ(older, 1u);
    EXPECT_EQ(current, 2u);
    for (auto& h : rows) EXPECT_EQ(h.hour % 3600, 0);
}

TEST_F(LogTest, AFloodOfRejectionsIsBoundedButEveryOneIsCounted) {
    constexpr int kFlood = 12000;  // more than may wait for the writer (10000)
    Rejection r;
    r.client = "198.51.100.1";
    r.reply = "550 5.1.1 Mailbox unavailable";
    for (int i = 0; i < kFlood; ++i) {
        r.recipient = "u" + std::to_string(i) + "@example.test";
        store().record_rejection(r);
    }
    sync();
    Sql db(db_path());
    auto rows = db.scalar("SELECT COUNT(*) FROM mail_log WHERE status = 'rejected'");
    EXPECT_LE(rows, kFlood);
    EXPECT_GE(rows, 10000);
    EXPECT_EQ(totals().rejected, static_cast<std::uint64_t>(kFlood));
}

TEST_F(LogTest, SearchByAddressSubjectAndStatus) {
    auto deliver = [&](const std::string& from, const std::string& subject) {
        DeliveryRequest r;
        r.raw = "Subject: " + subject + "\r\n\r\nbody\r\n";
        r.envelope_from = from;
        r.accounts = {alice_};
        ASSERT_TRUE(store().deliver_sync(std::move(r)));
    };
    deliver("bob@remote.test", "Invoice 42");
    deliver("carol@other.test", "Lunch?");
    Rejection rej;
    rej.sender = "Mallory@Evil.test";
    rej.recipient = "alice@example.test";
    rej.reply = "550 5.7.1 no";
    store().record_rejection(rej);
    sync();

    EXPECT_EQ(log().size(), 3u);
    auto by_subject = log({100, "INVOICE", ""});
    ASSERT_EQ(by_subject.size(), 1u);
    EXPECT_EQ(by_subject[0].sender, "bob@remote.test");
    auto by_sender = log({100, "evil.TEST", ""});
    ASSERT_EQ(by_sender.size(), 1u);
    EXPECT_EQ(by_sender[0].status, "rejected");
    EXPECT_EQ(log({100, "alice@", "delivered"}).size(), 2u);  // recipient, and status
    EXPECT_EQ(log({100, "alice@", "rejected"}).size(), 1u);
    EXPECT_EQ(log({100, "%", ""}).size(), 0u);  // a plain substring: no LIKE wildcards
    EXPECT_EQ(log({1, "", ""}).size(), 1u);
}

TEST_F(LogTest, OldLinesAndLinesBeyondTheCapArePruned) {
    auto now = now_s();
    {
        Sql db(db_path());
        db.exec("INSERT INTO mail_log (id, time, direction, status, recipient) VALUES (1, " +
                std::to_string(now - (kLogRetentionDays + 1) * 86400) + ", 'local', 'delivered', 'old@example.test')");
        db.exec("INSERT INTO mail_log (id, time, direction, status, recipient) VALUES (2, " + std::to_string(now) +
                ", 'local', 'delivered', 'capped@example.test')");
        // Far ahead: the next line's id makes row 2 fall beyond the newest kLogMaxRows.
        db.exec("INSERT INTO mail_log (id, time, direction, status, recipient) VALUES (" +
                std::to_string(kLogMaxRows + 2) + ", " + std::to_string(now) + ", 'local', 'delivered', 'kept@example.test')");
        db.exec("INSERT INTO traffic_hours (hour, received) VALUES (" + std::to_string((now - 100 * 86400) / 3600 * 3600) +
                ", 5)");
    }
    deliver({alice_}, make_message("new"));
    std::vector<std::string> left;
    for (auto& e : log()) left.push_back(e.recipient);
    EXPECT_THAT(left, ElementsAre("alice@example.test", "kept@example.test"));
    auto all = store().traffic(0);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);  // the 100-day-old hour is gone
    EXPECT_EQ(all->front().received, 1u);
}

TEST_F(LogTest, RemoveAdminEndsItsSessionsAndTokens) {
    ASSERT_TRUE(store().add_admin("boss@example.test", "{TEST}hash"));
    ASSERT_TRUE(store().add_admin("other@example.test", "{TEST}hash"));
    WebSession s;
    s.id_digest = "d1";
    s.subject = "boss@example.test";
    s.is_admin = true;
    s.csrf = "c";
    s.expires = now_s() + 3600;
    ASSERT_TRUE(store().add_web_session(s));
    ASSERT_TRUE(store().add_api_token("script", "t1", "boss@example.test"));
    ASSERT_TRUE(store().add_api_token("other", "t2", "other@example.test"));

    ASSERT_TRUE(store().remove_admin("Boss@Example.test"));
    EXPECT_EQ(store().find_admin("boss@example.test").error().code, Errc::NotFound);
    EXPECT_EQ(store().find_web_session("d1", 0).error().code, Errc::NotFound);
    EXPECT_EQ(store().use_api_token("t1", now_s()).error().code, Errc::NotFound);
    EXPECT_TRUE(store().use_api_token("t2", now_s()));
    auto again = store().remove_admin("boss@example.test");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::NotFound);
    EXPECT_EQ(again.error().message, "unknown admin 'boss@example.test'");
    EXPECT_EQ(store().list_admins()->size(), 1u);
}

}  // namespace
}  // namespace roost::store::test
