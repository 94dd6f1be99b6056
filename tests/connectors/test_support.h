// Shared by connector and plugin tests: a sink that copies rows out, and a
// per-test temporary directory.
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
