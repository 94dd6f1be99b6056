// Writes a SQLite table's rows as a file (CSV, JSON lines, xlsx), so that
// the same data can be read as a table and as a file and compared.
#pragma once

#include <string>

#include "core/common/status.h"

namespace dxhub::sample {

struct FileExportOptions {
  std::string db;
  std::string table;
  std::string format = "csv";     // csv | jsonl | xlsx
  std::string encoding = "utf-8";  // csv only: utf-8 | gbk | gb18030
  std::string out;
};

// CSV: RFC 4180 (header row, CRLF, quoted when needed, NULL as an empty
// unquoted field). JSON lines: one object per row, NULL as null. xlsx: one
// sheet named after the table, header row, text as inline strings, numbers
// as numbers, NULL as no cell (XML-invalid control characters become spaces).
// Returns the number of rows written.
Expected<long long> export_table_to_file(const FileExportOptions& options);

}  // namespace dxhub::sample
