// When a resource syncs in daemon mode. A plugin declares a schedule text
// per resource; the hub config's `daemon.schedules` may override it:
//
//   declared text               meaning
//   "realtime"                  every daemon.realtime_every_seconds (10 s): fast polling of the cursor
//   "periodic"                  daemon.periodic_cron ("0 2 * * *": daily at 02:00)
//   "every 30s" / "every 5m" / "every 2h"   an interval
//   "*/15 * * * *", "@daily"    a cron expression (core/scheduler/cron_expression.h)
//   "manual" or ""              never by the daemon: `dxhub sync` only
//
//   override {"cron": "30 2 * * *"} | {"every_seconds": 60} | {"manual": true},
//            plus optional "timezone" and "jitter_seconds"
//
// Cron times are read in `timezone` (daemon.timezone, default Asia/Shanghai).
// Jitter: each resource's cron slots are shifted by a fixed amount in
// [0, jitter_seconds] derived from its id, so fifty resources on "0 2 * * *"
// spread over the jitter window instead of firing in the same second, and a
// restart keeps the same shift. Intervals are shifted once, at start.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/scheduler/cron_expression.h"

namespace dxhub::scheduler {

struct ScheduleDefaults {
  int64_t realtime_every_seconds = 10;
  std::string periodic_cron = "0 2 * * *";
  int32_t utc_offset_seconds = 8 * 3600;  // Asia/Shanghai
  std::string timezone_name = "Asia/Shanghai";
  int64_t jitter_seconds = 30;
};

class Schedule {
 public:
  enum class Kind { kManual, kCron, kInterval };

  static Schedule manual() { return Schedule(); }
  // Never run by the clock: the resource's records are pushed to the ingest
  // endpoint, which starts delivery itself.
  static Schedule pushed() {
    Schedule s;
    s.pushed_ = true;
    return s;
  }
  static Schedule every(int64_t seconds, int64_t jitter_seconds = 0);
  static Schedule cron(CronExpression expression, int32_t utc_offset_seconds, std::string timezone_name,
                       int64_t jitter_seconds);

  Kind kind() const { return kind_; }
  int64_t interval_seconds() const { return interval_seconds_; }
  int64_t jitter_seconds() const { return jitter_seconds_; }

  // The first slot strictly after `after` (Unix seconds), shifted by
  // `shift` seconds (the resource's jitter). Cron only.
  int64_t next_cron_slot(int64_t after, int64_t shift) const;

  // The period between runs around `now` (Unix s): the interval, or the gap
  // between the next two cron slots; 0 for manual. (For metrics: lag vs cycle.)
  int64_t cycle_seconds(int64_t now) const;

  // "cron 30 2 * * * (Asia/Shanghai)", "every 10 s", "manual".
  std::string describe() const;

 private:
  Kind kind_ = Kind::kManual;
  bool pushed_ = false;
  std::optional<CronExpression> cron_;
  int32_t utc_offset_seconds_ = 0;
  std::string timezone_name_;
  int64_t interval_seconds_ = 0;
  int64_t jitter_seconds_ = 0;
};

// "Asia/Shanghai" (also "PRC", "Asia/Chongqing", "Asia/Harbin": +08:00, no
// daylight saving time), "UTC", or a fixed offset "+08:00" / "-05:30" /
// "Z". Zones with daylight saving time are refused (kConfig): a fixed offset
// says exactly what is meant.
Expected<int32_t> parse_timezone(std::string_view text);

// The schedule of one resource from its declared text and an optional
// override object (null or {} = none). `where` names the resource in errors.
Expected<Schedule> resolve_schedule(std::string_view declared, const nlohmann::json& override_spec,
                                    const ScheduleDefaults& defaults, const std::string& where);

// A resource's fixed jitter shift in [0, jitter_seconds] (FNV-1a of its id).
int64_t jitter_shift(std::string_view resource, int64_t jitter_seconds);

}  // namespace dxhub::scheduler
