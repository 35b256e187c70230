#include "core/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace outpost {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(CircuitBreaker, OneFailureOpensItAndASuccessClosesIt) {
  FakeClock clock;
  CircuitBreaker b(seconds(1), seconds(60), clock);
  EXPECT_FALSE(b.is_open());
  b.record_failure("refused");
  EXPECT_TRUE(b.is_open());
  EXPECT_EQ(b.state().last_error, "refused");
  EXPECT_FALSE(b.probe_due());
  clock.advance(seconds(1));
  ASSERT_TRUE(b.claim_probe());
  b.record_success();
  EXPECT_FALSE(b.is_open());
  EXPECT_EQ(b.state().failures, 0u);
}

TEST(CircuitBreaker, ExactlyOneCallerClaimsADueProbe) {
  FakeClock clock;
  CircuitBreaker b(seconds(1), seconds(60), clock);
  EXPECT_FALSE(b.claim_probe());  // closed: nothing to probe
  b.record_failure("down");
  EXPECT_FALSE(b.claim_probe());  // not yet due
  clock.advance(seconds(1));
  EXPECT_TRUE(b.claim_probe());
  EXPECT_FALSE(b.claim_probe());  // taken
  EXPECT_FALSE(b.probe_due());
  clock.advance(seconds(1));  // the probe never reported: due again after the backoff
  EXPECT_TRUE(b.claim_probe());
}

TEST(CircuitBreaker, TheBackoffDoublesPerFailedProbeUpToTheMaximum) {
  FakeClock clock;
  CircuitBreaker b(seconds(1), seconds(4), clock);
  b.record_failure("down");
  for (auto wait : {seconds(1), seconds(2), seconds(4), seconds(4)}) {
    clock.advance(wait - milliseconds(1));
    EXPECT_FALSE(b.probe_due()) << wait.count();
    clock.advance(milliseconds(1));
    ASSERT_TRUE(b.claim_probe()) << wait.count();
    b.record_failure("still down");
  }
}

// A host down for a few seconds with 150 syncs queued for it: their failures are one outage, not
// 150 (the backoff would otherwise reach its maximum, and the first sync after the host is back
// would come minutes later).
TEST(CircuitBreaker, FailuresOfRequestsThatAreNotTheProbeDoNotLengthenTheBackoff) {
  FakeClock clock;
  CircuitBreaker b(seconds(1), seconds(300), clock);
  b.record_failure("down");
  for (int i = 0; i < 150; ++i) b.record_failure("queued sync failed");
  EXPECT_EQ(b.state().failures, 151u);
  clock.advance(seconds(1));
  EXPECT_TRUE(b.probe_due());
  ASSERT_TRUE(b.claim_probe());
  b.record_failure("probe failed");
  clock.advance(seconds(2));
  EXPECT_TRUE(b.probe_due());  // 2 s, not 300
}

}  // namespace
}  // namespace outpost
