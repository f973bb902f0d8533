#include "common/auth/sasl.hpp"

#include "common/util/base64.hpp"

#include <algorithm>
#include <array>

namespace roost::auth {
namespace {

constexpr std::array<std::string_view, 2> kMechanisms{"PLAIN", "LOGIN"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto upper = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; };
           return upper(x) == upper(y);
         });
}

// RFC 3629 §4: well-formed UTF-8 — no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

// A field that is present must be within RFC 4616 §2's 255 octets and be UTF-8 (RFC 4616 §2: "SHALL be
// transferred as [UTF-8]"); NUL is never allowed inside a field.
bool field_ok(std::string_view s) {
  return s.size() <= kMaxSaslFieldBytes && s.find('\0') == std::string_view::npos && valid_utf8(s);
}

SaslFailed failed(std::string reason) { return SaslFailed{std::move(reason)}; }

// Decodes one client response. "*" is handled by the caller.
std::optional<std::string> decode_response(std::string_view b64) {
  if (b64.size() > kMaxSaslLineBytes) return std::nullopt;
  return roost::base64_decode(b64);
}

// Shared driver: tracks whether the exchange is over and applies the rules common to every response.
class Exchange : public SaslServer {
 public:
  SaslStep start(std::optional<std::string_view> ir) final {
    if (state_ != State::Fresh) return finish(failed("exchange already started"));
    state_ = State::Running;
    if (!ir) return finish(on_start_without_response());
    // RFC 4954 §4 / RFC 9051 §6.2.2: "=" stands for an empty initial response.
    if (*ir == "=") return finish(on_response(std::string{}));
    return finish(handle_line(*ir));
  }

  SaslStep step(std::string_view line) final {
    if (state_ != State::Running) return finish(failed("no exchange in progress"));
    return finish(handle_line(line));
  }

 protected:
  virtual SaslStep on_start_without_response() = 0;
  virtual SaslStep on_response(std::string decoded) = 0;

 private:
  enum class State { Fresh, Running, Finished };

  SaslStep handle_line(std::string_view line) {
    // RFC 4954 §4, RFC 9051 §6.2.2: a lone "*" cancels the exchange.
    if (line == "*") return SaslCancelled{};
    if (line.size() > kMaxSaslLineBytes) return failed("response too long");
    auto decoded = decode_response(line);
    if (!decoded) return failed("invalid base64");
    return on_response(std::move(*decoded));
  }

  SaslStep finish(SaslStep s) {
    if (!std::holds_alternative<SaslChallenge>(s)) state_ = State::Finished;
    return s;
  }

  State state_ = State::Fresh;
};

// RFC 4616: one message, "[authzid] NUL authcid NUL passwd".
class PlainServer final : public Exchange {
 protected:
  SaslStep on_start_without_response() override {
    // RFC 4616 §2 with RFC 4422 §5: the server sends an empty challenge and waits for the message.
    return SaslChallenge{""};
  }

  SaslStep on_response(std::string msg) override {
    const auto nul1 = msg.find('\0');
    if (nul1 == std::string::npos) return failed("malformed PLAIN message");
    const auto nul2 = msg.find('\0', nul1 + 1);
    if (nul2 == std::string::npos || msg.find('\0', nul2 + 1) != std::string::npos) {
      return failed("malformed PLAIN message");
    }
    std::string_view view(msg);
    const auto authzid = view.substr(0, nul1);
    const auto authcid = view.substr(nul1 + 1, nul2 - nul1 - 1);
    const auto passwd = view.substr(nul2 + 1);
    // RFC 4616 §2: authcid = 1*SAFE, passwd = 1*SAFE.
    if (authcid.empty() || passwd.empty()) return failed("empty PLAIN field");
    if (!field_ok(authzid) || !field_ok(authcid) || !field_ok(passwd)) return failed("invalid PLAIN field");
    return SaslDone{Credentials{std::string(authzid), std::string(authcid), std::string(passwd)}};
  }
};

// LOGIN (draft-murchison-sasl-login): the server prompts "Username:" then "Password:". An initial
// response, if any, is the username. No authzid.
class LoginServer final : public Exchange {
 protected:
  SaslStep on_start_without_response() override { return SaslChallenge{std::string(kUsernamePrompt)}; }

  SaslStep on_response(std::string value) override {
    if (value.empty()) return failed("empty LOGIN field");
    // Same field rules as PLAIN, so both mechanisms accept exactly the same credentials.
    if (!field_ok(value)) return failed("invalid LOGIN field");
    if (!username_) {
      username_ = std::move(value);
      return SaslChallenge{std::string(kPasswordPrompt)};
    }
    return SaslDone{Credentials{std::string{}, std::move(*username_), std::move(value)}};
  }

 private:
  static constexpr std::string_view kUsernamePrompt = "VXNlcm5hbWU6";  // base64("Username:")
  static constexpr std::string_view kPasswordPrompt = "UGFzc3dvcmQ6";  // base64("Password:")
  std::optional<std::string> username_;
};

}  // namespace

SaslServer::~SaslServer() = default;

std::unique_ptr<SaslServer> SaslServer::create(std::string_view mech) {
  if (iequals(mech, "PLAIN")) return std::make_unique<PlainServer>();
  if (iequals(mech, "LOGIN")) return std::make_unique<LoginServer>();
  return nullptr;
}

std::span<const std::string_view> supported_mechanisms() noexcept { return kMechanisms; }

}  // namespace roost::auth
