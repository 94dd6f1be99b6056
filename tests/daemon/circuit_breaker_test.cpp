#include "core/daemon/circuit_breaker.h"

#include <gtest/gtest.h>

namespace dxhub {
namespace {

using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterTheFailuresInARowAndProbesOnce) {
  CircuitBreaker c({3, 30, 600});
  EXPECT_TRUE(c.allow(0));
  EXPECT_FALSE(c.record_failure(0));
  EXPECT_FALSE(c.record_failure(1));
  EXPECT_EQ(c.state(), State::kClosed);
  EXPECT_TRUE(c.record_failure(2));  // the third opens it
  EXPECT_EQ(c.state(), State::kOpen);
  EXPECT_EQ(c.open_until(), 32);
  EXPECT_FALSE(c.allow(31));
  EXPECT_TRUE(c.allow(32));  // half-open: one probe
  EXPECT_EQ(c.state(), State::kHalfOpen);
  EXPECT_FALSE(c.allow(33));  // and only one
  c.record_success();
  EXPECT_EQ(c.state(), State::kClosed);
  EXPECT_TRUE(c.allow(34));
  EXPECT_EQ(c.consecutive_failures(), 0);
}

TEST(CircuitBreaker, AFailedProbeDoublesThePauseUpToTheCap) {
  CircuitBreaker c({1, 30, 100});
  EXPECT_TRUE(c.record_failure(0));
  EXPECT_EQ(c.open_until(), 30);
  ASSERT_TRUE(c.allow(30));
  EXPECT_TRUE(c.record_failure(30));
  EXPECT_EQ(c.open_until(), 30 + 60);
  ASSERT_TRUE(c.allow(90));
  EXPECT_TRUE(c.record_failure(90));
  EXPECT_EQ(c.open_until(), 90 + 100);  // 120 capped at 100
  ASSERT_TRUE(c.allow(190));
  EXPECT_TRUE(c.record_failure(190));
  EXPECT_EQ(c.open_until(), 290);
  ASSERT_TRUE(c.allow(290));
  c.record_success();
  // After a success the pause starts small again.
  EXPECT_TRUE(c.record_failure(300));
  EXPECT_EQ(c.open_until(), 330);
}

TEST(CircuitBreaker, ASuccessBetweenFailuresResetsTheCount) {
  CircuitBreaker c({3, 30, 600});
  c.record_failure(0);
  c.record_failure(1);
  c.record_success();
  EXPECT_FALSE(c.record_failure(2));
  EXPECT_FALSE(c.record_failure(3));
  EXPECT_EQ(c.state(), State::kClosed);
  EXPECT_STREQ(circuit_state_name(c.state()), "closed");
}

}  // namespace
}  // namespace dxhub
