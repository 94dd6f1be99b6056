// Shared by the file connector tests: writing drop files, draining a
// connector, listing folders.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "connectors/file/file_connector.h"
#include "tests/connectors/test_support.h"

namespace dxhub::testing {

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

inline void set_mtime(const std::filesystem::path& path, int64_t seconds) {
  struct utimbuf times {};
  times.actime = static_cast<time_t>(seconds);
  times.modtime = static_cast<time_t>(seconds);
  ASSERT_EQ(::utime(path.c_str(), &times), 0);
}

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sorted file names directly in `dir` (empty if it does not exist).
inline std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The text of column 0 of every row collected.
inline std::vector<std::string> texts(const CollectingSink& sink) {
  std::vector<std::string> out;
  for (const auto& row : sink.rows) out.push_back(row.at(0).s);
  return out;
}

// Reads until read() returns 0 (bounded), `batch` rows per call.
inline Status drain(Connector& connector, RowSink& sink, size_t batch = 1000) {
  for (int calls = 0; calls < 10000; ++calls) {
    auto n = connector.read(batch, sink);
    if (!n) return n.status();
    if (*n == 0) return Status::ok();
  }
  return internal_error("drain: the connector never ran dry");
}

}  // namespace dxhub::testing
