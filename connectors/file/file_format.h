// A file format reader turns one file into rows: CSV, JSON lines, XML,
// xlsx. It knows nothing of where the file came from (a drop folder, FTP):
// the `file` connector finds files through a source, opens a format reader
// per file and keeps the ledger of files done.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

class FileFormatReader {
 public:
  virtual ~FileFormatReader() = default;
  // The row's columns: the requested ones, or every column the file has
  // (header, first record's keys) when none were requested. Fixed after open.
  virtual const std::vector<std::string>& columns() const = 0;
  // Reads up to `max_rows` records, handing each to sink.on_row, or to
  // sink.on_bad_input with a source reference ("<name> line 17", "<name>
  // sheet Sheet1 row 9", "<name> record 12") and a reason quoting no value.
  // Returns how many were handed out (rows and bad inputs); 0 at the end of
  // the file. A file that cannot be read at all (truncated archive, zip
  // bomb, not the declared format) is a kData error naming the file: the
  // file connector moves it to the error folder with that reason.
  virtual Expected<size_t> read(size_t max_rows, RowSink& sink) = 0;
  // Where the next read() starts, to resume a half-read file after a crash
  // (small JSON: byte offset, line or record number). Null before any read.
  virtual nlohmann::json position() const = 0;
};

struct FileFormatInput {
  std::string path;          // the local file to read
  std::string display_name;  // the file as the source names it, for source references
  nlohmann::json resume;     // position() of an earlier reader of the same file, or null
};

// `format`: {"kind": "csv" | "jsonl" | "xml" | "xlsx", ...that format's
// settings}. Unknown kinds and bad settings are kConfig errors; a file that
// cannot be opened is kSource.
Expected<std::unique_ptr<FileFormatReader>> open_file_format(const nlohmann::json& format,
                                                             const FileFormatInput& input,
                                                             const std::vector<std::string>& columns);

}  // namespace dxhub
