// ENVELOPE, BODY / BODYSTRUCTURE and BODY[section]<partial> over parsed messages (RFC 9051 §7.5.2,
// §6.4.5). Expected strings follow Dovecot's conventions (see render.hpp).
#include "imapd/protocol/render.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/mail/message.hpp"

namespace roost::imap {
namespace {

// Test messages are written with "\n"; the store holds CRLF.
std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

Section sec(std::vector<uint32_t> part, Section::Text text = Section::Text::None,
            std::vector<std::string> fields = {}) {
    Section s;
    s.part = std::move(part);
    s.text = text;
    s.fields = std::move(fields);
    return s;
}

// Resolves `s` the way the session does: read the header block first when needed.
std::string fetch(const std::string& raw, const mail::ParsedMessage& m, const Section& s,
                  std::optional<Partial> partial = std::nullopt) {
    std::string block;
    if (auto r = header_block_range(m, s)) block = raw.substr(r->offset, r->length);
    auto d = resolve_section(m, s, block);
    EXPECT_TRUE(d.has_value());
    if (!d) return "<error>";
    if (partial) return apply_partial(*d, *partial).materialize(raw);
    return d->materialize(raw);
}

// RFC 9051 §7.5.2 / RFC 3501 §7.4.2 example message.
const std::string kRfcExample = crlf(
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
    "From: Terry Gray <gray@cac.washington.edu>\n"
    "Subject: IMAP4rev1 WG mtg summary and minutes\n"
    "To: imap@cac.washington.edu\n"
    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n"
    "Message-Id: <B27397-0100000@cac.washington.edu>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
    "\n"
    "Minutes are attached.\n"
    "Second line.\n");

TEST(RenderEnvelope, RfcExample) {
    auto m = mail::parse_message(kRfcExample);
    EXPECT_EQ(render_envelope(m.envelope, false),
              "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((NIL NIL \"imap\" \"cac.washington.edu\")) "
              "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
              "NIL NIL \"<B27397-0100000@cac.washington.edu>\")");
}

TEST(RenderBodyStructure, RfcExampleSinglePart) {
    auto m = mail::parse_message(kRfcExample);
    // Body "Minutes are attached.\r\nSecond line.\r\n": 37 octets, 2 lines.
    EXPECT_EQ(render_body_structure(m.root, false),
              "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 37 2)");
    EXPECT_EQ(render_body_structure(m.root, true),
              "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 37 2 NIL NIL NIL NIL)");
}

TEST(RenderEnvelope, MissingFieldsAreNil) {
    auto m = mail::parse_message(crlf("Subject: hi\n\nbody\n"));
    EXPECT_EQ(render_envelope(m.envelope, false), "(NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    auto empty = mail::parse_message("");
    EXPECT_EQ(render_envelope(empty.envelope, false), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(RenderEnvelope, SenderAndReplyToKeptWhenPresent) {
    auto m = mail::parse_message(crlf(
        "From: a@x.example\nSender: list@y.example\nReply-To: \"The List\" <list@y.example>\n"
        "In-Reply-To: <p@x.example>\n\n"));
    EXPECT_EQ(render_envelope(m.envelope, false),
              "(NIL NIL ((NIL NIL \"a\" \"x.example\")) ((NIL NIL \"list\" \"y.example\")) "
              "((\"The List\" NIL \"list\" \"y.example\")) NIL NIL NIL \"<p@x.example>\" NIL)");
    // An envelope built without the parser's defaults still shows From in sender/reply-to.
    mail::Envelope e;
    e.from.push_back({"", "", "a", "x.example"});
    EXPECT_EQ(render_envelope(e, false),
              "(NIL NIL ((NIL NIL \"a\" \"x.example\")) ((NIL NIL \"a\" \"x.example\")) "
              "((NIL NIL \"a\" \"x.example\")) NIL NIL NIL NIL NIL)");
}

TEST(RenderEnvelope, GroupSyntax) {
    auto m = mail::parse_message(crlf(
        "To: Team: a@x.example, B <b@y.example>;, c@z.example\n"
        "Cc: undisclosed-recipients:;\n\n"));
    EXPECT_EQ(render_envelope(m.envelope, false),
              "(NIL NIL NIL NIL NIL "
              "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.example\")(\"B\" NIL \"b\" \"y.example\")"
              "(NIL NIL NIL NIL)(NIL NIL \"c\" \"z.example\")) "
              "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)");
}

TEST(RenderEnvelope, QuotingEscapesAndLiterals) {
    auto m = mail::parse_message(crlf("Subject: say \"hi\" \\ there\nFrom: =?utf-8?q?J=C3=B6rg?= <j@x.example>\n\n"));
    std::string env = render_envelope(m.envelope, false);
    EXPECT_NE(env.find("\"say \\\"hi\\\" \\\\ there\""), std::string::npos) << env;
    // Encoded-words go out as written; clients decode them.
    EXPECT_NE(env.find("((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.example\"))"), std::string::npos) << env;

    const std::string subject = "Gr\xC3\xBC\xC3\x9F" "e";  // "Grüße", raw UTF-8 (RFC 6532)
    auto u = mail::parse_message("Subject: " + subject + "\r\n\r\n");
    EXPECT_EQ(render_envelope(u.envelope, false),
              "(NIL {" + std::to_string(subject.size()) + "}\r\n" + subject + " NIL NIL NIL NIL NIL NIL NIL NIL)");
    EXPECT_EQ(render_envelope(u.envelope, true), "(NIL \"" + subject + "\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    // Invalid UTF-8 is never quoted, even with UTF8=ACCEPT.
    auto bad = mail::parse_message("Subject: a\xFF" "b\r\n\r\n");
    EXPECT_EQ(render_envelope(bad.envelope, true), "(NIL {3}\r\na\xFF" "b NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(RenderEnvelope, NulBytesDropped) {
    mail::Envelope e;
    e.subject = std::string("a\0b", 3);
    EXPECT_EQ(render_envelope(e, false), "(NIL \"ab\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(RenderBodyStructure, MultipartAlternative) {
    const std::string raw = crlf(
        "From: a@x.example\n"
        "Content-Type: multipart/alternative; boundary=\"b1\"\n"
        "\n"
        "--b1\n"
        "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Hello=20world\n"
        "--b1\n"
        "Content-Type: text/html; charset=UTF-8\n"
        "Content-Language: en, de\n"
        "\n"
        "<p>Hello</p>\n"
        "<p>world</p>\n"
        "--b1--\n");
    auto m = mail::parse_message(raw);
    EXPECT_EQ(render_body_structure(m.root, false),
              "((\"text\" \"plain\" (\"charset\" \"UTF-8\" \"format\" \"flowed\") NIL NIL \"quoted-printable\" 13 1)"
              "(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 26 2) \"alternative\")");
    EXPECT_EQ(render_body_structure(m.root, true),
              "((\"text\" \"plain\" (\"charset\" \"UTF-8\" \"format\" \"flowed\") NIL NIL \"quoted-printable\" 13 1 "
              "NIL NIL NIL NIL)"
              "(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 26 2 NIL NIL (\"en\" \"de\") NIL) "
              "\"alternative\" (\"boundary\" \"b1\") NIL NIL NIL)");
}

// multipart/mixed: text, forwarded message/rfc822 (itself multipart/alternative), and a PDF with an
// RFC 2231 filename.
const std::string kNested = crlf(
    "From: Alice <alice@example.com>\n"
    "To: Bob <bob@example.org>\n"
    "Subject: Fwd: report\n"
    "Date: Mon, 3 Jan 2022 10:00:00 +0100\n"
    "Message-ID: <outer@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "See attached.\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Description: the report\n"
    "\n"
    "From: Carol <carol@example.net>\n"
    "Subject: report\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "plain body\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html body</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/pdf; name=\"r.pdf\"\n"
    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <pdf1@example.com>\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--outer--\n");

// The embedded message of part 2, as the substring of kNested it must be.
std::string embedded() {
    size_t b = kNested.find("From: Carol");
    size_t e = kNested.find("\r\n--outer", b);
    return kNested.substr(b, e - b);
}

TEST(RenderBodyStructure, NestedMessageAndAttachment) {
    auto m = mail::parse_message(kNested);
    const std::string inner = embedded();
    const std::string filename = "r\xC3\xA9sum\xC3\xA9.pdf";
    const std::string inner_env =
        "(NIL \"report\" ((\"Carol\" NIL \"carol\" \"example.net\")) ((\"Carol\" NIL \"carol\" \"example.net\")) "
        "((\"Carol\" NIL \"carol\" \"example.net\")) NIL NIL NIL NIL NIL)";
    EXPECT_EQ(render_body_structure(m.root, true),
              "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 13 1 NIL NIL NIL NIL)"
              "(\"message\" \"rfc822\" NIL NIL \"the report\" \"7bit\" " + std::to_string(inner.size()) + " " +
                  inner_env +
                  " ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)"
                  "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 16 1 NIL NIL NIL NIL) "
                  "\"alternative\" (\"boundary\" \"inner\") NIL NIL NIL) 13 NIL NIL NIL NIL)"
                  "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<pdf1@example.com>\" NIL \"base64\" 12 NIL "
                  "(\"attachment\" (\"filename\" {" + std::to_string(filename.size()) + "}\r\n" + filename +
                  ")) NIL NIL) \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
    EXPECT_EQ(render_body_structure(m.root, false),
              "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 13 1)"
              "(\"message\" \"rfc822\" NIL NIL \"the report\" \"7bit\" " + std::to_string(inner.size()) + " " +
                  inner_env +
                  " ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1)"
                  "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 16 1) \"alternative\") 13)"
                  "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<pdf1@example.com>\" NIL \"base64\" 12) "
                  "\"mixed\")");
    // With UTF8=ACCEPT the filename is a quoted string.
    EXPECT_NE(render_body_structure(m.root, true, true).find("(\"filename\" \"" + filename + "\")"),
              std::string::npos);
}

TEST(RenderBodyStructure, EmptyMultipartGetsOneEmptyTextPart) {
    auto m = mail::parse_message(crlf("Content-Type: multipart/mixed; boundary=x\n\nno parts here\n"));
    EXPECT_EQ(render_body_structure(m.root, false),
              "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
    EXPECT_EQ(render_body_structure(m.root, true),
              "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" "
              "(\"boundary\" \"x\") NIL NIL NIL)");
}

TEST(RenderBodyStructure, DefaultsMd5LocationAndEncodedMessage) {
    auto m = mail::parse_message(crlf(
        "Content-Type: message/rfc822\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
        "Content-Location: http://example.com/m\n"
        "Content-Disposition: inline\n"
        "\n"
        "RnJvbTogYQ==\n"));
    // Not parseable in place: a basic part, no envelope, no line count.
    EXPECT_EQ(render_body_structure(m.root, true),
              "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 14 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" NIL) NIL "
              "\"http://example.com/m\")");
    auto plain = mail::parse_message(crlf("Subject: x\n\nhi\n"));
    EXPECT_EQ(render_body_structure(plain.root, false),
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1)");
}

TEST(ResolveSection, EverySectionFormOnANestedMessage) {
    const std::string& raw = kNested;
    auto m = mail::parse_message(raw);
    using T = Section::Text;
    const size_t header_end = raw.find("\r\n\r\n") + 4;

    EXPECT_EQ(fetch(raw, m, sec({})), raw);
    EXPECT_EQ(fetch(raw, m, sec({}, T::Header)), raw.substr(0, header_end));
    EXPECT_EQ(fetch(raw, m, sec({}, T::Text)), raw.substr(header_end));
    EXPECT_EQ(fetch(raw, m, sec({}, T::HeaderFields, {"FROM", "SUBJECT"})),
              "From: Alice <alice@example.com>\r\nSubject: Fwd: report\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({}, T::HeaderFields, {"X-NONE"})), "\r\n");
    EXPECT_EQ(fetch(raw, m, sec({}, T::HeaderFieldsNot, {"FROM", "TO", "DATE", "MESSAGE-ID", "MIME-VERSION"})),
              "Subject: Fwd: report\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n");

    EXPECT_EQ(fetch(raw, m, sec({1})), "See attached.");
    EXPECT_EQ(fetch(raw, m, sec({1}, T::Mime)), "Content-Type: text/plain; charset=utf-8\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({2})), embedded());
    EXPECT_EQ(fetch(raw, m, sec({2}, T::Mime)),
              "Content-Type: message/rfc822\r\nContent-Description: the report\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({2}, T::Header)),
              "From: Carol <carol@example.net>\r\nSubject: report\r\n"
              "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({2}, T::Text)),
              "--inner\r\nContent-Type: text/plain\r\n\r\nplain body\r\n--inner\r\nContent-Type: text/html\r\n\r\n"
              "<p>html body</p>\r\n--inner--");
    EXPECT_EQ(fetch(raw, m, sec({2}, T::HeaderFields, {"subject", "From"})),
              "From: Carol <carol@example.net>\r\nSubject: report\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({2}, T::HeaderFieldsNot, {"CONTENT-TYPE"})),
              "From: Carol <carol@example.net>\r\nSubject: report\r\n\r\n");
    // Part numbers inside a message/rfc822 part address the embedded message's parts.
    EXPECT_EQ(fetch(raw, m, sec({2, 1})), "plain body");
    EXPECT_EQ(fetch(raw, m, sec({2, 2})), "<p>html body</p>");
    EXPECT_EQ(fetch(raw, m, sec({2, 1}, T::Mime)), "Content-Type: text/plain\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({3})), "JVBERi0xLjQK");

    // Nonexistent parts, and HEADER/TEXT of a part that is not a message: empty (RFC 9051 §6.4.5).
    for (const Section& s : {sec({4}), sec({0}), sec({2, 3}), sec({1, 1}), sec({3, 1}, T::Mime), sec({1}, T::Header),
                             sec({1}, T::Text), sec({9}, T::Header), sec({1}, T::HeaderFields, {"FROM"})}) {
        auto d = resolve_section(m, s, {});
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(d->size(), 0u);
        EXPECT_EQ(d->materialize(raw), "");
    }
}

TEST(ResolveSection, SinglePartMessage) {
    const std::string raw = crlf("From: a@x.example\nSubject: one\n\nline 1\nline 2\n");
    auto m = mail::parse_message(raw);
    using T = Section::Text;
    // Part 1 of a non-multipart message is its body; its MIME header is the message header.
    EXPECT_EQ(fetch(raw, m, sec({1})), "line 1\r\nline 2\r\n");
    EXPECT_EQ(fetch(raw, m, sec({1}, T::Mime)), "From: a@x.example\r\nSubject: one\r\n\r\n");
    EXPECT_EQ(fetch(raw, m, sec({}, T::Text)), "line 1\r\nline 2\r\n");
    EXPECT_EQ(fetch(raw, m, sec({2})), "");
    // MIME needs a part number (not in the grammar otherwise).
    EXPECT_FALSE(resolve_section(m, sec({}, T::Mime)).has_value());
}

TEST(ResolveSection, HeaderFieldsNeedTheHeaderBlock) {
    const std::string raw = crlf("From: a@x.example\nsubject: folded\n  continued\nX-A: 1\n\nbody\n");
    auto m = mail::parse_message(raw);
    Section s = sec({}, Section::Text::HeaderFields, {"SUBJECT", "X-A"});
    auto r = header_block_range(m, s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->offset, 0u);
    EXPECT_EQ(r->length, raw.find("\r\n\r\n") + 4);
    EXPECT_FALSE(resolve_section(m, s, "short").has_value());  // wrong bytes: caller bug
    // Folding kept as written, names matched case-insensitively.
    EXPECT_EQ(fetch(raw, m, s), "subject: folded\r\n  continued\r\nX-A: 1\r\n\r\n");
    EXPECT_FALSE(header_block_range(m, sec({}, Section::Text::Header)).has_value());
    // A header without a final line break still yields well-formed lines.
    const std::string cut = "From: a@x.example\r\nX-A: 1";
    auto mc = mail::parse_message(cut);
    EXPECT_EQ(fetch(cut, mc, sec({}, Section::Text::HeaderFields, {"X-A"})), "X-A: 1\r\n\r\n");
}

TEST(ResolveSection, Partial) {
    const std::string& raw = kNested;
    auto m = mail::parse_message(raw);
    EXPECT_EQ(fetch(raw, m, sec({}), Partial{0, 4}), "From");
    EXPECT_EQ(fetch(raw, m, sec({1}), Partial{4, 3}), "att");
    EXPECT_EQ(fetch(raw, m, sec({1}), Partial{4, 1000}), "attached.");
    EXPECT_EQ(fetch(raw, m, sec({1}), Partial{13, 5}), "");
    EXPECT_EQ(fetch(raw, m, sec({1}), Partial{100, 5}), "");
    EXPECT_EQ(fetch(raw, m, sec({}, Section::Text::HeaderFields, {"SUBJECT"}), Partial{9, 3}), "Fwd");

    // Across several ranges.
    SectionData d;
    d.ranges = {{0, 4}, {10, 5}, {20, 3}};
    SectionData p = apply_partial(d, Partial{2, 8});
    EXPECT_FALSE(p.use_synthesized);
    EXPECT_EQ(p.ranges, (std::vector<ByteRange>{{2, 2}, {10, 5}, {20, 1}}));
    EXPECT_EQ(p.size(), 8u);
    EXPECT_EQ(apply_partial(d, Partial{0, 0}).size(), 0u);
}

TEST(RenderFetchSectionName, AllForms) {
    using T = Section::Text;
    EXPECT_EQ(render_fetch_section_name(sec({}), std::nullopt), "BODY[]");
    EXPECT_EQ(render_fetch_section_name(sec({}), Partial{0, 100}), "BODY[]<0>");
    EXPECT_EQ(render_fetch_section_name(sec({}, T::Header), std::nullopt), "BODY[HEADER]");
    EXPECT_EQ(render_fetch_section_name(sec({}, T::Text), Partial{512, 10}), "BODY[TEXT]<512>");
    EXPECT_EQ(render_fetch_section_name(sec({1, 2}), std::nullopt), "BODY[1.2]");
    EXPECT_EQ(render_fetch_section_name(sec({1}, T::Mime), std::nullopt), "BODY[1.MIME]");
    EXPECT_EQ(render_fetch_section_name(sec({1, 2}, T::HeaderFields, {"FROM", "TO"}), Partial{0, 1}),
              "BODY[1.2.HEADER.FIELDS (FROM TO)]<0>");
    EXPECT_EQ(render_fetch_section_name(sec({}, T::HeaderFieldsNot, {"X-A", "WEIRD NAME"}), std::nullopt),
              "BODY[HEADER.FIELDS.NOT (X-A \"WEIRD NAME\")]");
    EXPECT_EQ(render_fetch_section_name(sec({3}, T::Text), std::nullopt), "BODY[3.TEXT]");
}

}  // namespace
}  // namespace roost::imap

namespace roost::imap {
namespace {

std::string fetch_binary(const std::string& raw, std::vector<std::uint32_t> part, bool* unknown = nullptr) {
    auto m = mail::parse_message(raw);
    auto src = binary_source(m, part);
    if (!src) return "<none>";
    auto d = decode_binary(*src, std::string_view(raw).substr(src->range.offset, src->range.length));
    if (unknown) *unknown = !d;
    return d ? *d : "<unknown-cte>";
}

const std::string kBinaryMessage = crlf(
    "Subject: parts\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 =\n"
    "au lait\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAEC/w==\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "bGluZTEKbGluZTIK\n"
    "--b\n"
    "Content-Type: application/x-thing\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644 x\n"
    "--b--\n");

// RFC 9051 §6.4.5 BINARY: the part's Content-Transfer-Encoding is undone.
TEST(RenderBinary, DecodesQuotedPrintableAndBase64) {
    EXPECT_EQ(fetch_binary(kBinaryMessage, {1}), "caf\xC3\xA9 au lait");
    EXPECT_EQ(fetch_binary(kBinaryMessage, {2}), std::string("\x00\x01\x02\xff", 4));
}

// RFC 9051 §7.5.2: textual sections go out with CRLF line ends even when the decoded data has bare LF.
TEST(RenderBinary, TextGetsCrlf) {
    EXPECT_EQ(fetch_binary(kBinaryMessage, {3}), "line1\r\nline2\r\n");
}

// RFC 9051 §6.4.5: an encoding the server cannot decode is NO [UNKNOWN-CTE] (decode_binary → nullopt).
TEST(RenderBinary, UnknownEncoding) {
    bool unknown = false;
    fetch_binary(kBinaryMessage, {4}, &unknown);
    EXPECT_TRUE(unknown);
}

TEST(RenderBinary, WholeMessageAndCompositesAsStored) {
    EXPECT_EQ(fetch_binary(kBinaryMessage, {}), kBinaryMessage);
    EXPECT_EQ(fetch_binary(kBinaryMessage, {9}), "<none>");  // no such part: empty content, like BODY[]
    auto plain = crlf("Subject: x\nContent-Transfer-Encoding: base64\n\naGk=\n");
    EXPECT_EQ(fetch_binary(plain, {1}), "hi");  // part 1 of a single-part message is its body
}

TEST(RenderBinary, Names) {
    std::vector<std::uint32_t> part{1, 2};
    EXPECT_EQ(render_binary_name(part, std::nullopt, false), "BINARY[1.2]");
    EXPECT_EQ(render_binary_name(part, Partial{5, 10}, false), "BINARY[1.2]<5>");
    EXPECT_EQ(render_binary_name({}, std::nullopt, true), "BINARY.SIZE[]");
}

}  // namespace
}  // namespace roost::imap
