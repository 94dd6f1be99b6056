#include "core/scheduler/schedule.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/scheduler/scheduler_test_support.h"

namespace dxhub::scheduler {
namespace {

using nlohmann::json;
using testing::unix_at;

Schedule resolved(const char* declared, const json& override_spec = nullptr) {
  auto s = resolve_schedule(declared, override_spec, ScheduleDefaults{}, "schedules.x");
  EXPECT_TRUE(s) << declared << " " << override_spec.dump() << ": " << s.status().to_string();
  return s ? *s : Schedule::manual();
}

Status refusal(const char* declared, const json& override_spec = nullptr) {
  auto s = resolve_schedule(declared, override_spec, ScheduleDefaults{}, "schedules.x");
  EXPECT_FALSE(s) << declared << " " << override_spec.dump();
  return s ? Status::ok() : s.status();
}

TEST(Schedule, DeclaredUpdateCyclesGetTheDefaults) {
  Schedule realtime = resolved("realtime");
  EXPECT_EQ(realtime.kind(), Schedule::Kind::kInterval);
  EXPECT_EQ(realtime.interval_seconds(), 10);
  Schedule periodic = resolved("periodic");
  EXPECT_EQ(periodic.kind(), Schedule::Kind::kCron);
  EXPECT_EQ(periodic.describe(), "cron 0 2 * * * (Asia/Shanghai), jitter up to 30 s");
  EXPECT_EQ(periodic.next_cron_slot(unix_at(2026, 12, 2, 1, 0), 0), unix_at(2026, 12, 2, 2, 0));
  EXPECT_EQ(resolved("manual").kind(), Schedule::Kind::kManual);
  EXPECT_EQ(resolved("").kind(), Schedule::Kind::kManual);
}

TEST(Schedule, DeclaredIntervalsAndCron) {
  EXPECT_EQ(resolved("every 30s").interval_seconds(), 30);
  EXPECT_EQ(resolved("every 5m").interval_seconds(), 300);
  EXPECT_EQ(resolved("every 2h").interval_seconds(), 7200);
  EXPECT_EQ(resolved("every 45").interval_seconds(), 45);
  EXPECT_EQ(resolved("*/15 * * * *").describe(), "cron */15 * * * * (Asia/Shanghai), jitter up to 30 s");
  EXPECT_EQ(refusal("every 0s").code(), StatusCode::kConfig);
  EXPECT_NE(refusal("every soon").message().find("every <N>s"), std::string::npos);
  EXPECT_NE(refusal("every 32d").message().find("schedules.x"), std::string::npos);
  EXPECT_NE(refusal("hourly").message().find("needs 5 fields"), std::string::npos);
}

TEST(Schedule, HubConfigOverridesTheDeclaration) {
  EXPECT_EQ(resolved("realtime", {{"cron", "30 3 * * *"}}).describe(), "cron 30 3 * * * (Asia/Shanghai), jitter up to 30 s");
  EXPECT_EQ(resolved("periodic", {{"every_seconds", 60}}).interval_seconds(), 60);
  EXPECT_EQ(resolved("periodic", {{"manual", true}}).kind(), Schedule::Kind::kManual);
  EXPECT_EQ(resolved("manual", {{"every_seconds", 5}}).interval_seconds(), 5);
  Schedule utc = resolved("periodic", {{"timezone", "UTC"}, {"jitter_seconds", 0}});
  EXPECT_EQ(utc.describe(), "cron 0 2 * * * (UTC)");
  EXPECT_EQ(utc.next_cron_slot(unix_at(2026, 12, 2, 0, 0, 0, 0), 0), unix_at(2026, 12, 2, 2, 0, 0, 0));
  Schedule fixed = resolved("periodic", {{"timezone", "-05:30"}, {"jitter_seconds", 0}});
  EXPECT_EQ(fixed.next_cron_slot(unix_at(2026, 12, 2, 0, 0, 0, -19800), 0), unix_at(2026, 12, 2, 2, 0, 0, -19800));
  // An interval's jitter never exceeds the interval.
  EXPECT_EQ(resolved("every 10s").jitter_seconds(), 10);
}

TEST(Schedule, BadOverridesAreRefusedNamingTheKey) {
  EXPECT_NE(refusal("periodic", {{"cron", "* *"}}).message().find("schedules.x: cron"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"cron", "0 2 * * *"}, {"every_seconds", 5}}).message().find("one of"),
            std::string::npos);
  EXPECT_NE(refusal("periodic", {{"every_seconds", 0}}).message().find("every_seconds"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"every_seconds", "10"}}).message().find("every_seconds"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"jitter_seconds", 99999}}).message().find("jitter_seconds"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"timezone", "America/New_York"}}).message().find("fixed offset"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"timezone", "+25:00"}}).message().find("timezone"), std::string::npos);
  EXPECT_NE(refusal("periodic", {{"interval", 5}}).message().find("unknown key \"interval\""), std::string::npos);
  EXPECT_NE(refusal("periodic", json::array()).message().find("must be an object"), std::string::npos);
}

TEST(Schedule, JitterShiftIsStableBoundedAndSpread) {
  EXPECT_EQ(jitter_shift("household_population", 30), jitter_shift("household_population", 30));
  EXPECT_EQ(jitter_shift("household_population", 0), 0);
  std::set<int64_t> shifts;
  for (int i = 0; i < 50; ++i) {
    int64_t s = jitter_shift("resource_" + std::to_string(i), 30);
    ASSERT_GE(s, 0);
    ASSERT_LE(s, 30);
    shifts.insert(s);
  }
  EXPECT_GE(shifts.size(), 15u);  // fifty resources do not share a handful of seconds
}

TEST(Schedule, TimezoneNames) {
  EXPECT_EQ(*parse_timezone("Asia/Shanghai"), 8 * 3600);
  EXPECT_EQ(*parse_timezone("PRC"), 8 * 3600);
  EXPECT_EQ(*parse_timezone("UTC"), 0);
  EXPECT_EQ(*parse_timezone("+05:45"), 5 * 3600 + 45 * 60);
  EXPECT_EQ(*parse_timezone("-03:00"), -3 * 3600);
  EXPECT_FALSE(parse_timezone("Europe/Berlin"));
  EXPECT_FALSE(parse_timezone("+8"));
  EXPECT_FALSE(parse_timezone("+08:60"));
}

}  // namespace
}  // namespace dxhub::scheduler
