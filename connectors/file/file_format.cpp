#include "connectors/file/file_format.h"

#include "connectors/file/csv_reader.h"
#include "connectors/file/jsonl_reader.h"
#include "connectors/file/xlsx_reader.h"
#include "connectors/file/xml_format_reader.h"
#include "connectors/file/lines_format.h"

namespace dxhub {

Expected<std::unique_ptr<FileFormatReader>> open_file_format(const nlohmann::json& format,
                                                             const FileFormatInput& input,
                                                             const std::vector<std::string>& columns) {
  if (!format.is_object() || !format.contains("kind") || !format["kind"].is_string()) {
    return config_error("file format: needs an object with a \"kind\" (csv, jsonl, xml, xlsx, lines)");
  }
  const std::string kind = format["kind"].get<std::string>();
  if (kind == "csv") return open_csv_reader(format, input, columns);
  if (kind == "jsonl") return open_jsonl_reader(format, input, columns);
  if (kind == "xlsx") return open_xlsx_reader(format, input, columns);
  if (kind == "xml") return open_xml_reader(format, input, columns);
  if (kind == "lines") return open_lines_reader(format, input, columns);
  return config_error("file format: unknown kind \"" + kind + "\" (known: csv, jsonl, xlsx, xml, lines)");
}

}  // namespace dxhub
