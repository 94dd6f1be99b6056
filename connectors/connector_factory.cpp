#include "connectors/connector_factory.h"

#include "connectors/file/file_connector.h"
#include "connectors/http_json/http_json_connector.h"
#include "connectors/soap_xml/soap_xml_connector.h"
#include "connectors/sqlite_table/sqlite_table_connector.h"
// Last: unixODBC's sqltypes.h defines macros such as BOOL that break
// headers included after it (simdjson's element_type::BOOL).
#include "connectors/odbc_table/odbc_table_connector.h"

namespace dxhub {

Expected<std::unique_ptr<Connector>> open_connector(const std::string& kind, const nlohmann::json& config,
                                                    const std::vector<std::string>& columns,
                                                    const nlohmann::json& cursor,
                                                    const ConnectorOpenOptions& options) {
  if (kind == SqliteTableConnector::kKind) {
    DXHUB_ASSIGN_OR_RETURN(auto connector, SqliteTableConnector::open(config, columns, cursor, options));
    return std::unique_ptr<Connector>(std::move(connector));
  }
  if (kind == OdbcTableConnector::kKind) {
    DXHUB_ASSIGN_OR_RETURN(auto connector, OdbcTableConnector::open(config, columns, cursor, options));
    return std::unique_ptr<Connector>(std::move(connector));
  }
  if (kind == SoapXmlOpen::kKind) return SoapXmlOpen::open(config, columns, cursor, options);
  if (kind == HttpJsonConnector::kKind) {
    DXHUB_ASSIGN_OR_RETURN(auto connector, HttpJsonConnector::open(config, columns, cursor, options));
    return std::unique_ptr<Connector>(std::move(connector));
  }
  if (kind == FileConnector::kKind) {
    DXHUB_ASSIGN_OR_RETURN(auto connector, FileConnector::open(config, columns, cursor, options));
    return std::unique_ptr<Connector>(std::move(connector));
  }
  if (kind == "plugin") {
    return config_error("connector \"plugin\" is provided by its plugin; open it through PluginHost");
  }
  return config_error("unknown connector kind \"" + kind + "\" (known: sqlite_table, odbc_table, http_json, soap_xml, file, plugin)");
}

}  // namespace dxhub
