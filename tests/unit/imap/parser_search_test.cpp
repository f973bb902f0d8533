// SEARCH grammar (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731, RFC 5182, RFC 7162 §3.1.5).
#include <gtest/gtest.h>

#include "imapd/protocol/parser.hpp"

namespace roost::imap {
namespace {

using K = SearchKey::Kind;

Search parse(std::string_view line, ParserOptions options = {}) {
    auto r = parse_command(line, options);
    if (auto* f = std::get_if<ParseFailure>(&r)) {
        ADD_FAILURE() << "failed: " << line << " -> " << f->message;
        return Search{};
    }
    return std::get<Search>(std::get<ParsedCommand>(r).command);
}

std::optional<ParseFailure> failure(std::string_view line) {
    auto r = parse_command(line);
    if (auto* f = std::get_if<ParseFailure>(&r)) return *f;
    return std::nullopt;
}
bool is_bad(std::string_view line) {
    auto f = failure(line);
    return f && f->kind == ParseFailure::Bad && f->tag == "a";
}

// A compact rendering of a key tree for comparisons.
std::string show(const SearchKeyPtr& k) {
    switch (k->kind) {
        case K::And: {
            std::string s = "(";
            for (std::size_t i = 0; i < k->children.size(); ++i) s += (i ? " " : "") + show(k->children[i]);
            return s + ")";
        }
        case K::Or: return "OR " + show(k->children[0]) + " " + show(k->children[1]);
        case K::Not: return "NOT " + show(k->children[0]);
        case K::From: return "FROM[" + k->text + "]";
        case K::Subject: return "SUBJECT[" + k->text + "]";
        case K::Text: return "TEXT[" + k->text + "]";
        case K::Body: return "BODY[" + k->text + "]";
        case K::To: return "TO[" + k->text + "]";
        case K::Cc: return "CC[" + k->text + "]";
        case K::Bcc: return "BCC[" + k->text + "]";
        case K::Header: return "HEADER[" + k->field + ":" + k->text + "]";
        case K::Keyword: return "KEYWORD[" + k->text + "]";
        case K::Unkeyword: return "UNKEYWORD[" + k->text + "]";
        case K::Since: return "SINCE[" + std::to_string(k->date) + "]";
        case K::Before: return "BEFORE[" + std::to_string(k->date) + "]";
        case K::On: return "ON[" + std::to_string(k->date) + "]";
        case K::SentSince: return "SENTSINCE[" + std::to_string(k->date) + "]";
        case K::SentBefore: return "SENTBEFORE[" + std::to_string(k->date) + "]";
        case K::SentOn: return "SENTON[" + std::to_string(k->date) + "]";
        case K::Larger: return "LARGER[" + std::to_string(k->number) + "]";
        case K::Smaller: return "SMALLER[" + std::to_string(k->number) + "]";
        case K::ModSeq: return "MODSEQ[" + std::to_string(k->number) + "]";
        case K::Uid: return "UID[" + std::to_string(k->set.ranges.size()) + (k->set.saved ? "$" : "") + "]";
        case K::Sequence: return "SEQ[" + std::to_string(k->set.ranges.size()) + (k->set.saved ? "$" : "") + "]";
        case K::All: return "ALL";
        case K::Answered: return "ANSWERED";
        case K::Deleted: return "DELETED";
        case K::Draft: return "DRAFT";
        case K::Flagged: return "FLAGGED";
        case K::Seen: return "SEEN";
        case K::Recent: return "RECENT";
        case K::New: return "NEW";
        case K::Old: return "OLD";
        case K::Unanswered: return "UNANSWERED";
        case K::Undeleted: return "UNDELETED";
        case K::Undraft: return "UNDRAFT";
        case K::Unflagged: return "UNFLAGGED";
        case K::Unseen: return "UNSEEN";
    }
    return "?";
}

constexpr std::int64_t kFeb1_1994 = 8797;  // days since 1970-01-01

TEST(ParserSearch, RfcExamples) {
    // RFC 9051 §6.4.4
    auto a = parse("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    EXPECT_TRUE(a.return_given);
    EXPECT_EQ(a.returns, (SearchReturnOptions{true, false, false, true, false}));
    EXPECT_EQ(show(a.key), "(FLAGGED SINCE[8797] NOT FROM[Smith])");
    auto b = parse("A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    EXPECT_TRUE(b.return_given);
    EXPECT_TRUE(b.returns.all);  // RFC 4731 §3.1: RETURN () means ALL
    auto c = parse("A284 SEARCH TEXT \"string not in mailbox\"");
    EXPECT_FALSE(c.return_given);
    EXPECT_EQ(show(c.key), "(TEXT[string not in mailbox])");
    auto d = parse("A285 SEARCH CHARSET UTF-8 TEXT {14}\r\n\xd0\x9d\xd0\xb8\xd0\xba\xd0\xbe\xd0\xbb\xd0\xb0\xd0\xb9");
    EXPECT_EQ(d.charset, "UTF-8");
    EXPECT_EQ(d.key->children[0]->text, "\xd0\x9d\xd0\xb8\xd0\xba\xd0\xbe\xd0\xbb\xd0\xb0\xd0\xb9");
    auto e = parse("A286 SEARCH CHARSET \"us-ascii\" ALL");
    EXPECT_EQ(e.charset, "US-ASCII");
    auto u = parse("A282 UID SEARCH RETURN (MIN MAX) 1:5000");  // RFC 4731 §3.1
    EXPECT_TRUE(u.uid);
    EXPECT_EQ(show(u.key), "(SEQ[1])");
}

TEST(ParserSearch, AllKeys) {
    auto s = parse(
        "a SEARCH ALL ANSWERED BCC b BEFORE 2-Feb-1994 BODY x CC c DELETED DRAFT FLAGGED FROM f "
        "HEADER Message-ID <x@y> KEYWORD $Junk LARGER 100 NEW NOT SEEN OLD ON 1-Feb-1994 OR TO t UID 1:3 "
        "RECENT SEEN SENTBEFORE 1-Feb-1994 SENTON 1-Feb-1994 SENTSINCE 1-Feb-1994 SINCE 1-Feb-1994 SMALLER 5 "
        "SUBJECT s TEXT t TO t UID 5 UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD work UNSEEN 2,4:* "
        "MODSEQ 700");
    EXPECT_EQ(show(s.key),
              "(ALL ANSWERED BCC[b] BEFORE[8798] BODY[x] CC[c] DELETED DRAFT FLAGGED FROM[f] "
              "HEADER[Message-ID:<x@y>] KEYWORD[$Junk] LARGER[100] NEW NOT SEEN OLD ON[8797] OR TO[t] UID[1] "
              "RECENT SEEN SENTBEFORE[8797] SENTON[8797] SENTSINCE[8797] SINCE[8797] SMALLER[5] SUBJECT[s] "
              "TEXT[t] TO[t] UID[1] UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD[work] UNSEEN SEQ[2] "
              "MODSEQ[700])");
}

TEST(ParserSearch, KeysAreCaseInsensitive) {
    EXPECT_EQ(show(parse("a search flagged Since 1-FEB-1994 not from smith").key),
              "(FLAGGED SINCE[8797] NOT FROM[smith])");
}

TEST(ParserSearch, NestingAndOr) {
    auto s = parse("a SEARCH OR (FROM a SUBJECT b) NOT (OR SEEN (DELETED)) UNSEEN");
    EXPECT_EQ(show(s.key), "(OR (FROM[a] SUBJECT[b]) NOT (OR SEEN (DELETED)) UNSEEN)");
    auto t = parse("a SEARCH OR OR SEEN DRAFT NOT NOT FLAGGED");
    EXPECT_EQ(show(t.key), "(OR OR SEEN DRAFT NOT NOT FLAGGED)");
    EXPECT_TRUE(is_bad("a SEARCH OR SEEN"));
    EXPECT_TRUE(is_bad("a SEARCH (SEEN"));
    EXPECT_TRUE(is_bad("a SEARCH ()"));
    EXPECT_TRUE(is_bad("a SEARCH SEEN)"));
    EXPECT_TRUE(is_bad("a SEARCH NOT"));
}

TEST(ParserSearch, DeepNestingIsBounded) {
    std::string ok = "a SEARCH " + std::string(kMaxSearchDepth - 1, '(') + "SEEN" + std::string(kMaxSearchDepth - 1, ')');
    EXPECT_FALSE(failure(ok));
    std::string deep = "a SEARCH " + std::string(kMaxSearchDepth, '(') + "SEEN" + std::string(kMaxSearchDepth, ')');
    EXPECT_TRUE(is_bad(deep));
    std::string nots = "a SEARCH ";
    for (int i = 0; i < 5000; ++i) nots += "NOT ";
    EXPECT_TRUE(is_bad(nots + "SEEN"));
    std::string ors = "a SEARCH ";
    for (int i = 0; i < 5000; ++i) ors += "OR SEEN ";
    EXPECT_TRUE(is_bad(ors + "SEEN"));
    EXPECT_TRUE(is_bad("a SEARCH " + std::string(100000, '(')));
}

TEST(ParserSearch, Dates) {
    EXPECT_EQ(parse("a SEARCH SINCE 1-Jan-1970").key->children[0]->date, 0);
    EXPECT_EQ(parse("a SEARCH SINCE \"01-Feb-1994\"").key->children[0]->date, kFeb1_1994);
    EXPECT_EQ(parse("a SEARCH ON 29-Feb-2000").key->children[0]->date, 11016);
    EXPECT_EQ(parse("a SEARCH BEFORE 31-dec-1969").key->children[0]->date, -1);
    EXPECT_TRUE(is_bad("a SEARCH SINCE 29-Feb-1900"));  // not a leap year
    EXPECT_TRUE(is_bad("a SEARCH SINCE 32-Jan-2000"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE 0-Jan-2000"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE 1-January-2000"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE 1-Jan-00"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE 001-Jan-2000"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE \"1-Jan-2000"));
    EXPECT_TRUE(is_bad("a SEARCH SINCE 2000-01-01"));
}

TEST(ParserSearch, Charset) {
    auto f = failure("a SEARCH CHARSET ISO-8859-1 TEXT x");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->kind, ParseFailure::BadCharset);  // tagged NO [BADCHARSET], not BAD (RFC 9051 §6.4.4)
    EXPECT_EQ(f->tag, "a");
    EXPECT_EQ(f->message.rfind("[BADCHARSET (US-ASCII UTF-8)]", 0), 0u);
    EXPECT_TRUE(is_bad("a SEARCH CHARSET"));
    EXPECT_TRUE(is_bad("a SEARCH CHARSET UTF-8"));
}

TEST(ParserSearch, ReturnOptionsAndSave) {
    auto s = parse("A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");  // RFC 5182
    EXPECT_TRUE(s.returns.save);
    EXPECT_FALSE(s.returns.all);
    auto all = parse("a SEARCH RETURN (MIN MAX ALL COUNT SAVE) ALL");
    EXPECT_EQ(all.returns, (SearchReturnOptions{true, true, true, true, true}));
    auto d = parse("A284 UID SEARCH UID $ SMALLER 4096");
    EXPECT_EQ(show(d.key), "(UID[0$] SMALLER[4096])");
    EXPECT_EQ(show(parse("a SEARCH $").key), "(SEQ[0$])");
    EXPECT_TRUE(is_bad("a SEARCH RETURN (FOO) ALL"));
    EXPECT_TRUE(is_bad("a SEARCH RETURN MIN ALL"));
    EXPECT_TRUE(is_bad("a SEARCH RETURN (MIN)"));
}

TEST(ParserSearch, ModSeq) {
    // RFC 7162 §3.1.5
    auto s = parse("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338");
    EXPECT_EQ(show(s.key), "(MODSEQ[620162338])");
    EXPECT_EQ(show(parse("a SEARCH OR NOT MODSEQ 720162338 LARGER 50000").key),
              "(OR NOT MODSEQ[720162338] LARGER[50000])");
    EXPECT_TRUE(is_bad("a SEARCH MODSEQ \"/flags/\\\\draft\" some 1"));
    EXPECT_TRUE(is_bad("a SEARCH MODSEQ"));
}

TEST(ParserSearch, Bad) {
    EXPECT_TRUE(is_bad("a SEARCH"));
    EXPECT_TRUE(is_bad("a SEARCH FOO"));
    EXPECT_TRUE(is_bad("a SEARCH FROM"));
    EXPECT_TRUE(is_bad("a SEARCH LARGER x"));
    EXPECT_TRUE(is_bad("a SEARCH KEYWORD \\Seen"));
    EXPECT_TRUE(is_bad("a SEARCH HEADER Subject"));
    EXPECT_TRUE(is_bad("a SEARCH ALL  SEEN"));
    EXPECT_TRUE(is_bad("a SEARCH ALL "));
    EXPECT_TRUE(is_bad("a SEARCH TEXT \"caf\xe9\""));  // 8-bit quoted text must be UTF-8
}

TEST(ParserSearch, QuotedUtf8) {
    EXPECT_EQ(parse("a SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"").key->children[0]->text, "caf\xc3\xa9");
}

}  // namespace
}  // namespace roost::imap
