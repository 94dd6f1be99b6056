// `dxhub state`: what the hub's state file says -- cursors, the outbox
// spool, receipts, dead letters and the last runs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/common/status.h"

namespace dxhub {

Expected<nlohmann::json> state_report(const std::string& state_db, int runs);
std::string format_state_report(const nlohmann::json& report);

}  // namespace dxhub
