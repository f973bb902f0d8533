// FETCH and STORE grammar (RFC 9051 §6.4.5-6, RFC 7162 §3.1.3-4, §3.2.6).
#include <gtest/gtest.h>

#include "imapd/protocol/parser.hpp"

namespace roost::imap {
namespace {

using K = FetchItem::Kind;

template <class C>
C parse(std::string_view line) {
    auto r = parse_command(line);
    if (auto* f = std::get_if<ParseFailure>(&r)) {
        ADD_FAILURE() << "failed: " << line << " -> " << f->message;
        return C{};
    }
    auto& cmd = std::get<ParsedCommand>(r).command;
    if (!std::holds_alternative<C>(cmd)) {
        ADD_FAILURE() << "wrong command for " << line;
        return C{};
    }
    return std::get<C>(cmd);
}

bool is_bad(std::string_view line) {
    auto r = parse_command(line);
    auto* f = std::get_if<ParseFailure>(&r);
    return f && f->kind == ParseFailure::Bad && !f->fatal && f->tag == "a";
}

FetchItem item(K kind) { return FetchItem{kind, false, {}, {}}; }

TEST(ParserFetch, MacrosExpand) {
    EXPECT_EQ(parse<Fetch>("a FETCH 1 FAST").items,
              (std::vector<FetchItem>{item(K::Flags), item(K::InternalDate), item(K::Rfc822Size)}));
    EXPECT_EQ(parse<Fetch>("a FETCH 1 all").items,
              (std::vector<FetchItem>{item(K::Flags), item(K::InternalDate), item(K::Rfc822Size),
                                      item(K::Envelope)}));
    EXPECT_EQ(parse<Fetch>("a FETCH 1 FULL").items,
              (std::vector<FetchItem>{item(K::Flags), item(K::InternalDate), item(K::Rfc822Size),
                                      item(K::Envelope), item(K::Body)}));
    EXPECT_TRUE(is_bad("a FETCH 1 (ALL)"));  // macros only stand alone
    EXPECT_TRUE(is_bad("a FETCH 1 (FAST FLAGS)"));
}

TEST(ParserFetch, SimpleItems) {
    auto f = parse<Fetch>(
        "a FETCH 1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY RFC822 RFC822.HEADER "
        "RFC822.TEXT MODSEQ)");
    EXPECT_EQ(f.items,
              (std::vector<FetchItem>{item(K::Flags), item(K::Uid), item(K::InternalDate), item(K::Rfc822Size),
                                      item(K::Envelope), item(K::BodyStructure), item(K::Body), item(K::Rfc822),
                                      item(K::Rfc822Header), item(K::Rfc822Text), item(K::ModSeq)}));
    EXPECT_EQ(f.set.ranges, (std::vector<SeqRange>{{1, kStar}}));
    auto u = parse<Fetch>("A999 UID FETCH 4827313:4828442 FLAGS");  // RFC 9051 §6.4.9
    EXPECT_TRUE(u.uid);
    EXPECT_EQ(u.items, (std::vector<FetchItem>{item(K::Flags)}));
    EXPECT_EQ(parse<Fetch>("a fetch 1 (flags)").items, (std::vector<FetchItem>{item(K::Flags)}));
}

TEST(ParserFetch, Sections) {
    // RFC 9051 §6.4.5 example
    auto f = parse<Fetch>("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])");
    ASSERT_EQ(f.items.size(), 2u);
    const auto& b = f.items[1];
    EXPECT_EQ(b.kind, K::BodySection);
    EXPECT_FALSE(b.peek);
    EXPECT_EQ(b.section.text, Section::Text::HeaderFields);
    EXPECT_EQ(b.section.fields, (std::vector<std::string>{"DATE", "FROM"}));
    EXPECT_TRUE(b.section.part.empty());

    auto g = parse<Fetch>(
        "a FETCH 1 (BODY[] BODY.PEEK[1.2.3] body[4.1.MIME] BODY[3.HEADER] BODY[TEXT] "
        "BODY.PEEK[HEADER.FIELDS.NOT (x-spam \"Received\")] BODY[2.TEXT]<0.2048> BODY[]<10.1>)");
    ASSERT_EQ(g.items.size(), 8u);
    EXPECT_EQ(g.items[0].section, Section{});
    EXPECT_FALSE(g.items[0].partial);
    EXPECT_TRUE(g.items[1].peek);
    EXPECT_EQ(g.items[1].section.part, (std::vector<std::uint32_t>{1, 2, 3}));
    EXPECT_EQ(g.items[1].section.text, Section::Text::None);
    EXPECT_EQ(g.items[2].section.part, (std::vector<std::uint32_t>{4, 1}));
    EXPECT_EQ(g.items[2].section.text, Section::Text::Mime);
    EXPECT_EQ(g.items[3].section.text, Section::Text::Header);
    EXPECT_EQ(g.items[3].section.part, (std::vector<std::uint32_t>{3}));
    EXPECT_EQ(g.items[4].section.text, Section::Text::Text);
    EXPECT_EQ(g.items[5].section.text, Section::Text::HeaderFieldsNot);
    EXPECT_EQ(g.items[5].section.fields, (std::vector<std::string>{"X-SPAM", "RECEIVED"}));
    EXPECT_EQ(g.items[6].partial, (Partial{0, 2048}));
    EXPECT_EQ(g.items[6].section.part, (std::vector<std::uint32_t>{2}));
    EXPECT_EQ(g.items[7].partial, (Partial{10, 1}));
    // header-list entries may be literals
    auto l = parse<Fetch>("a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nDATE)]");
    EXPECT_EQ(l.items[0].section.fields, (std::vector<std::string>{"DATE"}));
}

// RFC 9051 §6.4.5: BINARY[section-binary]<partial>, BINARY.PEEK, BINARY.SIZE.
TEST(ParserFetch, BinaryItems) {
    auto f = parse<Fetch>("a FETCH 1 (BINARY[] BINARY.PEEK[1.2]<10.20> binary.size[3])");
    ASSERT_EQ(f.items.size(), 3u);
    EXPECT_EQ(f.items[0].kind, K::Binary);
    EXPECT_FALSE(f.items[0].peek);
    EXPECT_TRUE(f.items[0].section.part.empty());
    EXPECT_EQ(f.items[1].kind, K::Binary);
    EXPECT_TRUE(f.items[1].peek);
    EXPECT_EQ(f.items[1].section.part, (std::vector<std::uint32_t>{1, 2}));
    ASSERT_TRUE(f.items[1].partial.has_value());
    EXPECT_EQ(f.items[1].partial->offset, 10u);
    EXPECT_EQ(f.items[1].partial->length, 20u);
    EXPECT_EQ(f.items[2].kind, K::BinarySize);
    EXPECT_EQ(f.items[2].section.part, (std::vector<std::uint32_t>{3}));
}

TEST(ParserFetch, BadSections) {
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[MIME]"));             // MIME needs a part
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[0]"));                // parts are nz-number
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[1.]"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[HEADER.FIELDS]"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[HEADER.FIELDS ()]"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[FOO]"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[]<0>"));              // partial needs a length
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[]<0.0>"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY.PEEK"));
    EXPECT_TRUE(is_bad("a FETCH 1 BODY[1"));
    EXPECT_TRUE(is_bad("a FETCH 1 BINARY[1.HEADER]"));       // section-binary is part numbers only
    EXPECT_TRUE(is_bad("a FETCH 1 BINARY[0]"));
    EXPECT_TRUE(is_bad("a FETCH 1 BINARY"));
    EXPECT_TRUE(is_bad("a FETCH 1 BINARY.SIZE[1]<0.5>"));     // BINARY.SIZE takes no partial
    EXPECT_TRUE(is_bad("a FETCH 1 (FLAGS"));
    EXPECT_TRUE(is_bad("a FETCH 1 ()"));
    EXPECT_TRUE(is_bad("a FETCH 1 FOO"));
    EXPECT_TRUE(is_bad("a FETCH FLAGS"));
    EXPECT_TRUE(is_bad("a FETCH 1  FLAGS"));
}

TEST(ParserFetch, Modifiers) {
    auto c = parse<Fetch>("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)");  // RFC 7162 §3.1.4.2
    EXPECT_EQ(c.changed_since, 12345u);
    EXPECT_FALSE(c.vanished);
    auto v = parse<Fetch>("s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)");  // §3.2.6
    EXPECT_TRUE(v.vanished);
    EXPECT_EQ(parse<Fetch>("a FETCH 1 FLAGS (CHANGEDSINCE 0)").changed_since, 0u);
    EXPECT_TRUE(is_bad("a FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)"));  // VANISHED needs UID FETCH
    EXPECT_TRUE(is_bad("a UID FETCH 1 (FLAGS) (VANISHED)"));             // ... and CHANGEDSINCE
    EXPECT_TRUE(is_bad("a FETCH 1 FLAGS (FOO)"));
    EXPECT_TRUE(is_bad("a FETCH 1 FLAGS (CHANGEDSINCE)"));
    EXPECT_TRUE(is_bad("a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)"));  // above number64
}

TEST(ParserFetch, SavedResult) {
    auto f = parse<Fetch>("A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.SIZE)");  // RFC 5182 §2.4
    EXPECT_TRUE(f.set.saved);
    EXPECT_TRUE(f.set.ranges.empty());
    EXPECT_TRUE(is_bad("a FETCH $,1 FLAGS"));
}

TEST(ParserStore, Forms) {
    auto s = parse<Store>("A003 STORE 2:4 +FLAGS (\\Deleted)");  // RFC 9051 §6.4.6
    EXPECT_EQ(s.op, StoreOp::Add);
    EXPECT_FALSE(s.silent);
    EXPECT_EQ(s.flags, (std::vector<Flag>{"\\Deleted"}));
    EXPECT_EQ(s.set.ranges, (std::vector<SeqRange>{{2, 4}}));
    auto r = parse<Store>("a STORE 1 -flags.silent \\seen $Junk");
    EXPECT_EQ(r.op, StoreOp::Remove);
    EXPECT_TRUE(r.silent);
    EXPECT_EQ(r.flags, (std::vector<Flag>{"\\Seen", "$Junk"}));
    auto p = parse<Store>("a UID STORE 1 FLAGS ()");
    EXPECT_TRUE(p.uid);
    EXPECT_EQ(p.op, StoreOp::Replace);
    EXPECT_TRUE(p.flags.empty());
    auto x = parse<Store>("a STORE 1 FLAGS (\\answered \\FLAGGED \\draft \\Recent \\Custom kw)");
    EXPECT_EQ(x.flags, (std::vector<Flag>{"\\Answered", "\\Flagged", "\\Draft", "\\Recent", "\\Custom", "kw"}));
    // RFC 7162 §3.1.3
    auto u = parse<Store>("a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)");
    EXPECT_EQ(u.unchanged_since, 12121230045ull);
    EXPECT_TRUE(u.silent);
    EXPECT_EQ(u.set.ranges.size(), 3u);
}

TEST(ParserStore, Bad) {
    EXPECT_TRUE(is_bad("a STORE 1 FLAGS"));
    EXPECT_TRUE(is_bad("a STORE 1 FLAGS.NOISY (\\Seen)"));
    EXPECT_TRUE(is_bad("a STORE 1 *FLAGS (\\Seen)"));
    EXPECT_TRUE(is_bad("a STORE 1 +FLAGS (\\*)"));
    EXPECT_TRUE(is_bad("a STORE 1 +FLAGS (\\Seen"));
    EXPECT_TRUE(is_bad("a STORE 1 +FLAGS (a b) c"));
    EXPECT_TRUE(is_bad("a STORE 1 (FOO 1) FLAGS (\\Seen)"));
    EXPECT_TRUE(is_bad("a STORE 1 +FLAGS \"quoted\""));
}

}  // namespace
}  // namespace roost::imap
