// RFC 5321 §4.1 command grammar, RFC 1870 / 6152 / 3461 / 6531 / 4954 / 3030 parameters.
#include "smtpd/protocol/command.hpp"

#include <gtest/gtest.h>

#include <string>

namespace roost::smtp {
namespace {

ParseOptions opts() { return ParseOptions{}; }

template <typename T>
T parse_ok(std::string_view line, const ParseOptions& o = opts()) {
  auto r = parse_command(line, o);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "'" << line << "' failed: " << e->code << " " << e->enhanced << " " << e->text;
    return T{};
  }
  auto& cmd = std::get<Command>(r);
  if (!std::holds_alternative<T>(cmd)) {
    ADD_FAILURE() << "'" << line << "' parsed to variant index " << cmd.index();
    return T{};
  }
  return std::get<T>(cmd);
}

ParseError parse_err(std::string_view line, const ParseOptions& o = opts()) {
  auto r = parse_command(line, o);
  if (auto* e = std::get_if<ParseError>(&r)) return *e;
  ADD_FAILURE() << "'" << line << "' unexpectedly parsed";
  return ParseError{0, "", ""};
}

void expect_err(std::string_view line, int code, std::string_view enhanced, const ParseOptions& o = opts()) {
  ParseError e = parse_err(line, o);
  EXPECT_EQ(e.code, code) << line << " -> " << e.text;
  EXPECT_EQ(e.enhanced, enhanced) << line << " -> " << e.text;
}

Path mail_path(std::string_view line, const ParseOptions& o = opts()) {
  return parse_ok<Mail>(line, o).reverse_path;
}
Path rcpt_path(std::string_view line, const ParseOptions& o = opts()) {
  return parse_ok<Rcpt>(line, o).forward_path;
}

// ---- RFC 5321 Appendix D ------------------------------------------------------------------

TEST(SmtpCommand, AppendixD1Commands) {
  Ehlo ehlo = parse_ok<Ehlo>("EHLO bar.com");
  EXPECT_EQ(ehlo.domain, "bar.com");
  EXPECT_TRUE(ehlo.extended);

  Mail mail = parse_ok<Mail>("MAIL FROM:<Smith@bar.com>");
  EXPECT_EQ(mail.reverse_path.local_part, "Smith");
  EXPECT_EQ(mail.reverse_path.domain, "bar.com");
  EXPECT_FALSE(mail.reverse_path.null);
  EXPECT_EQ(mail.reverse_path.address(), "Smith@bar.com");
  EXPECT_EQ(mail.params, MailParams{});

  for (std::string_view who : {"Jones", "Green", "Brown"}) {
    Rcpt rcpt = parse_ok<Rcpt>("RCPT TO:<" + std::string(who) + "@foo.com>");
    EXPECT_EQ(rcpt.forward_path.local_part, who);
    EXPECT_EQ(rcpt.forward_path.domain, "foo.com");
    EXPECT_FALSE(rcpt.postmaster_only);
  }
  parse_ok<Data>("DATA");
  parse_ok<Rset>("RSET");
  parse_ok<Quit>("QUIT");
}

TEST(SmtpCommand, AppendixD3RelayedUpperCaseDomain) {
  EXPECT_EQ(rcpt_path("RCPT TO:<Jones@XYZ.COM>").domain, "XYZ.COM");  // kept as sent
  EXPECT_EQ(mail_path("MAIL FROM:<JQP@bar.com>").local_part, "JQP");
}

TEST(SmtpCommand, AppendixD4VerifyAndSend) {
  EXPECT_EQ(parse_ok<Vrfy>("VRFY Crispin").arg, "Crispin");
  EXPECT_EQ(parse_ok<Expn>("EXPN Example-People").arg, "Example-People");
  Help h = parse_ok<Help>("HELP");
  EXPECT_EQ(h.arg, "");
  EXPECT_EQ(parse_ok<Help>("HELP MAIL").arg, "MAIL");
}

// ---- Verbs --------------------------------------------------------------------------------

TEST(SmtpCommand, VerbsAreCaseInsensitive) {
  EXPECT_EQ(parse_ok<Ehlo>("eHlO client.example").domain, "client.example");
  EXPECT_EQ(mail_path("mail from:<a@b.example>").address(), "a@b.example");
  EXPECT_EQ(rcpt_path("Rcpt To:<a@b.example>").address(), "a@b.example");
  parse_ok<Data>("data");
  parse_ok<StartTls>("starttls");
  parse_ok<Noop>("noop");
}

TEST(SmtpCommand, Helo) {
  Ehlo h = parse_ok<Ehlo>("HELO relay.example.org");
  EXPECT_FALSE(h.extended);
  EXPECT_EQ(h.domain, "relay.example.org");
}

TEST(SmtpCommand, EhloArguments) {
  EXPECT_EQ(parse_ok<Ehlo>("EHLO [192.0.2.1]").domain, "[192.0.2.1]");
  EXPECT_EQ(parse_ok<Ehlo>("EHLO [IPv6:2001:db8::1]").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(parse_ok<Ehlo>("EHLO localhost").domain, "localhost");
  EXPECT_EQ(parse_ok<Ehlo>("EHLO DESKTOP_42.lan").domain, "DESKTOP_42.lan");  // Deviation: '_'
  expect_err("EHLO", 501, "5.5.4");
  expect_err("EHLO a.example b.example", 501, "5.5.4");
  expect_err("EHLO host.example.", 501, "5.5.4");
  expect_err("EHLO -host.example", 501, "5.5.4");
  expect_err("EHLO [300.0.0.1]", 501, "5.5.4");
  expect_err(
      "EHLO b\xC3\xBC"
      "cher.example",
      501, "5.5.4");
}

TEST(SmtpCommand, CommandsWithoutArguments) {
  expect_err("DATA now", 501, "5.5.4");
  expect_err("RSET x", 501, "5.5.4");
  expect_err("QUIT please", 501, "5.5.4");
  expect_err("STARTTLS x", 501, "5.5.4");
  parse_ok<Quit>("QUIT ");  // Deviation: trailing SP ignored
  parse_ok<Noop>("NOOP anything at all");
}

TEST(SmtpCommand, VrfyExpnNeedArgument) {
  expect_err("VRFY", 501, "5.5.4");
  expect_err("EXPN", 501, "5.5.4");
  EXPECT_EQ(parse_ok<Vrfy>("VRFY <jones@foo.com>").arg, "<jones@foo.com>");
  expect_err("VRFY \xFF\xFE", 501, "5.5.4");  // not UTF-8
}

TEST(SmtpCommand, UnknownAndUnimplemented) {
  expect_err("FOO bar", 500, "5.5.2");
  expect_err("", 500, "5.5.2");
  expect_err("MAILFROM:<a@b.example>", 500, "5.5.2");
  expect_err("GET / HTTP/1.1", 500, "5.5.2");
  expect_err("\xC3\xA9HLO x", 500, "5.5.2");
  expect_err("TURN", 502, "5.5.1");
  expect_err("etrn example.com", 502, "5.5.1");
}

TEST(SmtpCommand, ControlCharactersRejected) {
  expect_err(std::string_view("NOOP a\0b", 8), 501, "5.5.2");
  expect_err("NOOP a\tb", 501, "5.5.2");
  expect_err("NOOP a\rb", 501, "5.5.2");
  expect_err("NOOP a\nb", 501, "5.5.2");
  expect_err("NOOP a\x7F", 501, "5.5.2");
  expect_err("MAIL FROM:<a\x01@b.example>", 501, "5.5.2");
  expect_err(std::string_view("QUIT\0", 5), 501, "5.5.2");
}

TEST(SmtpCommand, LineLengthLimit) {
  // RFC 5321 §4.5.3.1.4: 512 octets including CRLF -> 510 without it.
  std::string ok = "NOOP " + std::string(505, 'x');
  ASSERT_EQ(ok.size(), 510u);
  parse_ok<Noop>(ok);
  expect_err(ok + "x", 500, "5.5.2");
  ParseOptions big;
  big.max_line_length = 2048;
  parse_ok<Noop>(ok + std::string(1000, 'y'), big);
}

// ---- MAIL / RCPT syntax --------------------------------------------------------------------

TEST(SmtpCommand, SpaceAfterColonAccepted) {
  EXPECT_EQ(mail_path("MAIL FROM: <a@b.example>").address(), "a@b.example");
  EXPECT_EQ(rcpt_path("RCPT TO: <a@b.example>").address(), "a@b.example");
  expect_err("MAIL FROM:  <a@b.example>", 501, "5.1.7");
  expect_err("MAIL FROM :<a@b.example>", 501, "5.5.4");
  expect_err("MAIL <a@b.example>", 501, "5.5.4");
  expect_err("MAIL", 501, "5.5.4");
  expect_err("RCPT FROM:<a@b.example>", 501, "5.5.4");
}

TEST(SmtpCommand, NullReversePath) {
  Mail m = parse_ok<Mail>("MAIL FROM:<>");
  EXPECT_TRUE(m.reverse_path.null);
  EXPECT_EQ(m.reverse_path.address(), "");
  Mail m2 = parse_ok<Mail>("MAIL FROM:<> SIZE=100");
  EXPECT_TRUE(m2.reverse_path.null);
  EXPECT_EQ(m2.params.size, 100u);
  expect_err("RCPT TO:<>", 501, "5.1.3");
}

TEST(SmtpCommand, AngleBracketsRequired) {
  expect_err("MAIL FROM:a@b.example", 501, "5.1.7");
  expect_err("RCPT TO:a@b.example", 501, "5.1.3");
  expect_err("MAIL FROM:<a@b.example", 501, "5.1.7");
  expect_err("MAIL FROM:<a@b.example>>", 501, "5.1.7");
  expect_err("MAIL FROM:<a@b.example>SIZE=1", 501, "5.1.7");
  expect_err("MAIL FROM:<<a@b.example>>", 501, "5.1.7");
}

TEST(SmtpCommand, Postmaster) {
  for (std::string_view line : {"RCPT TO:<Postmaster>", "RCPT TO:<postmaster>", "RCPT TO:<POSTMASTER>"}) {
    Rcpt r = parse_ok<Rcpt>(line);
    EXPECT_TRUE(r.postmaster_only) << line;
    EXPECT_TRUE(r.forward_path.domain.empty());
    EXPECT_EQ(local_part_value(r.forward_path.local_part).size(), 10u);
  }
  EXPECT_EQ(parse_ok<Rcpt>("RCPT TO:<Postmaster>").forward_path.address(), "Postmaster");
  Rcpt withdomain = parse_ok<Rcpt>("RCPT TO:<postmaster@foo.example>");
  EXPECT_FALSE(withdomain.postmaster_only);
  EXPECT_EQ(withdomain.forward_path.domain, "foo.example");
  Rcpt p2 = parse_ok<Rcpt>("RCPT TO:<Postmaster> NOTIFY=NEVER");
  EXPECT_TRUE(p2.postmaster_only);
  EXPECT_EQ(p2.params.notify, unsigned{kNotifyNever});
  expect_err("MAIL FROM:<Postmaster>", 501, "5.1.7");  // only RCPT has the special form
  expect_err("RCPT TO:<Postmasters>", 501, "5.1.3");
}

TEST(SmtpCommand, DotStringLocalParts) {
  EXPECT_EQ(rcpt_path("RCPT TO:<first.last@x.example>").local_part, "first.last");
  EXPECT_EQ(rcpt_path("RCPT TO:<a!#$%&'*+-/=?^_`{|}~@x.example>").local_part, "a!#$%&'*+-/=?^_`{|}~");
  EXPECT_EQ(rcpt_path("RCPT TO:<user+tag@x.example>").local_part, "user+tag");
  EXPECT_EQ(rcpt_path("RCPT TO:<user%other.example@x.example>").local_part, "user%other.example");
  expect_err("RCPT TO:<.a@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<a.@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<a..b@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<a b@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<a(comment)@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<a,b@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<user>", 501, "5.1.3");
  expect_err("RCPT TO:<user@>", 501, "5.1.3");
}

TEST(SmtpCommand, DoubleAtFailsToParse) {
  expect_err("RCPT TO:<user@other.example@local.example>", 501, "5.1.3");
  expect_err("MAIL FROM:<user@other.example@local.example>", 501, "5.1.7");
}

TEST(SmtpCommand, QuotedLocalParts) {
  Path p = rcpt_path("RCPT TO:<\"john doe\"@x.example>");
  EXPECT_EQ(p.local_part, "\"john doe\"");
  EXPECT_EQ(local_part_value(p.local_part), "john doe");

  Path at = rcpt_path("RCPT TO:<\"user@other.example\"@local.example>");
  EXPECT_EQ(at.local_part, "\"user@other.example\"");  // visible for the relay check
  EXPECT_EQ(at.domain, "local.example");
  EXPECT_EQ(local_part_value(at.local_part), "user@other.example");

  Path esc = rcpt_path(R"(RCPT TO:<"a\"b\\c"@x.example>)");
  EXPECT_EQ(esc.local_part, R"("a\"b\\c")");
  EXPECT_EQ(local_part_value(esc.local_part), R"(a"b\c)");

  EXPECT_EQ(rcpt_path("RCPT TO:<\"\"@x.example>").local_part, "\"\"");  // *QcontentSMTP: empty ok
  EXPECT_EQ(rcpt_path("RCPT TO:<\"a>b\"@x.example>").local_part, "\"a>b\"");
  EXPECT_EQ(rcpt_path(R"(RCPT TO:<"\ "@x.example>)").local_part, R"("\ ")");

  expect_err("RCPT TO:<\"unterminated@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<\"a\"b@x.example>", 501, "5.1.3");   // quoted-string then atext
  expect_err("RCPT TO:<\"a\".b@x.example>", 501, "5.1.3");  // no mixing (RFC 5321, unlike 5322)
  expect_err(R"(RCPT TO:<"a\)", 501, "5.1.3");
}

TEST(SmtpCommand, DomainGrammar) {
  EXPECT_EQ(rcpt_path("RCPT TO:<u@a-b.c-d.example>").domain, "a-b.c-d.example");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@localhost>").domain, "localhost");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@123.example>").domain, "123.example");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@xn--bcher-kva.example>").domain, "xn--bcher-kva.example");
  expect_err("RCPT TO:<u@example.com.>", 501, "5.1.3");  // trailing dot
  expect_err("RCPT TO:<u@.example.com>", 501, "5.1.3");
  expect_err("RCPT TO:<u@a..example>", 501, "5.1.3");
  expect_err("RCPT TO:<u@-a.example>", 501, "5.1.3");
  expect_err("RCPT TO:<u@a-.example>", 501, "5.1.3");
  expect_err("RCPT TO:<u@a_b.example>", 501, "5.1.3");
  expect_err("RCPT TO:<u@a b.example>", 501, "5.1.3");
  std::string label63(63, 'a');
  EXPECT_EQ(rcpt_path("RCPT TO:<u@" + label63 + ".example>").domain, label63 + ".example");
  expect_err("RCPT TO:<u@" + label63 + "a.example>", 501, "5.1.3");
}

TEST(SmtpCommand, AddressLiterals) {
  Path v4 = rcpt_path("RCPT TO:<u@[192.0.2.1]>");
  EXPECT_TRUE(v4.domain_is_address_literal);
  EXPECT_EQ(v4.domain, "[192.0.2.1]");
  EXPECT_FALSE(rcpt_path("RCPT TO:<u@x.example>").domain_is_address_literal);
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[255.255.255.255]>").domain, "[255.255.255.255]");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[010.0.0.001]>").domain, "[010.0.0.001]");  // Snum = 1*3DIGIT
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[IPv6:::1]>").domain, "[IPv6:::1]");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[IPv6:2001:db8::1]>").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[ipv6:2001:DB8:0:0:0:0:0:1]>").domain, "[ipv6:2001:DB8:0:0:0:0:0:1]");
  EXPECT_EQ(rcpt_path("RCPT TO:<u@[IPv6:::ffff:192.0.2.1]>").domain, "[IPv6:::ffff:192.0.2.1]");
  for (std::string_view bad : {"[256.0.0.1]", "[1.2.3]", "[1.2.3.4.5]", "[1234.1.1.1]", "[1.2.3.]", "[]",
                               "[IPv6:1::2::3]", "[IPv6:zz::1]", "[IPv6:]", "[IPv6:fe80::1%eth0]",
                               "[2001:db8::1]", "[x-tag:stuff]", "[1.2.3.4", "[ 1.2.3.4]", "[1.2.3.4]x"}) {
    expect_err("RCPT TO:<u@" + std::string(bad) + ">", 501, "5.1.3");
  }
}

TEST(SmtpCommand, SourceRoutesParsedAndVisible) {
  Path p = rcpt_path("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>");
  EXPECT_EQ(p.source_route, (std::vector<std::string>{"hosta.int", "jkl.org"}));
  EXPECT_EQ(p.local_part, "userc");
  EXPECT_EQ(p.domain, "d.bar.org");
  EXPECT_EQ(p.address(), "userc@d.bar.org");  // RFC 5321 §4.1.1.3: the route is ignored
  Path lit = mail_path("MAIL FROM:<@[192.0.2.9]:u@x.example>");
  EXPECT_EQ(lit.source_route, (std::vector<std::string>{"[192.0.2.9]"}));
  expect_err("RCPT TO:<@a.example,u@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<@a.example:@b.example:u@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<@:u@x.example>", 501, "5.1.3");
  expect_err("RCPT TO:<@a.example,:u@x.example>", 501, "5.1.3");
}

TEST(SmtpCommand, LengthLimits) {
  std::string lp64(64, 'l');
  EXPECT_EQ(rcpt_path("RCPT TO:<" + lp64 + "@x.example>").local_part, lp64);
  expect_err("RCPT TO:<" + lp64 + "l@x.example>", 501, "5.1.3");
  expect_err("MAIL FROM:<" + lp64 + "l@x.example>", 501, "5.1.7");
  // A 255-octet domain made of 63-octet labels: 4*63 + 3 dots = 255.
  std::string l63(63, 'd');
  std::string d255 = l63 + "." + l63 + "." + l63 + "." + l63;
  ASSERT_EQ(d255.size(), 255u);
  ParseOptions big;
  big.max_line_length = 2048;
  // path = "<" + 1 + "@" + 255 + ">" = 259 > 256: too long as a path.
  expect_err("RCPT TO:<u@" + d255 + ">", 501, "5.1.3", big);
  std::string d250 = l63 + "." + l63 + "." + l63 + "." + std::string(58, 'd');
  ASSERT_EQ(d250.size(), 250u);
  EXPECT_EQ(rcpt_path("RCPT TO:<u@" + d250 + ">", big).domain, d250);  // path 254
  expect_err("RCPT TO:<u@" + d255 + ".e>", 501, "5.1.3", big);         // domain > 255
  // path exactly 256: "<" + lp(N) + "@" + d + ">"
  std::string d251 = d250 + "e";
  std::string lp2 = "ab";
  ASSERT_EQ(1 + lp2.size() + 1 + d251.size() + 1, 256u);
  EXPECT_EQ(rcpt_path("RCPT TO:<" + lp2 + "@" + d251 + ">", big).domain, d251);
  expect_err("RCPT TO:<abc@" + d251 + ">", 501, "5.1.3", big);
}

// ---- SMTPUTF8 (RFC 6531) ------------------------------------------------------------------

TEST(SmtpCommand, EightBitAddressesNeedSmtputf8) {
  const std::string joerg = "j\xC3\xB6rg@example.com";  // jörg
  const std::string idn =
      "user@b\xC3\xBC"
      "cher.example";                                                                        // bücher
  const std::string cjk = "\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B.\xE4\xB8\xAD\xE5\x9B\xBD";  // 用户@例.中国
  expect_err("MAIL FROM:<" + joerg + ">", 550, "5.6.7");
  expect_err("MAIL FROM:<" + idn + ">", 550, "5.6.7");
  EXPECT_EQ(mail_path("MAIL FROM:<" + joerg + "> SMTPUTF8").address(), joerg);
  Mail m = parse_ok<Mail>("MAIL FROM:<" + cjk + "> SMTPUTF8 BODY=8BITMIME");
  EXPECT_TRUE(m.params.smtputf8);
  EXPECT_EQ(m.reverse_path.address(), cjk);

  expect_err("RCPT TO:<" + joerg + ">", 553, "5.6.7");
  ParseOptions utf8;
  utf8.smtputf8_transaction = true;
  EXPECT_EQ(rcpt_path("RCPT TO:<" + joerg + ">", utf8).address(), joerg);
  EXPECT_EQ(rcpt_path("RCPT TO:<" + idn + ">", utf8).domain,
            "b\xC3\xBC"
            "cher.example");
  EXPECT_EQ(rcpt_path("RCPT TO:<\"j\xC3\xB6 rg\"@x.example>", utf8).local_part, "\"j\xC3\xB6 rg\"");

  // Not UTF-8 at all (Latin-1, overlong, surrogate, truncated): syntax errors even with SMTPUTF8.
  for (std::string_view bad : {"j\xF6rg", "a\xC0\xAF", "a\xED\xA0\x80", "a\xE2\x82", "a\xF5\x80\x80\x80"}) {
    expect_err("RCPT TO:<" + std::string(bad) + "@x.example>", 501, "5.1.3", utf8);
    expect_err("MAIL FROM:<" + std::string(bad) + "@x.example> SMTPUTF8", 501, "5.1.7");
  }
  // Not advertised: the parameter is unknown, and the address is refused as non-ASCII.
  ParseOptions off;
  off.smtputf8 = false;
  expect_err("MAIL FROM:<a@x.example> SMTPUTF8", 555, "5.5.4", off);
  expect_err("MAIL FROM:<" + joerg + ">", 550, "5.6.7", off);
  // 8-bit in parameters is never allowed.
  expect_err("MAIL FROM:<a@x.example> ENVID=\xC3\xB6", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SMTPUTF8=yes", 501, "5.5.4");
}

// ---- MAIL parameters ----------------------------------------------------------------------

TEST(SmtpCommand, SizeParameter) {  // RFC 1870
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> SIZE=1000").params.size, 1000u);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> size=0").params.size, 0u);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> SIZE=18446744073709551615").params.size, UINT64_MAX);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> SIZE=99999999999999999999").params.size,
            UINT64_MAX);  // 20 digits: saturates, policy answers 552
  expect_err("MAIL FROM:<a@x.example> SIZE=999999999999999999999", 501, "5.5.4");  // 21 digits
  expect_err("MAIL FROM:<a@x.example> SIZE=", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE=12k", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE=-1", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE=1 SIZE=2", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE=1 size=1", 501, "5.5.4");
  ParseOptions off;
  off.size = false;
  expect_err("MAIL FROM:<a@x.example> SIZE=1", 555, "5.5.4", off);
}

TEST(SmtpCommand, BodyParameter) {  // RFC 6152, RFC 3030 §3
  using B = MailParams::Body;
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example>").params.body, B::None);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> BODY=7BIT").params.body, B::SevenBit);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> BODY=8BITMIME").params.body, B::EightBitMime);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> body=8bitmime").params.body, B::EightBitMime);
  expect_err("MAIL FROM:<a@x.example> BODY=BINARYMIME", 555, "5.5.4");  // not offered
  ParseOptions bin;
  bin.binarymime = true;
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> BODY=BINARYMIME", bin).params.body, B::BinaryMime);
  expect_err("MAIL FROM:<a@x.example> BODY=9BIT", 555, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> BODY", 501, "5.5.4");
  ParseOptions off;
  off.eightbitmime = false;
  expect_err("MAIL FROM:<a@x.example> BODY=8BITMIME", 555, "5.5.4", off);
}

TEST(SmtpCommand, DsnMailParameters) {  // RFC 3461 §4.3, §4.4
  Mail m = parse_ok<Mail>("MAIL FROM:<Alice@Pure-Heart.ORG> RET=HDRS ENVID=QQ314159");
  EXPECT_EQ(m.params.ret, Ret::Hdrs);
  EXPECT_EQ(m.params.envid, "QQ314159");
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> ret=full").params.ret, Ret::Full);
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> ENVID=a+2Bb+3Dc+20d").params.envid, "a+b=c d");
  expect_err("MAIL FROM:<a@x.example> RET=ALL", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> RET", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> RET=FULL RET=HDRS", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> ENVID=a+2b", 501, "5.5.4");  // lower-case hex
  expect_err("MAIL FROM:<a@x.example> ENVID=a+2", 501, "5.5.4");   // truncated hexchar
  expect_err("MAIL FROM:<a@x.example> ENVID=a+0A", 501, "5.5.4");  // decodes to a control char
  expect_err("MAIL FROM:<a@x.example> ENVID=a=b", 501, "5.5.4");   // '=' not in esmtp-value
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> ENVID=" + std::string(100, 'e')).params.envid.size(),
            100u);
  expect_err("MAIL FROM:<a@x.example> ENVID=" + std::string(101, 'e'), 501, "5.5.4");
  ParseOptions off;
  off.dsn = false;
  expect_err("MAIL FROM:<a@x.example> RET=FULL", 555, "5.5.4", off);
  expect_err("MAIL FROM:<a@x.example> ENVID=x", 555, "5.5.4", off);
}

TEST(SmtpCommand, AuthMailParameter) {  // RFC 4954 §5
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com").params.auth,
            "e=mc2@example.com");
  EXPECT_EQ(parse_ok<Mail>("MAIL FROM:<a@x.example> AUTH=<>").params.auth, "<>");
  expect_err("MAIL FROM:<a@x.example> AUTH", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> AUTH=+ZZ", 501, "5.5.4");
  ParseOptions off;
  off.auth = false;
  expect_err("MAIL FROM:<a@x.example> AUTH=<>", 555, "5.5.4", off);
}

TEST(SmtpCommand, UnknownAndMalformedParameters) {
  expect_err("MAIL FROM:<a@x.example> FOO=bar", 555, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> XFORWARD", 555, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> NOTIFY=NEVER", 555, "5.5.4");  // RCPT-only
  expect_err("RCPT TO:<a@x.example> SIZE=10", 555, "5.5.4");         // MAIL-only
  expect_err("MAIL FROM:<a@x.example> =x", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> -X=1", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> X_Y=1", 501, "5.5.4");
  expect_err("MAIL FROM:<a@x.example> SIZE==1", 501, "5.5.4");
  // Deviation: several SPs between parameters are tolerated, as is a trailing SP.
  Mail m = parse_ok<Mail>("MAIL FROM:<a@x.example>  SIZE=5   BODY=7BIT SMTPUTF8 ");
  EXPECT_EQ(m.params.size, 5u);
  EXPECT_EQ(m.params.body, MailParams::Body::SevenBit);
  EXPECT_TRUE(m.params.smtputf8);
}

// ---- RCPT parameters (RFC 3461 §4.1, §4.2) ----------------------------------------------

TEST(SmtpCommand, NotifyParameter) {
  auto notify = [](std::string_view v) {
    return parse_ok<Rcpt>("RCPT TO:<a@x.example> NOTIFY=" + std::string(v)).params.notify;
  };
  EXPECT_EQ(parse_ok<Rcpt>("RCPT TO:<a@x.example>").params.notify, 0u);
  EXPECT_EQ(notify("NEVER"), unsigned{kNotifyNever});
  EXPECT_EQ(notify("SUCCESS"), unsigned{kNotifySuccess});
  EXPECT_EQ(notify("FAILURE"), unsigned{kNotifyFailure});
  EXPECT_EQ(notify("delay"), unsigned{kNotifyDelay});
  EXPECT_EQ(notify("SUCCESS,FAILURE"), unsigned{kNotifySuccess | kNotifyFailure});
  EXPECT_EQ(notify("FAILURE,DELAY,SUCCESS"), unsigned{kNotifySuccess | kNotifyFailure | kNotifyDelay});
  for (std::string_view bad : {"NEVER,SUCCESS", "FAILURE,NEVER", "SUCCESS,SUCCESS", "SUCCESS,", ",SUCCESS",
                               "SUCCESS,,DELAY", "ALWAYS", "NEVER,NEVER"}) {
    expect_err("RCPT TO:<a@x.example> NOTIFY=" + std::string(bad), 501, "5.5.4");
  }
  expect_err("RCPT TO:<a@x.example> NOTIFY", 501, "5.5.4");
  expect_err("RCPT TO:<a@x.example> NOTIFY=NEVER NOTIFY=DELAY", 501, "5.5.4");
}

TEST(SmtpCommand, OrcptParameter) {
  Rcpt r = parse_ok<Rcpt>("RCPT TO:<Bob@Blivet.COM> NOTIFY=FAILURE ORCPT=rfc822;Bob@Blivet.COM");
  EXPECT_EQ(r.params.orcpt, "rfc822;Bob@Blivet.COM");
  EXPECT_EQ(r.params.notify, unsigned{kNotifyFailure});
  EXPECT_EQ(parse_ok<Rcpt>("RCPT TO:<a@x.example> ORCPT=rfc822;a+2Bb@x.example").params.orcpt,
            "rfc822;a+b@x.example");
  for (std::string_view bad : {"rfc822", ";a@x.example", "rfc822;", "rfc822;a+zz", "rfc 822;a"}) {
    expect_err("RCPT TO:<a@x.example> ORCPT=" + std::string(bad), 501, "5.5.4");
  }
  expect_err("RCPT TO:<a@x.example> ORCPT=rfc822;" + std::string(494, 'a'), 501, "5.5.4",
             ParseOptions{.max_line_length = 2048});
  EXPECT_EQ(parse_ok<Rcpt>("RCPT TO:<a@x.example> ORCPT=rfc822;" + std::string(493, 'a'),
                           ParseOptions{.max_line_length = 2048})
                .params.orcpt.size(),
            500u);
  ParseOptions off;
  off.dsn = false;
  expect_err("RCPT TO:<a@x.example> ORCPT=rfc822;a@x.example", 555, "5.5.4", off);
}

// ---- BDAT (RFC 3030) ----------------------------------------------------------------------

TEST(SmtpCommand, Bdat) {
  Bdat b = parse_ok<Bdat>("BDAT 86");
  EXPECT_EQ(b.size, 86u);
  EXPECT_FALSE(b.last);
  Bdat l = parse_ok<Bdat>("BDAT 0 LAST");
  EXPECT_EQ(l.size, 0u);
  EXPECT_TRUE(l.last);
  EXPECT_TRUE(parse_ok<Bdat>("bdat 007 last").last);
  EXPECT_EQ(parse_ok<Bdat>("BDAT 9999999999999999999").size, 9999999999999999999ull);
  for (std::string_view bad : {"BDAT", "BDAT x", "BDAT -1", "BDAT 1 MORE", "BDAT 1 LAST X", "BDAT 1  LAST",
                               "BDAT 10000000000000000000", "BDAT LAST"}) {
    expect_err(bad, 501, "5.5.4");
  }
  ParseOptions off;
  off.chunking = false;
  expect_err("BDAT 1 LAST", 502, "5.5.1", off);
}

// ---- AUTH (RFC 4954) ----------------------------------------------------------------------

TEST(SmtpCommand, Auth) {
  Auth a = parse_ok<Auth>("AUTH PLAIN");
  EXPECT_EQ(a.mechanism, "PLAIN");
  EXPECT_FALSE(a.initial_response);
  Auth b = parse_ok<Auth>("auth plain dGVzdAB0ZXN0ADEyMzQ=");
  EXPECT_EQ(b.mechanism, "PLAIN");
  EXPECT_EQ(b.initial_response, "dGVzdAB0ZXN0ADEyMzQ=");
  EXPECT_EQ(parse_ok<Auth>("AUTH EXTERNAL =").initial_response, "");  // "=": empty response
  EXPECT_EQ(parse_ok<Auth>("AUTH SCRAM-SHA-256").mechanism, "SCRAM-SHA-256");
  expect_err("AUTH", 501, "5.5.4");
  expect_err("AUTH PL@IN", 501, "5.5.4");
  expect_err("AUTH " + std::string(21, 'A'), 501, "5.5.4");
  expect_err("AUTH PLAIN not*base64", 501, "5.5.2");
  expect_err("AUTH PLAIN abc", 501, "5.5.2");
  expect_err("AUTH PLAIN ab=c", 501, "5.5.2");
  expect_err("AUTH PLAIN a===", 501, "5.5.2");
  // RFC 4954 §4: AUTH lines may be far longer than 512 octets.
  std::string big = "AUTH PLAIN " + std::string(4000, 'Q');
  EXPECT_EQ(parse_ok<Auth>(big).initial_response->size(), 4000u);
  expect_err("AUTH PLAIN " + std::string(12280, 'Q'), 500, "5.5.6");
  ParseOptions off;
  off.auth = false;
  expect_err("AUTH PLAIN", 502, "5.5.1", off);
}

TEST(SmtpCommand, SaslResponses) {
  ParseOptions o;
  auto r = parse_sasl_response("*", o);
  EXPECT_TRUE(std::holds_alternative<SaslCancel>(r));
  auto ok = parse_sasl_response("dXNlcm5hbWU=", o);
  ASSERT_TRUE(std::holds_alternative<std::string>(ok));
  EXPECT_EQ(std::get<std::string>(ok), "dXNlcm5hbWU=");
  auto empty = parse_sasl_response("", o);
  ASSERT_TRUE(std::holds_alternative<std::string>(empty));
  EXPECT_EQ(std::get<std::string>(empty), "");
  auto bad = parse_sasl_response("dXNl*", o);
  ASSERT_TRUE(std::holds_alternative<ParseError>(bad));
  EXPECT_EQ(std::get<ParseError>(bad).code, 501);
  auto lng = parse_sasl_response(std::string(12288, 'A'), o);
  ASSERT_TRUE(std::holds_alternative<ParseError>(lng));
  EXPECT_EQ(std::get<ParseError>(lng).code, 500);
  EXPECT_EQ(std::get<ParseError>(lng).enhanced, "5.5.6");
}

// ---- Helpers ------------------------------------------------------------------------------

TEST(SmtpCommand, CanonicalDomain) {
  EXPECT_EQ(canonical_domain("Example.COM"), "example.com");
  EXPECT_EQ(canonical_domain("localhost"), "localhost");
  EXPECT_EQ(canonical_domain("[IPv6:2001:DB8::1]"), "[ipv6:2001:db8::1]");
  EXPECT_EQ(canonical_domain("b\xC3\xBC"
                             "cher.EXAMPLE"),
            "b\xC3\xBC"
            "cher.example");  // ASCII only
  EXPECT_EQ(canonical_domain("example.com."), std::nullopt);
  EXPECT_EQ(canonical_domain("."), std::nullopt);
  EXPECT_EQ(canonical_domain(""), std::nullopt);
  EXPECT_EQ(canonical_domain(".example.com"), std::nullopt);
  EXPECT_EQ(canonical_domain("a..example"), std::nullopt);
  EXPECT_EQ(canonical_domain(std::string(64, 'a') + ".example"), std::nullopt);
  EXPECT_EQ(canonical_domain("[1.2.3.4"), std::nullopt);
  EXPECT_EQ(canonical_domain(std::string(256, 'a')), std::nullopt);
}

TEST(SmtpCommand, DecodeXtext) {
  EXPECT_EQ(decode_xtext(""), "");
  EXPECT_EQ(decode_xtext("abc"), "abc");
  EXPECT_EQ(decode_xtext("+2B+3D+00"), std::string("+=\0", 3));
  EXPECT_EQ(decode_xtext("+"), std::nullopt);
  EXPECT_EQ(decode_xtext("+4"), std::nullopt);
  EXPECT_EQ(decode_xtext("+4g"), std::nullopt);
  EXPECT_EQ(decode_xtext("+ff"), std::nullopt);
  EXPECT_EQ(decode_xtext("a b"), std::nullopt);
  EXPECT_EQ(decode_xtext("a=b"), std::nullopt);
}

TEST(SmtpCommand, LocalPartValue) {
  EXPECT_EQ(local_part_value("plain.user"), "plain.user");
  EXPECT_EQ(local_part_value("\"a b\""), "a b");
  EXPECT_EQ(local_part_value(R"("\\\"")"), R"(\")");
  EXPECT_EQ(local_part_value("\""), "\"");
}

// Robustness: every single-byte mutation of valid commands parses or fails cleanly.
TEST(SmtpCommand, MutationsNeverCrash) {
  const std::vector<std::string> seeds = {
      "MAIL FROM:<@a.example,@[1.2.3.4]:\"q\\\"x\"@[IPv6:::1]> SIZE=1 BODY=8BITMIME SMTPUTF8 RET=FULL "
      "ENVID=a+2B AUTH=<>",
      "RCPT TO:<u@b\xC3\xBC.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+40x", "EHLO [IPv6:2001:db8::1]",
      "AUTH PLAIN dGVzdA==", "BDAT 12 LAST"};
  const std::string replacements = std::string(
      "\0 <>@.:\",=+[]\\\x80\xC3\xFF"
      "aZ9",
      20);
  ParseOptions o;
  o.smtputf8_transaction = true;
  std::size_t parsed = 0;
  for (const std::string& seed : seeds) {
    for (std::size_t i = 0; i < seed.size(); ++i) {
      for (char r : replacements) {
        std::string m = seed;
        m[i] = r;
        parsed += std::holds_alternative<Command>(parse_command(m, o)) ? 1 : 0;
        std::string cut = seed.substr(0, i);
        parsed += std::holds_alternative<Command>(parse_command(cut, o)) ? 1 : 0;
      }
    }
  }
  EXPECT_GT(parsed, 0u);
}

}  // namespace
}  // namespace roost::smtp
