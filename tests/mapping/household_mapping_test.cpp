// The real household mapping and schema against rows from the generator.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "core/mapping/value_parsers.h"
#include "sandbox/sample/household_generator.h"
#include "tests/mapping/mapper_test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMappingDir = std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security";

class HouseholdMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dxhub_household_mapping_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto schema = avro::Schema::from_file(kMappingDir + "/household_population.avsc");
    ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
    schema_ = std::move(*schema);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::optional<avro::Schema> schema_;
};

TEST_F(HouseholdMappingTest, MapsGeneratedRows) {
  const std::string db_path = (dir_ / "household.db").string();
  sample::HouseholdOptions opt;
  opt.rows = 400;
  ASSERT_TRUE(sample::generate_household_db(db_path, opt).is_ok());

  auto mapper = RecordMapper::load(kMappingDir + "/household_population.mapping.json", *schema_);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  EXPECT_EQ(mapper->resource(), "household_population");
  EXPECT_EQ(mapper->primary_key(), "id_card");
  EXPECT_EQ(mapper->source_columns().size(), 13u);

  auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(db.has_value());
  auto stmt = db->prepare("SELECT * FROM household_population ORDER BY id");
  ASSERT_TRUE(stmt.has_value());
  std::vector<std::string> columns;
  for (int c = 0; c < stmt->column_count(); ++c) columns.emplace_back(stmt->column_name(c));
  ASSERT_TRUE(mapper->bind(columns).is_ok());

  auto value = schema_->new_value();
  ASSERT_TRUE(value.has_value());
  const auto date_layout = mapping::TimeLayout::compile("YYYY-MM-DD", false);
  const auto time_layout = mapping::TimeLayout::compile("YYYY-MM-DD HH:MM:SS", true);
  std::vector<FieldValue> cells(columns.size());
  int rows = 0, with_move_in = 0, without_move_in = 0;
  while (*stmt->step()) {
    for (int c = 0; c < stmt->column_count(); ++c) {
      if (stmt->column_is_null(c)) cells[c] = FieldValue::null();
      else if (stmt->column_type(c) == SQLITE_INTEGER) cells[c] = FieldValue::integer(stmt->column_int64(c));
      else cells[c] = FieldValue::text(stmt->column_text(c));
    }
    avro_value_reset(value->get());
    const Status s = mapper->map(RowView{cells.data(), cells.size()}, value->get());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    const json j = dxhub::testing::avro_to_json(value->get());

    auto text = [&](const char* column) {
      const auto at = std::find(columns.begin(), columns.end(), column) - columns.begin();
      return std::string(stmt->column_text(static_cast<int>(at)));
    };
    EXPECT_EQ(j["id_card"], text("gmsfhm"));
    EXPECT_EQ(j["name"], text("xm"));
    EXPECT_EQ(j["gender"], text("xb") == "1" ? "MALE" : "FEMALE");
    EXPECT_EQ(j["registered_address"], text("hjdz"));
    EXPECT_EQ(j["township"], text("xzjd"));
    const std::string status = text("ryzt");
    EXPECT_EQ(j["status"], status == "1" ? "NORMAL" : status == "2" ? "MOVED_OUT" : "DECEASED");
    int32_t birth = 0;
    ASSERT_TRUE(date_layout->parse_days(text("csrq"), birth));
    EXPECT_EQ(j["birth_date"], birth);
    int64_t local = 0;
    ASSERT_TRUE(time_layout->parse_seconds(text("gxsj"), local));
    EXPECT_EQ(j["updated_at"], (local - 8 * 3600) * 1000);
    if (text("qrrq").empty()) {
      EXPECT_TRUE(j["move_in_date"].is_null());
      ++without_move_in;
    } else {
      int32_t move_in = 0;
      ASSERT_TRUE(date_layout->parse_days(text("qrrq"), move_in));
      EXPECT_EQ(j["move_in_date"], json({{"int", move_in}}));
      ++with_move_in;
    }
    ++rows;
  }
  EXPECT_EQ(rows, 400);
  EXPECT_GT(with_move_in, 0);
  EXPECT_GT(without_move_in, 0);
}

TEST_F(HouseholdMappingTest, KnownRowMapsToExpectedJson) {
  auto mapper = RecordMapper::load(kMappingDir + "/household_population.mapping.json", *schema_);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  const std::vector<std::string> columns = {"id", "gmsfhm", "xm", "xb", "mz", "csrq", "hh", "yhzgx",
                                            "hjdz", "sspcs", "xzjd", "qrrq", "ryzt", "gxsj"};
  ASSERT_TRUE(mapper->bind(columns).is_ok());
  dxhub::testing::OwnedRow row;
  row.integer(1).text("42028119850312002X").text("柯丽").text("2").text("汉族").text("1985-03-12")
      .text("100000001").text("户主").text("湖北省大冶市金山店镇马坪村3组17号").text("大冶市公安局金山店派出所")
      .text("金山店镇").null().text("1").text("2025-01-01 08:00:00");
  auto value = schema_->new_value();
  ASSERT_TRUE(value.has_value());
  ASSERT_TRUE(mapper->map(row.view(), value->get()).is_ok());
  const json expected = {{"id_card", "42028119850312002X"},
                         {"name", "柯丽"},
                         {"gender", "FEMALE"},
                         {"ethnicity", "汉族"},
                         {"birth_date", 5549},
                         {"household_no", "100000001"},
                         {"relation_to_head", "户主"},
                         {"registered_address", "湖北省大冶市金山店镇马坪村3组17号"},
                         {"police_station", "大冶市公安局金山店派出所"},
                         {"township", "金山店镇"},
                         {"move_in_date", nullptr},
                         {"status", "NORMAL"},
                         {"updated_at", 1735689600000LL}};
  EXPECT_EQ(dxhub::testing::avro_to_json(value->get()), expected);

  dxhub::testing::OwnedRow bad_status;
  bad_status.integer(1).text("42028119850312002X").text("柯丽").text("2").text("汉族").text("1985-03-12")
      .text("100000001").text("户主").text("x").text("x").text("x").null().text("9").text("2025-01-01 08:00:00");
  const Status s = mapper->map(bad_status.view(), value->get());
  EXPECT_EQ(s.code(), StatusCode::kData);
  EXPECT_EQ(s.message(), "field status (column ryzt): text is not in the code table");
}

}  // namespace
}  // namespace dxhub
