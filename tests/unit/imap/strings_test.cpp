// Response-side string helpers (imapd/protocol/strings.hpp).
#include "imapd/protocol/strings.hpp"

#include <gtest/gtest.h>

namespace roost::imap {
namespace {

TEST(QuotedOrLiteral, PlainTextIsQuoted) {
    EXPECT_EQ(quoted_or_literal("hello world", false), "\"hello world\"");
    EXPECT_EQ(quoted_or_literal("", false), "\"\"");
}

TEST(QuotedOrLiteral, QuotedSpecialsAreEscaped) {
    EXPECT_EQ(quoted_or_literal("a\"b\\c", false), "\"a\\\"b\\\\c\"");
}

TEST(QuotedOrLiteral, LineBreaksAndNulNeedALiteral) {
    EXPECT_EQ(quoted_or_literal("a\r\nb", false), "{4}\r\na\r\nb");
    EXPECT_EQ(quoted_or_literal(std::string("a\0b", 3), false), std::string("{3}\r\na\0b", 8));
}

TEST(QuotedOrLiteral, EightBitNeedsUtf8ModeAndValidUtf8) {
    EXPECT_EQ(quoted_or_literal("caf\xc3\xa9", false), "{5}\r\ncaf\xc3\xa9");
    EXPECT_EQ(quoted_or_literal("caf\xc3\xa9", true), "\"caf\xc3\xa9\"");
    EXPECT_EQ(quoted_or_literal("caf\xe9", true), "{4}\r\ncaf\xe9");
}

TEST(Nstring, NilOrString) {
    EXPECT_EQ(nstring(std::optional<std::string>{}, false), "NIL");
    EXPECT_EQ(nstring(std::optional<std::string>{"x"}, false), "\"x\"");
    EXPECT_EQ(nstring(std::optional<std::string_view>{}, false), "NIL");
}

TEST(Astring, AtomWhenPossible) {
    EXPECT_EQ(astring("INBOX", false), "INBOX");
    EXPECT_EQ(astring("a]b", false), "a]b");  // resp-specials are ASTRING-CHARs
    EXPECT_EQ(astring("two words", false), "\"two words\"");
    EXPECT_EQ(astring("", false), "\"\"");
    EXPECT_EQ(astring("a*", false), "\"a*\"");
    EXPECT_EQ(astring("NIL", false), "\"NIL\"");
    EXPECT_EQ(astring("{5}", false), "\"{5}\"");
}

TEST(MailboxAstring, EncodesModifiedUtf7UnlessUtf8Mode) {
    EXPECT_EQ(mailbox_astring("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", false),
              "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    EXPECT_EQ(mailbox_astring("Entw\xc3\xbcrfe", true), "\"Entw\xc3\xbcrfe\"");
    EXPECT_EQ(mailbox_astring("A & B", false), "\"A &- B\"");
}

TEST(FlagList, SystemFlagsRecentThenKeywords) {
    EXPECT_EQ(flag_list(0, {}, false), "()");
    EXPECT_EQ(flag_list(kFlagSeen | kFlagDeleted, {}, false), "(\\Seen \\Deleted)");
    EXPECT_EQ(flag_list(0x1f, {"$Forwarded", "work"}, true),
              "(\\Seen \\Answered \\Flagged \\Deleted \\Draft \\Recent $Forwarded work)");
    EXPECT_EQ(flag_list(0, {"kw"}, true), "(\\Recent kw)");
}

TEST(FormatSequenceSet, CompressesRuns) {
    EXPECT_EQ(format_sequence_set({}), "");
    EXPECT_EQ(format_sequence_set({7}), "7");
    EXPECT_EQ(format_sequence_set({1, 2, 3, 5}), "1:3,5");
    EXPECT_EQ(format_sequence_set({1, 3, 4, 5, 9, 10, 4294967295u}), "1,3:5,9:10,4294967295");
    EXPECT_EQ(format_sequence_set({5, 3, 4, 4, 1}), "1,3:5");  // unsorted and duplicates tolerated
}

TEST(ImapDateTime, FormatsUtcAndZones) {
    EXPECT_EQ(imap_date_time(0), "01-Jan-1970 00:00:00 +0000");
    // 2026-11-28 12:00:00 UTC
    EXPECT_EQ(imap_date_time(1795867200), "28-Nov-2026 12:00:00 +0000");
    EXPECT_EQ(imap_date_time(1795867200, -420), "28-Nov-2026 05:00:00 -0700");
    EXPECT_EQ(imap_date_time(1795867200, 330), "28-Nov-2026 17:30:00 +0530");
    // RFC 9051 §6.3.12 example date: 7-Feb-1994 21:52:25 -0800 = 1994-02-08 05:52:25 UTC
    EXPECT_EQ(imap_date_time(760686745, -480), "07-Feb-1994 21:52:25 -0800");
    EXPECT_EQ(imap_date_time(-1), "31-Dec-1969 23:59:59 +0000");
    EXPECT_EQ(imap_date_time(951782400), "29-Feb-2000 00:00:00 +0000");
}

}  // namespace
}  // namespace roost::imap
