#include "sandbox/sample/household_generator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/resident_id.h"

namespace dxhub::sample {
namespace {

namespace fs = std::filesystem;

struct Row {
  int64_t id;
  std::vector<std::string> cells;  // gmsfhm .. gxsj; "<NULL>" for NULL
  bool operator==(const Row&) const = default;
};

class HouseholdGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string("dxhub_sample_") + info->name() + "_" +
                                        std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const char* name) const { return (dir_ / name).string(); }

  static std::vector<Row> read_rows(const std::string& db_path) {
    auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
    EXPECT_TRUE(db.has_value()) << db.status().to_string();
    auto stmt = db->prepare(
        "SELECT id, gmsfhm, xm, xb, mz, csrq, hh, yhzgx, hjdz, sspcs, xzjd, qrrq, ryzt, gxsj "
        "FROM household_population ORDER BY id");
    EXPECT_TRUE(stmt.has_value()) << stmt.status().to_string();
    std::vector<Row> rows;
    while (*stmt->step()) {
      Row r{stmt->column_int64(0), {}};
      for (int c = 1; c < 14; ++c) {
        r.cells.emplace_back(stmt->column_is_null(c) ? "<NULL>" : std::string(stmt->column_text(c)));
      }
      rows.push_back(std::move(r));
    }
    return rows;
  }

  fs::path dir_;
};

enum Col { kId = 0, kName, kGender, kEthnicity, kBirth, kHousehold, kRelation, kAddress, kStation, kTown,
           kMoveIn, kStatus, kUpdated };

TEST_F(HouseholdGeneratorTest, RowsAreConsistentAndRealistic) {
  HouseholdOptions opt;
  opt.rows = 3000;
  ASSERT_TRUE(generate_household_db(path("h.db"), opt).is_ok());
  const auto rows = read_rows(path("h.db"));
  ASSERT_EQ(rows.size(), 3000u);

  std::set<std::string> towns;
  for (const auto& t : daye_townships()) towns.insert(std::string(t.name));
  std::set<std::string> ids;
  std::map<std::string, int> heads_per_household;
  std::map<std::string, int> updated_counts;
  int null_move_in = 0, not_normal = 0, non_han = 0;
  for (const Row& r : rows) {
    const auto& c = r.cells;
    const std::string& id = c[kId];
    ASSERT_TRUE(resident_id_is_valid(id)) << id;
    EXPECT_EQ(id.substr(0, 6), "420281");
    // Birth date in the ID equals csrq.
    const std::string birth = c[kBirth];
    EXPECT_EQ(id.substr(6, 8), birth.substr(0, 4) + birth.substr(5, 2) + birth.substr(8, 2)) << id;
    const int year = std::stoi(birth.substr(0, 4));
    EXPECT_GE(year, 1930);
    EXPECT_LE(year, 2024);
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{static_cast<unsigned>(std::stoi(birth.substr(5, 2)))},
                                          std::chrono::day{static_cast<unsigned>(std::stoi(birth.substr(8, 2)))}};
    EXPECT_TRUE(ymd.ok()) << birth;
    // 17th digit odd = male = xb '1'.
    EXPECT_EQ((id[16] - '0') % 2 == 1 ? "1" : "2", c[kGender]) << id;
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    EXPECT_TRUE(towns.count(c[kTown])) << c[kTown];
    EXPECT_EQ(c[kAddress].rfind("湖北省大冶市" + c[kTown], 0), 0u) << c[kAddress];
    EXPECT_EQ(c[kStation].rfind("大冶市公安局", 0), 0u);
    EXPECT_TRUE(c[kStation].ends_with("派出所"));
    EXPECT_GE(c[kName].size(), 6u);  // at least two Chinese characters
    if (c[kRelation] == "户主") ++heads_per_household[c[kHousehold]];
    else heads_per_household.try_emplace(c[kHousehold], 0);
    if (c[kMoveIn] == "<NULL>") ++null_move_in;
    else EXPECT_GE(c[kMoveIn], birth);
    EXPECT_TRUE(c[kStatus] == "1" || c[kStatus] == "2" || c[kStatus] == "3");
    if (c[kStatus] != "1") ++not_normal;
    if (c[kEthnicity] != "汉族") ++non_han;
    ++updated_counts[c[kUpdated]];
    EXPECT_GE(c[kUpdated], opt.first_update);
  }
  for (const auto& [household, heads] : heads_per_household) EXPECT_EQ(heads, 1) << household;
  EXPECT_GT(heads_per_household.size(), 500u);   // households of 1-6
  EXPECT_LT(heads_per_household.size(), 1500u);
  EXPECT_GT(null_move_in, 1000);
  EXPECT_LT(null_move_in, 2900);
  EXPECT_GT(not_normal, 30);
  EXPECT_LT(not_normal, 600);
  EXPECT_LT(non_han, 150);
  // Ties: some second holds several rows, and time does advance.
  int max_tie = 0;
  for (const auto& [t, n] : updated_counts) max_tie = std::max(max_tie, n);
  EXPECT_GE(max_tie, 5);
  EXPECT_GT(updated_counts.size(), 50u);
}

TEST_F(HouseholdGeneratorTest, SameSeedSameRowsOtherSeedOtherRows) {
  HouseholdOptions opt;
  opt.rows = 500;
  ASSERT_TRUE(generate_household_db(path("a.db"), opt).is_ok());
  ASSERT_TRUE(generate_household_db(path("b.db"), opt).is_ok());
  opt.seed = 7;
  ASSERT_TRUE(generate_household_db(path("c.db"), opt).is_ok());
  const auto a = read_rows(path("a.db"));
  EXPECT_EQ(a, read_rows(path("b.db")));
  const auto c = read_rows(path("c.db"));
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(a[0].cells[kId], c[0].cells[kId]);
  EXPECT_NE(a, c);
}

TEST_F(HouseholdGeneratorTest, RefusesToOverwriteUnlessAsked) {
  HouseholdOptions opt;
  opt.rows = 10;
  ASSERT_TRUE(generate_household_db(path("h.db"), opt).is_ok());
  opt.rows = 20;
  const Status again = generate_household_db(path("h.db"), opt);
  EXPECT_EQ(again.code(), StatusCode::kConfig);
  EXPECT_EQ(read_rows(path("h.db")).size(), 10u);
  opt.overwrite = true;
  ASSERT_TRUE(generate_household_db(path("h.db"), opt).is_ok());
  EXPECT_EQ(read_rows(path("h.db")).size(), 20u);
}

TEST_F(HouseholdGeneratorTest, RejectsBadFirstUpdate) {
  HouseholdOptions opt;
  opt.first_update = "2025-02-30 08:00:00";
  EXPECT_EQ(generate_household_db(path("h.db"), opt).code(), StatusCode::kConfig);
}

TEST_F(HouseholdGeneratorTest, ChangesTouchExactlyTheRequestedRows) {
  HouseholdOptions opt;
  opt.rows = 2000;
  ASSERT_TRUE(generate_household_db(path("h.db"), opt).is_ok());
  const auto before = read_rows(path("h.db"));

  HouseholdChanges changes;
  changes.change = 120;
  changes.add = 45;
  changes.timestamp = "2026-01-02 03:04:05";
  ASSERT_TRUE(apply_household_changes(path("h.db"), changes).is_ok());
  const auto after = read_rows(path("h.db"));
  ASSERT_EQ(after.size(), before.size() + 45);

  std::set<std::string> old_ids;
  int touched = 0, differing = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(after[i].id, before[i].id);
    ASSERT_EQ(after[i].cells[kId], before[i].cells[kId]);  // IDs never change
    old_ids.insert(before[i].cells[kId]);
    if (after[i].cells[kUpdated] == changes.timestamp) {
      ++touched;
      if (after[i].cells != before[i].cells) ++differing;
    } else {
      EXPECT_EQ(after[i].cells, before[i].cells);
    }
  }
  EXPECT_EQ(touched, 120);
  EXPECT_GE(differing, 110);  // a move can rarely land on the same address
  std::set<std::string> new_ids;
  for (size_t i = before.size(); i < after.size(); ++i) {
    const auto& c = after[i].cells;
    EXPECT_EQ(c[kUpdated], changes.timestamp);
    EXPECT_TRUE(resident_id_is_valid(c[kId]));
    EXPECT_FALSE(old_ids.count(c[kId])) << c[kId];
    EXPECT_TRUE(new_ids.insert(c[kId]).second);
    EXPECT_EQ(c[kMoveIn], "2026-01-02");
    EXPECT_EQ(c[kStatus], "1");
  }
  EXPECT_EQ(after[before.size()].cells[kRelation], "户主");

  changes.change = 5000;
  EXPECT_EQ(apply_household_changes(path("h.db"), changes).code(), StatusCode::kConfig);
  EXPECT_EQ(read_rows(path("h.db")).size(), after.size());
}

TEST_F(HouseholdGeneratorTest, ChangesAreDeterministic) {
  HouseholdOptions opt;
  opt.rows = 300;
  ASSERT_TRUE(generate_household_db(path("a.db"), opt).is_ok());
  ASSERT_TRUE(generate_household_db(path("b.db"), opt).is_ok());
  HouseholdChanges changes;
  changes.change = 30;
  changes.add = 10;
  changes.timestamp = "2026-01-02 03:04:05";
  ASSERT_TRUE(apply_household_changes(path("a.db"), changes).is_ok());
  ASSERT_TRUE(apply_household_changes(path("b.db"), changes).is_ok());
  EXPECT_EQ(read_rows(path("a.db")), read_rows(path("b.db")));
}

TEST_F(HouseholdGeneratorTest, ChangesNeedAnExistingTable) {
  HouseholdChanges changes;
  changes.timestamp = "2026-01-02 03:04:05";
  EXPECT_EQ(apply_household_changes(path("missing.db"), changes).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace dxhub::sample
