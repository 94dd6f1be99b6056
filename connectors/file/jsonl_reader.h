// JSON lines files as rows: kind "jsonl", one JSON object per line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/file/file_format.h"

namespace dxhub {

// format: {"kind": "jsonl", "max_line_bytes": 4194304, "dotted_paths": true}.
// Parsed with simdjson (DOM API, one reused parser): it validates UTF-8 and
// parses at several GB/s, and its strings are NUL-terminated in the parser's
// own buffer, so values are handed out without copying.
Expected<std::unique_ptr<FileFormatReader>> open_jsonl_reader(const nlohmann::json& format,
                                                              const FileFormatInput& input,
                                                              const std::vector<std::string>& columns);

}  // namespace dxhub
