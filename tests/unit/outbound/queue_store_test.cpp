// The store's outbound-queue methods (migration 2): claiming with a lease (a crash leaves an entry that is
// retried, never lost), per-recipient outcomes, removal when done, notices delivered in the same
// transaction, retry/flush/delete, lease recovery, and DKIM key storage.
#include <chrono>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>

#include "tests/unit/storage/store_test_util.hpp"

namespace roost::store::test {
namespace {

using std::chrono::seconds;

class QueueStoreTest : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        alice_ = account("alice@example.test").id;
    }
    std::int64_t queue(std::vector<std::string> rcpts, std::string sender = "alice@example.test") {
        DeliveryRequest r;
        r.raw = make_message("queued");
        r.envelope_from = std::move(sender);
        for (auto& a : rcpts) r.remote.push_back({a, "rfc822;" + a, 0});
        auto res = store().deliver_sync(std::move(r));
        EXPECT_TRUE(res) << res.error().message;
        return res ? res->queue_id : 0;
    }
    Status complete(AttemptOutcome o) {
        return store().wait<Ok>([&](auto done) { store().complete_attempt(std::move(o), std::move(done)); });
    }
    // The store stamps rows with system_clock; time(2) reads a coarser clock that can lag it by a tick.
    std::int64_t now() {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    std::int64_t alice_ = 0;
};

TEST_F(QueueStoreTest, ClaimLeasesAndALeasedEntryIsNotClaimedTwice) {
    auto id = queue({"a@remote.test", "b@other.test"});
    auto c = store().claim_queue(now(), seconds(60), 10, "host:1:1");
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->size(), 1u);
    auto& e = c->front();
    EXPECT_EQ(e.id, id);
    EXPECT_EQ(e.sender, "alice@example.test");
    ASSERT_EQ(e.recipients.size(), 2u);
    EXPECT_EQ(e.recipients[0].status, "pending");
    EXPECT_GT(e.recipients[0].id, 0);
    EXPECT_GE(e.lease_until, now() + 59);
    EXPECT_EQ(store().claim_queue(now(), seconds(60), 10, "other:2:2")->size(), 0u);
    // The process died: once the lease runs out, somebody else gets it.
    EXPECT_EQ(store().claim_queue(now() + 61, seconds(60), 10, "other:2:2")->size(), 1u);
}

TEST_F(QueueStoreTest, ReleaseLeasesOfThisHostAfterACrash) {
    queue({"a@remote.test"});
    ASSERT_EQ(store().claim_queue(now(), seconds(3600), 10, "mx.example.test:100:5")->size(), 1u);
    auto n = store().release_queue_leases("other.host:");
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    n = store().release_queue_leases("mx.example.test:");
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(store().claim_queue(now(), seconds(60), 10, "mx.example.test:200:6")->size(), 1u);
}

TEST_F(QueueStoreTest, OutcomesRescheduleAndTheEntryGoesWhenDone) {
    auto id = queue({"a@remote.test", "b@other.test"});
    auto e = store().claim_queue(now(), seconds(60), 10, "h:1:1")->front();
    AttemptOutcome o;
    o.queue_id = id;
    o.recipients.push_back({e.recipients[0].id, RecipientOutcome::Status::Delivered, "250 2.0.0 Ok", "mx.remote.test"});
    o.recipients.push_back({e.recipients[1].id, RecipientOutcome::Status::Deferred, "451 4.3.0 later", "mx.other.test"});
    o.next_attempt = now() + 300;
    o.last_error = "451 4.3.0 later";
    ASSERT_TRUE(complete(o));
    auto q = store().queue_entry(id);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->attempts, 1u);
    EXPECT_EQ(q->lease_until, 0);
    EXPECT_EQ(q->next_attempt, o.next_attempt);
    EXPECT_EQ(q->last_error, "451 4.3.0 later");
    EXPECT_EQ(q->recipients[0].status, "delivered");
    EXPECT_EQ(q->recipients[1].status, "deferred");
    EXPECT_EQ(q->recipients[1].remote_mta, "mx.other.test");
    EXPECT_EQ(*store().next_queue_due(), std::optional<std::int64_t>(o.next_attempt));
    EXPECT_EQ(store().claim_queue(now(), seconds(60), 10, "h:1:1")->size(), 0u);  // not due yet
    ASSERT_TRUE(store().retry_queue(id));
    auto again = store().claim_queue(now(), seconds(60), 10, "h:1:1");
    ASSERT_EQ(again->size(), 1u);
    ASSERT_EQ(again->front().recipients.size(), 1u);  // only the unfinished recipient
    AttemptOutcome done;
    done.queue_id = id;
    done.recipients.push_back({again->front().recipients[0].id, RecipientOutcome::Status::Delivered, "250 ok", "mx"});
    ASSERT_TRUE(complete(done));
    EXPECT_EQ(store().queue_entry(id).error().code, Errc::NotFound);
    Sql db(db_path());
    EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM blobs"), 0);  // the message bytes went with it
    EXPECT_FALSE(store().next_queue_due()->has_value());
}

TEST_F(QueueStoreTest, NoticeIsDeliveredInTheSameTransaction) {
    auto id = queue({"x@remote.test"});
    auto e = store().claim_queue(now(), seconds(60), 10, "h:1:1")->front();
    AttemptOutcome o;
    o.queue_id = id;
    o.recipients.push_back({e.recipients[0].id, RecipientOutcome::Status::Failed, "550 5.1.1 no", "mx"});
    DeliveryRequest notice;
    notice.raw = "Return-Path: <>\r\n" + make_message("dsn");
    notice.accounts = {alice_};
    o.notices.push_back(notice);
    DeliveryRequest remote;  // a notice for a remote sender is queued with the null reverse-path
    remote.raw = make_message("dsn2");
    remote.remote.push_back({"someone@far.test", "", 1});
    o.notices.push_back(remote);
    ASSERT_TRUE(complete(o));
    EXPECT_EQ(store().list_messages(inbox(alice_).id)->size(), 1u);
    auto q = store().list_queue();
    ASSERT_EQ(q->size(), 1u);
    EXPECT_EQ(q->front().sender, "");
    EXPECT_EQ(q->front().recipients[0].address, "someone@far.test");
    EXPECT_EQ(q->front().recipients[0].status, "pending");
}

TEST_F(QueueStoreTest, DeleteAndMessageBytes) {
    auto id = queue({"x@remote.test"});
    auto bytes = store().queue_message(id);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, make_message("queued"));
    ASSERT_TRUE(store().delete_queue(id));
    EXPECT_EQ(store().delete_queue(id).error().code, Errc::NotFound);
    EXPECT_EQ(store().retry_queue(id).error().code, Errc::NotFound);
    EXPECT_TRUE(store().retry_queue(0));  // flush of an empty queue
}

TEST_F(QueueStoreTest, QueueChangesWakeSubscribers) {
    auto watcher = open_store(true);
    std::mutex mu;
    std::condition_variable cv;
    int wakes = 0;
    auto sub = watcher->subscribe_queue([&] {
        std::lock_guard l(mu);
        ++wakes;
        cv.notify_all();
    });
    ASSERT_NE(sub, nullptr);
    queue({"x@remote.test"});
    std::unique_lock l(mu);
    EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] { return wakes > 0; }));
}

TEST_F(QueueStoreTest, DkimKeysAreStoredAndTheDatabaseIsNotWorldReadable) {
    DkimKey k{"Example.Test", "roost", "rsa-sha256", "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n", 0};
    ASSERT_TRUE(store().add_dkim_key(k));
    EXPECT_EQ(store().add_dkim_key(k).error().code, Errc::AlreadyExists);
    k.selector = "roosted";
    k.algorithm = "ed25519-sha256";
    ASSERT_TRUE(store().add_dkim_key(k));
    auto keys = store().dkim_keys("example.test");
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 2u);
    EXPECT_EQ((*keys)[0].domain, "example.test");
    EXPECT_EQ(store().dkim_keys("other.test")->size(), 0u);
    struct stat st{};
    ASSERT_EQ(::stat(db_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0007, 0u);
    ASSERT_TRUE(store().remove_dkim_key("example.test", "roost"));
    EXPECT_EQ(store().dkim_keys()->size(), 1u);
    EXPECT_EQ(store().remove_dkim_key("example.test", "roost").error().code, Errc::NotFound);
}

}  // namespace
}  // namespace roost::store::test
