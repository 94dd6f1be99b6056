#include "core/scheduler/cron_expression.h"

#include <gtest/gtest.h>

#include "tests/scheduler/scheduler_test_support.h"

namespace dxhub::scheduler {
namespace {

using testing::unix_at;
constexpr int32_t kShanghai = 8 * 3600;

int64_t next(const char* expression, int64_t after, int32_t offset = kShanghai) {
  auto cron = CronExpression::parse(expression);
  EXPECT_TRUE(cron) << expression << ": " << cron.status().to_string();
  if (!cron) return -1;
  return cron->next_after(after, offset).value_or(-1);
}

TEST(CronExpression, StepsFireOnTheNextMatchingMinute) {
  EXPECT_EQ(next("*/15 * * * *", unix_at(2026, 12, 2, 10, 7, 30)), unix_at(2026, 12, 2, 10, 15));
  EXPECT_EQ(next("*/15 * * * *", unix_at(2026, 12, 2, 10, 45)), unix_at(2026, 12, 2, 11, 0));
  EXPECT_EQ(next("5-20/5 * * * *", unix_at(2026, 12, 2, 10, 16)), unix_at(2026, 12, 2, 10, 20));
  EXPECT_EQ(next("50/5 * * * *", unix_at(2026, 12, 2, 10, 56)), unix_at(2026, 12, 2, 11, 50));
}

TEST(CronExpression, NextIsStrictlyAfter) {
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 2, 1, 59, 59)), unix_at(2026, 12, 2, 2, 0));
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 2, 2, 0, 0)), unix_at(2026, 12, 3, 2, 0));
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 31, 2, 0, 1)), unix_at(2027, 1, 1, 2, 0));
}

TEST(CronExpression, TimesAreReadAtTheConfiguredOffset) {
  // 02:00 in Shanghai is 18:00 UTC the day before.
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 2, 0, 0, 0, 0), kShanghai), unix_at(2026, 12, 2, 18, 0, 0, 0));
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 2, 0, 0, 0, 0), 0), unix_at(2026, 12, 2, 2, 0, 0, 0));
  EXPECT_EQ(next("0 2 * * *", unix_at(2026, 12, 2, 0, 0, 0, 0), -5 * 3600), unix_at(2026, 12, 2, 7, 0, 0, 0));
}

TEST(CronExpression, WeekdaysMonthsAndNames) {
  // 2026-12-05 is a Saturday: the next weekday 02:30 is Monday the 7th.
  EXPECT_EQ(next("30 2 * * 1-5", unix_at(2026, 12, 5, 12, 0)), unix_at(2026, 12, 7, 2, 30));
  EXPECT_EQ(next("30 2 * * mon-fri", unix_at(2026, 12, 5, 12, 0)), unix_at(2026, 12, 7, 2, 30));
  // Sunday as 0, 7 and sun.
  for (const char* e : {"0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"}) {
    EXPECT_EQ(next(e, unix_at(2026, 12, 2, 0, 0)), unix_at(2026, 12, 6, 9, 0)) << e;
  }
  EXPECT_EQ(next("0 9 1 jan,jul *", unix_at(2026, 12, 2, 0, 0)), unix_at(2027, 1, 1, 9, 0));
  EXPECT_EQ(next("0 9 1 jan,jul *", unix_at(2027, 1, 1, 9, 0)), unix_at(2027, 7, 1, 9, 0));
}

TEST(CronExpression, BothDayFieldsRestrictedMeansEither) {
  // The 13th or any Friday: from Tuesday 2026-12-01 the first is Friday the 4th.
  EXPECT_EQ(next("0 0 13 * 5", unix_at(2026, 12, 1, 12, 0)), unix_at(2026, 12, 4, 0, 0));
  // Only the day of month restricted: the 13th, whatever weekday.
  EXPECT_EQ(next("0 0 13 * *", unix_at(2026, 12, 1, 12, 0)), unix_at(2026, 12, 13, 0, 0));
  // A star-step in the day of week leaves it unrestricted (crontab(5)).
  EXPECT_EQ(next("0 0 13 * */1", unix_at(2026, 12, 1, 12, 0)), unix_at(2026, 12, 13, 0, 0));
}

TEST(CronExpression, LeapDayAndMacros) {
  EXPECT_EQ(next("0 0 29 2 *", unix_at(2026, 12, 2, 0, 0)), unix_at(2028, 2, 29, 0, 0));
  EXPECT_EQ(next("@hourly", unix_at(2026, 12, 2, 10, 7)), unix_at(2026, 12, 2, 11, 0));
  EXPECT_EQ(next("@daily", unix_at(2026, 12, 2, 10, 7)), unix_at(2026, 12, 3, 0, 0));
  EXPECT_EQ(next("@weekly", unix_at(2026, 12, 2, 10, 7)), unix_at(2026, 12, 6, 0, 0));
  EXPECT_EQ(next("@monthly", unix_at(2026, 12, 2, 10, 7)), unix_at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@yearly", unix_at(2026, 12, 2, 10, 7)), unix_at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("  0   2\t* * *  ", unix_at(2026, 12, 2, 1, 0)), unix_at(2026, 12, 2, 2, 0));
}

TEST(CronExpression, EveryMinuteOfADayIsVisitedOnce) {
  // Stepping with next_after through one day of "* * * * *" lands on every
  // minute exactly once, in order.
  int64_t t = unix_at(2026, 12, 2, 0, 0) - 1;
  for (int i = 0; i < 1440; ++i) {
    int64_t n = next("* * * * *", t);
    ASSERT_EQ(n, unix_at(2026, 12, 2, 0, 0) + i * 60);
    t = n;
  }
}

TEST(CronExpression, BadExpressionsAreRefusedNamingTheField) {
  struct Case {
    const char* expression;
    const char* says;
  };
  for (const Case& c : {Case{"61 * * * *", "minute: 61 is out of range 0-59"},
                        Case{"* 24 * * *", "hour: 24 is out of range 0-23"},
                        Case{"* * 0 * *", "day of month: 0 is out of range 1-31"},
                        Case{"* * * 13 *", "month: 13 is out of range 1-12"},
                        Case{"* * * * 8", "day of week: 8 is out of range 0-7"},
                        Case{"* * * *", "needs 5 fields"},
                        Case{"* * * * * *", "needs 5 fields"},
                        Case{"", "needs 5 fields"},
                        Case{"a * * * *", "minute: \"a\" is not a number or name"},
                        Case{"5-1 * * * *", "runs backwards"},
                        Case{"*/0 * * * *", "step"},
                        Case{"1,,2 * * * *", "empty list item"},
                        Case{"0 0 30 2 *", "never fires"},
                        Case{"0 0 31 4,6,9,11 *", "never fires"},
                        Case{"@reboot", "unknown macro"},
                        Case{"0 0 * foo *", "month: \"foo\""},
                        Case{"123 * * * *", "minute"}}) {
    auto cron = CronExpression::parse(c.expression);
    ASSERT_FALSE(cron) << c.expression;
    EXPECT_EQ(cron.status().code(), StatusCode::kConfig);
    EXPECT_NE(cron.status().message().find(c.says), std::string::npos) << c.expression << ": " << cron.status().message();
  }
}

TEST(CronExpression, HostileTextNeverCrashes) {
  std::string long_text(10000, '*');
  EXPECT_FALSE(CronExpression::parse(long_text));
  EXPECT_FALSE(CronExpression::parse(std::string("\0\xff\xfe * * * *", 12)));
  EXPECT_FALSE(CronExpression::parse("-1 * * * *"));
  EXPECT_FALSE(CronExpression::parse("1- * * * *"));
  EXPECT_FALSE(CronExpression::parse("/5 * * * *"));
  EXPECT_FALSE(CronExpression::parse("*/ * * * *"));
  EXPECT_FALSE(CronExpression::parse("*/100 * * * *"));
}

}  // namespace
}  // namespace dxhub::scheduler
