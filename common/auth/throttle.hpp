// Failed-login throttling policy: pure functions of (policy, recorded failures, now).
// Persistence of FailureState (per IP and per account) lives with the caller; nothing here does I/O.
//
// Semantics:
//  - A FailureState whose last_failure is at least `window` before now counts as zero failures.
//  - The first `free_failures` failures cost nothing; failure free_failures+1 delays base_delay, and each
//    further failure doubles it, capped at max_delay.
//  - At `lockout_after` failures (counted within the window by record_failure) the key is locked out
//    until last_failure + lockout; the lockout runs its full length even if longer than `window`.
//    lockout_after == 0 disables lockout.
//  - decide() combines the per-IP and per-account states and the stricter one wins on every field.
#pragma once

#include <chrono>
#include <cstdint>

namespace roost::auth {

struct FailureState {
  std::uint32_t failures = 0;
  std::chrono::system_clock::time_point last_failure{};
};

struct ThrottlePolicy {
  std::uint32_t free_failures = 3;
  std::chrono::milliseconds base_delay{250};
  std::chrono::milliseconds max_delay{5000};
  std::uint32_t lockout_after = 10;
  std::chrono::seconds lockout{900};
  std::chrono::seconds window{900};
};

struct ThrottleDecision {
  bool locked_out = false;
  std::chrono::milliseconds delay{0};    // wait this long before answering the next attempt
  std::chrono::seconds retry_after{0};   // when locked_out: seconds until the lockout ends (rounded up)
};

[[nodiscard]] ThrottleDecision decide(const ThrottlePolicy& policy, const FailureState& per_ip,
                                      const FailureState& per_account,
                                      std::chrono::system_clock::time_point now) noexcept;

// The state to persist after one more failed login at `now`: a state outside the window restarts at 1.
[[nodiscard]] FailureState record_failure(const ThrottlePolicy& policy, const FailureState& state,
                                          std::chrono::system_clock::time_point now) noexcept;

}  // namespace roost::auth
