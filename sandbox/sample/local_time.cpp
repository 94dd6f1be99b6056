#include "sandbox/sample/local_time.h"

namespace dxhub::sample {

namespace chr = std::chrono;

namespace {

void put_digits(char* out, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

int32_t days_of(int year, unsigned month, unsigned day) {
  return chr::sys_days{chr::year{year} / chr::month{month} / chr::day{day}}.time_since_epoch().count();
}
chr::year_month_day ymd_of(int32_t days) { return chr::year_month_day{chr::sys_days{chr::days{days}}}; }

void format_date(int32_t days, char* out) {
  const auto ymd = ymd_of(days);
  put_digits(out, static_cast<int>(ymd.year()), 4);
  out[4] = '-';
  put_digits(out + 5, static_cast<unsigned>(ymd.month()), 2);
  out[7] = '-';
  put_digits(out + 8, static_cast<unsigned>(ymd.day()), 2);
}

void format_local_time(int64_t seconds, char* out) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  format_date(static_cast<int32_t>(days), out);
  out[10] = ' ';
  put_digits(out + 11, rest / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, rest / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, rest % 60, 2);
}

Expected<int64_t> parse_local_time(std::string_view text) {
  auto bad = [&] { return config_error("'" + std::string(text) + "' is not a time 'YYYY-MM-DD HH:MM:SS'"); };
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (text.size() != kShape.size()) return bad();
  int64_t parts[6] = {};
  int part = 0;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd') {
      if (text[i] < '0' || text[i] > '9') return bad();
      parts[part] = parts[part] * 10 + (text[i] - '0');
    } else {
      if (text[i] != kShape[i]) return bad();
      ++part;
    }
  }
  const chr::year_month_day ymd{chr::year{static_cast<int>(parts[0])}, chr::month{static_cast<unsigned>(parts[1])},
                                chr::day{static_cast<unsigned>(parts[2])}};
  if (!ymd.ok() || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return bad();
  return int64_t{chr::sys_days{ymd}.time_since_epoch().count()} * 86400 + parts[3] * 3600 + parts[4] * 60 +
         parts[5];
}

std::string shanghai_now() {
  const auto now = chr::floor<chr::seconds>(chr::system_clock::now()) + chr::hours(8);
  char text[20];
  format_local_time(now.time_since_epoch().count(), text);
  return std::string(text, 19);
}

}  // namespace dxhub::sample
