// The sample resources' mappings and schemas (market_regulation/
// enterprise_basic, housing/housing_units) against rows from their
// generators: every generated row maps, fields carry the source's values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/housing_generator.h"
#include "tests/mapping/mapper_test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMappingDir = std::string(DXHUB_SOURCE_DIR) + "/mappings/market_regulation";

TEST(EnterpriseMappingTest, MapsEveryGeneratedRow) {
  const fs::path dir = fs::temp_directory_path() / ("dxhub_enterprise_mapping_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db_path = (dir / "enterprise.db").string();
  sample::EnterpriseOptions opt;
  opt.rows = 1500;
  ASSERT_TRUE(sample::generate_enterprise_db(db_path, opt).is_ok());

  auto schema = avro::Schema::from_file(kMappingDir + "/enterprise_basic.avsc");
  ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
  auto mapper = RecordMapper::load(kMappingDir + "/enterprise_basic.mapping.json", *schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  EXPECT_EQ(mapper->primary_key(), "credit_code");

  auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(db.has_value());
  auto stmt = db->prepare("SELECT * FROM enterprise_basic ORDER BY id");
  ASSERT_TRUE(stmt.has_value());
  std::vector<std::string> columns;
  for (int c = 0; c < stmt->column_count(); ++c) columns.emplace_back(stmt->column_name(c));
  ASSERT_TRUE(mapper->bind(columns).is_ok());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  std::vector<FieldValue> cells(columns.size());
  auto at = [&](const char* column) {
    return static_cast<int>(std::find(columns.begin(), columns.end(), column) - columns.begin());
  };
  int rows = 0;
  std::map<std::string, int> statuses;
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
    EXPECT_EQ(j["credit_code"], std::string(stmt->column_text(at("tyshxydm"))));
    EXPECT_EQ(j["name"], std::string(stmt->column_text(at("qymc"))));
    EXPECT_EQ(j["registration_authority"], "大冶市市场监督管理局");
    statuses[j["registration_status"].get<std::string>()]++;
    ++rows;
  }
  EXPECT_EQ(rows, 1500);
  EXPECT_GT(statuses["ACTIVE"], 1000);
  EXPECT_GT(statuses["DEREGISTERED"] + statuses["REVOKED"], 0);
  fs::remove_all(dir);
}

// Housing units as they arrive from a file: every value is text (an export
// carries no SQL types), and the mapping still fills ints and decimals.
TEST(HousingMappingTest, MapsEveryGeneratedRowFromText) {
  const fs::path dir = fs::temp_directory_path() / ("dxhub_housing_mapping_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db_path = (dir / "housing.db").string();
  sample::HousingOptions opt;
  opt.rows = 800;
  ASSERT_TRUE(sample::generate_housing_db(db_path, opt).is_ok());
  const std::string mapping_dir = std::string(DXHUB_SOURCE_DIR) + "/mappings/housing";
  auto schema = avro::Schema::from_file(mapping_dir + "/housing_units.avsc");
  ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
  auto mapper = RecordMapper::load(mapping_dir + "/housing_units.mapping.json", *schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(db.has_value());
  auto stmt = db->prepare("SELECT * FROM housing_units ORDER BY id");
  ASSERT_TRUE(stmt.has_value());
  std::vector<std::string> columns;
  for (int c = 0; c < stmt->column_count(); ++c) columns.emplace_back(stmt->column_name(c));
  ASSERT_TRUE(mapper->bind(columns).is_ok());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  std::vector<std::string> text(columns.size());
  std::vector<FieldValue> cells(columns.size());
  int rows = 0;
  while (*stmt->step()) {
    for (int c = 0; c < stmt->column_count(); ++c) {
      text[c] = std::string(stmt->column_text(c));
      cells[c] = FieldValue::text(text[c]);
    }
    avro_value_reset(value->get());
    const Status s = mapper->map(RowView{cells.data(), cells.size()}, value->get());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    const json j = dxhub::testing::avro_to_json(value->get());
    EXPECT_EQ(j["unit_code"], text[1]);
    EXPECT_EQ(j["floor"], json({{"int", std::stoi(text[6])}}));
    ++rows;
  }
  EXPECT_EQ(rows, 800);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dxhub
