// Opens a connector by kind name ("sqlite_table", ...) from a resource's
// declared connector config.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/common/status.h"

namespace dxhub {

// `columns`: the source columns wanted, in RowView order. `cursor`: a value
// returned earlier by Connector::cursor(), or null to start at the beginning.
// Unknown kinds are kConfig errors.
Expected<std::unique_ptr<Connector>> open_connector(const std::string& kind, const nlohmann::json& config,
                                                    const std::vector<std::string>& columns,
                                                    const nlohmann::json& cursor,
                                                    const ConnectorOpenOptions& options = {});

}  // namespace dxhub
