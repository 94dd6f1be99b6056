#include "connectors/connector_factory.h"

#include "connectors/sqlite_table/sqlite_table_connector.h"

namespace dxhub {

Expected<std::unique_ptr<Connector>> open_connector(const std::string& kind, const nlohmann::json& config,
                                                    const std::vector<std::string>& columns,
                                                    const nlohmann::json& cursor,
                                                    const ConnectorOpenOptions& options) {
  if (kind == SqliteTableConnector::kKind) {
    DXHUB_ASSIGN_OR_RETURN(auto connector, SqliteTableConnector::open(config, columns, cursor, options));
    return std::unique_ptr<Connector>(std::move(connector));
  }
  if (kind == "plugin") {
    return config_error("connector \"plugin\" is provided by its plugin; open it through PluginHost");
  }
  return config_error("unknown connector kind \"" + kind + "\" (known: sqlite_table, plugin)");
}

}  // namespace dxhub
