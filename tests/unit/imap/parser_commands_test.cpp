// IMAP command grammar (imapd/protocol/parser.hpp): one or more RFC examples per command.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "imapd/protocol/parser.hpp"

namespace roost::imap {
namespace {

// Parses one command (CRLF appended) through the CommandReader, answering continuations.
std::variant<ParsedCommand, ParseFailure> read(std::string_view line, ParserOptions options = {}) {
    CommandReader reader({}, options);
    std::string input = std::string(line) + "\r\n";
    std::string_view rest = input;
    while (true) {
        auto [used, event] = reader.feed(rest);
        rest.remove_prefix(used);
        if (auto* c = std::get_if<ParsedCommand>(&event)) return *c;
        if (auto* f = std::get_if<ParseFailure>(&event)) return *f;
        if (std::holds_alternative<NeedMore>(event)) {
            ADD_FAILURE() << "incomplete command: " << line;
            return ParseFailure{"*", "incomplete", false, ParseFailure::Bad};
        }
    }
}

template <class C>
C parse(std::string_view line, ParserOptions options = {}) {
    auto r = read(line, options);
    if (auto* f = std::get_if<ParseFailure>(&r)) {
        ADD_FAILURE() << "failed: " << line << " -> " << f->message;
        return C{};
    }
    auto& cmd = std::get<ParsedCommand>(r).command;
    if (!std::holds_alternative<C>(cmd)) {
        ADD_FAILURE() << "wrong command type for: " << line << " (got " << command_name(cmd) << ")";
        return C{};
    }
    return std::get<C>(cmd);
}

ParseFailure bad(std::string_view line, ParserOptions options = {}) {
    auto r = read(line, options);
    if (auto* f = std::get_if<ParseFailure>(&r)) return *f;
    ADD_FAILURE() << "unexpectedly parsed: " << line;
    return {};
}

SequenceSet set(std::initializer_list<SeqRange> ranges) { return SequenceSet{ranges, false}; }

// --- any state ----------------------------------------------------------------------------------------------
TEST(ParserCommands, CapabilityNoopLogout) {
    EXPECT_EQ(parse<Capability>("abcd CAPABILITY").tag, "abcd");  // RFC 9051 §6.1.1
    EXPECT_EQ(parse<Noop>("a002 NOOP").tag, "a002");
    EXPECT_EQ(parse<Logout>("A023 LOGOUT").tag, "A023");
    EXPECT_EQ(parse<Noop>("a002 noop").tag, "a002");  // command names are case-insensitive
}

TEST(ParserCommands, ArgumentsWhereNoneAllowedAreBad) {
    auto f = bad("a1 NOOP now");
    EXPECT_EQ(f.tag, "a1");
    EXPECT_EQ(f.kind, ParseFailure::Bad);
    EXPECT_FALSE(f.fatal);
    EXPECT_EQ(bad("a1 CAPABILITY ").tag, "a1");  // trailing space
}

TEST(ParserCommands, UnknownCommandIsBadWithTag) {
    auto f = bad("x17 FROBNICATE INBOX");
    EXPECT_EQ(f.tag, "x17");
    EXPECT_FALSE(f.fatal);
    EXPECT_EQ(bad("x18 UID FROB 1").tag, "x18");
    EXPECT_EQ(bad("x19").tag, "x19");
}

TEST(ParserCommands, InvalidTagGivesStar) {
    EXPECT_EQ(bad("a+b NOOP").tag, "*");  // tag excludes "+"
    EXPECT_EQ(bad("a*b NOOP").tag, "*");
    EXPECT_EQ(bad(" NOOP").tag, "*");
    EXPECT_EQ(bad("\"q\" NOOP").tag, "*");
    EXPECT_EQ(parse<Noop>("a]b NOOP").tag, "a]b");  // resp-specials are ASTRING-CHARs
}

TEST(ParserCommands, DoubleSpaceIsBad) { EXPECT_EQ(bad("a1  NOOP").tag, "a1"); }

TEST(ParserCommands, Compress) {
    EXPECT_EQ(parse<Compress>("a COMPRESS deflate").mechanism, "DEFLATE");  // RFC 4978 §3
    bad("a COMPRESS");
}

TEST(ParserCommands, Id) {
    // RFC 2971 §3.4
    auto c = parse<Id>("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")");
    ASSERT_TRUE(c.params);
    ASSERT_EQ(c.params->size(), 3u);
    EXPECT_EQ((*c.params)[2], (IdParam{"vendor", "Pink Floyd Music Limited"}));
    EXPECT_FALSE(parse<Id>("a ID NIL").params);
    auto n = parse<Id>("a ID (\"os\" NIL)");
    ASSERT_TRUE(n.params);
    EXPECT_EQ((*n.params)[0], (IdParam{"os", std::nullopt}));
    EXPECT_TRUE(parse<Id>("a ID ()").params->empty());
    bad("a ID (\"name\")");
    std::string many = "a ID (";
    for (int i = 0; i < 31; ++i) many += (i ? " " : "") + std::string("\"k\" \"v\"");
    bad(many + ")");
}

// --- not authenticated ------------------------------------------------------------------------------------------
TEST(ParserCommands, StartTls) { EXPECT_EQ(parse<StartTls>("a001 STARTTLS").tag, "a001"); }

TEST(ParserCommands, Authenticate) {
    auto a = parse<Authenticate>("A001 AUTHENTICATE GSSAPI");  // RFC 9051 §6.2.2
    EXPECT_EQ(a.mechanism, "GSSAPI");
    EXPECT_FALSE(a.initial_response);
    // RFC 4959 §3 SASL-IR
    auto ir = parse<Authenticate>("a01 AUTHENTICATE plain dGVzdAB0ZXN0AHRlc3Q=");
    EXPECT_EQ(ir.mechanism, "PLAIN");
    EXPECT_EQ(ir.initial_response, "dGVzdAB0ZXN0AHRlc3Q=");
    EXPECT_EQ(parse<Authenticate>("a01 AUTHENTICATE EXTERNAL =").initial_response, "");
    bad("a01 AUTHENTICATE PLAIN abc");    // not a multiple of 4
    bad("a01 AUTHENTICATE PLAIN ab=c");   // padding inside
    bad("a01 AUTHENTICATE PLAIN ab!c");
    bad("a01 AUTHENTICATE");
}

TEST(ParserCommands, Login) {
    auto l = parse<Login>("a001 LOGIN SMITH SESAME");  // RFC 9051 §6.2.3
    EXPECT_EQ(l.user, "SMITH");
    EXPECT_EQ(l.password, "SESAME");
    auto q = parse<Login>("a LOGIN \"fred\" \"p a\\\"ss\\\\\"");
    EXPECT_EQ(q.user, "fred");
    EXPECT_EQ(q.password, "p a\"ss\\");
    auto lit = parse<Login>("a LOGIN {4}\r\nfred {6}\r\nfoo\r\nb");
    EXPECT_EQ(lit.user, "fred");
    EXPECT_EQ(lit.password, "foo\r\nb");
    bad("a LOGIN fred");
    bad("a LOGIN \"fred\\x\" pw");  // only \" and \\ may be escaped
    bad("a LOGIN \"fred pw");
}

// --- authenticated --------------------------------------------------------------------------------------------
TEST(ParserCommands, SelectExamine) {
    auto s = parse<Select>("A142 SELECT INBOX");
    EXPECT_EQ(s.mailbox, "INBOX");
    EXPECT_FALSE(s.condstore);
    EXPECT_EQ(parse<Examine>("A932 EXAMINE blurdybloop").mailbox, "blurdybloop");
    EXPECT_EQ(parse<Select>("a SELECT inbox").mailbox, "INBOX");
    EXPECT_EQ(parse<Select>("a SELECT \"iNbOx\"").mailbox, "INBOX");
    EXPECT_EQ(parse<Select>("a SELECT inbox/Sub").mailbox, "inbox/Sub");  // only the exact name
    EXPECT_EQ(parse<Select>("a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-").mailbox,
              "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    EXPECT_EQ(parse<Select>("a SELECT \"A &- B\"").mailbox, "A & B");
    bad("a SELECT &Jjo");  // unterminated mUTF-7
    bad("a SELECT \"caf\xc3\xa9\"");  // raw UTF-8 needs UTF8=ACCEPT
    EXPECT_EQ(parse<Select>("a SELECT \"caf\xc3\xa9\"", {.utf8 = true}).mailbox, "caf\xc3\xa9");
    // UTF-8 mode: names are not mUTF-7 decoded (RFC 6855 §3)
    EXPECT_EQ(parse<Select>("a SELECT &U,BTFw-", {.utf8 = true}).mailbox, "&U,BTFw-");
    bad("a SELECT");
}

TEST(ParserCommands, SelectCondstoreQresync) {
    EXPECT_TRUE(parse<Select>("a SELECT INBOX (CONDSTORE)").condstore);  // RFC 7162 §3.1.8
    auto a = parse<Select>("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
    ASSERT_TRUE(a.qresync);
    EXPECT_EQ(a.qresync->uid_validity, 67890007u);
    EXPECT_EQ(a.qresync->modseq, 20050715194045000ull);
    EXPECT_EQ(a.qresync->known_uids, set({{41, 41}, {43, 211}, {214, 541}}));
    EXPECT_FALSE(a.qresync->seq_match);
    auto b = parse<Select>(
        "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
        "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))");
    ASSERT_TRUE(b.qresync && b.qresync->seq_match);
    EXPECT_EQ(b.qresync->known_uids, set({{1, 29997}}));
    EXPECT_EQ(b.qresync->seq_match->sequence_numbers, set({{5000, 5000}, {7500, 7500}, {9000, 9000}, {9990, 9999}}));
    EXPECT_EQ(b.qresync->seq_match->uids.ranges.size(), 13u);
    auto c = parse<Examine>("a EXAMINE INBOX (QRESYNC (1 2 (1:2 3:4)) CONDSTORE)");
    ASSERT_TRUE(c.qresync);
    EXPECT_FALSE(c.qresync->known_uids);
    EXPECT_TRUE(c.qresync->seq_match);
    EXPECT_TRUE(c.condstore);
    auto d = parse<Select>("a SELECT INBOX (QRESYNC (5 0))");
    EXPECT_EQ(d.qresync->modseq, 0u);
    bad("a SELECT INBOX ()");
    bad("a SELECT INBOX (FOO)");
    bad("a SELECT INBOX (QRESYNC (0 5))");  // uidvalidity is nz-number
    bad("a SELECT INBOX (QRESYNC (1))");
}

TEST(ParserCommands, CreateDeleteRenameSubscribe) {
    EXPECT_EQ(parse<Create>("A003 CREATE owatagusiam/").mailbox, "owatagusiam/");
    EXPECT_EQ(parse<Delete>("A682 DELETE blurdybloop").mailbox, "blurdybloop");
    auto r = parse<Rename>("A683 RENAME blurdybloop sarasoop");
    EXPECT_EQ(r.from, "blurdybloop");
    EXPECT_EQ(r.to, "sarasoop");
    EXPECT_EQ(parse<Rename>("a RENAME inbox old-mail").from, "INBOX");
    EXPECT_EQ(parse<Subscribe>("A002 SUBSCRIBE #news.comp.mail.mime").mailbox, "#news.comp.mail.mime");
    EXPECT_EQ(parse<Unsubscribe>("A002 UNSUBSCRIBE #news.comp.mail.mime").mailbox, "#news.comp.mail.mime");
    bad("a RENAME onlyone");
}

TEST(ParserCommands, CreateSpecialUse) {
    auto c = parse<Create>("t1 CREATE MySpecial (USE (\\drafts \\Sent))");  // RFC 6154 §5.2
    EXPECT_EQ(c.mailbox, "MySpecial");
    EXPECT_EQ(c.special_use, (std::vector<std::string>{"\\Drafts", "\\Sent"}));
    EXPECT_EQ(parse<Create>("t1 CREATE \"Important Messages\" (USE (\\Important))").special_use,
              (std::vector<std::string>{"\\Important"}));
    EXPECT_TRUE(parse<Create>("t1 CREATE x (USE ())").special_use.empty());
    bad("t1 CREATE x (FOO)");
    bad("t1 CREATE x (USE (Drafts))");
}

TEST(ParserCommands, ListBasic) {
    auto a = parse<List>("A101 LIST \"\" \"\"");  // RFC 9051 §6.3.9
    EXPECT_EQ(a.reference, "");
    EXPECT_EQ(a.patterns, (std::vector<std::string>{""}));
    EXPECT_FALSE(a.extended);
    auto b = parse<List>("A202 LIST ~/Mail/ %");
    EXPECT_EQ(b.reference, "~/Mail/");
    EXPECT_EQ(b.patterns, (std::vector<std::string>{"%"}));
    EXPECT_EQ(parse<List>("a LIST \"\" *").patterns[0], "*");
    EXPECT_EQ(parse<List>("a LIST \"\" foo/*/%bar]").patterns[0], "foo/*/%bar]");
    EXPECT_EQ(parse<List>("a LIST \"\" &ZeVnLIqe-/*").patterns[0], "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/*");
    EXPECT_EQ(parse<List>("a LIST \"\" inbox").patterns[0], "INBOX");
    bad("a LIST \"\"");
    bad("a LIST \"\" % RETURN");
}

TEST(ParserCommands, ListExtended) {
    // RFC 5258 §5
    auto a = parse<List>("A02 LIST (SUBSCRIBED) \"\" \"*\"");
    EXPECT_TRUE(a.extended);
    EXPECT_TRUE(a.select.subscribed);
    auto b = parse<List>("A03 LIST () \"\" \"%\" RETURN (CHILDREN)");
    EXPECT_TRUE(b.extended);
    EXPECT_EQ(b.select, ListSelectOptions{});
    EXPECT_TRUE(b.returns.children);
    auto c = parse<List>("A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)");
    EXPECT_TRUE(c.select.remote);
    auto d = parse<List>("A05 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)");
    EXPECT_TRUE(d.select.recursive_match);
    auto e = parse<List>("A06 LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")");
    EXPECT_EQ(e.patterns, (std::vector<std::string>{"INBOX", "Drafts", "Sent/%"}));
    EXPECT_TRUE(e.extended);
    // RFC 6154 §5.1
    auto f = parse<List>("t1 LIST (SPECIAL-USE) \"\" \"*\"");
    EXPECT_TRUE(f.select.special_use);
    EXPECT_TRUE(parse<List>("t3 LIST \"\" \"%\" RETURN (SPECIAL-USE)").returns.special_use);
    // RFC 5819 §5
    auto g = parse<List>("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))");
    EXPECT_EQ(g.returns.status, (std::vector<StatusItem>{StatusItem::Messages, StatusItem::Unseen}));
    auto h = parse<List>("A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))");
    EXPECT_TRUE(h.select.subscribed && h.select.recursive_match);
    EXPECT_TRUE(parse<List>("a LIST \"\" % RETURN (SUBSCRIBED CHILDREN)").returns.subscribed);
    bad("A06 LIST (RECURSIVEMATCH) \"\" %");         // RFC 5258 §3.1
    bad("A06 LIST (REMOTE RECURSIVEMATCH) \"\" %");
    bad("A07 LIST (FOO) \"\" %");                    // unknown selection option → BAD
    bad("A08 LIST \"\" % RETURN (FOO)");
}

TEST(ParserCommands, Lsub) {
    auto l = parse<Lsub>("A002 LSUB \"#news.\" \"comp.mail.*\"");  // RFC 3501 §6.3.9
    EXPECT_EQ(l.reference, "#news.");
    EXPECT_EQ(l.pattern, "comp.mail.*");
}

TEST(ParserCommands, Status) {
    auto s = parse<Status>("A042 STATUS blurdybloop (UIDNEXT MESSAGES)");  // RFC 9051 §6.3.11
    EXPECT_EQ(s.mailbox, "blurdybloop");
    EXPECT_EQ(s.items, (std::vector<StatusItem>{StatusItem::UidNext, StatusItem::Messages}));
    auto all = parse<Status>(
        "a STATUS inbox (messages uidnext uidvalidity unseen deleted size recent highestmodseq appendlimit)");
    EXPECT_EQ(all.mailbox, "INBOX");
    EXPECT_EQ(all.items.size(), 9u);
    EXPECT_EQ(all.items.back(), StatusItem::AppendLimit);
    bad("a STATUS INBOX ()");
    bad("a STATUS INBOX (FOO)");
    bad("a STATUS INBOX MESSAGES");
}

TEST(ParserCommands, Append) {
    // RFC 9051 §6.3.12
    std::string msg =
        "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
        "From: Fred Foobar <foobar@Blurdybloop.example>\r\n"
        "Subject: afternoon meeting\r\n"
        "To: mooch@owatagu.siam.edu.example\r\n"
        "Message-Id: <B27397-0100000@Blurdybloop.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n"
        "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    auto a = parse<Append>("A003 APPEND saved-messages (\\Seen) {" + std::to_string(msg.size()) + "}\r\n" + msg);
    EXPECT_EQ(a.mailbox, "saved-messages");
    EXPECT_EQ(a.flags, (std::vector<Flag>{"\\Seen"}));
    EXPECT_FALSE(a.internal_date);
    EXPECT_EQ(a.message, msg);
    auto d = parse<Append>("a APPEND INBOX (\\seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi");
    EXPECT_EQ(d.flags, (std::vector<Flag>{"\\Seen", "$Forwarded"}));
    ASSERT_TRUE(d.internal_date);
    EXPECT_EQ(d.internal_date->unix_seconds, 760686745);  // 1994-02-08 05:52:25 UTC
    EXPECT_EQ(d.internal_date->tz_offset_minutes, -480);
    auto e = parse<Append>("a APPEND INBOX \"28-Nov-2026 12:00:00 +0130\" {0}\r\n");
    EXPECT_EQ(e.internal_date->unix_seconds, 1795867200 - 90 * 60);
    EXPECT_EQ(e.internal_date->tz_offset_minutes, 90);
    EXPECT_EQ(e.message, "");
    EXPECT_TRUE(parse<Append>("a APPEND INBOX () {1}\r\nx").flags.empty());
    EXPECT_EQ(parse<Append>("a APPEND INBOX \"1-Feb-2020 00:00:00 +0000\" {1}\r\nx").internal_date->unix_seconds,
              1580515200);  // Deviation: one-digit day without the space
    bad("a APPEND INBOX \"30-Feb-2020 00:00:00 +0000\" {1}\r\nx");
    bad("a APPEND INBOX \"01-Feb-2020 24:00:00 +0000\" {1}\r\nx");
    bad("a APPEND INBOX \"01-Foo-2020 00:00:00 +0000\" {1}\r\nx");
    bad("a APPEND INBOX \"01-Feb-2020 00:00:00 0000\" {1}\r\nx");
    bad("a APPEND INBOX \"hello\"");               // message must be a literal
    bad("a APPEND INBOX {1}\r\nx {1}\r\ny");        // MULTIAPPEND not supported
    bad("a APPEND INBOX (\\*) {1}\r\nx");
    EXPECT_EQ(bad(std::string("a APPEND INBOX {3}\r\na\0b", 22)).tag, "a");  // NUL needs BINARY
}

TEST(ParserCommands, AppendUtf8) {
    // RFC 6855 §4
    auto a = parse<Append>("a APPEND INBOX UTF8 (~{3}\r\nh\xc3\xa9)", {.utf8 = true});
    EXPECT_TRUE(a.utf8);
    EXPECT_EQ(a.message, "h\xc3\xa9");
    bad("a APPEND INBOX UTF8 (~{3}\r\nh\xc3\xa9)");  // not enabled
    bad("a APPEND INBOX ~{1}\r\nx");               // BINARY not advertised
}

TEST(ParserCommands, IdleNamespaceEnable) {
    EXPECT_EQ(parse<Idle>("A001 IDLE").tag, "A001");
    EXPECT_EQ(parse<Namespace>("A001 NAMESPACE").tag, "A001");
    auto e = parse<Enable>("t2 ENABLE CONDSTORE X-GOOD-IDEA");  // RFC 5161 §4
    EXPECT_EQ(e.capabilities, (std::vector<std::string>{"CONDSTORE", "X-GOOD-IDEA"}));
    EXPECT_EQ(parse<Enable>("t ENABLE utf8=accept").capabilities[0], "UTF8=ACCEPT");
    bad("t2 ENABLE");
}

TEST(ParserCommands, IsDoneLine) {
    EXPECT_TRUE(is_done_line("DONE"));
    EXPECT_TRUE(is_done_line("done\r\n"));
    EXPECT_TRUE(is_done_line("Done\n"));
    EXPECT_FALSE(is_done_line("DONE "));
    EXPECT_FALSE(is_done_line("a DONE"));
    EXPECT_FALSE(is_done_line(""));
    EXPECT_EQ(bad("a DONE").tag, "a");  // not a command
}

TEST(ParserCommands, Quota) {
    // RFC 9208 §4.1
    EXPECT_EQ(parse<GetQuota>("G0001 GETQUOTA \"!partition/sda4\"").root, "!partition/sda4");
    EXPECT_EQ(parse<GetQuotaRoot>("G0002 GETQUOTAROOT inbox").mailbox, "INBOX");
    auto s = parse<SetQuota>("S0000 SETQUOTA \"User quota\" (STORAGE 512 message 1000)");
    EXPECT_EQ(s.root, "User quota");
    EXPECT_EQ(s.resources, (std::vector<QuotaResource>{{"STORAGE", 512}, {"MESSAGE", 1000}}));
    EXPECT_TRUE(parse<SetQuota>("S SETQUOTA \"\" ()").resources.empty());
    bad("S SETQUOTA \"\" (STORAGE)");
}

// --- selected -------------------------------------------------------------------------------------------------
TEST(ParserCommands, CheckCloseUnselectExpunge) {
    EXPECT_EQ(parse<Check>("FXXZ CHECK").tag, "FXXZ");
    EXPECT_EQ(parse<Close>("A341 CLOSE").tag, "A341");
    EXPECT_EQ(parse<Unselect>("A342 UNSELECT").tag, "A342");
    EXPECT_EQ(parse<Expunge>("A202 EXPUNGE").tag, "A202");
    auto u = parse<UidExpunge>("A003 UID EXPUNGE 3000:3002");  // RFC 4315 §2.1
    EXPECT_EQ(u.set, set({{3000, 3002}}));
    bad("A003 UID EXPUNGE");
    bad("A003 EXPUNGE 1:2");
}

TEST(ParserCommands, CopyMove) {
    auto c = parse<Copy>("A003 COPY 2:4 MEETING");
    EXPECT_FALSE(c.uid);
    EXPECT_EQ(c.set, set({{2, 4}}));
    EXPECT_EQ(c.mailbox, "MEETING");
    auto m = parse<Move>("a UID MOVE 42:69 foo");  // RFC 6851 §4.1
    EXPECT_TRUE(m.uid);
    EXPECT_EQ(m.set, set({{42, 69}}));
    EXPECT_EQ(m.mailbox, "foo");
    auto s = parse<Copy>("a COPY $ inbox");
    EXPECT_TRUE(s.set.saved);
    EXPECT_EQ(s.mailbox, "INBOX");
    bad("a COPY 0 foo");
    bad("a COPY 1: foo");
    bad("a COPY 1,,2 foo");
    bad("a COPY 4294967296 foo");
}

TEST(ParserCommands, SequenceSets) {
    auto c = parse<Copy>("a COPY 2,4:7,9,12:* x");
    EXPECT_EQ(c.set, set({{2, 2}, {4, 7}, {9, 9}, {12, kStar}}));
    EXPECT_TRUE(c.set.contains(5, 15));
    EXPECT_TRUE(c.set.contains(15, 15));
    EXPECT_FALSE(c.set.contains(8, 15));
    auto r = parse<Copy>("a COPY *:4 x");
    EXPECT_TRUE(r.set.contains(10, 10));
    EXPECT_TRUE(r.set.contains(4, 10));
    EXPECT_FALSE(r.set.contains(3, 10));
    // RFC 9051 §9: 3291:* includes the last message even if its UID is lower
    auto u = parse<Copy>("a UID COPY 3291:* x");
    EXPECT_TRUE(u.set.contains(3000, 3000));
    EXPECT_EQ(parse<Copy>("a COPY 4294967295 x").set, set({{4294967295u, 4294967295u}}));
}

TEST(ParserCommands, SortAndThread) {
    // RFC 5256 §3
    auto s = parse<Sort>("A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994");
    EXPECT_FALSE(s.uid);
    EXPECT_EQ(s.criteria, (std::vector<SortCriterion>{{SortKey::Subject, false}}));
    EXPECT_EQ(s.charset, "UTF-8");
    ASSERT_EQ(s.key->children.size(), 1u);
    EXPECT_EQ(s.key->children[0]->kind, SearchKey::Kind::Since);
    auto r = parse<Sort>("A283 UID SORT (SUBJECT REVERSE DATE) utf-8 ALL");
    EXPECT_TRUE(r.uid);
    EXPECT_EQ(r.criteria, (std::vector<SortCriterion>{{SortKey::Subject, false}, {SortKey::Date, true}}));
    auto d = parse<Sort>("a SORT (DISPLAYFROM REVERSE DISPLAYTO ARRIVAL CC FROM SIZE TO) US-ASCII TEXT \"x\"");
    EXPECT_EQ(d.criteria.size(), 7u);
    EXPECT_EQ(d.criteria[1], (SortCriterion{SortKey::DisplayTo, true}));
    auto t = parse<Thread>("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000");
    EXPECT_EQ(t.algorithm, ThreadAlgorithm::OrderedSubject);
    EXPECT_EQ(t.charset, "UTF-8");
    auto u = parse<Thread>("A284 UID THREAD references US-ASCII TEXT \"gewp\"");
    EXPECT_TRUE(u.uid);
    EXPECT_EQ(u.algorithm, ThreadAlgorithm::References);
    bad("a SORT (SUBJECT) ALL");          // charset is mandatory
    bad("a SORT () UTF-8 ALL");
    bad("a SORT (REVERSE) UTF-8 ALL");
    bad("a SORT (FOO) UTF-8 ALL");
    bad("a THREAD FOO UTF-8 ALL");
    auto cs = bad("a THREAD REFERENCES KOI8-R ALL");
    EXPECT_EQ(cs.kind, ParseFailure::BadCharset);
}

TEST(ParserCommands, CommandNameAndTag) {
    Command c = parse<Fetch>("t1 UID FETCH 1 FLAGS");
    EXPECT_EQ(command_name(c), "UID FETCH");
    EXPECT_EQ(command_tag(c), "t1");
    EXPECT_EQ(command_name(Command{Noop{"x"}}), "NOOP");
    EXPECT_EQ(command_name(Command{Fetch{}}), "FETCH");
}

}  // namespace
}  // namespace roost::imap
