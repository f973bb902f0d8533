// Queue and DKIM administration shared by `roost queue|dkim ...` and the admin API (queue_admin, dkim_admin):
// queue ids as typed, the queued message's header block, the rendering of `queue show`, DKIM key creation with
// selector choice for rotation, and the public key that goes into DNS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>

#include "smtpd/outbound/dkim.hpp"
#include "smtpd/outbound/dkim_admin.hpp"
#include "smtpd/outbound/queue_admin.hpp"
#include "tests/unit/storage/store_test_util.hpp"

namespace roost::outbound {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using store::Errc;

class AdminTest : public store::test::StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        account("alice@example.test");
    }
};

TEST(QueueIdTest, OnlyPositiveDecimalNumbers) {
    EXPECT_EQ(parse_queue_id("42"), std::optional<std::int64_t>(42));
    EXPECT_EQ(parse_queue_id("007"), std::optional<std::int64_t>(7));
    for (auto bad : {"", "0", "-1", "+1", "1x", " 1", "abc", "1e3", "9999999999999999999"})
        EXPECT_EQ(parse_queue_id(bad), std::nullopt) << bad;
}

TEST_F(AdminTest, QueueShowHasTheHeaderBlockOnly) {
    store::DeliveryRequest r;
    r.raw = "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: Quarterly\r\n numbers\r\n\r\n"
            "secret body text\r\n";
    r.envelope_from = "alice@example.test";
    r.remote.push_back({"bob@remote.test", "", 0});
    auto id = store().deliver_sync(std::move(r))->queue_id;
    QueueAdmin q(store());
    auto e = q.show(id);
    ASSERT_TRUE(e) << e.error().message;
    auto head = q.headers(*e);
    ASSERT_TRUE(head) << head.error().message;
    EXPECT_EQ(*head, "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: Quarterly\r\n numbers\r\n");
    auto text = render_queue_entry(*e, *head);
    EXPECT_THAT(text, HasSubstr("id: " + std::to_string(id) + "\n"));
    EXPECT_THAT(text, HasSubstr("subject: Quarterly numbers\n"));
    EXPECT_THAT(text, HasSubstr("recipient: <bob@remote.test> pending\n"));
    EXPECT_THAT(text, HasSubstr("\nFrom: alice@example.test\nTo: bob@remote.test\n"));
    EXPECT_THAT(text, Not(HasSubstr("secret body")));
    EXPECT_THAT(text, Not(HasSubstr("\r")));
}

TEST_F(AdminTest, QueueHeadersOfAMessageWithoutBodyAndOfABigHeader) {
    store::DeliveryRequest r;
    r.raw = "Subject: x\r\nX-Pad: " + std::string(100 * 1024, 'a') + "\r\n\r\nbody\r\n";
    r.envelope_from = "alice@example.test";
    r.remote.push_back({"bob@remote.test", "", 0});
    auto id = store().deliver_sync(std::move(r))->queue_id;
    QueueAdmin q(store());
    auto head = q.headers(*q.show(id));
    ASSERT_TRUE(head);
    EXPECT_EQ(head->size(), QueueAdmin::kMaxHeaderBytes);  // cut, never the whole message
    EXPECT_EQ(q.show(id + 1).error().code, Errc::NotFound);
}

TEST(DkimSelectorTest, Rfc6376Syntax) {
    for (auto ok : {"roost", "s1", "2025-01", "a.b", "mail-2025.rotated"}) EXPECT_TRUE(valid_dkim_selector(ok)) << ok;
    for (auto bad : {"", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b", "x\"y", "a;b=c"})
        EXPECT_FALSE(valid_dkim_selector(bad)) << bad;
    EXPECT_EQ(dkim_algorithm(""), std::optional<std::string>("rsa-sha256"));
    EXPECT_EQ(dkim_algorithm("ed25519"), std::optional<std::string>("ed25519-sha256"));
    EXPECT_EQ(dkim_algorithm("dsa"), std::nullopt);
}

TEST_F(AdminTest, DkimKeysRotateToADatedSelectorAndPublishTheStoredKey) {
    std::int64_t now = 1735689600;  // 2025-01-01 00:00:00 UTC
    auto first = create_dkim_key(store(), "Example.TEST", "rsa", "", now);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->domain, "example.test");
    EXPECT_EQ(first->selector, "roost");
    EXPECT_EQ(first->algorithm, "rsa-sha256");
    EXPECT_EQ(first->dns_name, "roost._domainkey.example.test.");
    EXPECT_THAT(first->dns_value, HasSubstr("v=DKIM1; k=rsa; p="));
    EXPECT_THAT(first->txt_record, HasSubstr("roost._domainkey.example.test. IN TXT ("));

    auto second = create_dkim_key(store(), "example.test", "", "", now);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->selector, "roost-20250101");
    auto third = create_dkim_key(store(), "example.test", "rsa-sha256", "", now);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->selector, "roost-20250101-2");
    auto ed = create_dkim_key(store(), "example.test", "ed25519", "", now);
    ASSERT_TRUE(ed);
    EXPECT_EQ(ed->selector, "roosted");
    EXPECT_THAT(ed->dns_value, HasSubstr("k=ed25519; p="));

    // What was stored is the key whose public half was returned (and signs from now on).
    auto keys = store().dkim_keys("example.test");
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 4u);
    for (auto& k : *keys) {
        std::string error;
        auto value = dkim_dns_value(k.private_key_pem, k.algorithm, error);
        ASSERT_TRUE(value) << error;
        if (k.selector == "roost") {
            EXPECT_EQ(*value, first->dns_value);
        }
        if (k.selector == "roosted") {
            EXPECT_EQ(*value, ed->dns_value);
        }
        EXPECT_EQ(k.created, now);
    }
}

TEST_F(AdminTest, DkimKeyErrorsChangeNothing) {
    auto unknown = create_dkim_key(store(), "unknown.test", "rsa", "", 0);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Errc::NotFound);
    auto algo = create_dkim_key(store(), "example.test", "dsa", "", 0);
    ASSERT_FALSE(algo);
    EXPECT_EQ(algo.error().code, Errc::Invalid);
    EXPECT_THAT(algo.error().message, HasSubstr("unknown DKIM algorithm 'dsa'"));
    auto sel = create_dkim_key(store(), "example.test", "rsa", "bad selector", 0);
    ASSERT_FALSE(sel);
    EXPECT_EQ(sel.error().code, Errc::Invalid);
    ASSERT_TRUE(create_dkim_key(store(), "example.test", "ed25519", "mine", 0));
    auto dup = create_dkim_key(store(), "example.test", "rsa", "mine", 0);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::AlreadyExists);
    EXPECT_EQ(store().dkim_keys("example.test")->size(), 1u);
}

}  // namespace
}  // namespace roost::outbound
