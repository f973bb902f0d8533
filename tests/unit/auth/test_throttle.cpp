#include "common/auth/throttle.hpp"

#include <gtest/gtest.h>

using namespace roost::auth;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

namespace {

const ThrottlePolicy kPolicy{};  // 3 free, 250 ms doubling to 5 s, lockout at 10 for 900 s, window 900 s
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(24 * 365 * 50);
const FailureState kClean{};

FailureState failures(std::uint32_t n, Clock::time_point last = kT0) { return FailureState{n, last}; }

TEST(Throttle, NoFailuresNoDelay) {
  const auto d = decide(kPolicy, kClean, kClean, kT0);
  EXPECT_FALSE(d.locked_out);
  EXPECT_EQ(d.delay, 0ms);
  EXPECT_EQ(d.retry_after, 0s);
}

TEST(Throttle, FreeFailuresBoundary) {
  EXPECT_EQ(decide(kPolicy, failures(3), kClean, kT0 + 1s).delay, 0ms);
  EXPECT_EQ(decide(kPolicy, failures(4), kClean, kT0 + 1s).delay, 250ms);
}

TEST(Throttle, DelayDoublesAndCaps) {
  EXPECT_EQ(decide(kPolicy, failures(5), kClean, kT0).delay, 500ms);
  EXPECT_EQ(decide(kPolicy, failures(6), kClean, kT0).delay, 1000ms);
  EXPECT_EQ(decide(kPolicy, failures(7), kClean, kT0).delay, 2000ms);
  EXPECT_EQ(decide(kPolicy, failures(8), kClean, kT0).delay, 4000ms);
  EXPECT_EQ(decide(kPolicy, failures(9), kClean, kT0).delay, 5000ms);
  EXPECT_FALSE(decide(kPolicy, failures(9), kClean, kT0).locked_out);
}

TEST(Throttle, DelayCapSurvivesHugeCounts) {
  ThrottlePolicy p = kPolicy;
  p.lockout_after = 0;  // disabled
  const auto d = decide(p, failures(0xFFFFFFFF), kClean, kT0);
  EXPECT_EQ(d.delay, 5000ms);
  EXPECT_FALSE(d.locked_out);
}

TEST(Throttle, LockoutBoundary) {
  const auto at10 = decide(kPolicy, failures(10), kClean, kT0);
  EXPECT_TRUE(at10.locked_out);
  EXPECT_EQ(at10.retry_after, 900s);
  EXPECT_EQ(at10.delay, 5000ms);
  // Last second of the lockout, then released exactly at last_failure + lockout.
  const auto late = decide(kPolicy, failures(10), kClean, kT0 + 899s);
  EXPECT_TRUE(late.locked_out);
  EXPECT_EQ(late.retry_after, 1s);
  const auto rounded = decide(kPolicy, failures(10), kClean, kT0 + 899s + 500ms);
  EXPECT_TRUE(rounded.locked_out);
  EXPECT_EQ(rounded.retry_after, 1s);  // rounded up, never 0 while locked
  const auto released = decide(kPolicy, failures(10), kClean, kT0 + 900s);
  EXPECT_FALSE(released.locked_out);
  EXPECT_EQ(released.retry_after, 0s);
  EXPECT_EQ(released.delay, 0ms);  // window expired too
}

TEST(Throttle, WindowBoundary) {
  EXPECT_EQ(decide(kPolicy, failures(5), kClean, kT0 + 899s).delay, 500ms);
  EXPECT_EQ(decide(kPolicy, failures(5), kClean, kT0 + 900s).delay, 0ms);
  EXPECT_EQ(decide(kPolicy, failures(5), kClean, kT0 + 3600s).delay, 0ms);
}

TEST(Throttle, LockoutLongerThanWindowRunsItsFullLength) {
  ThrottlePolicy p = kPolicy;
  p.window = 60s;
  p.lockout = 600s;
  const auto d = decide(p, failures(10), kClean, kT0 + 300s);
  EXPECT_TRUE(d.locked_out);
  EXPECT_EQ(d.retry_after, 300s);
  EXPECT_EQ(d.delay, 0ms);  // the delay ladder follows the window
  EXPECT_FALSE(decide(p, failures(10), kClean, kT0 + 600s).locked_out);
}

TEST(Throttle, ClockSkewDoesNotResetFailures) {
  const auto d = decide(kPolicy, failures(10, kT0 + 10s), kClean, kT0);
  EXPECT_TRUE(d.locked_out);
  EXPECT_EQ(d.retry_after, 910s);
}

TEST(Throttle, StricterOfIpAndAccountWins) {
  const auto ip_locked = decide(kPolicy, failures(12), failures(4), kT0 + 10s);
  EXPECT_TRUE(ip_locked.locked_out);
  EXPECT_EQ(ip_locked.retry_after, 890s);
  const auto account_locked = decide(kPolicy, failures(4), failures(10), kT0 + 10s);
  EXPECT_TRUE(account_locked.locked_out);
  EXPECT_EQ(account_locked.retry_after, 890s);
  // Delay: the larger one, regardless of side.
  EXPECT_EQ(decide(kPolicy, failures(6), failures(4), kT0).delay, 1000ms);
  EXPECT_EQ(decide(kPolicy, failures(4), failures(7), kT0).delay, 2000ms);
  // Both locked: the later release wins.
  const auto both = decide(kPolicy, failures(10, kT0), failures(10, kT0 + 100s), kT0 + 100s);
  EXPECT_EQ(both.retry_after, 900s);
  // An expired account state does not mask a live IP state.
  EXPECT_EQ(decide(kPolicy, failures(5, kT0 + 1000s), failures(9, kT0), kT0 + 1000s).delay, 500ms);
}

TEST(Throttle, RecordFailureCountsWithinWindowAndRestartsAfter) {
  auto s = record_failure(kPolicy, kClean, kT0);
  EXPECT_EQ(s.failures, 1U);
  EXPECT_EQ(s.last_failure, kT0);
  s = record_failure(kPolicy, s, kT0 + 899s);
  EXPECT_EQ(s.failures, 2U);
  EXPECT_EQ(s.last_failure, kT0 + 899s);
  s = record_failure(kPolicy, s, kT0 + 899s + 900s);
  EXPECT_EQ(s.failures, 1U);
  EXPECT_EQ(record_failure(kPolicy, failures(0xFFFFFFFF), kT0).failures, 0xFFFFFFFFU);
}

TEST(Throttle, TenRecordedFailuresLockOut) {
  FailureState s;
  for (int i = 0; i < 9; ++i) s = record_failure(kPolicy, s, kT0 + std::chrono::seconds(i * 10));
  EXPECT_FALSE(decide(kPolicy, s, kClean, kT0 + 90s).locked_out);
  s = record_failure(kPolicy, s, kT0 + 90s);
  const auto d = decide(kPolicy, s, kClean, kT0 + 90s);
  EXPECT_TRUE(d.locked_out);
  EXPECT_EQ(d.retry_after, 900s);
}

}  // namespace
