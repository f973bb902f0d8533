// Delivery: single-instance storage, byte-exact retrieval, counters, UIDs, the outbound queue,
// account removal freeing blobs, and group commit under 64 concurrent writers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "store_test_util.hpp"

namespace roost::store::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class DeliveryTest : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        a_ = account("a@example.test").id;
        b_ = account("b@example.test").id;
        c_ = account("c@example.test").id;
    }
    std::int64_t count(const std::string& sql) {
        Sql db(db_path());
        return db.scalar(sql);
    }
    std::vector<std::int64_t> uids(std::int64_t account_id) {
        Sql db(db_path());
        return db.column("SELECT m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = " +
                         std::to_string(account_id) + " AND b.name = 'INBOX' ORDER BY m.uid");
    }
    std::int64_t a_ = 0, b_ = 0, c_ = 0;
};

TEST_F(DeliveryTest, OneMessageToThreeAccountsIsStoredOnce) {
    auto raw = make_message("three");
    auto res = deliver({a_, b_, c_}, raw);
    ASSERT_EQ(res.message_ids.size(), 3u);
    EXPECT_EQ(res.queue_id, 0);
    EXPECT_EQ(std::set<std::int64_t>(res.message_ids.begin(), res.message_ids.end()).size(), 3u);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 1);
    EXPECT_EQ(count("SELECT refcount FROM blobs"), 3);
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 3);
    EXPECT_EQ(count("SELECT COUNT(DISTINCT blob_id) FROM messages"), 1);
    for (auto id : res.message_ids) {
        auto bytes = store().message_bytes(id);
        ASSERT_TRUE(bytes) << bytes.error().message;
        EXPECT_EQ(*bytes, raw);
    }
}

TEST_F(DeliveryTest, DuplicateRecipientsAreDeduplicated) {
    auto res = deliver({b_, a_, b_, a_}, make_message("dup"));
    EXPECT_EQ(res.message_ids.size(), 2u);
    EXPECT_EQ(inbox(a_).messages, 1u);
    EXPECT_EQ(inbox(b_).messages, 1u);
}

TEST_F(DeliveryTest, MessageBytesAreByteExact) {
    // 8-bit, NUL, bare CR and LF, trailing data without CRLF: stored exactly as given.
    std::string raw = make_message("exact", "caf\xc3\xa9 \xff\xfe");
    static constexpr char kBinary[] = "binary\0zero\r\nbare\ncr\rend";
    raw += std::string(kBinary, sizeof kBinary - 1);
    raw += std::string(300000, 'z');  // larger than any internal buffer
    auto res = deliver({a_}, raw);
    ASSERT_EQ(res.message_ids.size(), 1u);
    auto bytes = store().message_bytes(res.message_ids[0]);
    ASSERT_TRUE(bytes);
    ASSERT_EQ(bytes->size(), raw.size());
    EXPECT_TRUE(*bytes == raw);
    EXPECT_EQ(store().message_bytes(res.message_ids[0] + 1000).error().code, Errc::NotFound);
}

TEST_F(DeliveryTest, UnparseableBytesAreStillStored) {
    std::string raw(5000, '\0');
    raw += "\r\n\r\n--\r\n";
    auto res = deliver({a_}, raw);
    ASSERT_EQ(res.message_ids.size(), 1u);
    EXPECT_EQ(*store().message_bytes(res.message_ids[0]), raw);
}

TEST_F(DeliveryTest, CountersUidsAndQuotaUsage) {
    auto before = inbox(a_);
    std::vector<std::string> raws = {make_message("one"), make_message("two", "a longer body here"),
                                     make_message("three", std::string(1000, 'q'))};
    std::uint64_t total = 0;
    std::uint64_t modseq = before.highest_modseq;
    for (std::size_t i = 0; i < raws.size(); ++i) {
        deliver({a_}, raws[i]);
        total += raws[i].size();
        auto m = inbox(a_);
        EXPECT_EQ(m.messages, i + 1);
        EXPECT_EQ(m.unseen, i + 1);
        EXPECT_EQ(m.size, total);
        EXPECT_EQ(m.uidnext, i + 2);
        EXPECT_GT(m.highest_modseq, modseq) << "every change raises HIGHESTMODSEQ";
        modseq = m.highest_modseq;
        EXPECT_EQ(m.uidvalidity, before.uidvalidity) << "delivery never changes UIDVALIDITY";
        EXPECT_EQ(store().find_account_by_id(a_)->used_bytes, total);
    }
    EXPECT_THAT(uids(a_), ElementsAre(1, 2, 3));
    // Other accounts and other mailboxes are untouched.
    EXPECT_EQ(inbox(b_).messages, 0u);
    EXPECT_EQ(store().find_account_by_id(b_)->used_bytes, 0u);
    EXPECT_EQ(store().find_mailbox(a_, "Sent")->messages, 0u);
    // Each message carries the modseq it was stored with; internal date defaults to now.
    Sql db(db_path());
    EXPECT_EQ(db.scalar("SELECT MAX(modseq) FROM messages"), static_cast<std::int64_t>(modseq));
    EXPECT_GT(db.scalar("SELECT MIN(internal_date) FROM messages"), 1'600'000'000);
}

TEST_F(DeliveryTest, InternalDateIsKept) {
    DeliveryRequest r;
    r.raw = make_message("dated");
    r.accounts = {a_};
    r.internal_date = 1'000'000'000;
    auto res = store().deliver_sync(std::move(r));
    ASSERT_TRUE(res);
    EXPECT_EQ(count("SELECT internal_date FROM messages WHERE id = " + std::to_string(res->message_ids[0])),
              1'000'000'000);
}

TEST_F(DeliveryTest, NoRecipientsIsInvalid) {
    DeliveryRequest r;
    r.raw = make_message("none");
    auto res = store().deliver_sync(std::move(r));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::Invalid);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 0);
}

TEST_F(DeliveryTest, FailedDeliveryLeavesNothingBehind) {
    DeliveryRequest r;
    r.raw = make_message("ghost");
    r.accounts = {a_, 987654};
    auto res = store().deliver_sync(std::move(r));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, Errc::NotFound);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 0);
    EXPECT_EQ(inbox(a_).messages, 0u) << "a delivery is all or nothing";
    EXPECT_EQ(store().find_account_by_id(a_)->used_bytes, 0u);
    // The next delivery still works and gets UID 1.
    deliver({a_}, make_message("after"));
    EXPECT_THAT(uids(a_), ElementsAre(1));
}

TEST_F(DeliveryTest, RemoteRecipientsAreQueued) {
    DeliveryRequest r;
    r.raw = make_message("out");
    r.accounts = {a_};
    r.envelope_from = "a@example.test";
    r.remote = {{"x@remote.test", "rfc822;x@remote.test", 3}, {"y@other.test", "", 0}};
    r.dsn_envid = "ENV1";
    r.dsn_ret = "HDRS";
    auto raw_size = r.raw.size();
    auto res = store().deliver_sync(std::move(r));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_NE(res->queue_id, 0);
    EXPECT_EQ(res->message_ids.size(), 1u);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 1) << "local copy and queue share one blob";
    EXPECT_EQ(count("SELECT refcount FROM blobs"), 2);

    auto q = store().list_queue();
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 1u);
    auto& e = q->front();
    EXPECT_EQ(e.id, res->queue_id);
    EXPECT_EQ(e.sender, "a@example.test");
    EXPECT_EQ(e.size, raw_size);
    EXPECT_EQ(e.attempts, 0u);
    EXPECT_EQ(e.next_attempt, e.created);
    EXPECT_GT(e.created, 1'600'000'000);
    EXPECT_EQ(e.last_error, "");
    ASSERT_EQ(e.recipients.size(), 2u);
    EXPECT_EQ(e.recipients[0].address, "x@remote.test");
    EXPECT_EQ(e.recipients[0].orcpt, "rfc822;x@remote.test");
    EXPECT_EQ(e.recipients[0].notify, 3u);
    EXPECT_EQ(e.recipients[1].address, "y@other.test");
    EXPECT_EQ(e.recipients[1].notify, 0u);
}

TEST_F(DeliveryTest, RemoteOnlyDeliveryQueuesWithoutLocalCopies) {
    DeliveryRequest r;
    r.raw = make_message("relay");
    r.envelope_from = "";  // null reverse-path (a bounce)
    r.remote = {{"z@remote.test", "", 0}};
    auto res = store().deliver_sync(std::move(r));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_THAT(res->message_ids, IsEmpty());
    EXPECT_NE(res->queue_id, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 1);
    auto q = store().list_queue();
    ASSERT_EQ(q->size(), 1u);
    EXPECT_EQ(q->front().sender, "");
    EXPECT_TRUE(store().list_queue());
}

TEST_F(DeliveryTest, RemovingAccountRemovesMessagesAndFreesBlobs) {
    auto only_a = deliver({a_}, make_message("only-a"));
    auto shared = deliver({a_, b_}, make_message("shared"));
    DeliveryRequest queued;
    queued.raw = make_message("queued");
    queued.accounts = {a_};
    queued.remote = {{"x@remote.test", "", 0}};
    ASSERT_TRUE(store().deliver_sync(std::move(queued)));
    ASSERT_EQ(count("SELECT COUNT(*) FROM blobs"), 3);
    ASSERT_EQ(count("SELECT COUNT(*) FROM message_text"), 3);
    ASSERT_EQ(count("SELECT COUNT(*) FROM blob_parsed"), 3);

    ASSERT_TRUE(store().remove_account("a@example.test"));
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE id IN (" + std::to_string(only_a.message_ids[0]) + "," +
                    std::to_string(shared.message_ids[0]) + ")"),
              0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM mailboxes WHERE account_id = " + std::to_string(a_)), 0);
    // only-a's blob is gone; the shared one stays for b; the queued one stays for the queue.
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM message_text"), 2) << "search text goes with its blob";
    EXPECT_EQ(count("SELECT COUNT(*) FROM blob_parsed"), 2) << "the stored parse goes with its blob";
    EXPECT_EQ(store().message_bytes(only_a.message_ids[0]).error().code, Errc::NotFound);
    EXPECT_EQ(*store().message_bytes(shared.message_ids[1]), make_message("shared"));
    EXPECT_EQ(store().list_queue()->size(), 1u);

    ASSERT_TRUE(store().remove_account("b@example.test"));
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 1) << "only the queued message's blob remains";
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 0);
    Sql db(db_path());
    EXPECT_EQ(db.texts("PRAGMA foreign_key_check"), std::vector<std::string>{});
}

TEST_F(DeliveryTest, SixtyFourConcurrentDeliveriesAllSucceed) {
    constexpr int kThreads = 64;
    std::vector<std::string> raws;
    for (int i = 0; i < kThreads; ++i) raws.push_back(make_message("concurrent-" + std::to_string(i), std::string(100 + i, 'x')));
    std::vector<std::int64_t> ids(kThreads, 0);
    std::vector<std::string> errors(kThreads);
    std::mutex mu;
    std::condition_variable cv;
    bool go = false;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] {
            {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return go; });
            }
            DeliveryRequest r;
            r.raw = raws[i];
            r.accounts = {a_, (i % 2) ? b_ : c_};
            auto res = store().deliver_sync(std::move(r));
            if (!res) errors[i] = res.error().message;
            else if (res->message_ids.size() != 2) errors[i] = "wrong number of message ids";
            else ids[i] = res->message_ids[0];
        });
    {
        std::lock_guard lock(mu);
        go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(errors[i], "") << "delivery " << i;

    auto m = inbox(a_);
    EXPECT_EQ(m.messages, 64u);
    EXPECT_EQ(m.uidnext, 65u);
    EXPECT_EQ(inbox(b_).messages, 32u);
    EXPECT_EQ(inbox(c_).messages, 32u);
    auto u = uids(a_);
    ASSERT_EQ(u.size(), 64u);
    for (std::size_t i = 0; i < u.size(); ++i) EXPECT_EQ(u[i], static_cast<std::int64_t>(i + 1));
    for (int i = 0; i < kThreads; ++i) {
        auto bytes = store().message_bytes(ids[i]);
        ASSERT_TRUE(bytes) << i;
        EXPECT_EQ(*bytes, raws[i]) << "message " << i << " stored with the wrong content";
    }
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs"), 64);
    std::uint64_t total = 0;
    for (auto& r : raws) total += r.size();
    EXPECT_EQ(store().find_account_by_id(a_)->used_bytes, total);
    EXPECT_EQ(m.size, total);
}

TEST_F(DeliveryTest, AsyncDeliverCallsBackOncePerRequest) {
    constexpr int kN = 50;
    std::atomic<int> ok{0}, failed{0};
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    for (int i = 0; i < kN; ++i) {
        DeliveryRequest r;
        r.raw = make_message("async-" + std::to_string(i));
        r.accounts = {i == 7 ? 424242 : a_};  // one bad request must not fail its batch
        store().deliver(std::move(r), [&](Result<DeliveryResult> res) {
            (res ? ok : failed)++;
            std::lock_guard lock(mu);
            ++done;
            cv.notify_all();
        });
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == kN; }));
    EXPECT_EQ(ok.load(), kN - 1);
    EXPECT_EQ(failed.load(), 1);
    EXPECT_EQ(inbox(a_).messages, static_cast<std::uint32_t>(kN - 1));
}

// The parse is stored beside the blob (not in the blobs row, so reading it never walks the message's
// overflow pages) and read back for many messages at once, aligned with the ids asked for.
TEST_F(DeliveryTest, ParsedStructuresAreStoredApartAndReadInBatches) {
    auto one = deliver({a_}, make_message("one"));
    auto two = deliver({a_}, make_message("two"));
    auto blob_of = [&](std::int64_t message_id) {
        return count("SELECT blob_id FROM messages WHERE id = " + std::to_string(message_id));
    };
    std::int64_t b1 = blob_of(one.message_ids[0]), b2 = blob_of(two.message_ids[0]);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs WHERE parsed IS NOT NULL"), 0);
    auto single = store().parsed_structure(b2);
    ASSERT_TRUE(single);
    ASSERT_FALSE(single->empty());
    auto batch = store().parsed_structures({b2, 999999, b1});
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->size(), 3u);
    EXPECT_EQ((*batch)[0], *single);
    EXPECT_TRUE((*batch)[1].empty()) << "unknown blob: no parse";
    EXPECT_EQ((*batch)[2], *store().parsed_structure(b1));
    EXPECT_NE((*batch)[0], (*batch)[2]);
}

// Migration 5 moves parses written by older builds (in blobs.parsed) into blob_parsed.
TEST_F(DeliveryTest, MigrationMovesOldParsesOutOfBlobs) {
    auto one = deliver({a_}, make_message("one"));
    auto blob = count("SELECT blob_id FROM messages WHERE id = " + std::to_string(one.message_ids[0]));
    auto expected = *store().parsed_structure(blob);
    store_.reset();
    {
        Sql db(db_path());  // back to the version-4 layout
        db.texts("UPDATE blobs SET parsed = (SELECT parsed FROM blob_parsed WHERE blob_id = blobs.id)");
        db.texts("DROP TABLE blob_parsed");
        db.texts("DROP TABLE mail_log");  // and what migration 6 added
        db.texts("DROP TABLE traffic_hours");
        db.texts("ALTER TABLE queue DROP COLUMN subject");
        db.texts("PRAGMA user_version = 4");
    }
    store_ = open_store(false);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blobs WHERE parsed IS NOT NULL"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM blob_parsed"), 1);
    EXPECT_EQ(*store().parsed_structure(blob), expected);
}

TEST_F(DeliveryTest, DataSurvivesReopen) {
    auto res = deliver({a_}, make_message("durable"));
    store_.reset();
    store_ = open_store(false);
    EXPECT_EQ(*store().message_bytes(res.message_ids[0]), make_message("durable"));
    EXPECT_EQ(inbox(a_).messages, 1u);
    deliver({a_}, make_message("after-reopen"));
    EXPECT_THAT(uids(a_), ElementsAre(1, 2));
}

}  // namespace
}  // namespace roost::store::test
