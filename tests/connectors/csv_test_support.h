// Shared by the file format reader tests: write files, read a whole file
// through a reader collecting rows and bad inputs.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "connectors/file/file_format.h"
#include "tests/connectors/test_support.h"

namespace dxhub::testing {

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

// Runs a python3 snippet (argv[1] = `arg`), for files only Python writes easily.
inline void run_python(const std::string& code, const std::string& arg) {
  const std::string script = arg + ".py";
  write_file(script, code);
  const std::string cmd = std::string(DXHUB_PYTHON3) + " " + script + " " + arg;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

struct Bad {
  std::string ref, reason, raw;
};

class RecordingSink : public CollectingSink {
 public:
  Status on_row(const RowView& row) override {
    refs.emplace_back(row.source_ref);
    return CollectingSink::on_row(row);
  }
  Status on_bad_input(const BadInput& bad) override {
    bads.push_back({std::string(bad.source_ref), std::string(bad.reason), std::string(bad.raw)});
    return Status::ok();
  }
  std::vector<std::string> refs;
  std::vector<Bad> bads;
  // Texts of column `c` (null as "<null>").
  std::vector<std::string> column(size_t c) const {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[c].type == FieldValue::Type::kNull ? "<null>" : r[c].s);
    return out;
  }
};

inline Expected<std::unique_ptr<FileFormatReader>> open_reader(const nlohmann::json& format, const std::string& path,
                                                               const std::vector<std::string>& columns = {},
                                                               const nlohmann::json& resume = nullptr) {
  return open_file_format(format, FileFormatInput{path, "in.file", resume}, columns);
}

// Reads to the end in batches of `batch`; returns the last status.
inline Status read_all(FileFormatReader& reader, RowSink& sink, size_t batch = 1000) {
  for (int guard = 0; guard < 10000000; ++guard) {
    auto n = reader.read(batch, sink);
    if (!n) return n.status();
    if (*n == 0) return Status::ok();
    if (*n > batch) return internal_error("read handed out more than asked");
  }
  return internal_error("no end");
}

}  // namespace dxhub::testing
