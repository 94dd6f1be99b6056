// Decides which resources run when, given the time; no threads, no clock of
// its own (the daemon passes the time in, tests pass any time they like).
//
//   * A resource is never started while it is running: a slot that comes
//     while it runs is not queued once per slot but coalesced into one run
//     right after the running one ends.
//   * After downtime a missed slot runs once, not once per missed slot: a
//     resource whose next slot after its last start has passed is due now.
//   * A resource that never ran (no run in the state) is due at start,
//     shifted by its jitter, so a new resource gets its first load soon and
//     fifty new resources do not start in the same second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/scheduler/schedule.h"

namespace dxhub::scheduler {

struct PlannedResource {
  std::string resource;            // the resource id
  Schedule schedule;
  int64_t last_started = 0;        // Unix seconds of its last recorded run; 0 = never
};

struct PlanView {
  std::string resource;
  std::string schedule;        // Schedule::describe()
  bool running = false;
  int64_t last_started = 0;    // 0 = never
  int64_t next_due = 0;        // 0 = never (manual)
};

class SchedulePlanner {
 public:
  // Replaces the resources (a reload). Resources that stay keep their
  // running state; a running resource that is gone is forgotten when it ends.
  void reset(std::vector<PlannedResource> resources, int64_t now);

  // The idle resources due at `now`, earliest first, marked running.
  std::vector<std::string> take_due(int64_t now);

  // A run of `resource` that started at its take_due() time has ended.
  void finished(const std::string& resource, int64_t now);

  // A resource handed out by take_due() that was not run after all (its
  // delivery is paused): due again at `until`, its last start unchanged.
  void defer(const std::string& resource, int64_t until);

  // Other work on an idle resource (draining its outbox): marked running
  // so that no sync starts meanwhile; a slot that comes is kept and runs
  // once the work ends. False when the resource is running or unknown.
  bool begin_other_work(const std::string& resource);
  void end_other_work(const std::string& resource);

  // The earliest due time among idle resources (nullopt: nothing scheduled).
  std::optional<int64_t> next_wakeup() const;

  bool any_running() const;
  std::vector<PlanView> view() const;

 private:
  struct Entry {
    PlannedResource planned;
    bool running = false;
    int64_t started = 0;
    int64_t next_due = 0;  // 0 = never
    bool other_work = false;  // running for begin_other_work, not a sync
    int64_t due_before_other = 0;
  };
  static int64_t first_due(const PlannedResource& r, int64_t now);
  static int64_t due_after_run(const Entry& e, int64_t now);
  std::vector<Entry> entries_;
};

}  // namespace dxhub::scheduler
