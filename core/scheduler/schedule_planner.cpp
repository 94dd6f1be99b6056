#include "core/scheduler/schedule_planner.h"

#include <algorithm>

namespace dxhub::scheduler {

int64_t SchedulePlanner::first_due(const PlannedResource& r, int64_t now) {
  const Schedule& s = r.schedule;
  const int64_t shift = jitter_shift(r.resource, s.jitter_seconds());
  switch (s.kind()) {
    case Schedule::Kind::kManual: return 0;
    case Schedule::Kind::kInterval:
      if (r.last_started == 0) return now + shift;
      return std::max(now, r.last_started + s.interval_seconds());
    case Schedule::Kind::kCron:
      if (r.last_started == 0) return now + shift;
      return std::max(now, s.next_cron_slot(r.last_started, shift));
  }
  return 0;
}

int64_t SchedulePlanner::due_after_run(const Entry& e, int64_t now) {
  const Schedule& s = e.planned.schedule;
  switch (s.kind()) {
    case Schedule::Kind::kManual: return 0;
    case Schedule::Kind::kInterval: return std::max(now, e.started + s.interval_seconds());
    case Schedule::Kind::kCron:
      // The first slot after the run's start; if it passed while the run
      // went on, once now (not once per slot that passed).
      return std::max(now, s.next_cron_slot(e.started, jitter_shift(e.planned.resource, s.jitter_seconds())));
  }
  return 0;
}

void SchedulePlanner::reset(std::vector<PlannedResource> resources, int64_t now) {
  std::vector<Entry> next;
  next.reserve(resources.size());
  for (auto& r : resources) {
    Entry e;
    auto old = std::find_if(entries_.begin(), entries_.end(),
                            [&](const Entry& o) { return o.planned.resource == r.resource; });
    if (old != entries_.end() && old->running) {
      e.running = true;
      e.started = old->started;
      e.other_work = old->other_work;
    }
    if (old != entries_.end() && old->started > r.last_started) r.last_started = old->started;
    e.planned = std::move(r);
    e.next_due = e.running && !e.other_work ? 0 : first_due(e.planned, now);
    if (e.other_work) {
      e.due_before_other = e.next_due;
      e.next_due = 0;
    }
    next.push_back(std::move(e));
  }
  entries_ = std::move(next);
}

std::vector<std::string> SchedulePlanner::take_due(int64_t now) {
  std::vector<Entry*> due;
  for (auto& e : entries_) {
    if (!e.running && e.next_due != 0 && e.next_due <= now) due.push_back(&e);
  }
  std::stable_sort(due.begin(), due.end(), [](const Entry* a, const Entry* b) { return a->next_due < b->next_due; });
  std::vector<std::string> out;
  out.reserve(due.size());
  for (Entry* e : due) {
    e->running = true;
    e->started = now;
    e->next_due = 0;
    out.push_back(e->planned.resource);
  }
  return out;
}

void SchedulePlanner::finished(const std::string& resource, int64_t now) {
  for (auto& e : entries_) {
    if (e.planned.resource != resource || !e.running || e.other_work) continue;
    e.running = false;
    e.planned.last_started = e.started;
    e.next_due = due_after_run(e, now);
  }
}

void SchedulePlanner::defer(const std::string& resource, int64_t until) {
  for (auto& e : entries_) {
    if (e.planned.resource != resource || !e.running || e.other_work) continue;
    e.running = false;
    e.next_due = e.planned.schedule.kind() == Schedule::Kind::kManual ? 0 : until;
  }
}

bool SchedulePlanner::begin_other_work(const std::string& resource) {
  for (auto& e : entries_) {
    if (e.planned.resource != resource) continue;
    if (e.running) return false;
    e.running = true;
    e.other_work = true;
    e.due_before_other = e.next_due;
    return true;
  }
  return false;
}

void SchedulePlanner::end_other_work(const std::string& resource) {
  for (auto& e : entries_) {
    if (e.planned.resource != resource || !e.other_work) continue;
    e.running = false;
    e.other_work = false;
    e.next_due = e.due_before_other;
  }
}

std::optional<int64_t> SchedulePlanner::next_wakeup() const {
  std::optional<int64_t> earliest;
  for (const auto& e : entries_) {
    if (e.running || e.next_due == 0) continue;
    if (!earliest || e.next_due < *earliest) earliest = e.next_due;
  }
  return earliest;
}

bool SchedulePlanner::any_running() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.running; });
}

std::vector<PlanView> SchedulePlanner::view() const {
  std::vector<PlanView> out;
  for (const auto& e : entries_) {
    out.push_back(PlanView{e.planned.resource, e.planned.schedule.describe(), e.running,
                           e.running ? e.started : e.planned.last_started, e.next_due});
  }
  return out;
}

}  // namespace dxhub::scheduler
