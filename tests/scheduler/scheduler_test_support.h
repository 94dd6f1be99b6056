// Unix seconds of a wall-clock time at a UTC offset, computed with <chrono>
// (independently of the cron code).
#pragma once

#include <chrono>
#include <cstdint>

namespace dxhub::scheduler::testing {

inline int64_t unix_at(int year, unsigned month, unsigned day, int hour, int minute, int second = 0,
                       int32_t utc_offset_seconds = 8 * 3600) {
  using namespace std::chrono;
  const int64_t days_since_epoch =
      sys_days(std::chrono::year(year) / month / day).time_since_epoch().count();
  return days_since_epoch * 86400 + hour * 3600 + minute * 60 + second - utc_offset_seconds;
}

}  // namespace dxhub::scheduler::testing
