// Strict, allocation-free parsers for source text: calendar dates and times
// in a fixed layout, UTC offsets, numbers, booleans, UTF-8 validation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/common/utf8.h"

namespace dxhub::mapping {

// A fixed-width date or date-time layout such as "YYYY-MM-DD",
// "YYYYMMDD" or "YYYY-MM-DD HH:MM:SS". Tokens: YYYY, MM (month; minutes
// once HH has been seen), DD, HH, SS; every other character must match
// literally.
class TimeLayout {
 public:
  // `with_time`: the layout must contain HH, MM and SS as well as the date.
  static Expected<TimeLayout> compile(std::string_view pattern, bool with_time);

  // Days since 1970-01-01 of a real calendar date; false when `text` does
  // not match the layout or names no such day (2023-02-30, 1900-02-29).
  bool parse_days(std::string_view text, int32_t& days) const;
  // Seconds since 1970-01-01 00:00:00 of the wall-clock time, zone not applied.
  bool parse_seconds(std::string_view text, int64_t& seconds) const;

  const std::string& pattern() const { return pattern_; }

 private:
  enum class Token : uint8_t { kLiteral, kYear, kMonth, kDay, kHour, kMinute, kSecond };
  static constexpr size_t kMaxWidth = 32;

  bool parse_parts(std::string_view text, int parts[6]) const;

  std::string pattern_;
  Token tokens_[kMaxWidth] = {};  // one per character of the pattern
  size_t width_ = 0;
};

// "+08:00", "-05:30", "+0800", "Z" or "UTC" -> seconds east of UTC.
Expected<int32_t> parse_utc_offset(std::string_view text);

// Days since 1970-01-01 of y-m-d, or false when that is not a real date.
bool civil_to_days(int year, int month, int day, int32_t& days);

// The project-wide strict validator (core/common/utf8.h), under its old name.
using dxhub::is_valid_utf8;
// Optional '-', decimal digits only; false on anything else or overflow.
bool parse_int64(std::string_view text, int64_t& value);
// Decimal or scientific notation of a finite number; false on anything else.
bool parse_double(std::string_view text, double& value);
// true/false/1/0.
bool parse_bool(std::string_view text, bool& value);

}  // namespace dxhub::mapping
