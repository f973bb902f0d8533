// Server side of SASL (RFC 4422) for the PLAIN (RFC 4616) and LOGIN mechanisms.
//
// Pure state machines: they take the base64 text of one client response and return the next step.
// They do no I/O, never throw on client input and never log; the protocol layer turns a
// SaslChallenge into "334 <b64>" (SMTP, RFC 4954 §4) or "+ <b64>" (IMAP, RFC 9051 §6.2.2), and
// SaslFailed / SaslCancelled into 501 / BAD. Credentials are only checked by the caller.
//
// Security posture: both mechanisms send the password in the clear, so the caller must only offer them
// over TLS (RFC 4616 §6, RFC 4954 §4).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace roost::auth {

struct Credentials {
  std::string authzid;   // empty: act as authcid (RFC 4616 §2)
  std::string authcid;
  std::string password;
};

struct SaslChallenge {
  std::string base64;  // may be empty (PLAIN asking for its single response)
};
struct SaslDone {
  Credentials creds;
};
struct SaslFailed {
  std::string reason;  // fixed text, safe to log; never contains client data
};
struct SaslCancelled {};  // client answered "*" (RFC 4954 §4, RFC 9051 §6.2.2)

using SaslStep = std::variant<SaslChallenge, SaslDone, SaslFailed, SaslCancelled>;

// Limits shared by both mechanisms.
inline constexpr std::size_t kMaxSaslLineBytes = 8 * 1024;  // one base64 client response
inline constexpr std::size_t kMaxSaslFieldBytes = 255;      // authzid / authcid / password (RFC 4616 §2)

class SaslServer {
 public:
  // mech is matched case-insensitively (RFC 4422 §3.1 names are upper case, clients vary).
  // Returns nullptr for an unsupported mechanism.
  [[nodiscard]] static std::unique_ptr<SaslServer> create(std::string_view mech);

  // initial_response_b64: the optional initial response from "AUTH <mech> <ir>" / SASL-IR.
  // "=" is an empty initial response (RFC 4954 §4, RFC 9051 §6.2.2); std::nullopt means none was sent.
  [[nodiscard]] virtual SaslStep start(std::optional<std::string_view> initial_response_b64) = 0;

  // One client continuation line, without its CRLF. "*" cancels; an empty line is an empty response.
  // After the exchange has finished (Done/Failed/Cancelled), every further call returns SaslFailed.
  [[nodiscard]] virtual SaslStep step(std::string_view client_line_b64) = 0;

  virtual ~SaslServer();

  SaslServer() = default;
  SaslServer(const SaslServer&) = delete;
  SaslServer& operator=(const SaslServer&) = delete;
};

// {"PLAIN", "LOGIN"}, in order of preference for advertising.
[[nodiscard]] std::span<const std::string_view> supported_mechanisms() noexcept;

}  // namespace roost::auth
