#include "common/auth/sasl.hpp"

#include "common/util/base64.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace roost::auth;
using roost::base64_encode;

namespace {

using namespace std::string_literals;

// Returns by value: callers pass temporaries.
Credentials done(const SaslStep& s) {
  if (const auto* d = std::get_if<SaslDone>(&s)) return d->creds;
  ADD_FAILURE() << "expected SaslDone, got variant index " << s.index();
  return {};
}

std::string challenge(const SaslStep& s) {
  if (const auto* c = std::get_if<SaslChallenge>(&s)) return c->base64;
  ADD_FAILURE() << "expected SaslChallenge, got variant index " << s.index();
  return "<none>";
}

bool is_failed(const SaslStep& s) { return std::holds_alternative<SaslFailed>(s); }
bool is_cancelled(const SaslStep& s) { return std::holds_alternative<SaslCancelled>(s); }

std::unique_ptr<SaslServer> plain() {
  auto s = SaslServer::create("PLAIN");
  EXPECT_NE(s, nullptr);
  return s;
}
std::unique_ptr<SaslServer> login() {
  auto s = SaslServer::create("LOGIN");
  EXPECT_NE(s, nullptr);
  return s;
}

TEST(SaslMechanisms, CreateIsCaseInsensitiveAndRejectsUnknown) {
  EXPECT_NE(SaslServer::create("plain"), nullptr);
  EXPECT_NE(SaslServer::create("Login"), nullptr);
  EXPECT_EQ(SaslServer::create("CRAM-MD5"), nullptr);
  EXPECT_EQ(SaslServer::create("SCRAM-SHA-256"), nullptr);
  EXPECT_EQ(SaslServer::create(""), nullptr);
  EXPECT_EQ(SaslServer::create("PLAIN "), nullptr);
  EXPECT_EQ(SaslServer::create("PLAINX"), nullptr);
}

TEST(SaslMechanisms, SupportedList) {
  const auto mechs = supported_mechanisms();
  ASSERT_EQ(mechs.size(), 2U);
  EXPECT_EQ(mechs[0], "PLAIN");
  EXPECT_EQ(mechs[1], "LOGIN");
}

// RFC 4616 §4 example: "\0tim\0tanstaaftanstaaf".
TEST(SaslPlain, InitialResponseRfc4616Example) {
  auto s = plain();
  const auto c = done(s->start("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
  EXPECT_EQ(c.authzid, "");
  EXPECT_EQ(c.authcid, "tim");
  EXPECT_EQ(c.password, "tanstaaftanstaaf");
}

// RFC 4616 §4 example with an authorization identity: "Ursel\0Kurt\0xipj3plmq".
TEST(SaslPlain, WithAuthzid) {
  auto s = plain();
  const auto c = done(s->start(base64_encode("Ursel\0Kurt\0xipj3plmq"s)));
  EXPECT_EQ(c.authzid, "Ursel");
  EXPECT_EQ(c.authcid, "Kurt");
  EXPECT_EQ(c.password, "xipj3plmq");
}

TEST(SaslPlain, WithoutInitialResponseSendsEmptyChallenge) {
  auto s = plain();
  EXPECT_EQ(challenge(s->start(std::nullopt)), "");
  const auto c = done(s->step(base64_encode("\0alice\0s3cret"s)));
  EXPECT_EQ(c.authcid, "alice");
  EXPECT_EQ(c.password, "s3cret");
}

TEST(SaslPlain, EqualsIsEmptyInitialResponseAndFails) {
  // RFC 4954 §4: "=" is an empty initial response; an empty PLAIN message is malformed.
  auto s = plain();
  EXPECT_TRUE(is_failed(s->start("=")));
}

TEST(SaslPlain, EmptyContinuationFails) {
  auto s = plain();
  (void)s->start(std::nullopt);
  EXPECT_TRUE(is_failed(s->step("")));
}

TEST(SaslPlain, WrongNulCount) {
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("alice"))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("alice\0secret"s))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0alice\0sec\0ret"s))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0\0\0"s))));
}

TEST(SaslPlain, EmptyAuthcidOrPassword) {
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0alice\0"s))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0\0secret"s))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("admin\0\0secret"s))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0\0"s))));
}

TEST(SaslPlain, FieldLengthLimit) {
  const std::string max(kMaxSaslFieldBytes, 'a');
  const std::string over(kMaxSaslFieldBytes + 1, 'a');
  EXPECT_EQ(done(plain()->start(base64_encode(max + '\0' + max + '\0' + max))).password, max);
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0"s + over + '\0' + "pw"))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0user\0"s + over))));
  EXPECT_TRUE(is_failed(plain()->start(base64_encode(over + '\0' + "user\0pw"s))));
}

TEST(SaslPlain, Utf8) {
  const auto c = done(plain()->start(base64_encode("\0j\xC3\xBCrgen\0p\xE2\x82\xAC\xF0\x9F\x94\x91"s)));
  EXPECT_EQ(c.authcid, "j\xC3\xBCrgen");
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0j\xFCrgen\0pw"s))));           // Latin-1
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0user\0\xC0\xAF"s))));           // overlong '/'
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0user\0\xED\xA0\x80"s))));       // surrogate
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0user\0\xF4\x90\x80\x80"s))));   // > U+10FFFF
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\0user\0pw\xE2\x82"s))));         // truncated
  EXPECT_TRUE(is_failed(plain()->start(base64_encode("\xFF\0user\0pw"s))));             // authzid too
}

TEST(SaslPlain, InvalidBase64) {
  EXPECT_TRUE(is_failed(plain()->start("not base64!")));
  EXPECT_TRUE(is_failed(plain()->start("AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n")));
  EXPECT_TRUE(is_failed(plain()->start("AHRpbQB0YW5zdGFhZnRhbnN0YWF")));
  auto s = plain();
  (void)s->start(std::nullopt);
  EXPECT_TRUE(is_failed(s->step("%%%%")));
}

TEST(SaslPlain, CancelWithStar) {
  auto s = plain();
  EXPECT_EQ(challenge(s->start(std::nullopt)), "");
  EXPECT_TRUE(is_cancelled(s->step("*")));
  EXPECT_TRUE(is_cancelled(plain()->start("*")));
}

TEST(SaslPlain, OversizedLineFails) {
  auto s = plain();
  (void)s->start(std::nullopt);
  // A well-formed base64 line just over the limit must not even be decoded.
  std::string line(kMaxSaslLineBytes + 4, 'A');
  EXPECT_TRUE(is_failed(s->step(line)));
  EXPECT_TRUE(is_failed(plain()->start(line)));
}

TEST(SaslPlain, NoStepsAfterCompletion) {
  auto s = plain();
  (void)done(s->start(base64_encode("\0a\0b"s)));
  EXPECT_TRUE(is_failed(s->step(base64_encode("\0a\0b"s))));
  EXPECT_TRUE(is_failed(s->start(base64_encode("\0a\0b"s))));
}

TEST(SaslPlain, StepBeforeStartFails) {
  auto s = plain();
  EXPECT_TRUE(is_failed(s->step(base64_encode("\0a\0b"s))));
}

TEST(SaslLogin, TwoStepFlow) {
  auto s = login();
  EXPECT_EQ(challenge(s->start(std::nullopt)), base64_encode("Username:"));
  EXPECT_EQ(challenge(s->step(base64_encode("alice@example.org"))), base64_encode("Password:"));
  const auto c = done(s->step(base64_encode("s3cret")));
  EXPECT_EQ(c.authzid, "");
  EXPECT_EQ(c.authcid, "alice@example.org");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_TRUE(is_failed(s->step(base64_encode("more"))));
}

TEST(SaslLogin, ChallengesAreTheUsualLiterals) {
  auto s = login();
  EXPECT_EQ(challenge(s->start(std::nullopt)), "VXNlcm5hbWU6");
  EXPECT_EQ(challenge(s->step("YWxpY2U=")), "UGFzc3dvcmQ6");
}

TEST(SaslLogin, InitialResponseIsUsername) {
  auto s = login();
  EXPECT_EQ(challenge(s->start(base64_encode("bob"))), "UGFzc3dvcmQ6");
  const auto c = done(s->step(base64_encode("hunter2")));
  EXPECT_EQ(c.authcid, "bob");
  EXPECT_EQ(c.password, "hunter2");
}

TEST(SaslLogin, EmptyFieldsFail) {
  EXPECT_TRUE(is_failed(login()->start("=")));
  auto s = login();
  (void)s->start(std::nullopt);
  EXPECT_TRUE(is_failed(s->step("")));
  auto t = login();
  (void)t->start(base64_encode("bob"));
  EXPECT_TRUE(is_failed(t->step("")));
}

TEST(SaslLogin, CancelAtEitherPrompt) {
  auto s = login();
  (void)s->start(std::nullopt);
  EXPECT_TRUE(is_cancelled(s->step("*")));
  auto t = login();
  (void)t->start(std::nullopt);
  (void)t->step(base64_encode("bob"));
  EXPECT_TRUE(is_cancelled(t->step("*")));
  EXPECT_TRUE(is_failed(t->step(base64_encode("pw"))));  // finished after cancel
}

TEST(SaslLogin, RejectsBadBase64NulAndOversizedFields) {
  auto s = login();
  (void)s->start(std::nullopt);
  EXPECT_TRUE(is_failed(s->step("Ym9i\r")));
  EXPECT_TRUE(is_failed(login()->start(base64_encode("bo\0b"s))));
  EXPECT_TRUE(is_failed(login()->start(base64_encode(std::string(kMaxSaslFieldBytes + 1, 'u')))));
  auto t = login();
  (void)t->start(base64_encode("bob"));
  EXPECT_TRUE(is_failed(t->step(base64_encode("\xC3("))));
}

}  // namespace
