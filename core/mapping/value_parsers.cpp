#include "core/mapping/value_parsers.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/common/utf8.h"

namespace dxhub::mapping {

Expected<TimeLayout> TimeLayout::compile(std::string_view pattern, bool with_time) {
  auto bad = [&](const std::string& why) {
    return config_error("format '" + std::string(pattern) + "': " + why);
  };
  if (pattern.empty() || pattern.size() > kMaxWidth) return bad("must be 1 to 32 characters");
  TimeLayout layout;
  layout.pattern_ = std::string(pattern);
  layout.width_ = pattern.size();
  bool seen[7] = {};
  for (size_t i = 0; i < pattern.size();) {
    Token token = Token::kLiteral;
    size_t width = 1;
    const std::string_view rest = pattern.substr(i);
    if (rest.starts_with("YYYY")) {
      token = Token::kYear, width = 4;
    } else if (rest.starts_with("MM")) {
      token = seen[static_cast<int>(Token::kHour)] ? Token::kMinute : Token::kMonth, width = 2;
    } else if (rest.starts_with("DD")) {
      token = Token::kDay, width = 2;
    } else if (rest.starts_with("HH")) {
      token = Token::kHour, width = 2;
    } else if (rest.starts_with("SS")) {
      token = Token::kSecond, width = 2;
    } else if (rest[0] >= '0' && rest[0] <= '9') {
      return bad("digits are not allowed as literals");
    }
    if (token != Token::kLiteral) {
      if (seen[static_cast<int>(token)]) return bad("a date/time part appears twice");
      seen[static_cast<int>(token)] = true;
    }
    for (size_t k = 0; k < width; ++k) layout.tokens_[i + k] = token;
    i += width;
  }
  const bool has_date = seen[static_cast<int>(Token::kYear)] && seen[static_cast<int>(Token::kMonth)] &&
                        seen[static_cast<int>(Token::kDay)];
  const bool has_time = seen[static_cast<int>(Token::kHour)] && seen[static_cast<int>(Token::kMinute)] &&
                        seen[static_cast<int>(Token::kSecond)];
  const bool any_time = seen[static_cast<int>(Token::kHour)] || seen[static_cast<int>(Token::kMinute)] ||
                        seen[static_cast<int>(Token::kSecond)];
  if (!has_date) return bad("needs YYYY, MM and DD");
  if (with_time && !has_time) return bad("a timestamp needs HH, MM and SS");
  if (!with_time && any_time) return bad("a date has no time of day");
  return layout;
}

bool TimeLayout::parse_parts(std::string_view text, int parts[6]) const {
  if (text.size() != width_) return false;
  for (size_t i = 0; i < width_; ++i) {
    const char c = text[i];
    if (tokens_[i] == Token::kLiteral) {
      if (c != pattern_[i]) return false;
      continue;
    }
    if (c < '0' || c > '9') return false;
    int& part = parts[static_cast<int>(tokens_[i]) - 1];
    part = part * 10 + (c - '0');
  }
  return true;
}

bool TimeLayout::parse_days(std::string_view text, int32_t& days) const {
  int parts[6] = {};
  return parse_parts(text, parts) && civil_to_days(parts[0], parts[1], parts[2], days);
}

bool TimeLayout::parse_seconds(std::string_view text, int64_t& seconds) const {
  int parts[6] = {};
  int32_t days = 0;
  if (!parse_parts(text, parts) || !civil_to_days(parts[0], parts[1], parts[2], days)) return false;
  if (parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return false;
  seconds = int64_t{days} * 86400 + parts[3] * 3600 + parts[4] * 60 + parts[5];
  return true;
}

bool civil_to_days(int year, int month, int day, int32_t& days) {
  namespace chr = std::chrono;
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  const chr::year_month_day ymd{chr::year{year}, chr::month{static_cast<unsigned>(month)},
                                chr::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return false;
  days = chr::sys_days{ymd}.time_since_epoch().count();
  return true;
}

Expected<int32_t> parse_utc_offset(std::string_view text) {
  if (text == "Z" || text == "UTC") return 0;
  auto bad = [&] { return config_error("source_timezone '" + std::string(text) + "' is not like +08:00"); };
  std::string_view digits = text.substr(std::min<size_t>(1, text.size()));
  if (text.empty() || (text[0] != '+' && text[0] != '-')) return bad();
  char compact[4];
  if (digits.size() == 5 && digits[2] == ':') {
    compact[0] = digits[0], compact[1] = digits[1], compact[2] = digits[3], compact[3] = digits[4];
  } else if (digits.size() == 4) {
    for (int i = 0; i < 4; ++i) compact[i] = digits[i];
  } else {
    return bad();
  }
  for (char c : compact) {
    if (c < '0' || c > '9') return bad();
  }
  const int hours = (compact[0] - '0') * 10 + (compact[1] - '0');
  const int minutes = (compact[2] - '0') * 10 + (compact[3] - '0');
  if (hours > 14 || minutes > 59) return bad();
  const int32_t seconds = hours * 3600 + minutes * 60;
  return text[0] == '-' ? -seconds : seconds;
}

bool parse_int64(std::string_view text, int64_t& value) {
  if (text.empty() || text[0] == '+') return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

bool parse_double(std::string_view text, double& value) {
  if (text.empty() || text[0] == '+') return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  return ec == std::errc() && ptr == end && std::isfinite(value);
}

bool parse_bool(std::string_view text, bool& value) {
  if (text == "true" || text == "1") {
    value = true;
    return true;
  }
  if (text == "false" || text == "0") {
    value = false;
    return true;
  }
  return false;
}

}  // namespace dxhub::mapping
