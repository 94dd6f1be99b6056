// The "lines" file format: one row per text line, one column "line" (UTF-8,
// without the line end; "\r\n" and "\n" both end a line). For exports that
// are not CSV (fixed-width records, logs) and as the simplest format for
// tests and benchmarks of the file connector.
//
// Settings: {"kind": "lines", "skip_empty": false, "max_line_bytes": 1048576}
//   skip_empty      lines with no bytes are not rows
//   max_line_bytes  a longer line is bad input (its first bytes kept as raw)
// Lines that are not valid UTF-8 are bad input ("<name> line N"); a file
// with a NUL byte in its first 64 KiB is refused as a whole (kData: binary).
// position(): {"offset": byte offset of the next line, "line": its number - 1}.
#pragma once

#include "connectors/file/file_format.h"

namespace dxhub {

Expected<std::unique_ptr<FileFormatReader>> open_lines_reader(const nlohmann::json& format,
                                                              const FileFormatInput& input,
                                                              const std::vector<std::string>& columns);

}  // namespace dxhub
