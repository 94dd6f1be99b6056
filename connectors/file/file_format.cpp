#include "connectors/file/file_format.h"

#include "connectors/file/lines_format.h"

namespace dxhub {

Expected<std::unique_ptr<FileFormatReader>> open_file_format(const nlohmann::json& format,
                                                             const FileFormatInput& input,
                                                             const std::vector<std::string>& columns) {
  (void)input;
  (void)columns;
  if (!format.is_object() || !format.contains("kind") || !format["kind"].is_string()) {
    return config_error("file format: needs an object with a \"kind\" (csv, jsonl, xml, xlsx)");
  }
  const std::string kind = format["kind"].get<std::string>();
  if (kind == "lines") return open_lines_reader(format, input, columns);
  // Each format registers here: if (kind == "csv") return open_csv_reader(format, input, columns);
  return config_error("file format: unknown kind \"" + kind + "\" (known: none yet)");
}

}  // namespace dxhub
