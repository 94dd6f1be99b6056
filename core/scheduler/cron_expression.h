// A five-field cron expression (minute hour day-of-month month day-of-week),
// as in Vixie cron / crontab(5): `*`, numbers, ranges `a-b`, lists `a,b`,
// steps `*/n` and `a-b/n` (and `a/n`: from a to the field's end), month
// names jan..dec, weekday names sun..sat, 0 and 7 both Sunday, and the
// macros @yearly (@annually), @monthly, @weekly, @daily (@midnight),
// @hourly. When both day fields are restricted (neither starts with `*`) a
// day matches if EITHER matches, as crontab(5) says.
//
// Times are evaluated at a fixed UTC offset (China has no daylight saving
// time; Asia/Shanghai is +08:00 all year).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::scheduler {

class CronExpression {
 public:
  // kConfig naming the field and what is wrong ("cron \"61 * * * *\":
  // minute: 61 is out of range 0-59"); also refused: an expression that
  // never fires (`0 0 30 2 *`).
  static Expected<CronExpression> parse(std::string_view text);

  // The first matching minute strictly after `after_unix_seconds`, in Unix
  // seconds, evaluated at `utc_offset_seconds`; nullopt when none within
  // eight years (only for expressions that can never fire).
  std::optional<int64_t> next_after(int64_t after_unix_seconds, int32_t utc_offset_seconds) const;

  const std::string& text() const { return text_; }

 private:
  CronExpression() = default;
  bool day_matches(unsigned day_of_month, unsigned weekday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> weekdays_;        // 0 = Sunday
  bool day_of_month_restricted_ = false;
  bool weekday_restricted_ = false;
};

}  // namespace dxhub::scheduler
