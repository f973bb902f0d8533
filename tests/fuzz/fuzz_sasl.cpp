// libFuzzer entry point for the server-side SASL state machines (common/auth/sasl.hpp).
//
// Input: the first byte picks whether an initial response is sent; the rest is split on '\n' into
// client lines (the first is the initial response when one is sent). Each mechanism is driven until
// the exchange finishes, plus one extra step to exercise the "already finished" path. Invariants
// checked: no crash/UB, no exception, challenges are valid base64, results stay within the limits.
#include "common/auth/sasl.hpp"
#include "common/util/base64.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using roost::auth::SaslChallenge;
using roost::auth::SaslDone;
using roost::auth::SaslServer;
using roost::auth::SaslStep;

// Returns true while the exchange continues.
bool check(const SaslStep& step) {
  if (const auto* c = std::get_if<SaslChallenge>(&step)) {
    if (!roost::base64_decode(c->base64)) std::abort();
    return true;
  }
  if (const auto* d = std::get_if<SaslDone>(&step)) {
    const auto& cr = d->creds;
    if (cr.authcid.empty() || cr.password.empty()) std::abort();
    if (cr.authzid.size() > roost::auth::kMaxSaslFieldBytes || cr.authcid.size() > roost::auth::kMaxSaslFieldBytes ||
        cr.password.size() > roost::auth::kMaxSaslFieldBytes) {
      std::abort();
    }
  }
  return false;
}

void drive(std::string_view mech, bool with_initial_response, const std::vector<std::string_view>& lines) {
  auto server = SaslServer::create(mech);
  if (!server) std::abort();
  std::size_t next = 0;
  std::optional<std::string_view> ir;
  if (with_initial_response && next < lines.size()) ir = lines[next++];
  bool running = check(server->start(ir));
  while (running && next < lines.size()) running = check(server->step(lines[next++]));
  // A finished exchange must refuse further input.
  if (!running && std::holds_alternative<SaslChallenge>(server->step("AAAA"))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool with_ir = (data[0] & 1) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= input.size() && lines.size() < 64) {
    const auto nl = input.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(input.substr(pos));
      break;
    }
    lines.push_back(input.substr(pos, nl - pos));
    pos = nl + 1;
  }
  for (const auto mech : roost::auth::supported_mechanisms()) drive(mech, with_ir, lines);
  return 0;
}
