// The planner driven by a clock the test controls: no real waits.
#include "core/scheduler/schedule_planner.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/scheduler/scheduler_test_support.h"

namespace dxhub::scheduler {
namespace {

using testing::unix_at;

Schedule daily_at_two(int64_t jitter = 0) {
  return *resolve_schedule("0 2 * * *", {{"jitter_seconds", jitter}}, ScheduleDefaults{}, "test");
}

std::vector<std::string> names(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

TEST(SchedulePlanner, CronFiresAtItsSlotAndNotBefore) {
  SchedulePlanner planner;
  const int64_t last = unix_at(2026, 12, 1, 2, 0, 5);
  planner.reset({{"housing_units", daily_at_two(), last}}, unix_at(2026, 12, 2, 1, 0));
  ASSERT_TRUE(planner.next_wakeup());
  EXPECT_EQ(*planner.next_wakeup(), unix_at(2026, 12, 2, 2, 0));
  EXPECT_TRUE(planner.take_due(unix_at(2026, 12, 2, 1, 59, 59)).empty());
  EXPECT_EQ(planner.take_due(unix_at(2026, 12, 2, 2, 0)), names({"housing_units"}));
  EXPECT_FALSE(planner.next_wakeup());  // running
  planner.finished("housing_units", unix_at(2026, 12, 2, 2, 3));
  EXPECT_EQ(*planner.next_wakeup(), unix_at(2026, 12, 3, 2, 0));
}

TEST(SchedulePlanner, MissedSlotsAfterDowntimeRunOnce) {
  SchedulePlanner planner;
  // Down for three days: three 02:00 slots missed.
  const int64_t now = unix_at(2026, 12, 5, 9, 30);
  planner.reset({{"housing_units", daily_at_two(), unix_at(2026, 12, 2, 2, 0)}}, now);
  EXPECT_EQ(*planner.next_wakeup(), now);
  EXPECT_EQ(planner.take_due(now), names({"housing_units"}));
  planner.finished("housing_units", now + 60);
  // Once: the next is tomorrow's slot, not another catch-up.
  EXPECT_EQ(*planner.next_wakeup(), unix_at(2026, 12, 6, 2, 0));
  EXPECT_TRUE(planner.take_due(now + 61).empty());
}

TEST(SchedulePlanner, OverlappingTriggersNeverRunAResourceTwice) {
  SchedulePlanner planner;
  const int64_t t0 = unix_at(2026, 12, 2, 10, 0);
  planner.reset({{"household_population", Schedule::every(10), t0 - 10}}, t0);
  ASSERT_EQ(planner.take_due(t0), names({"household_population"}));
  // The run takes 35 s: three slots pass while it runs.
  for (int64_t t = t0 + 1; t < t0 + 35; ++t) EXPECT_TRUE(planner.take_due(t).empty()) << t - t0;
  planner.finished("household_population", t0 + 35);
  EXPECT_EQ(*planner.next_wakeup(), t0 + 35);  // one catch-up run, at once
  ASSERT_EQ(planner.take_due(t0 + 35), names({"household_population"}));
  EXPECT_TRUE(planner.take_due(t0 + 36).empty());
  planner.finished("household_population", t0 + 36);
  EXPECT_EQ(*planner.next_wakeup(), t0 + 45);  // back on its interval
}

TEST(SchedulePlanner, NeverRunResourcesStartSoonSpreadByJitter) {
  SchedulePlanner planner;
  const int64_t now = unix_at(2026, 12, 2, 10, 0);
  std::vector<PlannedResource> resources;
  for (int i = 0; i < 50; ++i) resources.push_back({"resource_" + std::to_string(i), daily_at_two(30), 0});
  planner.reset(resources, now);
  std::set<int64_t> starts;
  size_t started = 0;
  for (int64_t t = now; t <= now + 30; ++t) {
    auto due = planner.take_due(t);
    if (!due.empty()) starts.insert(t);
    started += due.size();
  }
  EXPECT_EQ(started, 50u);          // all of them within the jitter window
  EXPECT_GE(starts.size(), 15u);    // and not in the same second
}

TEST(SchedulePlanner, FiftyResourcesOnOneCronSlotAreSpread) {
  SchedulePlanner planner;
  std::vector<PlannedResource> resources;
  for (int i = 0; i < 50; ++i) {
    resources.push_back({"resource_" + std::to_string(i), daily_at_two(30), unix_at(2026, 12, 1, 2, 0, 40)});
  }
  planner.reset(resources, unix_at(2026, 12, 2, 1, 0));
  std::set<int64_t> starts;
  size_t started = 0;
  for (int64_t t = unix_at(2026, 12, 2, 1, 59, 59); t <= unix_at(2026, 12, 2, 2, 0, 30); ++t) {
    auto due = planner.take_due(t);
    if (!due.empty()) {
      EXPECT_GE(t, unix_at(2026, 12, 2, 2, 0));  // none before the slot
      starts.insert(t);
    }
    started += due.size();
  }
  EXPECT_EQ(started, 50u);
  EXPECT_GE(starts.size(), 15u);
}

TEST(SchedulePlanner, ManualResourcesAreNeverDue) {
  SchedulePlanner planner;
  planner.reset({{"archive_only", Schedule::manual(), 0}}, 1000);
  EXPECT_FALSE(planner.next_wakeup());
  EXPECT_TRUE(planner.take_due(1'000'000'000).empty());
}

TEST(SchedulePlanner, ReloadKeepsARunningResourceRunning) {
  SchedulePlanner planner;
  const int64_t t0 = 1'800'000'000;
  planner.reset({{"a", Schedule::every(10), 0}, {"b", Schedule::every(10), 0}}, t0);
  auto first = planner.take_due(t0 + 10);
  ASSERT_EQ(first.size(), 2u);
  planner.finished("b", t0 + 11);
  // A reload while "a" runs: "a" is not started again, "b" keeps its rhythm.
  planner.reset({{"a", Schedule::every(60), 0}, {"b", Schedule::every(10), 0}, {"c", Schedule::every(10, 0), 0}},
                t0 + 12);
  auto due = planner.take_due(t0 + 12);
  EXPECT_EQ(due, names({"c"}));
  EXPECT_TRUE(planner.any_running());
  planner.finished("a", t0 + 30);
  EXPECT_EQ(*planner.next_wakeup(), t0 + 20);  // b: started t0+10, every 10 s
  auto views = planner.view();
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[0].schedule, "every 60 s");
  EXPECT_EQ(views[0].next_due, t0 + 70);  // a: started t0+10, now every 60 s
}

TEST(SchedulePlanner, DeferredRunKeepsItsLastStartAndComesBackAtTheTime) {
  SchedulePlanner planner;
  const int64_t t0 = 1'800'000'000;
  planner.reset({{"a", Schedule::every(60), t0 - 60}}, t0);
  ASSERT_EQ(planner.take_due(t0), names({"a"}));
  planner.defer("a", t0 + 45);  // not run after all (delivery paused)
  EXPECT_EQ(*planner.next_wakeup(), t0 + 45);
  EXPECT_TRUE(planner.take_due(t0 + 44).empty());
  EXPECT_EQ(planner.take_due(t0 + 45), names({"a"}));
  EXPECT_EQ(planner.view()[0].last_started, t0 + 45);
}

TEST(SchedulePlanner, OtherWorkHoldsASlotUntilItEnds) {
  SchedulePlanner planner;
  const int64_t t0 = 1'800'000'000;
  planner.reset({{"a", Schedule::every(10), t0 - 5}}, t0);  // due at t0 + 5
  ASSERT_TRUE(planner.begin_other_work("a"));               // draining its outbox
  EXPECT_FALSE(planner.begin_other_work("a"));              // not twice
  EXPECT_TRUE(planner.take_due(t0 + 20).empty());           // no sync meanwhile
  planner.finished("a", t0 + 20);                           // not a sync: ignored
  planner.end_other_work("a");
  EXPECT_EQ(planner.take_due(t0 + 21), names({"a"}));       // the held slot runs once, now
  EXPECT_FALSE(planner.begin_other_work("a"));              // a sync is running
  planner.finished("a", t0 + 22);
  EXPECT_EQ(*planner.next_wakeup(), t0 + 31);
  EXPECT_FALSE(planner.begin_other_work("unknown"));
}

}  // namespace
}  // namespace dxhub::scheduler
