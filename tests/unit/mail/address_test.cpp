// RFC 5322 §3.4 address lists as IMAP ENVELOPE addresses.
#include "common/mail/address.hpp"

#include <gtest/gtest.h>

namespace roost::mail {
namespace {

Address addr(std::string name, std::string mailbox, std::string host, std::string route = {}) {
  return Address{std::move(name), std::move(route), std::move(mailbox), std::move(host), false, false};
}
Address group_start(std::string name) {
  Address a;
  a.mailbox = std::move(name);
  a.group_start = true;
  return a;
}
Address group_end() {
  Address a;
  a.group_end = true;
  return a;
}

TEST(AddressTest, Rfc5322AppendixA) {
  EXPECT_EQ(parse_address_list(" John Doe <jdoe@machine.example>"),
            std::vector<Address>{addr("John Doe", "jdoe", "machine.example")});
  // A.1.2
  EXPECT_EQ(parse_address_list(" Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
            (std::vector<Address>{addr("Mary Smith", "mary", "x.test"), addr("", "jdoe", "example.org"),
                                  addr("Who?", "one", "y.test")}));
  EXPECT_EQ(parse_address_list(" <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
            (std::vector<Address>{addr("", "boss", "nil.test"),
                                  addr("Giant; \"Big\" Box", "sysservices", "example.net")}));
  // A.1.3 groups
  EXPECT_EQ(parse_address_list(" A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
            (std::vector<Address>{group_start("A Group"), addr("Ed Jones", "c", "a.test"),
                                  addr("", "joe", "where.test"), addr("John", "jdoe", "one.test"),
                                  group_end()}));
  EXPECT_EQ(parse_address_list(" Undisclosed recipients:;"),
            (std::vector<Address>{group_start("Undisclosed recipients"), group_end()}));
  // A.5 white space, comments, and other oddities
  EXPECT_EQ(parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            std::vector<Address>{addr("Pete", "pete", "silly.test")});
  EXPECT_EQ(parse_address_list("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
                               "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)"),
            (std::vector<Address>{group_start("A Group"), addr("Chris Jones", "c", "public.example"),
                                  addr("", "joe", "example.org"), addr("John", "jdoe", "one.test"),
                                  group_end()}));
  // A.6.1 obsolete route
  EXPECT_EQ(parse_address_list("<@machine.tld,@other.tld:mary@example.net>"),
            std::vector<Address>{addr("", "mary", "example.net", "@machine.tld,@other.tld")});
}

TEST(AddressTest, NamesAndLocalParts) {
  EXPECT_EQ(parse_address_list("jdoe@example.org (John Doe)"),
            std::vector<Address>{addr("John Doe", "jdoe", "example.org")});
  EXPECT_EQ(parse_address_list("\"john doe\"@example.com"),
            std::vector<Address>{addr("", "john doe", "example.com")});
  EXPECT_EQ(parse_address_list("John Q. Public <jqp@x.test>"),
            std::vector<Address>{addr("John Q. Public", "jqp", "x.test")});
  EXPECT_EQ(parse_address_list("a.b . c@[192.0.2.1]"),
            std::vector<Address>{addr("", "a.b.c", "[192.0.2.1]")});
  EXPECT_EQ(parse_address_list("\"Doe,\r\n John\" <j@x.test>"),
            std::vector<Address>{addr("Doe, John", "j", "x.test")});
}

TEST(AddressTest, EncodedDisplayNameKeptRawAndDecodable) {
  auto list = parse_address_list("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "=?ISO-8859-1?Q?Andr=E9?= Pirard");
  EXPECT_EQ(display_name_utf8(list[0]), "Andr\xC3\xA9 Pirard");
  EXPECT_EQ(list[0].mailbox, "PIRARD");
}

TEST(AddressTest, JunkIsBestEffort) {
  EXPECT_TRUE(parse_address_list("").empty());
  EXPECT_TRUE(parse_address_list(" , ,, ").empty());
  EXPECT_EQ(parse_address_list("foo"), std::vector<Address>{addr("", "foo", "")});
  EXPECT_EQ(parse_address_list("John Doe jdoe@example.org"),
            std::vector<Address>{addr("John Doe", "jdoe", "example.org")});
  EXPECT_EQ(parse_address_list("Name <unterminated@x.test"),
            std::vector<Address>{addr("Name", "unterminated", "x.test")});
  EXPECT_EQ(parse_address_list("Open group: a@b.test"),
            (std::vector<Address>{group_start("Open group"), addr("", "a", "b.test"), group_end()}));
  EXPECT_EQ(parse_address_list("\"unterminated <x@y>"), std::vector<Address>{addr("", "unterminated <x@y>", "")});
  for (std::string junk : {"<<<>>>,,,@@@", "(((((", "\")", ":::;;;", "@", "<@a,@b", "a@b@c", "\x80\xff@\xfe"})
    (void)parse_address_list(junk);  // must not crash or hang
  EXPECT_EQ(parse_address_list("a@b@c"), std::vector<Address>{addr("", "a@b", "c")});
}

TEST(AddressTest, CountIsBounded) {
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "a@b,";
  EXPECT_EQ(parse_address_list(many).size(), 10000u);
  std::string group = "g:" + many;
  auto list = parse_address_list(group, 100);
  EXPECT_EQ(list.size(), 101u);
  EXPECT_TRUE(list.back().group_end);
}

}  // namespace
}  // namespace roost::mail
