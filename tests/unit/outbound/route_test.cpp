// RFC 5321 §5.1 host selection, RFC 7505 null MX, MX rdata, grouping and back-off.
#include <gtest/gtest.h>

#include <algorithm>

#include "smtpd/outbound/route.hpp"

namespace roost::outbound {
namespace {

std::string rdata(std::uint16_t pref, std::initializer_list<const char*> labels) {
    std::string s;
    s += static_cast<char>(pref >> 8);
    s += static_cast<char>(pref & 0xff);
    for (auto l : labels) {
        s += static_cast<char>(std::string(l).size());
        s += l;
    }
    s += '\0';
    return s;
}

TEST(MxRdata, Parses) {
    auto r = parse_mx_rdata(rdata(10, {"MX", "Remote", "test"}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->preference, 10);
    EXPECT_EQ(r->exchange, "mx.remote.test");
    auto null = parse_mx_rdata(rdata(0, {}));
    ASSERT_TRUE(null);
    EXPECT_EQ(null->exchange, "");
    EXPECT_FALSE(parse_mx_rdata(std::string("\x00\x0a\x05mx", 5)));  // truncated label
}

TEST(PlanMx, ImplicitMxWhenThereAreNoRecords) {
    auto p = plan_mx("implicit.test", {}, nullptr);
    EXPECT_EQ(p.kind, MxPlanKind::Hosts);
    EXPECT_EQ(p.hosts, std::vector<std::string>{"implicit.test"});
}

TEST(PlanMx, SortedByPreferenceEqualOnesShuffled) {
    std::vector<MxRecord> recs = {{20, "c.test"}, {10, "a.test"}, {10, "b.test"}, {30, "d.test"}};
    int shuffled = 0;
    auto p = plan_mx("x.test", recs, [&](std::vector<std::string>& v) {
        ++shuffled;
        std::reverse(v.begin(), v.end());
    });
    EXPECT_EQ(shuffled, 1);  // only the group of equal preference
    EXPECT_EQ(p.hosts, (std::vector<std::string>{"b.test", "a.test", "c.test", "d.test"}));
}

TEST(PlanMx, NullMx) {
    EXPECT_EQ(plan_mx("n.test", {{0, ""}}, nullptr).kind, MxPlanKind::NullMx);
    // A "." among real exchanges is ignored (RFC 7505 §3: a null MX must be the only record).
    auto p = plan_mx("n.test", {{0, ""}, {10, "mx.n.test"}}, nullptr);
    EXPECT_EQ(p.kind, MxPlanKind::Hosts);
    EXPECT_EQ(p.hosts, std::vector<std::string>{"mx.n.test"});
}

TEST(Route, GroupsByDomainCaseInsensitively) {
    auto g = group_by_domain({"a@X.test", "b@y.test", "c@x.TEST"});
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].first, "x.test");
    EXPECT_EQ(g[0].second, (std::vector<std::size_t>{0, 2}));
    EXPECT_EQ(g[1].first, "y.test");
}

TEST(Route, ExponentialBackOffCapped) {
    using std::chrono::seconds;
    EXPECT_EQ(retry_delay(1, seconds(300), seconds(14400)), seconds(300));
    EXPECT_EQ(retry_delay(2, seconds(300), seconds(14400)), seconds(600));
    EXPECT_EQ(retry_delay(4, seconds(300), seconds(14400)), seconds(2400));
    EXPECT_EQ(retry_delay(10, seconds(300), seconds(14400)), seconds(14400));
    EXPECT_EQ(retry_delay(1000, seconds(300), seconds(14400)), seconds(14400));
}

TEST(Route, HostPort) {
    std::string h;
    std::uint16_t p = 0;
    ASSERT_TRUE(parse_host_port("relay.test:465", h, p, 587));
    EXPECT_EQ(h, "relay.test");
    EXPECT_EQ(p, 465);
    ASSERT_TRUE(parse_host_port("relay.test", h, p, 587));
    EXPECT_EQ(p, 587);
    ASSERT_TRUE(parse_host_port("[::1]:25", h, p, 587));
    EXPECT_EQ(h, "::1");
    EXPECT_FALSE(parse_host_port("relay.test:0", h, p, 587));
    EXPECT_TRUE(is_ip_literal("127.0.0.2"));
    EXPECT_TRUE(is_ip_literal("::1"));
    EXPECT_FALSE(is_ip_literal("mx.remote.test"));
}

}  // namespace
}  // namespace roost::outbound
