// Modified UTF-7 (RFC 3501 §5.1.3).
#include "imapd/protocol/mutf7.hpp"

#include <gtest/gtest.h>

namespace roost::imap {
namespace {

struct Pair {
    const char* utf8;
    const char* mutf7;
};

const Pair kPairs[] = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"A & B", "A &- B"},
    {"&", "&-"},
    {"&&", "&-&-"},
    // RFC 3501 §5.1.3 example: "~peter/mail/台北/日本語"
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"\xc3\xa9", "&AOk-"},
    {"Gel\xc3\xb6scht", "Gel&APY-scht"},
    {"\xe2\x82\xac", "&IKw-"},
    {"\xf0\x9f\x98\x80", "&2D3eAA-"},  // U+1F600, a surrogate pair
    {"a\xf0\x9f\x98\x80" "b\xc3\xa9\xc3\xa9", "a&2D3eAA-b&AOkA6Q-"},
    {"\t", "&AAk-"},  // control characters are not printable: encoded
    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "&BB8EQAQ4BDIENQRC-"},
};

TEST(Mutf7, EncodeDecodePairs) {
    for (const auto& p : kPairs) {
        EXPECT_EQ(mutf7_encode(p.utf8), p.mutf7) << p.utf8;
        EXPECT_EQ(mutf7_decode(p.mutf7), std::optional<std::string>(p.utf8)) << p.mutf7;
    }
}

TEST(Mutf7, RoundTripsManyCodePoints) {
    std::string s;
    for (std::uint32_t cp : {0x41u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xfffdu, 0xffffu, 0x10000u, 0x10ffffu, 0x26u}) {
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xc0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xe0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            s += static_cast<char>(0xf0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
        std::string enc = mutf7_encode(s);
        for (char c : enc) {
            EXPECT_TRUE(c >= 0x20 && c <= 0x7e);
        }
        EXPECT_EQ(mutf7_decode(enc), s);
    }
}

TEST(Mutf7, RejectsInvalidForms) {
    const char* bad[] = {
        "&",            // unterminated
        "&U,BTFw",      // unterminated shift
        "&U,BTFw-&ZeVnLIqe-",  // adjacent shifts must be merged
        "&AGE-",        // "a" must represent itself
        "&ACY-",        // "&" must be "&-"
        "&AO-",         // too few bits for one character
        "&AOl-",        // non-zero padding bits
        "&AOkA-",       // 6+ leftover bits
        "&U/BTFw-",     // "/" is standard base64, not modified
        "&2D0-",        // lone high surrogate
        "&3gA-",        // lone low surrogate
        "&2D3YPQ-",     // high surrogate followed by another high surrogate
        "caf\xc3\xa9",  // raw 8-bit
        "a\tb",         // control character
        "a\x7f",
        "&=-",
    };
    for (const char* s : bad) EXPECT_FALSE(mutf7_decode(s)) << s;
}

TEST(Mutf7, InvalidUtf8EncodesAsReplacementCharacter) {
    EXPECT_EQ(mutf7_encode("a\xffz"), "a&,,0-z");
    EXPECT_EQ(mutf7_decode("a&,,0-z"), "a\xef\xbf\xbdz");
}

TEST(Utf8, Validation) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("\xe6\x97\xa5\xf0\x9f\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe6\x97"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\x80"));
}

}  // namespace
}  // namespace roost::imap
