// Recipient resolution: accounts, case, aliases (fan-out, chains, loops, remote targets), catch-all,
// plus-addressing, postmaster, disabled and over-quota accounts, other domains.
#include "storage/resolver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_test_util.hpp"

namespace roost::store::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Kind = Recipient::Kind;

class ResolverTest : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        domain("example.test");
        domain("second.test");
        // Created in this order: admin is the oldest account.
        admin_ = account("admin@example.test").id;
        demo_ = account("demo@example.test").id;
        other_ = account("other@example.test").id;
        far_ = account("far@second.test").id;
    }

    Recipient resolve(std::string_view address, ResolveOptions opt = {}) {
        auto r = resolve_recipient(store(), address, opt);
        if (!r) {
            ADD_FAILURE() << "resolve(" << address << "): " << r.error().message;
            return {};
        }
        return *r;
    }

    std::int64_t admin_ = 0, demo_ = 0, other_ = 0, far_ = 0;
};

TEST_F(ResolverTest, ExactAccount) {
    auto r = resolve("demo@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
    EXPECT_THAT(r.remote_targets, IsEmpty());
}

TEST_F(ResolverTest, CaseInsensitive) {
    auto r = resolve("DeMo@Example.TEST");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
}

TEST_F(ResolverTest, UnknownUserAndInvalid) {
    auto r = resolve("nobody@example.test");
    EXPECT_EQ(r.kind, Kind::UnknownUser);
    EXPECT_THAT(r.account_ids, IsEmpty());
    auto bad = resolve_recipient(store(), "not an address", {});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Invalid);
}

TEST_F(ResolverTest, NotLocalForOtherDomains) {
    auto r = resolve("someone@elsewhere.test");
    EXPECT_EQ(r.kind, Kind::NotLocal);
    EXPECT_THAT(r.account_ids, IsEmpty());
    EXPECT_THAT(r.remote_targets, IsEmpty());
    // A subdomain of a local domain is not local.
    EXPECT_EQ(resolve("demo@sub.example.test").kind, Kind::NotLocal);
}

TEST_F(ResolverTest, AliasWithSeveralTargets) {
    ASSERT_TRUE(store().add_alias("team@example.test", {"demo@example.test", "other@example.test", "far@second.test"}));
    auto r = resolve("Team@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, UnorderedElementsAre(demo_, other_, far_));
}

TEST_F(ResolverTest, DuplicateTargetsDeliverOnce) {
    ASSERT_TRUE(store().add_alias("a@example.test", {"demo@example.test", "b@example.test"}));
    ASSERT_TRUE(store().add_alias("b@example.test", {"demo@example.test"}));
    auto r = resolve("a@example.test");
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
}

TEST_F(ResolverTest, AliasChain) {
    ASSERT_TRUE(store().add_alias("first@example.test", {"second@example.test"}));
    ASSERT_TRUE(store().add_alias("second@example.test", {"third@second.test"}));
    ASSERT_TRUE(store().add_alias("third@second.test", {"demo@example.test"}));
    auto r = resolve("first@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
}

TEST_F(ResolverTest, AliasLoopTerminatesWithReachableAccounts) {
    ASSERT_TRUE(store().add_alias("loopa@example.test", {"loopb@example.test", "demo@example.test"}));
    ASSERT_TRUE(store().add_alias("loopb@example.test", {"loopa@example.test", "other@example.test"}));
    auto r = resolve("loopa@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, UnorderedElementsAre(demo_, other_));
    auto r2 = resolve("loopb@example.test");
    EXPECT_THAT(r2.account_ids, UnorderedElementsAre(demo_, other_));
}

TEST_F(ResolverTest, PureAliasLoopReachesNobody) {
    ASSERT_TRUE(store().add_alias("ping@example.test", {"pong@example.test"}));
    ASSERT_TRUE(store().add_alias("pong@example.test", {"ping@example.test"}));
    auto r = resolve("ping@example.test");
    EXPECT_EQ(r.kind, Kind::UnknownUser);
    EXPECT_THAT(r.account_ids, IsEmpty());
}

TEST_F(ResolverTest, OverlongChainIsCut) {
    // a0 -> a1 -> ... -> a11 -> demo: deeper than max_depth (8).
    for (int i = 0; i < 12; ++i)
        ASSERT_TRUE(store().add_alias("a" + std::to_string(i) + "@example.test",
                                      {i == 11 ? std::string("demo@example.test") : "a" + std::to_string(i + 1) + "@example.test"}));
    EXPECT_THAT(resolve("a0@example.test").account_ids, IsEmpty());
    EXPECT_THAT(resolve("a5@example.test").account_ids, ElementsAre(demo_)) << "a short enough tail still resolves";
}

TEST_F(ResolverTest, CatchAll) {
    ASSERT_TRUE(store().add_alias("@example.test", {"other@example.test"}));
    auto r = resolve("whatever@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(other_));
    // Accounts and aliases win over the catch-all.
    EXPECT_THAT(resolve("demo@example.test").account_ids, ElementsAre(demo_));
    ASSERT_TRUE(store().add_alias("sales@example.test", {"far@second.test"}));
    EXPECT_THAT(resolve("sales@example.test").account_ids, ElementsAre(far_));
    // The catch-all is per domain.
    EXPECT_EQ(resolve("whatever@second.test").kind, Kind::UnknownUser);
}

TEST_F(ResolverTest, PlusAddressing) {
    auto r = resolve("demo+newsletter@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
    EXPECT_THAT(resolve("DEMO+Tag+More@example.test").account_ids, ElementsAre(demo_));
    ASSERT_TRUE(store().add_alias("team@example.test", {"other@example.test"}));
    EXPECT_THAT(resolve("team+x@example.test").account_ids, ElementsAre(other_));
    EXPECT_EQ(resolve("+tag@example.test").kind, Kind::UnknownUser) << "an empty base is not an address";
    EXPECT_EQ(resolve("nobody+tag@example.test").kind, Kind::UnknownUser);
    ResolveOptions dash;
    dash.plus_separator = '-';
    EXPECT_THAT(resolve("demo-list@example.test", dash).account_ids, ElementsAre(demo_));
}

TEST_F(ResolverTest, PostmasterGoesToConfiguredAccount) {
    ResolveOptions opt;
    opt.postmaster_account = "other@example.test";
    auto r = resolve("postmaster@example.test", opt);
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(other_));
    EXPECT_THAT(resolve("PostMaster@second.test", opt).account_ids, ElementsAre(other_)) << "every local domain";
    EXPECT_THAT(resolve("postmaster", opt).account_ids, ElementsAre(other_)) << "bare postmaster (RFC 5321 §4.1.1.3)";
    EXPECT_THAT(resolve("POSTMASTER", opt).account_ids, ElementsAre(other_));
}

TEST_F(ResolverTest, PostmasterFallsBackToOldestAccount) {
    EXPECT_THAT(resolve("postmaster@example.test").account_ids, ElementsAre(admin_));
    EXPECT_THAT(resolve("postmaster").account_ids, ElementsAre(admin_));
    ResolveOptions missing;
    missing.postmaster_account = "gone@example.test";
    EXPECT_THAT(resolve("postmaster", missing).account_ids, ElementsAre(admin_));
    EXPECT_EQ(resolve("postmaster@elsewhere.test").kind, Kind::NotLocal);
}

TEST_F(ResolverTest, PostmasterAliasOrAccountWins) {
    ASSERT_TRUE(store().add_alias("postmaster@example.test", {"demo@example.test"}));
    ResolveOptions opt;
    opt.postmaster_account = "other@example.test";
    EXPECT_THAT(resolve("postmaster@example.test", opt).account_ids, ElementsAre(demo_));
    EXPECT_THAT(resolve("postmaster@second.test", opt).account_ids, ElementsAre(other_));
}

TEST_F(ResolverTest, BarePostmasterWithoutAccountsIsAnError) {
    for (auto* a : {"admin@example.test", "demo@example.test", "other@example.test", "far@second.test"})
        ASSERT_TRUE(store().remove_account(a));
    auto r = resolve_recipient(store(), "postmaster", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
}

TEST_F(ResolverTest, DisabledAccount) {
    ASSERT_TRUE(store().set_enabled("demo@example.test", false));
    auto r = resolve("demo@example.test");
    EXPECT_EQ(r.kind, Kind::Disabled);
    EXPECT_THAT(r.account_ids, IsEmpty());
    EXPECT_EQ(resolve("demo+tag@example.test").kind, Kind::Disabled);
    // An alias reaching a disabled and an enabled account delivers to the enabled one.
    ASSERT_TRUE(store().add_alias("team@example.test", {"demo@example.test", "other@example.test"}));
    auto t = resolve("team@example.test");
    EXPECT_EQ(t.kind, Kind::Local);
    EXPECT_THAT(t.account_ids, ElementsAre(other_));
    ASSERT_TRUE(store().set_enabled("demo@example.test", true));
    EXPECT_EQ(resolve("demo@example.test").kind, Kind::Local);
}

TEST_F(ResolverTest, OverQuotaAccount) {
    ASSERT_TRUE(store().set_quota("demo@example.test", 64));
    EXPECT_EQ(resolve("demo@example.test").kind, Kind::Local) << "empty account is not over quota";
    deliver({demo_}, make_message("fill", std::string(200, 'x')));
    ASSERT_GE(store().find_account("demo@example.test")->used_bytes, 64u);
    auto r = resolve("demo@example.test");
    EXPECT_EQ(r.kind, Kind::OverQuota);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
    // Through an alias too.
    ASSERT_TRUE(store().add_alias("team@example.test", {"demo@example.test", "other@example.test"}));
    EXPECT_EQ(resolve("team@example.test").kind, Kind::OverQuota);
    // Raising the quota (or unlimited) clears it.
    ASSERT_TRUE(store().set_quota("demo@example.test", 0));
    EXPECT_EQ(resolve("demo@example.test").kind, Kind::Local);
}

TEST_F(ResolverTest, RemoteAliasTargetsAreListed) {
    ASSERT_TRUE(store().add_alias("fwd@example.test", {"Friend@Remote.test", "demo@example.test"}));
    auto r = resolve("fwd@example.test");
    EXPECT_EQ(r.kind, Kind::Local);
    EXPECT_THAT(r.account_ids, ElementsAre(demo_));
    EXPECT_THAT(r.remote_targets, ElementsAre("friend@remote.test"));

    ASSERT_TRUE(store().add_alias("out@example.test", {"a@remote.test", "b@remote.test"}));
    auto only = resolve("out@example.test");
    EXPECT_EQ(only.kind, Kind::Local) << "a forward-only alias is still ours to accept";
    EXPECT_THAT(only.account_ids, IsEmpty());
    EXPECT_THAT(only.remote_targets, UnorderedElementsAre("a@remote.test", "b@remote.test"));
}

}  // namespace
}  // namespace roost::store::test
