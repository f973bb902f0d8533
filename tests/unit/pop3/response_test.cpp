// POP3 responses (pop3d/protocol/response.hpp): status lines and response codes (RFC 1939 §3, RFC 2449 §8,
// RFC 3206), CAPA (RFC 2449 §5), SASL challenges (RFC 5034 §4), listings and unique-ids (RFC 1939 §5, §7).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "pop3d/protocol/response.hpp"

namespace roost::pop3 {
namespace {

TEST(Pop3Response, StatusLines) {
    EXPECT_EQ(ok(), "+OK\r\n");
    EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
    EXPECT_EQ(err("No such message"), "-ERR No such message\r\n");
    EXPECT_EQ(err(Code::InUse, "Maildrop is in use"), "-ERR [IN-USE] Maildrop is in use\r\n");
    EXPECT_EQ(err(Code::LoginDelay, "later"), "-ERR [LOGIN-DELAY] later\r\n");
    EXPECT_EQ(err(Code::SysTemp, "busy"), "-ERR [SYS/TEMP] busy\r\n");
    EXPECT_EQ(err(Code::SysPerm, "broken"), "-ERR [SYS/PERM] broken\r\n");
    EXPECT_EQ(err(Code::Auth, "Authentication failed"), "-ERR [AUTH] Authentication failed\r\n");
    EXPECT_EQ(err(Code::Auth, ""), "-ERR [AUTH]\r\n");
}

TEST(Pop3Response, CodeTexts) {
    EXPECT_EQ(code_text(Code::None), "");
    EXPECT_EQ(code_text(Code::InUse), "IN-USE");
    EXPECT_EQ(code_text(Code::LoginDelay), "LOGIN-DELAY");
    EXPECT_EQ(code_text(Code::SysTemp), "SYS/TEMP");
    EXPECT_EQ(code_text(Code::SysPerm), "SYS/PERM");
    EXPECT_EQ(code_text(Code::Auth), "AUTH");
}

TEST(Pop3Response, TextIsSanitisedAndBounded) {
    EXPECT_EQ(err("a\r\n-ERR b"), "-ERR a?" "?-ERR b\r\n");
    EXPECT_EQ(ok(std::string("x\0y\x80", 4)), "+OK x?y?\r\n");
    // RFC 2449 §8: with RESP-CODES, text starting with "[" would read as a code.
    EXPECT_EQ(err("[AUTH] fake"), "-ERR ?AUTH] fake\r\n");
    auto longline = err(Code::SysTemp, std::string(2000, 'x'));
    EXPECT_EQ(longline.size(), kMaxResponseLineLength);  // RFC 1939 §3 / RFC 2449 §4: 512 with CRLF
    EXPECT_EQ(longline.substr(longline.size() - 2), "\r\n");
    EXPECT_EQ(longline.find('\n'), longline.size() - 1);
}

TEST(Pop3Response, Challenge) {
    EXPECT_EQ(challenge(""), "+ \r\n");  // RFC 5034 §4: empty challenge is "+" SP
    EXPECT_EQ(challenge("VXNlcm5hbWU6"), "+ VXNlcm5hbWU6\r\n");
    EXPECT_EQ(challenge("a\r\nb"), "+ ab\r\n");
}

TEST(Pop3Response, Listings) {
    EXPECT_EQ(scan_listing(1, 120), "1 120");  // RFC 1939 §5
    EXPECT_EQ(scan_listing(4294967295u, UINT64_MAX), "4294967295 18446744073709551615");
    EXPECT_EQ(unique_id_listing(2, "QhdPYR:00WBw1Ph7x7"), "2 QhdPYR:00WBw1Ph7x7");  // RFC 1939 §7
}

TEST(Pop3Response, UniqueIdsAreStablePrintableAndShort) {
    EXPECT_EQ(unique_id(1795871077, 1), "1795871077.1");
    EXPECT_EQ(unique_id(1, 2), unique_id(1, 2));
    EXPECT_NE(unique_id(1, 23), unique_id(12, 3));  // the separator keeps pairs apart
    auto longest = unique_id(UINT32_MAX, UINT32_MAX);
    EXPECT_LE(longest.size(), kMaxUniqueIdLength);
    for (auto id : {longest, unique_id(0, 0)}) {
        EXPECT_FALSE(id.empty());
        for (char c : id) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);  // RFC 1939 §7
    }
}

TEST(Pop3Response, CapabilitiesBeforeTls) {
    Capabilities c;
    c.stls = true;
    EXPECT_EQ(format_capabilities(c),
              "+OK Capability list follows\r\n"
              "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION Roost\r\n.\r\n");
}

TEST(Pop3Response, CapabilitiesWithLogin) {
    Capabilities c;
    c.user = true;
    c.sasl = {"PLAIN", "LOGIN"};
    EXPECT_EQ(format_capabilities(c),
              "+OK Capability list follows\r\n"
              "TOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSASL PLAIN LOGIN\r\n"
              "IMPLEMENTATION Roost\r\n.\r\n");
}

TEST(Pop3Response, CapabilityLinesAreBounded) {
    Capabilities c;
    c.sasl.assign(100, "SCRAM-SHA-256-PLUS");
    c.implementation = std::string(1000, 'x') + "\r\n";
    auto text = format_capabilities(c);
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end + 2 - start, kMaxResponseLineLength);  // RFC 2449 §5: 512 octets per capability line
        EXPECT_EQ(text.find('\n', start), end + 1);
        start = end + 2;
    }
}

}  // namespace
}  // namespace roost::pop3
