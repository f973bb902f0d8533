// SEARCH key evaluation (RFC 9051 §6.4.4, RFC 3501 §6.4.4), the text-index hand-off, RFC 5322 dates.
#include "imapd/protocol/search.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/mail/message.hpp"

namespace roost::imap {
namespace {

using Kind = SearchKey::Kind;

SearchKeyPtr key(Kind kind) {
    auto k = std::make_shared<SearchKey>();
    k->kind = kind;
    return k;
}
SearchKeyPtr text(Kind kind, std::string t) {
    auto k = key(kind);
    k->text = std::move(t);
    return k;
}
SearchKeyPtr header(std::string field, std::string t) {
    auto k = text(Kind::Header, std::move(t));
    k->field = std::move(field);
    return k;
}
SearchKeyPtr date(Kind kind, int y, unsigned m, unsigned d) {
    auto k = key(kind);
    k->date = days_from_civil(y, m, d);
    return k;
}
SearchKeyPtr number(Kind kind, uint64_t n) {
    auto k = key(kind);
    k->number = n;
    return k;
}
SearchKeyPtr set(Kind kind, std::vector<SeqRange> ranges, bool saved = false) {
    auto k = key(kind);
    k->set.ranges = std::move(ranges);
    k->set.saved = saved;
    return k;
}
SearchKeyPtr op(Kind kind, std::vector<SearchKeyPtr> children) {
    auto k = key(kind);
    k->children = std::move(children);
    return k;
}
SearchKeyPtr Not(SearchKeyPtr a) { return op(Kind::Not, {std::move(a)}); }
SearchKeyPtr Or(SearchKeyPtr a, SearchKeyPtr b) { return op(Kind::Or, {std::move(a), std::move(b)}); }
SearchKeyPtr And(std::vector<SearchKeyPtr> c) { return op(Kind::And, std::move(c)); }

const mail::ParsedMessage& sample() {
    static const mail::ParsedMessage m = mail::parse_message(
        "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.DE>\r\n"
        "To: Team: bob@example.org, \"Carol C.\" <carol@example.net>;\r\n"
        "Cc: dave@example.com\r\n"
        "Bcc: eve@example.com\r\n"
        "Subject: =?UTF-8?B?w5xiZXJ3ZWlzdW5n?= Quarterly REPORT\r\n"
        "Date: Tue, 31 Dec 2019 23:30:00 -0800\r\n"
        "X-Mailer: Roost 1.0\r\n"
        "X-Empty:\r\n"
        "\r\n"
        "body\r\n");
    return m;
}

struct Fixture : ::testing::Test {
    std::vector<std::string> keywords{"$Forwarded", "Work"};
    SearchMessage msg{};
    SearchContext ctx{};
    Fixture() {
        msg.seq = 3;
        msg.uid = 103;
        msg.flags = kFlagSeen | kFlagFlagged;
        msg.recent = false;
        msg.keywords = &keywords;
        msg.internal_date = 1577858400;  // 2020-01-01T06:00:00Z
        msg.size = 2000;
        msg.modseq = 42;
        msg.parsed = &sample();
        ctx.max_seq = 5;
        ctx.max_uid = 105;
    }
    bool m(const SearchKeyPtr& k) { return matches(*k, msg, ctx); }
};

using SearchEval = Fixture;

TEST_F(SearchEval, Flags) {
    EXPECT_TRUE(m(key(Kind::All)));
    EXPECT_TRUE(m(key(Kind::Seen)));
    EXPECT_FALSE(m(key(Kind::Unseen)));
    EXPECT_TRUE(m(key(Kind::Flagged)));
    EXPECT_FALSE(m(key(Kind::Unflagged)));
    EXPECT_FALSE(m(key(Kind::Answered)));
    EXPECT_TRUE(m(key(Kind::Unanswered)));
    EXPECT_FALSE(m(key(Kind::Deleted)));
    EXPECT_TRUE(m(key(Kind::Undeleted)));
    EXPECT_FALSE(m(key(Kind::Draft)));
    EXPECT_TRUE(m(key(Kind::Undraft)));
    msg.flags = kFlagAnswered | kFlagDeleted | kFlagDraft;
    EXPECT_TRUE(m(key(Kind::Answered)));
    EXPECT_TRUE(m(key(Kind::Deleted)));
    EXPECT_TRUE(m(key(Kind::Draft)));
    EXPECT_TRUE(m(key(Kind::Unseen)));
}

TEST_F(SearchEval, RecentNewOld) {
    EXPECT_FALSE(m(key(Kind::Recent)));
    EXPECT_FALSE(m(key(Kind::New)));
    EXPECT_TRUE(m(key(Kind::Old)));
    msg.recent = true;
    EXPECT_TRUE(m(key(Kind::Recent)));
    EXPECT_FALSE(m(key(Kind::New)));  // recent but seen
    msg.flags = 0;
    EXPECT_TRUE(m(key(Kind::New)));
    EXPECT_FALSE(m(key(Kind::Old)));
}

TEST_F(SearchEval, Keywords) {
    EXPECT_TRUE(m(text(Kind::Keyword, "work")));  // flags are case-insensitive
    EXPECT_TRUE(m(text(Kind::Keyword, "$Forwarded")));
    EXPECT_FALSE(m(text(Kind::Keyword, "$Junk")));
    EXPECT_TRUE(m(text(Kind::Unkeyword, "$Junk")));
    EXPECT_FALSE(m(text(Kind::Unkeyword, "WORK")));
    msg.keywords = nullptr;
    EXPECT_FALSE(m(text(Kind::Keyword, "Work")));
    EXPECT_TRUE(m(text(Kind::Unkeyword, "Work")));
}

TEST_F(SearchEval, AddressHeaders) {
    EXPECT_TRUE(m(text(Kind::From, "jörg müller")));  // decoded from ISO-8859-1, case-folded
    EXPECT_TRUE(m(text(Kind::From, "JÖRG")));
    EXPECT_TRUE(m(text(Kind::From, "joerg@example.de")));
    EXPECT_FALSE(m(text(Kind::From, "bob")));
    EXPECT_TRUE(m(text(Kind::To, "carol c.")));
    EXPECT_TRUE(m(text(Kind::To, "BOB@example")));
    EXPECT_TRUE(m(text(Kind::Cc, "dave")));
    EXPECT_FALSE(m(text(Kind::Cc, "eve")));
    EXPECT_TRUE(m(text(Kind::Bcc, "eve@")));
    msg.parsed = nullptr;  // no headers loaded: header keys cannot match
    EXPECT_FALSE(m(text(Kind::From, "joerg")));
}

TEST_F(SearchEval, SubjectAndHeader) {
    EXPECT_TRUE(m(text(Kind::Subject, "überweisung")));
    EXPECT_TRUE(m(text(Kind::Subject, "quarterly report")));
    EXPECT_FALSE(m(text(Kind::Subject, "=?UTF-8?")));  // matched against decoded text
    EXPECT_TRUE(m(header("x-mailer", "roost")));
    EXPECT_TRUE(m(header("X-MAILER", "")));   // empty string: the field exists
    EXPECT_TRUE(m(header("X-Empty", "")));
    EXPECT_FALSE(m(header("X-Missing", "")));
    EXPECT_FALSE(m(header("X-Mailer", "postfix")));
}

TEST_F(SearchEval, InternalDate) {
    // 2020-01-01 (UTC day of the internal date).
    EXPECT_TRUE(m(date(Kind::On, 2020, 1, 1)));
    EXPECT_FALSE(m(date(Kind::On, 2019, 12, 31)));
    EXPECT_TRUE(m(date(Kind::Since, 2020, 1, 1)));
    EXPECT_TRUE(m(date(Kind::Since, 2019, 6, 1)));
    EXPECT_FALSE(m(date(Kind::Since, 2020, 1, 2)));
    EXPECT_TRUE(m(date(Kind::Before, 2020, 1, 2)));
    EXPECT_FALSE(m(date(Kind::Before, 2020, 1, 1)));
    msg.internal_date = -1;  // 1969-12-31T23:59:59Z
    EXPECT_TRUE(m(date(Kind::On, 1969, 12, 31)));
}

TEST_F(SearchEval, SentDateUsesTheHeadersOwnZone) {
    // "Tue, 31 Dec 2019 23:30:00 -0800" is 2020-01-01 in UTC, but its own calendar day counts.
    EXPECT_TRUE(m(date(Kind::SentOn, 2019, 12, 31)));
    EXPECT_FALSE(m(date(Kind::SentOn, 2020, 1, 1)));
    EXPECT_TRUE(m(date(Kind::SentBefore, 2020, 1, 1)));
    EXPECT_FALSE(m(date(Kind::SentBefore, 2019, 12, 31)));
    EXPECT_TRUE(m(date(Kind::SentSince, 2019, 12, 31)));
    EXPECT_FALSE(m(date(Kind::SentSince, 2020, 1, 1)));
    auto undated = mail::parse_message("Date: someday\r\n\r\n");
    msg.parsed = &undated;
    EXPECT_FALSE(m(date(Kind::SentSince, 1970, 1, 1)));
    EXPECT_FALSE(m(date(Kind::SentBefore, 2100, 1, 1)));
}

TEST_F(SearchEval, SizeAndModSeq) {
    EXPECT_TRUE(m(number(Kind::Larger, 1999)));
    EXPECT_FALSE(m(number(Kind::Larger, 2000)));
    EXPECT_TRUE(m(number(Kind::Smaller, 2001)));
    EXPECT_FALSE(m(number(Kind::Smaller, 2000)));
    EXPECT_TRUE(m(number(Kind::ModSeq, 42)));
    EXPECT_FALSE(m(number(Kind::ModSeq, 43)));
}

TEST_F(SearchEval, SequenceAndUidSets) {
    EXPECT_TRUE(m(set(Kind::Sequence, {{1, 3}})));
    EXPECT_FALSE(m(set(Kind::Sequence, {{4, kStar}})));
    EXPECT_TRUE(m(set(Kind::Sequence, {{kStar, 2}})));  // *:2 == 2:5
    EXPECT_FALSE(m(set(Kind::Sequence, {{103, 103}})));  // a UID is not a sequence number
    EXPECT_TRUE(m(set(Kind::Uid, {{103, 103}})));
    EXPECT_TRUE(m(set(Kind::Uid, {{100, kStar}})));
    EXPECT_FALSE(m(set(Kind::Uid, {{3, 3}})));
    EXPECT_FALSE(m(set(Kind::Uid, {{kStar, kStar}})));  // * is 105
    msg.uid = 105;
    EXPECT_TRUE(m(set(Kind::Uid, {{kStar, kStar}})));
    // RFC 5182 "$": the saved result, as UIDs, for both kinds of set.
    std::vector<uint32_t> saved{101, 105};
    EXPECT_FALSE(m(set(Kind::Sequence, {}, true)));
    ctx.saved_uids = &saved;
    EXPECT_TRUE(m(set(Kind::Sequence, {}, true)));
    EXPECT_TRUE(m(set(Kind::Uid, {}, true)));
    msg.uid = 104;
    EXPECT_FALSE(m(set(Kind::Uid, {}, true)));
}

TEST_F(SearchEval, BodyAndTextFromTheIndex) {
    auto body = text(Kind::Body, "invoice");
    auto txt = text(Kind::Text, "payment");
    auto program = And({Or(body, key(Kind::Deleted)), Not(txt), key(Kind::Seen)});
    std::vector<const SearchKey*> keys = text_keys(*program);
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0], body.get());
    EXPECT_EQ(keys[1], txt.get());
    EXPECT_TRUE(needs_parsed(*And({key(Kind::Seen), Not(header("X-A", ""))})));
    EXPECT_FALSE(needs_parsed(*program));

    EXPECT_FALSE(m(program));  // no index results handed in: BODY matches nothing
    TextMatches hits{{body.get(), {7, 103, 200}}, {txt.get(), {5}}};
    ctx.text_matches = &hits;
    EXPECT_TRUE(m(program));
    hits[txt.get()] = {103};
    EXPECT_FALSE(m(program));
}

TEST_F(SearchEval, BooleanNesting) {
    EXPECT_TRUE(m(Or(key(Kind::Deleted), key(Kind::Seen))));
    EXPECT_FALSE(m(Or(key(Kind::Deleted), key(Kind::Draft))));
    EXPECT_TRUE(m(Not(key(Kind::Deleted))));
    EXPECT_FALSE(m(Not(Not(key(Kind::Deleted)))));
    EXPECT_TRUE(m(And({})));
    // OR (NOT SEEN) (SUBJECT report LARGER 100) UID 100:*
    auto program = And({Or(Not(key(Kind::Seen)), And({text(Kind::Subject, "report"), number(Kind::Larger, 100)})),
                        set(Kind::Uid, {{100, kStar}})});
    EXPECT_TRUE(m(program));
    msg.size = 50;
    EXPECT_FALSE(m(program));
    msg.flags = 0;
    EXPECT_TRUE(m(program));
}

TEST(Rfc5322Date, CommonForms) {
    struct Case {
        const char* text;
        int y;
        unsigned mo, d;
        int64_t utc;  // seconds since epoch
    };
    const int64_t d2022 = days_from_civil(2022, 1, 3) * 86400;
    const Case cases[] = {
        {"Mon, 3 Jan 2022 10:00:00 +0100", 2022, 1, 3, d2022 + 9 * 3600},
        {"Mon, 03 Jan 2022 10:00:00 +0100 (CET)", 2022, 1, 3, d2022 + 9 * 3600},
        {"3 Jan 2022 10:00 GMT", 2022, 1, 3, d2022 + 10 * 3600},
        {"Mon,  3 Jan 22 10:00:00 EST", 2022, 1, 3, d2022 + 15 * 3600},
        {"Mon, 3 January 2022 10:00:00 -0000", 2022, 1, 3, d2022 + 10 * 3600},
        {"Mon Jan  3 10:00:00 2022", 2022, 1, 3, d2022 + 10 * 3600},  // asctime
        {"Monday, 3-Jan-2022 10:00:00 CEST", 2022, 1, 3, d2022 + 10 * 3600},  // unknown zone: UTC
        {"2022-01-03 10:00:00 +0000", 2022, 1, 3, d2022 + 10 * 3600},
        {"3 Jan 2022", 2022, 1, 3, d2022},
        {"Mon, 3 Jan 2022 25:00:00 +0100", 2022, 1, 3, d2022 - 3600},  // invalid time: 00:00:00
        {"Thu, 1 Jan 98 00:00:00 +0000", 1998, 1, 1, days_from_civil(1998, 1, 1) * 86400},
        {"Sat, 29 Feb 2020 12:00:00 +1400", 2020, 2, 29, days_from_civil(2020, 2, 29) * 86400 - 2 * 3600},
    };
    for (const auto& c : cases) {
        auto d = parse_rfc5322_date(c.text);
        ASSERT_TRUE(d.has_value()) << c.text;
        EXPECT_EQ(d->local_days, days_from_civil(c.y, c.mo, c.d)) << c.text;
        EXPECT_EQ(d->utc_seconds, c.utc) << c.text;
    }
    for (const char* bad : {"", "someday", "31 Feb 2021 10:00:00 +0000", "Mon, 3 Foo 2022", "10:00:00 +0100",
                            "2022-13-01"}) {
        EXPECT_FALSE(parse_rfc5322_date(bad).has_value()) << bad;
    }
}

TEST(FoldCase, UnicodeLettersAndInvalidBytes) {
    EXPECT_EQ(fold_case("ÀÉÎÕÜ ÆØ Ÿ ĀĂ Σ Ж Ё ABC"), "àéîõü æø ÿ āă σ ж ё abc");
    EXPECT_EQ(fold_case("a\xFF" "B"), "a\xFF" "b");
    EXPECT_TRUE(contains_folded("Re: ÜBERWEISUNG", "überweisung"));
    EXPECT_TRUE(contains_folded("anything", ""));
    EXPECT_FALSE(contains_folded("abc", "abcd"));
}

}  // namespace
}  // namespace roost::imap
