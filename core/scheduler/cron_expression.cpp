#include "core/scheduler/cron_expression.h"

#include <array>
#include <chrono>
#include <vector>

namespace dxhub::scheduler {

namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // index 0 is the value `min`; nullptr: numbers only
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec", nullptr};
constexpr const char* kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

constexpr FieldSpec kFields[5] = {{"minute", 0, 59, nullptr},
                                  {"hour", 0, 23, nullptr},
                                  {"day of month", 1, 31, nullptr},
                                  {"month", 1, 12, kMonthNames},
                                  {"day of week", 0, 7, kWeekdayNames}};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A number or (for month and weekday) a three-letter name.
bool parse_value(std::string_view text, const FieldSpec& spec, int& value) {
  if (text.empty()) return false;
  if (spec.names != nullptr && text.size() == 3) {
    for (int i = 0; spec.names[i] != nullptr; ++i) {
      if (lower(text[0]) == spec.names[i][0] && lower(text[1]) == spec.names[i][1] &&
          lower(text[2]) == spec.names[i][2]) {
        value = spec.min + i;
        return true;
      }
    }
  }
  if (text.size() > 2) return false;  // no field takes more than two digits
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Sets the bits of one field; `bits[v]` for every value v the field allows.
template <size_t N>
Status parse_field(std::string_view text, const FieldSpec& spec, const std::string& where, std::bitset<N>& bits) {
  auto bad = [&](const std::string& what) { return config_error(where + ": " + spec.name + ": " + what); };
  for (std::string_view item : split(text, ',')) {
    if (item.empty()) return bad("empty list item");
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      if (!parse_value(item.substr(slash + 1), FieldSpec{spec.name, 1, 99, nullptr}, step) || step < 1) {
        return bad("step \"" + std::string(item.substr(slash + 1)) + "\" is not a whole number from 1");
      }
      const bool range_or_star = item.substr(0, slash) == "*" || item.substr(0, slash).find('-') != std::string_view::npos;
      item = item.substr(0, slash);
      if (!range_or_star) {
        // "a/n": from a to the end of the field.
        int first = 0;
        if (!parse_value(item, spec, first) || first < spec.min || first > spec.max) {
          return bad("\"" + std::string(item) + "\" is not a value in " + std::to_string(spec.min) + "-" +
                     std::to_string(spec.max));
        }
        for (int v = first; v <= spec.max; v += step) bits.set(static_cast<size_t>(v));
        continue;
      }
    }
    int first = spec.min;
    int last = spec.max;
    if (item != "*") {
      const size_t dash = item.find('-');
      std::string_view from = dash == std::string_view::npos ? item : item.substr(0, dash);
      if (!parse_value(from, spec, first)) return bad("\"" + std::string(from) + "\" is not a number or name");
      last = first;
      if (dash != std::string_view::npos && !parse_value(item.substr(dash + 1), spec, last)) {
        return bad("\"" + std::string(item.substr(dash + 1)) + "\" is not a number or name");
      }
      for (int v : {first, last}) {
        if (v < spec.min || v > spec.max) {
          return bad(std::to_string(v) + " is out of range " + std::to_string(spec.min) + "-" + std::to_string(spec.max));
        }
      }
      if (last < first) return bad("range " + std::string(item) + " runs backwards");
    }
    for (int v = first; v <= last; v += step) bits.set(static_cast<size_t>(v));
  }
  return Status::ok();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

}  // namespace

Expected<CronExpression> CronExpression::parse(std::string_view text) {
  const std::string where = "cron \"" + std::string(text.substr(0, 100)) + "\"";
  std::string_view body = trim(text);
  if (body.size() > 200) return config_error(where + ": longer than 200 characters");
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  if (!body.empty() && body.front() == '@') {
    bool found = false;
    for (const auto& [macro, expansion] : kMacros) {
      if (body == macro) {
        body = expansion;
        found = true;
      }
    }
    if (!found) return config_error(where + ": unknown macro (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)");
  }
  std::vector<std::string_view> fields;
  for (std::string_view part : split(body, ' ')) {
    for (std::string_view piece : split(part, '\t')) {
      if (!piece.empty()) fields.push_back(piece);
    }
  }
  if (fields.size() != 5) {
    return config_error(where + ": needs 5 fields (minute hour day-of-month month day-of-week), has " +
                        std::to_string(fields.size()));
  }
  CronExpression cron;
  cron.text_ = std::string(trim(text));
  DXHUB_RETURN_IF_ERROR(parse_field(fields[0], kFields[0], where, cron.minutes_));
  DXHUB_RETURN_IF_ERROR(parse_field(fields[1], kFields[1], where, cron.hours_));
  DXHUB_RETURN_IF_ERROR(parse_field(fields[2], kFields[2], where, cron.days_of_month_));
  DXHUB_RETURN_IF_ERROR(parse_field(fields[3], kFields[3], where, cron.months_));
  std::bitset<8> weekdays;
  DXHUB_RETURN_IF_ERROR(parse_field(fields[4], kFields[4], where, weekdays));
  for (size_t d = 0; d < 7; ++d) cron.weekdays_[d] = weekdays[d];
  if (weekdays[7]) cron.weekdays_.set(0);  // 7 is Sunday too
  cron.day_of_month_restricted_ = fields[2].front() != '*';
  cron.weekday_restricted_ = fields[4].front() != '*';
  if (!cron.next_after(0, 0)) return config_error(where + ": never fires (no such date)");
  return cron;
}

bool CronExpression::day_matches(unsigned day_of_month, unsigned weekday) const {
  const bool dom = days_of_month_[day_of_month];
  const bool dow = weekdays_[weekday];
  if (day_of_month_restricted_ && weekday_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<int64_t> CronExpression::next_after(int64_t after_unix_seconds, int32_t utc_offset_seconds) const {
  using namespace std::chrono;
  // The next whole minute after `after`, in local seconds.
  const int64_t local = floor_div(after_unix_seconds + utc_offset_seconds, 60) * 60 + 60;
  const int64_t first_day = floor_div(local, 86400);
  int start_minute = static_cast<int>((local - first_day * 86400) / 60);
  constexpr int64_t kMaxDays = 366 * 8 + 2;  // a Feb 29 is at most eight years away
  for (int64_t day = first_day; day < first_day + kMaxDays; ++day, start_minute = 0) {
    const year_month_day date{sys_days{days{day}}};
    if (!months_[static_cast<unsigned>(date.month())]) continue;
    const unsigned weekday = std::chrono::weekday{sys_days{days{day}}}.c_encoding();  // 0 = Sunday
    if (!day_matches(static_cast<unsigned>(date.day()), weekday)) continue;
    for (int hour = start_minute / 60; hour < 24; ++hour) {
      if (!hours_[static_cast<size_t>(hour)]) continue;
      const int first_minute = hour == start_minute / 60 ? start_minute % 60 : 0;
      for (int minute = first_minute; minute < 60; ++minute) {
        if (minutes_[static_cast<size_t>(minute)]) {
          return day * 86400 + hour * 3600 + minute * 60 - utc_offset_seconds;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace dxhub::scheduler
