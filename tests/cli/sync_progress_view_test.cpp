// The progress line of `dxhub sync` on a terminal: its text from the
// figures, and when TerminalProgress redraws it (a fake clock).
#include "core/cli/sync_progress_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dxhub {
namespace {

TEST(ProgressLine, RowsRateAndEtaOfAFullLoad) {
  ProgressFigures f;
  f.resource = "household_population";
  f.rows = 120000;
  f.elapsed_seconds = 120000.0 / 85000.0;
  f.estimated_rows = 120000 + 85000 * 12;
  EXPECT_EQ(format_progress_line(f), "household_population  120000 rows  85000 rows/s  ETA 0:12");
}

TEST(ProgressLine, NoEtaWithoutAnEstimateOrBeforeAnyRate) {
  ProgressFigures f;
  f.resource = "r";
  f.rows = 500;
  f.elapsed_seconds = 2;
  EXPECT_EQ(format_progress_line(f), "r  500 rows  250 rows/s");
  f.rows = 0;
  f.estimated_rows = 1000;
  EXPECT_EQ(format_progress_line(f), "r  0 rows  0 rows/s");  // no rate yet: no guess
  f.elapsed_seconds = 0;
  EXPECT_EQ(format_progress_line(f), "r  0 rows  0 rows/s");
}

TEST(ProgressLine, MoreRowsThanEstimatedShowsZeroLeft) {
  ProgressFigures f;
  f.resource = "r";
  f.rows = 1200;
  f.elapsed_seconds = 1;
  f.estimated_rows = 1000;  // rows were added after the count
  EXPECT_EQ(format_progress_line(f), "r  1200 rows  1200 rows/s  ETA 0:00");
}

TEST(ProgressLine, FinalLineSaysDoneOrFailed) {
  ProgressFigures f;
  f.resource = "r";
  f.rows = 3000;
  f.elapsed_seconds = 75;
  f.estimated_rows = 9000;
  f.finished = true;
  EXPECT_EQ(format_progress_line(f), "r  3000 rows  40 rows/s  done in 1:15");
  f.ok = false;
  EXPECT_EQ(format_progress_line(f), "r  3000 rows  40 rows/s  failed after 1:15");
}

TEST(ProgressDuration, MinutesSecondsAndHours) {
  EXPECT_EQ(format_progress_duration(0), "0:00");
  EXPECT_EQ(format_progress_duration(7.4), "0:07");
  EXPECT_EQ(format_progress_duration(59.6), "1:00");
  EXPECT_EQ(format_progress_duration(754), "12:34");
  EXPECT_EQ(format_progress_duration(3723), "1:02:03");
  EXPECT_EQ(format_progress_duration(-5), "0:00");
}

struct Screen {
  std::vector<std::string> writes;
  double now = 100;
  TerminalProgress progress{[this](std::string_view s) { writes.emplace_back(s); }, [this] { return now; }, 0.25};
};

TEST(TerminalProgress, RedrawsInPlaceAtMostFourTimesASecondThenEndsTheLine) {
  Screen s;
  s.progress.on_resource_started("public_security", "household_population", 4000);
  ASSERT_EQ(s.writes.size(), 1u);
  EXPECT_EQ(s.writes[0], "\rhousehold_population  0 rows  0 rows/s");
  s.now += 0.1;
  s.progress.on_rows_read("household_population", 400);  // too soon: not drawn
  EXPECT_EQ(s.writes.size(), 1u);
  s.now += 0.2;
  s.progress.on_rows_read("household_population", 800);
  ASSERT_EQ(s.writes.size(), 2u);
  EXPECT_EQ(s.writes[1], "\rhousehold_population  800 rows  2667 rows/s  ETA 0:01");
  s.now += 0.05;
  s.progress.on_rows_read("household_population", 1000);
  EXPECT_EQ(s.writes.size(), 2u);
  s.now += 1.15;  // 1.5 s in all
  s.progress.on_resource_finished("household_population", 4000, true);
  ASSERT_EQ(s.writes.size(), 3u);  // the final line is always drawn
  EXPECT_EQ(s.writes[2], "\rhousehold_population  4000 rows  2667 rows/s  done in 0:02\n");
}

TEST(TerminalProgress, AShorterLineBlanksWhatTheLongerOneLeft) {
  Screen s;
  s.progress.on_resource_started("p", "r", std::nullopt);
  s.now += 1;
  s.progress.on_rows_read("r", 1000);
  EXPECT_EQ(s.writes.back(), "\rr  1000 rows  1000 rows/s");
  s.now += 10;  // the rate falls to two digits: two columns to blank
  s.progress.on_rows_read("r", 1001);
  EXPECT_EQ(s.writes.back(), "\rr  1001 rows  91 rows/s  ");
  s.progress.on_resource_finished("r", 1001, false);
  EXPECT_EQ(s.writes.back(), "\rr  1001 rows  91 rows/s  failed after 0:11\n");
}

TEST(TerminalProgress, AResourceThatFailedBeforeItsSourceOpenedStillGetsItsLine) {
  Screen s;
  s.progress.on_resource_finished("broken", 0, false);
  ASSERT_EQ(s.writes.size(), 1u);
  EXPECT_EQ(s.writes[0], "\rbroken  0 rows  0 rows/s  failed after 0:00\n");
  // The next resource starts a line of its own.
  s.progress.on_resource_started("p", "next", std::nullopt);
  EXPECT_EQ(s.writes.back(), "\rnext  0 rows  0 rows/s");
}

}  // namespace
}  // namespace dxhub
