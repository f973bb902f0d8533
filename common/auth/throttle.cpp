#include "common/auth/throttle.hpp"

#include <algorithm>
#include <limits>

namespace roost::auth {
namespace {

using Clock = std::chrono::system_clock;

// Failures that still count at `now`. A last_failure in the future (clock stepped back) still counts:
// failing open on clock skew would hand an attacker a free reset.
std::uint32_t live_failures(const ThrottlePolicy& policy, const FailureState& s, Clock::time_point now) {
  if (s.failures == 0) return 0;
  if (now >= s.last_failure && now - s.last_failure >= policy.window) return 0;
  return s.failures;
}

std::chrono::milliseconds delay_for(const ThrottlePolicy& policy, std::uint32_t failures) {
  if (failures <= policy.free_failures || policy.base_delay <= std::chrono::milliseconds::zero()) {
    return std::chrono::milliseconds::zero();
  }
  const std::uint32_t doublings = failures - policy.free_failures - 1;
  auto delay = policy.base_delay;
  for (std::uint32_t i = 0; i < doublings && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, policy.max_delay);
}

ThrottleDecision decide_one(const ThrottlePolicy& policy, const FailureState& s, Clock::time_point now) {
  ThrottleDecision d;
  d.delay = delay_for(policy, live_failures(policy, s, now));
  if (policy.lockout_after > 0 && s.failures >= policy.lockout_after) {
    const auto until = s.last_failure + policy.lockout;
    if (now < until) {
      d.locked_out = true;
      d.retry_after = std::chrono::ceil<std::chrono::seconds>(until - now);
    }
  }
  return d;
}

}  // namespace

ThrottleDecision decide(const ThrottlePolicy& policy, const FailureState& per_ip, const FailureState& per_account,
                        Clock::time_point now) noexcept {
  const auto ip = decide_one(policy, per_ip, now);
  const auto account = decide_one(policy, per_account, now);
  return ThrottleDecision{
      .locked_out = ip.locked_out || account.locked_out,
      .delay = std::max(ip.delay, account.delay),
      .retry_after = std::max(ip.retry_after, account.retry_after),
  };
}

FailureState record_failure(const ThrottlePolicy& policy, const FailureState& state, Clock::time_point now) noexcept {
  const std::uint32_t live = live_failures(policy, state, now);
  const std::uint32_t next = live == std::numeric_limits<std::uint32_t>::max() ? live : live + 1;
  return FailureState{next, std::max(now, state.last_failure)};
}

}  // namespace roost::auth
