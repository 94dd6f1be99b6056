#include "core/cli/state_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/common/json_text.h"
#include "core/state/state_store.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dxhub_state_report_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string db() const { return (dir_ / "state.db").string(); }
  fs::path dir_;
};

TEST_F(StateReportTest, BeforeAnySyncTheStateIsEmptyAndNoFileIsCreated) {
  auto report = state_report(db(), 5);
  ASSERT_TRUE(report) << report.status().to_string();
  EXPECT_FALSE((*report)["exists"].get<bool>());
  EXPECT_TRUE((*report)["cursors"].empty());
  EXPECT_TRUE((*report)["outbox"].empty());
  EXPECT_TRUE((*report)["runs"].empty());
  std::string text = format_state_report(*report);
  EXPECT_NE(text.find("no state file yet"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_FALSE(fs::exists(db() + "-wal"));
}

TEST_F(StateReportTest, InvalidUtf8FromOutsideIsShownNotFatal) {
  const std::string cut = "\xe6\x88";  // the first two bytes of a three-byte character
  {
    auto store = StateStore::open(db());
    ASSERT_TRUE(store);
    NewBatch b{"b1", "households", 1, 2, "null", "fp", "d", "body"};
    std::vector<DeadLetter> letters = {{"households", "k" + cut, "field x (column x): '" + cut + "' bad",
                                        "{\"x\":\"" + cut + "\"}", ""}};
    ASSERT_TRUE(store->spool_batch(b, {{"after", "2026-01-01" + cut}}, letters).is_ok());
    ASSERT_TRUE(store->record_failed_attempt("b1", "HTTP 400 BAD: " + cut).is_ok());
    ASSERT_TRUE(store->quarantine_batch("b1", "refused: " + cut).is_ok());
    auto run = store->begin_run("sync");
    ASSERT_TRUE(run);
    ASSERT_TRUE(store->record_run_resource(*run, {"households", 1, 1, 0, 1, 0, 1, "failed", "error " + cut}).is_ok());
    ASSERT_TRUE(store->finish_run(*run, "failed", {{"error", cut}}).is_ok());
  }
  auto report = state_report(db(), 5);
  ASSERT_TRUE(report) << report.status().to_string();
  std::string json_text = dump_json_safely(*report, 2);
  EXPECT_NE(json_text.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD in place of the cut bytes
  EXPECT_FALSE(nlohmann::json::parse(json_text, nullptr, false).is_discarded());
  std::string text = format_state_report(*report);
  EXPECT_NE(text.find("quarantine"), std::string::npos);
  ASSERT_EQ((*report)["quarantine"].size(), 1u);
  EXPECT_EQ((*report)["quarantine"][0]["batches"], 1);
  EXPECT_GT((*report)["epoch"].get<int64_t>(), 0);
}

TEST(DumpJsonSafely, ReplacesInvalidBytesAndKeepsValidText) {
  nlohmann::json j = {{"a", std::string("ok \xe4\xb8\xad \xff end")}};
  std::string text = dump_json_safely(j);
  EXPECT_EQ(text, "{\"a\":\"ok \xe4\xb8\xad \xef\xbf\xbd end\"}");
  EXPECT_EQ(dump_json_safely(nlohmann::json{{"n", 1}}, 2), "{\n  \"n\": 1\n}");
}

}  // namespace
}  // namespace dxhub
