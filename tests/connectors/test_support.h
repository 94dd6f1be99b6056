// Shared by connector and plugin tests: a sink that copies rows out (and
// one that also keeps bad input), and a per-test temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub::testing {

struct OwnedValue {
  FieldValue::Type type = FieldValue::Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

class CollectingSink : public RowSink {
 public:
  Status on_row(const RowView& row) override {
    if (fail_at && rows.size() == *fail_at) return data_error("sink refuses row " + std::to_string(*fail_at));
    std::vector<OwnedValue> copy;
    for (size_t c = 0; c < row.count; ++c) {
      const FieldValue& v = row[c];
      if ((v.type == FieldValue::Type::kText || v.type == FieldValue::Type::kBlob) && v.s.data() != nullptr) {
        EXPECT_EQ(v.s.data()[v.s.size()], '\0') << "text/blob must be NUL-terminated";
      }
      copy.push_back(OwnedValue{v.type, v.i, v.d, std::string(v.s)});
    }
    rows.push_back(std::move(copy));
    return Status::ok();
  }
  std::vector<std::vector<OwnedValue>> rows;
  std::optional<size_t> fail_at;  // refuse the row with this index
};

// One BadInput, copied.
struct BadRecord {
  std::string source_ref;
  std::string reason;
  std::string raw;
};

// A CollectingSink that also keeps every BadInput it is given.
class BadInputSink : public CollectingSink {
 public:
  Status on_bad_input(const BadInput& bad) override {
    bad_inputs.push_back({std::string(bad.source_ref), std::string(bad.reason), std::string(bad.raw)});
    return Status::ok();
  }
  std::vector<std::string> refs() const { return pick(&BadRecord::source_ref); }
  std::vector<std::string> reasons() const { return pick(&BadRecord::reason); }
  std::vector<std::string> raws() const { return pick(&BadRecord::raw); }
  std::vector<BadRecord> bad_inputs;

 private:
  std::vector<std::string> pick(std::string BadRecord::*field) const {
    std::vector<std::string> out;
    for (const BadRecord& b : bad_inputs) out.push_back(b.*field);
    return out;
  }
};

// A fresh directory for the running test, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("dxhub_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace dxhub::testing
