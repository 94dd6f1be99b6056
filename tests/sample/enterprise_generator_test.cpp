#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/housing_generator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"

namespace dxhub::sample {
namespace {

namespace fs = std::filesystem;

// GB 32100 written independently of the generator: the weights are 3^i mod
// 31, and the check character c makes (weighted sum + c) divisible by 31.
bool valid_uscc(const std::string& code) {
  static const std::string alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  if (code.size() != 18) return false;
  int weight = 1, sum = 0;
  for (int i = 0; i < 17; ++i) {
    size_t v = alphabet.find(code[static_cast<size_t>(i)]);
    if (v == std::string::npos) return false;
    sum += static_cast<int>(v) * weight;
    weight = weight * 3 % 31;
  }
  size_t check = alphabet.find(code[17]);
  return check != std::string::npos && (sum + static_cast<int>(check)) % 31 == 0;
}

class EnterpriseGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dxhub_enterprise_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  static std::vector<std::string> codes(const std::string& db_path) {
    auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
    EXPECT_TRUE(db);
    auto stmt = db->prepare("SELECT tyshxydm FROM enterprise_basic ORDER BY id");
    EXPECT_TRUE(stmt);
    std::vector<std::string> out;
    while (*stmt->step()) out.emplace_back(stmt->column_text(0));
    return out;
  }

  fs::path dir_;
};

TEST(UsccCheckTest, KnownRealCodesValidate) {
  // Published codes of real enterprises.
  for (std::string code : {"91350100M000100Y43", "911100001000080343", "914403001922038216"}) {
    EXPECT_EQ(uscc_check_character(code.substr(0, 17)), code[17]) << code;
    EXPECT_TRUE(valid_uscc(code)) << code;
  }
  EXPECT_EQ(uscc_check_character("9142028I000000000"), '\0');  // I is not in the alphabet
  EXPECT_EQ(uscc_check_character("914202"), '\0');
}

TEST_F(EnterpriseGeneratorTest, CodesAreValidUniqueAndDeterministic) {
  EnterpriseOptions opt;
  opt.rows = 3000;
  ASSERT_TRUE(generate_enterprise_db(path("a.db"), opt).is_ok());
  ASSERT_TRUE(generate_enterprise_db(path("b.db"), opt).is_ok());
  auto a = codes(path("a.db"));
  ASSERT_EQ(a.size(), 3000u);
  EXPECT_EQ(a, codes(path("b.db")));
  std::set<std::string> unique(a.begin(), a.end());
  EXPECT_EQ(unique.size(), a.size());
  for (const auto& code : a) {
    ASSERT_TRUE(valid_uscc(code)) << "generated code fails GB 32100";
    EXPECT_EQ(code.substr(0, 8), "91420281");
  }
  EXPECT_FALSE(generate_enterprise_db(path("a.db"), opt).is_ok());  // not overwritten without force
}

TEST_F(EnterpriseGeneratorTest, ChangesTouchRowsAndAddNewUniqueCodes) {
  EnterpriseOptions opt;
  opt.rows = 200;
  ASSERT_TRUE(generate_enterprise_db(path("e.db"), opt).is_ok());
  EnterpriseChanges changes;
  changes.change = 30;
  changes.add = 12;
  changes.timestamp = "2026-01-02 03:04:05";
  ASSERT_TRUE(apply_enterprise_changes(path("e.db"), changes).is_ok());
  auto all = codes(path("e.db"));
  EXPECT_EQ(all.size(), 212u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  auto db = SqliteDb::open(path("e.db"), SqliteDb::Mode::kReadOnly);
  auto touched = db->prepare("SELECT count(*) FROM enterprise_basic WHERE gxsj = '2026-01-02 03:04:05'");
  ASSERT_TRUE(*touched->step());
  EXPECT_EQ(touched->column_int64(0), 42);
  changes.change = 1000;
  EXPECT_FALSE(apply_enterprise_changes(path("e.db"), changes).is_ok());
}

TEST_F(EnterpriseGeneratorTest, HousingChangesUpdateAddAndRemoveUnits) {
  HousingOptions opt;
  opt.rows = 300;
  ASSERT_TRUE(generate_housing_db(path("h.db"), opt).is_ok());
  HousingChanges changes;
  changes.change = 7;
  changes.add = 11;
  changes.remove = 5;
  changes.timestamp = "2026-02-03 04:05:06";
  ASSERT_TRUE(apply_housing_changes(path("h.db"), changes).is_ok());
  auto db = SqliteDb::open(path("h.db"), SqliteDb::Mode::kReadOnly);
  auto count = db->prepare(
      "SELECT count(*), count(DISTINCT fwbm), sum(gxsj = '2026-02-03 04:05:06') FROM housing_units");
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->column_int64(0), 306);  // 300 + 11 - 5
  EXPECT_EQ(count->column_int64(1), 306);
  EXPECT_EQ(count->column_int64(2), 18);   // 7 changed + 11 new
  changes.remove = 1000;
  EXPECT_FALSE(apply_housing_changes(path("h.db"), changes).is_ok());
}

}  // namespace
}  // namespace dxhub::sample
