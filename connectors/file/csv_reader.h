// CSV files (RFC 4180) as rows: kind "csv". Settings and the rules for
// broken records are in docs (see open_csv_reader).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/file/file_format.h"

namespace dxhub {

// format: {"kind": "csv", "delimiter": ",", "quote": "\"", "header": true,
// "column_names": [...], "skip_lines": 0, "empty_as_null": false,
// "skip_empty_lines": true, "encoding": "utf-8", "max_field_bytes": 1048576,
// "max_record_bytes": 4194304}.
Expected<std::unique_ptr<FileFormatReader>> open_csv_reader(const nlohmann::json& format,
                                                            const FileFormatInput& input,
                                                            const std::vector<std::string>& columns);

}  // namespace dxhub
