#include "core/scheduler/schedule.h"

#include <algorithm>

namespace dxhub::scheduler {

Schedule Schedule::every(int64_t seconds, int64_t jitter_seconds) {
  Schedule s;
  s.kind_ = Kind::kInterval;
  s.interval_seconds_ = seconds;
  s.jitter_seconds_ = jitter_seconds;
  return s;
}

Schedule Schedule::cron(CronExpression expression, int32_t utc_offset_seconds, std::string timezone_name,
                        int64_t jitter_seconds) {
  Schedule s;
  s.kind_ = Kind::kCron;
  s.cron_ = std::move(expression);
  s.utc_offset_seconds_ = utc_offset_seconds;
  s.timezone_name_ = std::move(timezone_name);
  s.jitter_seconds_ = jitter_seconds;
  return s;
}

int64_t Schedule::next_cron_slot(int64_t after, int64_t shift) const {
  // The expression was checked to fire at parse time, so a slot exists.
  return cron_->next_after(after - shift, utc_offset_seconds_).value_or(after + 86400 * 366) + shift;
}

int64_t Schedule::cycle_seconds(int64_t now) const {
  switch (kind_) {
    case Kind::kManual: return 0;
    case Kind::kInterval: return interval_seconds_;
    case Kind::kCron: {
      const int64_t first = next_cron_slot(now, 0);
      return next_cron_slot(first, 0) - first;
    }
  }
  return 0;
}

std::string Schedule::describe() const {
  switch (kind_) {
    case Kind::kManual: return pushed_ ? "push (ingest endpoint)" : "manual";
    case Kind::kInterval: return "every " + std::to_string(interval_seconds_) + " s";
    case Kind::kCron: {
      std::string text = "cron " + cron_->text() + " (" + timezone_name_ + ")";
      if (jitter_seconds_ > 0) text += ", jitter up to " + std::to_string(jitter_seconds_) + " s";
      return text;
    }
  }
  return "manual";
}

Expected<int32_t> parse_timezone(std::string_view text) {
  if (text == "Asia/Shanghai" || text == "PRC" || text == "Asia/Chongqing" || text == "Asia/Harbin") return 8 * 3600;
  if (text == "UTC" || text == "Etc/UTC" || text == "Z") return 0;
  if (text.size() == 6 && (text[0] == '+' || text[0] == '-') && text[3] == ':') {
    auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -1; };
    const int h1 = digit(1), h2 = digit(2), m1 = digit(4), m2 = digit(5);
    if (h1 >= 0 && h2 >= 0 && m1 >= 0 && m2 >= 0) {
      const int hours = h1 * 10 + h2;
      const int minutes = m1 * 10 + m2;
      if (hours <= 14 && minutes < 60) return (text[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    }
  }
  return config_error("timezone \"" + std::string(text.substr(0, 40)) +
                      "\": use Asia/Shanghai, UTC or a fixed offset such as +08:00");
}

namespace {

// "every 30s" / "every 5m" / "every 2h" (also "every 30"): seconds, or -1.
int64_t parse_every(std::string_view text) {
  if (!text.starts_with("every ")) return -1;
  text.remove_prefix(6);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  int64_t unit = 1;
  if (!text.empty() && (text.back() == 's' || text.back() == 'm' || text.back() == 'h')) {
    unit = text.back() == 'h' ? 3600 : text.back() == 'm' ? 60 : 1;
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 7) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value * unit;
}

constexpr int64_t kMaxIntervalSeconds = 31 * 86400;
constexpr int64_t kMaxJitterSeconds = 3600;

Expected<int64_t> whole_seconds(const nlohmann::json& spec, const char* key, int64_t min, int64_t max,
                                const std::string& where) {
  const auto& v = spec[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return config_error(where + ": " + key + " must be a whole number of seconds, " + std::to_string(min) + " to " +
                        std::to_string(max));
  }
  return v.get<int64_t>();
}

}  // namespace

Expected<Schedule> resolve_schedule(std::string_view declared, const nlohmann::json& override_spec,
                                    const ScheduleDefaults& defaults, const std::string& where) {
  int32_t offset = defaults.utc_offset_seconds;
  std::string zone = defaults.timezone_name;
  int64_t jitter = defaults.jitter_seconds;
  std::string cron_text;
  int64_t every = -1;
  bool manual = false;

  if (declared == "realtime") {
    every = defaults.realtime_every_seconds;
  } else if (declared == "periodic") {
    cron_text = defaults.periodic_cron;
  } else if (declared.empty() || declared == "manual") {
    manual = true;
  } else if (declared.starts_with("every")) {
    every = parse_every(declared);
    if (every < 1 || every > kMaxIntervalSeconds) {
      return config_error(where + ": schedule \"" + std::string(declared.substr(0, 60)) +
                          "\": write every <N>s, <N>m or <N>h, at most 31 days");
    }
  } else {
    cron_text = std::string(declared);
  }

  if (!override_spec.is_null()) {
    if (!override_spec.is_object()) return config_error(where + ": must be an object {\"cron\" | \"every_seconds\" | \"manual\", \"timezone\", \"jitter_seconds\"}");
    int kinds = 0;
    for (const auto& [key, value] : override_spec.items()) {
      if (key == "cron") {
        if (!value.is_string()) return config_error(where + ": cron must be a string");
        cron_text = value.get<std::string>();
        every = -1;
        manual = false;
        ++kinds;
      } else if (key == "every_seconds") {
        DXHUB_ASSIGN_OR_RETURN(every, whole_seconds(override_spec, "every_seconds", 1, kMaxIntervalSeconds, where));
        cron_text.clear();
        manual = false;
        ++kinds;
      } else if (key == "manual") {
        if (!value.is_boolean()) return config_error(where + ": manual must be true or false");
        if (value.get<bool>()) {
          manual = true;
          ++kinds;
        }
      } else if (key == "timezone") {
        if (!value.is_string()) return config_error(where + ": timezone must be a string");
        auto parsed = parse_timezone(value.get<std::string>());
        if (!parsed) return config_error(where + ": " + parsed.status().message());
        offset = *parsed;
        zone = value.get<std::string>();
      } else if (key == "jitter_seconds") {
        DXHUB_ASSIGN_OR_RETURN(jitter, whole_seconds(override_spec, "jitter_seconds", 0, kMaxJitterSeconds, where));
      } else {
        return config_error(where + ": unknown key \"" + key +
                            "\" (known: cron, every_seconds, manual, timezone, jitter_seconds)");
      }
    }
    if (kinds > 1) return config_error(where + ": give one of cron, every_seconds, manual");
  }

  if (manual) return Schedule::manual();
  if (every > 0) return Schedule::every(every, std::min(jitter, every));
  auto cron = CronExpression::parse(cron_text);
  if (!cron) return config_error(where + ": " + cron.status().message());
  return Schedule::cron(std::move(*cron), offset, zone, jitter);
}

int64_t jitter_shift(std::string_view resource, int64_t jitter_seconds) {
  if (jitter_seconds <= 0) return 0;
  uint64_t hash = 1469598103934665603ull;  // FNV-1a, 64 bit
  for (unsigned char c : resource) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash % static_cast<uint64_t>(jitter_seconds + 1));
}

}  // namespace dxhub::scheduler
