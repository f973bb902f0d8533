// "ip:port" / "[v6]:port" parsing for listen keys.
#include "common/core/endpoint.hpp"

#include <gtest/gtest.h>

using roost::parse_endpoint;

namespace {

TEST(Endpoint, Ipv4) {
    auto e = parse_endpoint("127.0.0.1:25");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "127.0.0.1");
    EXPECT_EQ(e->port, 25);
    auto any = parse_endpoint("0.0.0.0:0");
    ASSERT_TRUE(any);
    EXPECT_EQ(any->host, "0.0.0.0");
    EXPECT_EQ(any->port, 0);
    auto top = parse_endpoint("192.0.2.1:65535");
    ASSERT_TRUE(top);
    EXPECT_EQ(top->port, 65535);
}

TEST(Endpoint, BracketedIpv6) {
    auto e = parse_endpoint("[::1]:993");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->port, 993);
    auto any = parse_endpoint("[::]:25");
    ASSERT_TRUE(any);
    EXPECT_EQ(any->host, "::");
    auto full = parse_endpoint("[2001:db8::42]:587");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->host, "2001:db8::42");
    EXPECT_EQ(full->port, 587);
}

TEST(Endpoint, RejectsBadPorts) {
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999", "127.0.0.1:-1",
                            "127.0.0.1:+25", "127.0.0.1:25x", "127.0.0.1: 25", "127.0.0.1:4294967321", "[::1]:",
                            "[::1]:70000", "[::1]"})
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

TEST(Endpoint, RejectsBadHosts) {
    for (const char* bad : {"", ":25", "localhost:25", "mail.example.test:25", "999.0.0.1:25", "1.2.3:25",
                            "::1:25", "[::1]25", "[]:25", "[127.0.0.1]:25", "[::1:25", "::1]:25", "[::g]:25"})
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

}  // namespace
