// A fresh directory per test (and per process, so ctest -j runs don't
// collide) holding the state file under test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace dxhub::testing {

class StateDirTest : public ::testing::Test {
 protected:
  explicit StateDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() / (prefix_ + std::to_string(::getpid()) + "_" +
                                                     info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string db_path() const { return (dir_ / "state.db").string(); }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace dxhub::testing
