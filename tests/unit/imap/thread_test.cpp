// RFC 5256 base subject, SORT (and RFC 5957 DISPLAYFROM/DISPLAYTO), THREAD=ORDEREDSUBJECT and
// THREAD=REFERENCES.
#include "imapd/protocol/thread.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "common/mail/message.hpp"

namespace roost::imap {
namespace {

TEST(BaseSubject, Rfc5256Rules) {
    struct Case {
        const char* raw;
        const char* base;
        bool reply;
    };
    const Case cases[] = {
        {"hello", "hello", false},
        {"Re: hello", "hello", true},
        {"RE: Re: re: hello", "hello", true},
        {"Re:hello", "hello", true},
        {"Fwd: hello", "hello", true},
        {"FW: hello", "hello", true},
        {"Re[2]: hello", "hello", true},          // subj-refwd with a blob
        {"Re [2] : hello", "hello", true},
        {"[PATCH] Re: hello", "hello", true},     // *subj-blob subj-refwd
        {"Re: [list] hello", "hello", true},      // step 4: blob dropped when text remains
        {"[list] [v2] hello", "hello", false},
        {"[list]", "[list]", false},              // nothing would remain: kept
        {"hello (fwd)", "hello", true},           // subj-trailer
        {"hello (FWD) (fwd)  ", "hello", true},
        {"[fwd: hello]", "hello", true},          // step 6
        {"[Fwd: Re: [list] hello (fwd)]", "hello", true},
        {"Re: [fwd: hello]", "hello", true},
        {"  hello \t  world  ", "hello world", false},
        {"Reply: hello", "Reply: hello", false},  // "re" must be followed by ':' (or a blob)
        {"Re hello", "Re hello", false},
        {"=?utf-8?q?Re=3A_caf=C3=A9?=", "caf\xC3\xA9", true},  // decoded first
        {"=?iso-8859-1?q?AW=3A?= Antwort", "AW: Antwort", false},  // only re/fw/fwd are markers
        {"Fwd: ", "", true},
        {"", "", false},
    };
    for (const auto& c : cases) {
        BaseSubject b = extract_base_subject(c.raw);
        EXPECT_EQ(b.text, c.base) << c.raw;
        EXPECT_EQ(b.reply_or_forward, c.reply) << c.raw;
        EXPECT_EQ(base_subject(c.raw), c.base) << c.raw;
    }
}

// A set of messages with stable ParsedMessage addresses.
struct Mailbox {
    std::deque<mail::ParsedMessage> parsed;
    std::vector<SearchMessage> messages;

    void add(std::string headers, int64_t internal_date = 0, uint64_t size = 0) {
        parsed.push_back(mail::parse_message(headers + "\r\nbody\r\n"));
        SearchMessage m{};
        m.seq = static_cast<uint32_t>(messages.size() + 1);
        m.uid = m.seq + 100;
        m.internal_date = internal_date;
        m.size = size;
        m.parsed = &parsed.back();
        messages.push_back(m);
    }
};

using Key = SortKey;

std::vector<uint32_t> sorted(const Mailbox& mb, std::vector<SortCriterion> criteria, bool uids = false) {
    return sort_messages(criteria, mb.messages, uids);
}

Mailbox sort_fixture() {
    Mailbox mb;
    mb.add("From: \"Zed\" <zed@x.example>\r\nTo: amy@x.example\r\nSubject: Re: banana\r\n"
           "Date: Wed, 5 Jan 2022 10:00:00 +0000\r\n",
           1000, 300);
    mb.add("From: amy@y.example\r\nTo: \"Bob\" <bob@x.example>\r\nCc: carl@x.example\r\nSubject: apple\r\n"
           "Date: Wed, 5 Jan 2022 08:00:00 -0500\r\n",
           3000, 100);
    mb.add("From: \"Bob\" <bob@z.example>\r\nTo: zed@x.example\r\nCc: Amy <amy@x.example>\r\n"
           "Subject: [list] Banana\r\n",  // no Date: the internal date is the sent date
           2000, 200);
    mb.add("From: \"amy\" <xavier@x.example>\r\nTo: \"Carl\" <carl@x.example>\r\nSubject: cherry\r\n"
           "Date: Tue, 4 Jan 2022 23:00:00 -0800\r\n",
           500, 100);
    return mb;
}

TEST(Sort, EachCriterion) {
    Mailbox mb = sort_fixture();
    using V = std::vector<uint32_t>;
    EXPECT_EQ(sorted(mb, {{Key::Arrival}}), (V{4, 1, 3, 2}));
    EXPECT_EQ(sorted(mb, {{Key::Arrival, true}}), (V{2, 3, 1, 4}));
    // UTC: 1 = 10:00, 2 = 13:00, 4 = 07:00 on 5 Jan; 3 falls back to its 1970 internal date.
    EXPECT_EQ(sorted(mb, {{Key::Date}}), (V{3, 4, 1, 2}));
    EXPECT_EQ(sorted(mb, {{Key::Size}}), (V{2, 4, 3, 1}));
    EXPECT_EQ(sorted(mb, {{Key::Size, true}}), (V{1, 3, 2, 4}));  // REVERSE keeps the seq tie-break
    EXPECT_EQ(sorted(mb, {{Key::From}}), (V{2, 3, 4, 1}));         // amy bob xavier zed
    EXPECT_EQ(sorted(mb, {{Key::To}}), (V{1, 2, 4, 3}));           // amy bob carl zed
    EXPECT_EQ(sorted(mb, {{Key::Cc}}), (V{1, 4, 3, 2}));           // "" "" amy carl
    EXPECT_EQ(sorted(mb, {{Key::Subject}}), (V{2, 1, 3, 4}));      // apple banana banana cherry
    EXPECT_EQ(sorted(mb, {{Key::Subject}, {Key::Date}}), (V{2, 3, 1, 4}));
    EXPECT_EQ(sorted(mb, {{Key::Subject, true}}), (V{4, 1, 3, 2}));
    // RFC 5957: display name, or the addr-spec when there is none. amy < amy@y.example < bob < zed.
    EXPECT_EQ(sorted(mb, {{Key::DisplayFrom}}), (V{4, 2, 3, 1}));
    EXPECT_EQ(sorted(mb, {{Key::DisplayTo}}), (V{1, 2, 4, 3}));  // amy@x.example bob carl zed@x.example
    EXPECT_EQ(sorted(mb, {{Key::Arrival}}, true), (V{104, 101, 103, 102}));
    EXPECT_TRUE(sort_messages(std::vector<SortCriterion>{{Key::Date}}, {}, false).empty());
}

TEST(Sort, MissingHeadersCollateFirst) {
    Mailbox mb;
    mb.add("Subject: b\r\nFrom: b@x.example\r\n", 5);
    mb.add("", 4);
    mb.messages.push_back(SearchMessage{});  // no parsed headers at all
    mb.messages.back().seq = 3;
    mb.messages.back().internal_date = 3;
    EXPECT_EQ(sorted(mb, {{Key::From}}), (std::vector<uint32_t>{2, 3, 1}));
    EXPECT_EQ(sorted(mb, {{Key::Subject}}), (std::vector<uint32_t>{2, 3, 1}));
    EXPECT_EQ(sorted(mb, {{Key::Date}}), (std::vector<uint32_t>{3, 2, 1}));
}

// A small realistic mailbox: a reply tree, replies to a message we do not have, a subject-only
// "reply", a duplicate Message-ID and a message without one.
Mailbox thread_fixture() {
    Mailbox mb;
    mb.add("Message-ID: <a@x.example>\r\nSubject: meeting\r\nDate: Sat, 1 Jan 2022 10:00:00 +0000\r\n");
    mb.add("Message-ID: <b@x.example>\r\nIn-Reply-To: <a@x.example> (Ann's message)\r\nSubject: Re: meeting\r\n"
           "Date: Sat, 1 Jan 2022 11:00:00 +0000\r\n");
    mb.add("Message-ID: <c@x.example>\r\nReferences: <a@x.example>\r\n <b@x.example>\r\nSubject: Re: meeting\r\n"
           "Date: Sat, 1 Jan 2022 12:00:00 +0000\r\n");
    mb.add("Message-ID: <d@x.example>\r\nReferences: <\"a\"@x.example>\r\nSubject: RE: meeting\r\n"
           "Date: Sat, 1 Jan 2022 11:30:00 +0000\r\n");
    mb.add("Message-ID: <e@x.example>\r\nReferences: <missing@x.example>\r\nSubject: Re: lunch\r\n"
           "Date: Sun, 2 Jan 2022 09:00:00 +0000\r\n");
    mb.add("Message-ID: <f@x.example>\r\nReferences: <missing@x.example>\r\nSubject: Re: lunch\r\n"
           "Date: Sun, 2 Jan 2022 10:00:00 +0000\r\n");
    mb.add("Message-ID: <g@x.example>\r\nSubject: Lunch\r\nDate: Sun, 2 Jan 2022 08:00:00 +0000\r\n");
    mb.add("Subject: unrelated\r\nDate: Mon, 3 Jan 2022 08:00:00 +0000\r\n");
    mb.add("Message-ID: <a@x.example>\r\nSubject: dup\r\nDate: Mon, 3 Jan 2022 12:00:00 +0000\r\n");
    mb.add("Message-ID: <j@x.example>\r\nSubject: Re: unrelated\r\nDate: Tue, 4 Jan 2022 08:00:00 +0000\r\n");
    return mb;
}

TEST(Thread, References) {
    Mailbox mb = thread_fixture();
    // 1 → {2 → 3, 4}; dummy <missing> keeps 5 and 6 and takes 7 by subject; 10 joins 8 as a reply by
    // subject; 9's duplicate Message-ID makes it a thread of its own.
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, mb.messages, false),
              "(1 (2 3)(4))((7)(5)(6))(8 10)(9)");
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, mb.messages, true),
              "(101 (102 103)(104))((107)(105)(106))(108 110)(109)");
}

TEST(Thread, ReferencesSubsetAndPruning) {
    Mailbox mb = thread_fixture();
    // Only the replies to the missing message: the dummy parent stays (two children at the top).
    std::vector<SearchMessage> two{mb.messages[4], mb.messages[5]};
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, two, false), "((5)(6))");
    // One child of a dummy is promoted to the top.
    std::vector<SearchMessage> one{mb.messages[5]};
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, one, false), "(6)");
    // Without the root 1, 2 and 4 hang under the dummy <a>; 3 stays under 2.
    std::vector<SearchMessage> no_root{mb.messages[1], mb.messages[2], mb.messages[3]};
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, no_root, false), "((2 3)(4))");
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, {}, false), "");
}

TEST(Thread, ReferencesIgnoresLoops) {
    Mailbox mb;
    mb.add("Message-ID: <x@h>\r\nReferences: <y@h>\r\nSubject: one\r\nDate: 1 Jan 2022 10:00 +0000\r\n");
    mb.add("Message-ID: <y@h>\r\nReferences: <x@h>\r\nSubject: two\r\nDate: 1 Jan 2022 11:00 +0000\r\n");
    mb.add("Message-ID: <z@h>\r\nReferences: <z@h> <x@h> <z@h>\r\nSubject: three\r\n"
           "Date: 1 Jan 2022 12:00 +0000\r\n");
    EXPECT_EQ(thread_response(ThreadAlgorithm::References, mb.messages, false), "(2 1)(3)");
}

TEST(Thread, OrderedSubject) {
    Mailbox mb = thread_fixture();
    EXPECT_EQ(thread_response(ThreadAlgorithm::OrderedSubject, mb.messages, false),
              "(1 (2)(4)(3))(7 (5)(6))(8 10)(9)");
    std::vector<SearchMessage> single{mb.messages[8]};
    EXPECT_EQ(thread_response(ThreadAlgorithm::OrderedSubject, single, true), "(109)");
}

TEST(Thread, RenderForest) {
    ThreadForest f;
    // (3 6 (4 23)(44 7 96)) from RFC 5256 §4, plus a dummy root ((8)(9)).
    auto add = [&](uint32_t id) {
        f.nodes.push_back({id, {}});
        return f.nodes.size() - 1;
    };
    size_t n3 = add(3), n6 = add(6), n4 = add(4), n23 = add(23), n44 = add(44), n7 = add(7), n96 = add(96);
    f.nodes[n3].children = {n6};
    f.nodes[n6].children = {n4, n44};
    f.nodes[n4].children = {n23};
    f.nodes[n44].children = {n7};
    f.nodes[n7].children = {n96};
    size_t d = add(0), n8 = add(8), n9 = add(9);
    f.nodes[d].children = {n8, n9};
    f.roots = {n3, d};
    EXPECT_EQ(render_threads(f), "(3 6 (4 23)(44 7 96))((8)(9))");

    // A very deep reply chain renders without recursion.
    ThreadForest deep;
    const size_t n = 100000;
    for (size_t i = 0; i < n; ++i) deep.nodes.push_back({static_cast<uint32_t>(i + 1), {}});
    for (size_t i = 0; i + 1 < n; ++i) deep.nodes[i].children = {i + 1};
    deep.roots = {0};
    std::string out = render_threads(deep);
    EXPECT_EQ(out.substr(0, 6), "(1 2 3");
    EXPECT_EQ(out.back(), ')');
}

TEST(Thread, DeepReplyChainThroughReferences) {
    Mailbox mb;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        std::string h = "Message-ID: <m" + std::to_string(i) + "@h>\r\n";
        if (i) h += "In-Reply-To: <m" + std::to_string(i - 1) + "@h>\r\n";
        h += "Subject: Re: chain\r\n";
        mb.add(h, i);
    }
    std::string out = thread_response(ThreadAlgorithm::References, mb.messages, false);
    EXPECT_EQ(out.substr(0, 8), "(1 2 3 4");
    EXPECT_EQ(out.substr(out.size() - 6), " 2000)");
}

}  // namespace
}  // namespace roost::imap
