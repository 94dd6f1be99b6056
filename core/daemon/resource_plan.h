// Every declared resource's schedule, as `dxhub run` uses it and `dxhub
// state` shows it: the plugin's declared schedule text, overridden by the
// hub config's daemon.schedules (keyed by resource id or plugin/resource).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/engine/hub_config.h"
#include "core/plugin/plugin_host.h"
#include "core/scheduler/schedule_planner.h"

namespace dxhub {

// kConfig naming the config file and resource for a bad schedule, and for
// an override that names no declared resource (a typo would otherwise leave
// the declared schedule silently in place).
Expected<std::vector<scheduler::PlannedResource>> plan_resources(const HubConfig& config,
                                                                 const std::vector<ResourceSpec>& resources);

// Sets each resource's last start (Unix seconds) from the run history
// (`StateStore::last_resource_starts`, milliseconds).
void apply_last_starts(std::vector<scheduler::PlannedResource>& plan, const std::map<std::string, int64_t>& starts_ms);

// [{"resource", "schedule", "last_run", "next_run"}] as the daemon would
// plan it at `now` (Unix seconds); times ISO 8601 UTC, "" for none.
nlohmann::json schedule_view(const std::vector<scheduler::PlannedResource>& plan, int64_t now);

}  // namespace dxhub
