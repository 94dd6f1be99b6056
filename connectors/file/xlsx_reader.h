// Excel workbooks (.xlsx, Office Open XML) as rows: kind "xlsx". One sheet
// is read as a table, streamed from the archive (the sheet XML is never
// held whole); shared strings and styles are loaded first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/file/file_format.h"

namespace dxhub {

// format: {"kind": "xlsx", "sheet": "<name>" (default: the first),
// "header": true, "column_names": [...] (when header is false, for columns
// A, B, ...), "max_entry_bytes": 268435456, "max_compression_ratio": 100}.
Expected<std::unique_ptr<FileFormatReader>> open_xlsx_reader(const nlohmann::json& format,
                                                             const FileFormatInput& input,
                                                             const std::vector<std::string>& columns);

namespace xlsx {
// Exposed for tests. A serial day number as Excel stores dates, as
// 'YYYY-MM-DD' or, with `with_time`, 'YYYY-MM-DD HH:MM:SS'. False for a
// serial that is no real day (negative, past 9999, or 60 in the 1900 system:
// Excel's fictitious 1900-02-29).
bool serial_to_text(double serial, bool date1904, bool with_time, std::string& out);
// 0: not a date format, 1: a date, 2: a date with time of day.
int classify_number_format(int id, const std::string& custom_code);
}  // namespace xlsx

}  // namespace dxhub
