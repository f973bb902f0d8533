// Domains, accounts, aliases, default mailboxes and failed-login records: every operation and its
// error paths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "common/auth/password.hpp"
#include "storage/address.hpp"
#include "store_test_util.hpp"

namespace roost::store::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::vector<std::string> names(const std::vector<Domain>& v) {
    std::vector<std::string> out;
    for (auto& d : v) out.push_back(d.name);
    return out;
}
std::vector<std::string> addresses(const std::vector<Account>& v) {
    std::vector<std::string> out;
    for (auto& a : v) out.push_back(a.address);
    return out;
}

// ----- domains -----

TEST_F(StoreTest, DomainAddListFindRemove) {
    auto d = store().add_domain("Example.TEST");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->name, "example.test");
    EXPECT_GT(d->id, 0);
    EXPECT_GT(d->created, 1'600'000'000);
    domain("another.test");

    auto list = store().list_domains();
    ASSERT_TRUE(list);
    EXPECT_THAT(names(*list), ElementsAre("another.test", "example.test"));

    auto f = store().find_domain("EXAMPLE.test");
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->id, d->id);

    ASSERT_TRUE(store().remove_domain("Another.Test"));
    EXPECT_THAT(names(*store().list_domains()), ElementsAre("example.test"));
    EXPECT_EQ(store().find_domain("another.test").error().code, Errc::NotFound);
}

TEST_F(StoreTest, DomainDuplicateIsAlreadyExists) {
    domain("example.test");
    auto dup = store().add_domain("EXAMPLE.test");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::AlreadyExists);
    EXPECT_EQ(dup.error().message, "domain 'example.test' already exists");
    EXPECT_EQ(store().list_domains()->size(), 1u);
}

TEST_F(StoreTest, DomainInvalidNamesRejected) {
    for (const std::string& bad : std::vector<std::string>{"", "localhost", "-bad.test", "bad-.test", "a..test", ".a.test", "a.test.", "exa mple.test",
                            "ex_ample.test", "exa@mple.test", std::string(64, 'a') + ".test",
                            std::string(250, 'a').insert(60, ".").insert(120, ".").insert(180, ".") + ".test"}) {
        auto r = store().add_domain(bad);
        ASSERT_FALSE(r) << "accepted '" << bad << "'";
        EXPECT_EQ(r.error().code, Errc::Invalid) << bad;
        EXPECT_THAT(r.error().message, HasSubstr("invalid domain")) << bad;
    }
    EXPECT_TRUE(store().list_domains()->empty());
    // Boundaries that are fine: 63-octet label, digits, inner hyphens.
    EXPECT_TRUE(store().add_domain(std::string(63, 'a') + ".test"));
    EXPECT_TRUE(store().add_domain("xn--bcher-kva.example"));
    EXPECT_TRUE(store().add_domain("123.example"));
}

TEST_F(StoreTest, UnknownDomainMessages) {
    auto f = store().find_domain("exmaple.test");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::NotFound);
    EXPECT_EQ(f.error().message, "unknown domain 'exmaple.test'");
    auto r = store().remove_domain("exmaple.test");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    EXPECT_EQ(r.error().message, "unknown domain 'exmaple.test'");
}

TEST_F(StoreTest, RemoveDomainRefusedWhileAccountsOrAliasesUseIt) {
    domain("example.test");
    account("demo@example.test");
    auto r = store().remove_domain("example.test");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Invalid);
    EXPECT_THAT(r.error().message, HasSubstr("1 account(s)"));
    EXPECT_TRUE(store().find_domain("example.test"));

    ASSERT_TRUE(store().add_alias("team@example.test", {"someone@remote.test"}));
    ASSERT_TRUE(store().remove_account("demo@example.test"));
    r = store().remove_domain("example.test");
    ASSERT_FALSE(r) << "an alias still uses the domain";
    EXPECT_THAT(r.error().message, HasSubstr("1 alias(es)"));

    ASSERT_TRUE(store().remove_alias("team@example.test"));
    EXPECT_TRUE(store().remove_domain("example.test"));
    EXPECT_TRUE(store().list_domains()->empty());
}

TEST_F(StoreTest, RemoveDomainRefusedWhileCatchAllExists) {
    domain("example.test");
    ASSERT_TRUE(store().add_alias("@example.test", {"someone@remote.test"}));
    EXPECT_FALSE(store().remove_domain("example.test"));
}

// ----- accounts -----

TEST_F(StoreTest, AccountAddFindList) {
    auto d = domain("example.test");
    domain("other.test");
    auto a = store().add_account("Demo@Example.TEST", "{TEST}h1", 1234);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->address, "demo@example.test");
    EXPECT_EQ(a->domain_id, d.id);
    EXPECT_EQ(a->password_hash, "{TEST}h1");
    EXPECT_EQ(a->quota_bytes, 1234u);
    EXPECT_TRUE(a->enabled);
    account("zed@example.test");
    account("bob@other.test");

    auto f = store().find_account("DEMO@example.test");
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->id, a->id);
    EXPECT_EQ(f->password_hash, "{TEST}h1");
    EXPECT_EQ(f->quota_bytes, 1234u);
    EXPECT_EQ(f->used_bytes, 0u);
    EXPECT_TRUE(f->enabled);

    auto byid = store().find_account_by_id(a->id);
    ASSERT_TRUE(byid);
    EXPECT_EQ(byid->address, "demo@example.test");
    EXPECT_EQ(store().find_account_by_id(999999).error().code, Errc::NotFound);

    EXPECT_THAT(addresses(*store().list_accounts()), ElementsAre("bob@other.test", "demo@example.test", "zed@example.test"));
    EXPECT_THAT(addresses(*store().list_accounts("example.test")), ElementsAre("demo@example.test", "zed@example.test"));
    auto upper = store().list_accounts("OTHER.test");
    ASSERT_TRUE(upper) << "domain names are case-insensitive everywhere: " << upper.error().message;
    EXPECT_THAT(addresses(*upper), ElementsAre("bob@other.test"));
    auto unknown = store().list_accounts("exmaple.test");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "unknown domain 'exmaple.test'");
}

TEST_F(StoreTest, AccountInUnknownDomain) {
    domain("example.test");
    auto a = store().add_account("demo@exmaple.test", "h", 0);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::NotFound);
    EXPECT_EQ(a.error().message, "unknown domain 'exmaple.test'");
    EXPECT_TRUE(store().list_accounts()->empty());
}

TEST_F(StoreTest, AccountDuplicate) {
    domain("example.test");
    account("demo@example.test");
    auto a = store().add_account("DEMO@example.test", "h", 0);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::AlreadyExists);
    EXPECT_EQ(a.error().message, "account 'demo@example.test' already exists");
    EXPECT_EQ(store().list_accounts()->size(), 1u);
}

TEST_F(StoreTest, AccountInvalidAddresses) {
    domain("example.test");
    for (const std::string& bad : std::vector<std::string>{"", "demo", "@example.test", "demo@", "demo@example", ".demo@example.test",
                            "demo.@example.test", "de..mo@example.test", "de mo@example.test", "de\"mo@example.test",
                            "de,mo@example.test", "de(mo@example.test", std::string(65, 'a') + "@example.test",
                            "demo@-example.test"}) {
        auto a = store().add_account(bad, "h", 0);
        ASSERT_FALSE(a) << "accepted '" << bad << "'";
        EXPECT_EQ(a.error().code, Errc::Invalid) << bad;
        EXPECT_THAT(a.error().message, HasSubstr("invalid address")) << bad;
    }
    EXPECT_TRUE(store().list_accounts()->empty());
    EXPECT_TRUE(store().add_account(std::string(64, 'a') + "@example.test", "h", 0));
    EXPECT_TRUE(store().add_account("first.last+tag@example.test", "h", 0));
}

TEST_F(StoreTest, AccountCannotShadowAlias) {
    domain("example.test");
    ASSERT_TRUE(store().add_alias("team@example.test", {"x@remote.test"}));
    auto a = store().add_account("Team@example.test", "h", 0);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::AlreadyExists);
    EXPECT_THAT(a.error().message, HasSubstr("already an alias"));
}

TEST_F(StoreTest, AccountSettersAndTheirErrors) {
    domain("example.test");
    account("demo@example.test");
    ASSERT_TRUE(store().set_quota("Demo@example.test", 5000));
    EXPECT_EQ(store().find_account("demo@example.test")->quota_bytes, 5000u);
    ASSERT_TRUE(store().set_enabled("demo@example.test", false));
    EXPECT_FALSE(store().find_account("demo@example.test")->enabled);
    ASSERT_TRUE(store().set_enabled("demo@example.test", true));
    EXPECT_TRUE(store().find_account("demo@example.test")->enabled);

    // A real password hash round-trips through the store.
    auto hash = auth::hash_password("correct horse", auth::Argon2Params{1, 8, 1});
    ASSERT_TRUE(store().set_password("DEMO@EXAMPLE.TEST", hash));
    auto stored = store().find_account("demo@example.test")->password_hash;
    EXPECT_EQ(stored, hash);
    EXPECT_TRUE(auth::verify_password("correct horse", stored));
    EXPECT_FALSE(auth::verify_password("wrong horse", stored));

    for (auto st : {store().set_quota("nobody@example.test", 1), store().set_enabled("nobody@example.test", false),
                    store().set_password("nobody@example.test", "h"), store().remove_account("nobody@example.test")}) {
        ASSERT_FALSE(st);
        EXPECT_EQ(st.error().code, Errc::NotFound);
        EXPECT_EQ(st.error().message, "unknown account 'nobody@example.test'");
    }
    auto f = store().find_account("nobody@example.test");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::NotFound);
}

TEST_F(StoreTest, RemoveAccountRemovesMailboxesAndAliasTargets) {
    domain("example.test");
    auto demo = account("demo@example.test");
    account("other@example.test");
    ASSERT_TRUE(store().add_alias("team@example.test", {"demo@example.test", "other@example.test"}));
    ASSERT_TRUE(store().add_alias("solo@example.test", {"demo@example.test"}));
    ASSERT_TRUE(store().remove_account("DEMO@example.test"));
    EXPECT_EQ(store().find_account("demo@example.test").error().code, Errc::NotFound);
    EXPECT_TRUE(store().list_mailboxes(demo.id)->empty());
    EXPECT_THAT(*store().alias_targets("team@example.test"), ElementsAre("other@example.test"));
    EXPECT_TRUE(store().alias_targets("solo@example.test")->empty());
    // The address is free again.
    EXPECT_TRUE(store().add_account("demo@example.test", "h", 0));
}

// ----- default mailboxes -----

TEST_F(StoreTest, NewAccountGetsSixSpecialUseMailboxes) {
    domain("example.test");
    auto a = account("demo@example.test");
    auto list = store().list_mailboxes(a.id);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 6u);
    std::map<std::string, std::string> special;
    for (auto& m : *list) {
        special[m.name] = m.special_use;
        EXPECT_EQ(m.account_id, a.id);
        EXPECT_TRUE(m.subscribed) << m.name;
        EXPECT_EQ(m.uidnext, 1u) << m.name;
        EXPECT_EQ(m.messages, 0u) << m.name;
        EXPECT_EQ(m.unseen, 0u) << m.name;
        EXPECT_EQ(m.size, 0u) << m.name;
        EXPECT_EQ(m.highest_modseq, 1u) << m.name;
        EXPECT_NE(m.uidvalidity, 0u) << m.name;
    }
    EXPECT_EQ(list->front().name, "INBOX") << "INBOX is listed first";
    EXPECT_EQ(special, (std::map<std::string, std::string>{{"INBOX", ""},
                                                           {"Drafts", "\\Drafts"},
                                                           {"Sent", "\\Sent"},
                                                           {"Trash", "\\Trash"},
                                                           {"Junk", "\\Junk"},
                                                           {"Archive", "\\Archive"}}));
    auto nf = store().find_mailbox(a.id, "Nope");
    ASSERT_FALSE(nf);
    EXPECT_EQ(nf.error().code, Errc::NotFound);
    EXPECT_FALSE(store().find_mailbox(a.id, "inbox")) << "mailbox names are exact";
}

TEST_F(StoreTest, UidValidityStrictlyIncreasesAcrossMailboxesAndAccounts) {
    domain("example.test");
    std::vector<std::uint32_t> seen;
    for (auto* addr : {"a@example.test", "b@example.test", "c@example.test"}) {
        auto acc = account(addr);
        for (auto* name : {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}) {
            auto m = store().find_mailbox(acc.id, name);
            ASSERT_TRUE(m) << name;
            seen.push_back(m->uidvalidity);
        }
    }
    for (std::size_t i = 1; i < seen.size(); ++i)
        EXPECT_LT(seen[i - 1], seen[i]) << "UIDVALIDITY must strictly increase (index " << i << ")";
    // Removing and re-creating an account never reuses a UIDVALIDITY.
    ASSERT_TRUE(store().remove_account("c@example.test"));
    auto again = account("c@example.test");
    EXPECT_GT(inbox(again.id).uidvalidity, seen.back());
}

// ----- aliases -----

TEST_F(StoreTest, AliasAddListTargetsRemove) {
    domain("example.test");
    domain("other.test");
    account("demo@example.test");
    ASSERT_TRUE(store().add_alias("Team@Example.test", {"Other@Example.test", "demo@example.test"}));
    ASSERT_TRUE(store().add_alias("team@example.test", {"friend@remote.test"}));  // adds to the same alias
    ASSERT_TRUE(store().add_alias("@other.test", {"demo@example.test"}));
    ASSERT_TRUE(store().add_alias("sales@other.test", {"demo@example.test"}));

    EXPECT_THAT(*store().alias_targets("TEAM@example.test"),
                ElementsAre("demo@example.test", "friend@remote.test", "other@example.test"));
    EXPECT_THAT(*store().alias_targets("@other.test"), ElementsAre("demo@example.test"));
    EXPECT_TRUE(store().alias_targets("nobody@example.test")->empty());

    auto all = store().list_aliases();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].source, "@other.test");
    EXPECT_EQ((*all)[1].source, "sales@other.test");
    EXPECT_EQ((*all)[2].source, "team@example.test");
    EXPECT_THAT((*all)[2].targets, ElementsAre("demo@example.test", "friend@remote.test", "other@example.test"));
    auto other = store().list_aliases("Other.Test");
    ASSERT_TRUE(other);
    ASSERT_EQ(other->size(), 2u);
    EXPECT_EQ(store().list_aliases("exmaple.test").error().message, "unknown domain 'exmaple.test'");

    ASSERT_TRUE(store().remove_alias("team@example.test", "FRIEND@remote.test"));
    EXPECT_THAT(*store().alias_targets("team@example.test"), ElementsAre("demo@example.test", "other@example.test"));
    ASSERT_TRUE(store().remove_alias("TEAM@example.test"));
    EXPECT_TRUE(store().alias_targets("team@example.test")->empty());
    ASSERT_TRUE(store().remove_alias("@other.test"));
    EXPECT_EQ(store().list_aliases()->size(), 1u);
}

TEST_F(StoreTest, AliasErrors) {
    domain("example.test");
    account("demo@example.test");

    auto self = store().add_alias("loop@example.test", {"demo@example.test", "Loop@example.test"});
    ASSERT_FALSE(self);
    EXPECT_EQ(self.error().code, Errc::Invalid);
    EXPECT_THAT(self.error().message, HasSubstr("cannot point to itself"));

    auto acc = store().add_alias("demo@example.test", {"x@remote.test"});
    ASSERT_FALSE(acc);
    EXPECT_EQ(acc.error().code, Errc::AlreadyExists);
    EXPECT_THAT(acc.error().message, HasSubstr("is an account"));

    auto unknown = store().add_alias("team@exmaple.test", {"demo@example.test"});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Errc::NotFound);
    EXPECT_EQ(unknown.error().message, "unknown domain 'exmaple.test'");
    EXPECT_EQ(store().add_alias("@exmaple.test", {"demo@example.test"}).error().code, Errc::NotFound);

    EXPECT_EQ(store().add_alias("team@example.test", {}).error().code, Errc::Invalid);
    EXPECT_EQ(store().add_alias("bad source@example.test", {"demo@example.test"}).error().code, Errc::Invalid);
    EXPECT_EQ(store().add_alias("@", {"demo@example.test"}).error().code, Errc::Invalid);
    EXPECT_EQ(store().add_alias("team@example.test", {"not-an-address"}).error().code, Errc::Invalid);
    EXPECT_EQ(store().add_alias("team@example.test", {"@example.test"}).error().code, Errc::Invalid);

    auto rm = store().remove_alias("nobody@example.test");
    ASSERT_FALSE(rm);
    EXPECT_EQ(rm.error().code, Errc::NotFound);
    EXPECT_TRUE(store().list_aliases()->empty()) << "no failed add may leave rows behind";
}

TEST_F(StoreTest, AliasAddIsAllOrNothing) {
    domain("example.test");
    ASSERT_TRUE(store().add_alias("team@example.test", {"a@remote.test"}));
    auto dup = store().add_alias("team@example.test", {"b@remote.test", "A@remote.test"});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::AlreadyExists);
    EXPECT_THAT(dup.error().message, HasSubstr("already exists"));
    EXPECT_THAT(*store().alias_targets("team@example.test"), ElementsAre("a@remote.test"))
        << "the first target of a failed add must be rolled back";
    auto rm = store().remove_alias("team@example.test", "b@remote.test");
    EXPECT_EQ(rm.error().code, Errc::NotFound);
}

// ----- failed logins -----

TEST_F(StoreTest, AuthFailuresRecordAccumulateAndClear) {
    auto none = store().auth_failures("ip:192.0.2.1");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->failures, 0u);
    EXPECT_EQ(none->last_failure, 0);

    auto before = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store().record_auth_failure("ip:192.0.2.1", 900s));
    ASSERT_TRUE(store().record_auth_failure("user:demo@example.test", 900s));
    auto r = store().auth_failures("ip:192.0.2.1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->failures, 3u);
    EXPECT_GE(r->last_failure, before);
    EXPECT_LE(r->last_failure, before + 5);
    EXPECT_EQ(store().auth_failures("user:demo@example.test")->failures, 1u);
    EXPECT_EQ(store().auth_failures("ip:192.0.2.2")->failures, 0u);

    ASSERT_TRUE(store().clear_auth_failures("ip:192.0.2.1"));
    EXPECT_EQ(store().auth_failures("ip:192.0.2.1")->failures, 0u);
    EXPECT_EQ(store().auth_failures("user:demo@example.test")->failures, 1u) << "clearing is per key";
    EXPECT_TRUE(store().clear_auth_failures("never-recorded"));
}

TEST_F(StoreTest, AuthFailuresOutsideWindowAreForgotten) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(store().record_auth_failure("ip:198.51.100.7", 900s));
    ASSERT_EQ(store().auth_failures("ip:198.51.100.7")->failures, 5u);
    {
        // Age the record: the last failure was 1000 s ago, outside a 900 s window.
        Sql sql(db_path());
        sql.exec("UPDATE auth_failures SET last_failure = last_failure - 1000 WHERE key = 'ip:198.51.100.7'");
    }
    ASSERT_TRUE(store().record_auth_failure("ip:198.51.100.7", 900s));
    EXPECT_EQ(store().auth_failures("ip:198.51.100.7")->failures, 1u) << "the count restarts after the window";
    {
        Sql sql(db_path());
        sql.exec("UPDATE auth_failures SET last_failure = last_failure - 100 WHERE key = 'ip:198.51.100.7'");
    }
    ASSERT_TRUE(store().record_auth_failure("ip:198.51.100.7", 900s));
    EXPECT_EQ(store().auth_failures("ip:198.51.100.7")->failures, 2u) << "inside the window failures add up";
}

// ----- address rules -----

TEST(AddressRules, Normalize) {
    EXPECT_EQ(normalize_address("Demo@Example.TEST"), "demo@example.test");
    EXPECT_EQ(normalize_address("first.last+tag@example.test"), "first.last+tag@example.test");
    EXPECT_EQ(normalize_address("a@b@example.test"), std::nullopt);
    EXPECT_EQ(normalize_alias_source("@Example.Test"), "@example.test");
    EXPECT_EQ(normalize_alias_source("@"), std::nullopt);
    EXPECT_EQ(normalize_domain("EXAMPLE.test"), "example.test");
    EXPECT_EQ(normalize_domain("example"), std::nullopt);
    auto p = split_address("demo@example.test");
    EXPECT_EQ(p.local, "demo");
    EXPECT_EQ(p.domain, "example.test");
}

}  // namespace
}  // namespace roost::store::test
