#include "core/daemon/resource_plan.h"

#include "core/engine/staged_batches.h"
#include "core/state/state_lock.h"

namespace dxhub {

Expected<std::vector<scheduler::PlannedResource>> plan_resources(const HubConfig& config,
                                                                 const std::vector<ResourceSpec>& resources) {
  const DaemonSettings& d = config.daemon;
  scheduler::ScheduleDefaults defaults;
  defaults.realtime_every_seconds = d.realtime_every_seconds;
  defaults.periodic_cron = d.periodic_cron;
  defaults.utc_offset_seconds = d.utc_offset_seconds;
  defaults.timezone_name = d.timezone;
  defaults.jitter_seconds = d.jitter_seconds;

  std::map<std::string, bool> override_used;
  for (const auto& [key, spec] : d.schedules.items()) override_used[key] = false;
  std::vector<scheduler::PlannedResource> plan;
  for (const ResourceSpec& spec : resources) {
    nlohmann::json override_spec;
    for (const std::string& key : {spec.resource_id, spec.plugin + "/" + spec.resource_id}) {
      if (d.schedules.contains(key)) {
        override_spec = d.schedules[key];
        override_used[key] = true;
      }
    }
    if (spec.connector == kPushConnectorKind) {
      // Pushed records start their own delivery: an override has nothing to schedule.
      plan.push_back({spec.resource_id, scheduler::Schedule::pushed(), 0});
      continue;
    }
    DXHUB_ASSIGN_OR_RETURN(scheduler::Schedule schedule,
                           scheduler::resolve_schedule(spec.schedule, override_spec, defaults,
                                                       config.config_path + ": resource " + spec.plugin + "/" +
                                                           spec.resource_id));
    plan.push_back({spec.resource_id, std::move(schedule), 0});
  }
  for (const auto& [key, used] : override_used) {
    if (!used) {
      return config_error(config.config_path + ": daemon.schedules." + key + ": no loaded plugin declares that resource");
    }
  }
  return plan;
}

void apply_last_starts(std::vector<scheduler::PlannedResource>& plan, const std::map<std::string, int64_t>& starts_ms) {
  for (auto& p : plan) {
    if (auto it = starts_ms.find(p.resource); it != starts_ms.end()) p.last_started = it->second / 1000;
  }
}

nlohmann::json schedule_view(const std::vector<scheduler::PlannedResource>& plan, int64_t now) {
  scheduler::SchedulePlanner planner;
  planner.reset(plan, now);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : planner.view()) {
    out.push_back({{"resource", v.resource},
                   {"schedule", v.schedule},
                   {"last_run", v.last_started > 0 ? iso_time_ms(v.last_started * 1000) : ""},
                   {"next_run", v.next_due > 0 ? iso_time_ms(v.next_due * 1000) : ""}});
  }
  return out;
}

}  // namespace dxhub
