#include "core/mapping/record_mapper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/mapping/mapper_test_support.h"

namespace dxhub {
namespace {

using dxhub::testing::avro_to_json;
using dxhub::testing::OwnedRow;
using nlohmann::json;

constexpr const char* kSchema = R"({
  "type": "record", "name": "Sample", "namespace": "test.mapping",
  "fields": [
    {"name": "s", "type": "string"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "b", "type": "boolean"},
    {"name": "e", "type": {"type": "enum", "name": "Letter", "symbols": ["A", "B"]}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "opt_day", "type": ["null", {"type": "int", "logicalType": "date"}], "default": null},
    {"name": "opt_s", "type": ["null", "string"], "default": null},
    {"name": "coded", "type": "string"},
    {"name": "fixed_text", "type": "string", "default": "n/a"},
    {"name": "later", "type": ["null", "long"], "default": null}
  ]})";

constexpr const char* kMapping = R"({
  "resource": "sample", "schema": "sample.avsc", "primary_key": "s", "source_timezone": "+08:00",
  "fields": [
    {"field": "s", "column": "c_s"},
    {"field": "i", "column": "c_i"},
    {"field": "l", "column": "c_l"},
    {"field": "f", "column": "c_f"},
    {"field": "d", "column": "c_d"},
    {"field": "b", "column": "c_b"},
    {"field": "e", "column": "c_e"},
    {"field": "day", "column": "c_day"},
    {"field": "ts", "column": "c_ts", "format": "YYYY-MM-DD HH:MM:SS"},
    {"field": "opt_day", "column": "c_opt_day", "format": "YYYYMMDD"},
    {"field": "opt_s", "column": "c_s"},
    {"field": "coded", "column": "c_code", "codes": {"01": "城镇", "02": "农村"}}
  ]})";

// Column order of the connector: deliberately not the mapping's order.
const std::vector<std::string> kColumns = {"c_code", "c_opt_day", "c_ts", "c_day", "c_e", "c_b",
                                           "c_d",    "c_f",       "c_l",  "c_i",   "c_s", "unused"};

Expected<RecordMapper> build(const std::string& mapping_json, const std::string& schema_json = kSchema) {
  DXHUB_ASSIGN_OR_RETURN(auto spec, mapping::parse_mapping_spec(mapping_json, "/maps/sample.mapping.json"));
  DXHUB_ASSIGN_OR_RETURN(auto schema, avro::Schema::from_json(schema_json));
  return RecordMapper::build(spec, schema);
}

// Replaces the first occurrence of `from` in the mapping text.
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class RecordMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = avro::Schema::from_json(kSchema);
    ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
    auto value = schema->new_value();
    ASSERT_TRUE(value.has_value()) << value.status().to_string();
    value_ = std::move(*value);
    auto mapper = build(kMapping);
    ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
    mapper_ = std::move(*mapper);
    ASSERT_TRUE(mapper_->bind(kColumns).is_ok());
  }

  // A valid row in connector order; tests override single cells.
  OwnedRow good_row(size_t replace = SIZE_MAX, FieldValue with = {}, std::string with_text = {}) {
    OwnedRow row;
    const std::vector<std::string> cells = {"01", "20240229", "2025-01-01 08:00:00", "1969-12-31", "B", "true",
                                            "2.5", "1.5", "-7", "42", "张三", "x"};
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c != replace) {
        row.text(cells[c]);
      } else if (with.type == FieldValue::Type::kText) {
        row.text(with_text);
      } else if (with.type == FieldValue::Type::kInt) {
        row.integer(with.i);
      } else if (with.type == FieldValue::Type::kReal) {
        row.real(with.d);
      } else {
        row.null();
      }
    }
    return row;
  }

  Status map(const OwnedRow& row) {
    avro_value_reset(value_.get());
    return mapper_->map(row.view(), value_.get());
  }
  json mapped() { return avro_to_json(value_.get()); }
  // Maps a row with column `col` replaced by text; returns the status.
  Status map_text(size_t col, const std::string& text) { return map(good_row(col, FieldValue::text(""), text)); }

  avro::Value value_;
  std::optional<RecordMapper> mapper_;
};

constexpr size_t kCode = 0, kOptDay = 1, kTs = 2, kDay = 3, kEnum = 4, kBool = 5, kDouble = 6, kFloat = 7,
                 kLong = 8, kInt = 9, kString = 10;

TEST_F(RecordMapperTest, MapsEveryTypeAndFillsDefaults) {
  ASSERT_TRUE(map(good_row()).is_ok());
  const json j = mapped();
  EXPECT_EQ(j["s"], "张三");
  EXPECT_EQ(j["i"], 42);
  EXPECT_EQ(j["l"], -7);
  EXPECT_EQ(j["f"], 1.5);
  EXPECT_EQ(j["d"], 2.5);
  EXPECT_EQ(j["b"], true);
  EXPECT_EQ(j["e"], "B");
  EXPECT_EQ(j["day"], -1);                       // 1969-12-31
  EXPECT_EQ(j["ts"], 1735689600000LL);           // 2025-01-01 08:00 +08:00 = 00:00Z
  EXPECT_EQ(j["opt_day"], json({{"int", 19782}}));  // 2024-02-29 via YYYYMMDD
  EXPECT_EQ(j["opt_s"], json({{"string", "张三"}}));
  EXPECT_EQ(j["coded"], "城镇");
  EXPECT_EQ(j["fixed_text"], "n/a");
  EXPECT_TRUE(j["later"].is_null());
}

TEST_F(RecordMapperTest, ReportsWhatItReads) {
  EXPECT_EQ(mapper_->resource(), "sample");
  EXPECT_EQ(mapper_->primary_key(), "s");
  const std::vector<std::string> expected = {"c_s", "c_i", "c_l", "c_f", "c_d", "c_b", "c_e",
                                             "c_day", "c_ts", "c_opt_day", "c_code"};
  EXPECT_EQ(mapper_->source_columns(), expected);  // c_s once, though two fields read it
}

TEST_F(RecordMapperTest, TimestampCrossesTheDateBoundary) {
  ASSERT_TRUE(map_text(kTs, "2025-01-01 07:59:59").is_ok());
  EXPECT_EQ(mapped()["ts"], 1735689599000LL);  // 2024-12-31T23:59:59Z
  ASSERT_TRUE(map_text(kTs, "1970-01-01 00:00:00").is_ok());
  EXPECT_EQ(mapped()["ts"], -28800000LL);
  ASSERT_TRUE(map(good_row(kTs, FieldValue::integer(1700000000123))).is_ok());
  EXPECT_EQ(mapped()["ts"], 1700000000123LL);  // integers are epoch ms already
  const Status bad = map_text(kTs, "2025-01-01 24:00:00");
  EXPECT_EQ(bad.code(), StatusCode::kData);
  EXPECT_NE(bad.message().find("field ts (column c_ts)"), std::string::npos) << bad.message();
}

TEST_F(RecordMapperTest, DatesAreValidatedAgainstTheCalendar) {
  const Status feb30 = map_text(kDay, "2023-02-30");
  EXPECT_EQ(feb30.code(), StatusCode::kData);
  EXPECT_EQ(feb30.message(), "field day (column c_day): text is not a valid date (YYYY-MM-DD)");
  EXPECT_EQ(map_text(kDay, "1900-02-29").code(), StatusCode::kData);
  ASSERT_TRUE(map_text(kDay, "2000-02-29").is_ok());
  EXPECT_EQ(mapped()["day"], 11016);
  ASSERT_TRUE(map_text(kDay, "1930-01-01").is_ok());
  EXPECT_EQ(mapped()["day"], -14610);
  ASSERT_TRUE(map(good_row(kDay, FieldValue::integer(-5))).is_ok());
  EXPECT_EQ(mapped()["day"], -5);
  EXPECT_EQ(map(good_row(kDay, FieldValue::integer(int64_t{1} << 40))).code(), StatusCode::kData);
}

TEST_F(RecordMapperTest, NullsAndEmptyText) {
  // Empty text in a nullable date means "no date".
  ASSERT_TRUE(map_text(kOptDay, "").is_ok());
  EXPECT_TRUE(mapped()["opt_day"].is_null());
  ASSERT_TRUE(map(good_row(kOptDay, FieldValue::null())).is_ok());
  EXPECT_TRUE(mapped()["opt_day"].is_null());
  // NULL in a non-nullable field is a data error.
  const Status s = map(good_row(kInt, FieldValue::null()));
  EXPECT_EQ(s.code(), StatusCode::kData);
  EXPECT_NE(s.message().find("field i (column c_i): NULL"), std::string::npos) << s.message();
  // Empty text stays text for strings.
  ASSERT_TRUE(map_text(kString, "").is_ok());
  EXPECT_EQ(mapped()["s"], "");
  EXPECT_EQ(mapped()["opt_s"], json({{"string", ""}}));
  EXPECT_EQ(map_text(kDay, "").code(), StatusCode::kData);  // not nullable
}

TEST_F(RecordMapperTest, Integers) {
  ASSERT_TRUE(map_text(kInt, "2147483647").is_ok());
  EXPECT_EQ(mapped()["i"], 2147483647);
  EXPECT_EQ(map_text(kInt, "2147483648").code(), StatusCode::kData);
  EXPECT_EQ(map_text(kInt, "12a").code(), StatusCode::kData);
  EXPECT_EQ(map_text(kInt, " 12").code(), StatusCode::kData);
  ASSERT_TRUE(map(good_row(kInt, FieldValue::real(3.0))).is_ok());
  EXPECT_EQ(mapped()["i"], 3);
  EXPECT_EQ(map(good_row(kInt, FieldValue::real(3.5))).code(), StatusCode::kData);
  ASSERT_TRUE(map_text(kLong, "-9223372036854775808").is_ok());
  EXPECT_EQ(mapped()["l"], INT64_MIN);
  const Status overflow = map_text(kLong, "9223372036854775808");
  EXPECT_EQ(overflow.code(), StatusCode::kData);
  EXPECT_EQ(overflow.message(), "field l (column c_l): text is not an integer");
}

TEST_F(RecordMapperTest, RealsAndBooleans) {
  ASSERT_TRUE(map(good_row(kDouble, FieldValue::integer(7))).is_ok());
  EXPECT_EQ(mapped()["d"], 7.0);
  EXPECT_EQ(map_text(kDouble, "abc").code(), StatusCode::kData);
  EXPECT_EQ(map_text(kFloat, "1e39").code(), StatusCode::kData);  // beyond float
  ASSERT_TRUE(map(good_row(kBool, FieldValue::integer(0))).is_ok());
  EXPECT_EQ(mapped()["b"], false);
  EXPECT_EQ(map_text(kBool, "yes").code(), StatusCode::kData);
  EXPECT_EQ(map(good_row(kBool, FieldValue::integer(2))).code(), StatusCode::kData);
}

TEST_F(RecordMapperTest, StringsFromNumbersAndBrokenEncodings) {
  ASSERT_TRUE(map(good_row(kString, FieldValue::integer(-12))).is_ok());
  EXPECT_EQ(mapped()["s"], "-12");
  ASSERT_TRUE(map(good_row(kString, FieldValue::real(0.1))).is_ok());
  EXPECT_EQ(mapped()["s"], "0.1");
  const Status gbk = map_text(kString, "\xD5\xC5\xC8\xFD");  // 张三 in GBK
  EXPECT_EQ(gbk.code(), StatusCode::kData);
  EXPECT_EQ(gbk.message(), "field s (column c_s): text is not valid UTF-8");
}

TEST_F(RecordMapperTest, EnumsAndCodeTables) {
  ASSERT_TRUE(map_text(kEnum, "A").is_ok());
  EXPECT_EQ(mapped()["e"], "A");
  const Status unknown_symbol = map_text(kEnum, "C");
  EXPECT_EQ(unknown_symbol.code(), StatusCode::kData);
  EXPECT_EQ(unknown_symbol.message(), "field e (column c_e): text is not a symbol of the enum");
  ASSERT_TRUE(map_text(kCode, "02").is_ok());
  EXPECT_EQ(mapped()["coded"], "农村");
  const Status unknown_code = map_text(kCode, "03");
  EXPECT_EQ(unknown_code.code(), StatusCode::kData);
  EXPECT_EQ(unknown_code.message(), "field coded (column c_code): text is not in the code table");
  EXPECT_EQ(map(good_row(kCode, FieldValue::integer(1))).code(), StatusCode::kData);  // "1" != "01"
}

TEST_F(RecordMapperTest, RowToJsonNamesConnectorColumns) {
  OwnedRow row = good_row(kInt, FieldValue::integer(5));
  const json j = json::parse(mapper_->row_to_json(row.view()));
  EXPECT_EQ(j["c_i"], 5);
  EXPECT_EQ(j["c_s"], "张三");
  EXPECT_EQ(j.size(), kColumns.size());
  // Invalid UTF-8 keeps its bytes as hex, and never throws.
  OwnedRow broken = good_row(kString, FieldValue::text(""), "\xD5\xC5\xC8\xFD");
  const json b = json::parse(mapper_->row_to_json(broken.view()));
  EXPECT_EQ(b["c_s"], json({{"invalid_utf8_hex", "d5c5c8fd"}}));
  EXPECT_EQ(b["c_i"], "42");
}

TEST_F(RecordMapperTest, ShortRowsAndUnboundMappers) {
  OwnedRow short_row;
  short_row.text("01");
  EXPECT_EQ(mapper_->map(short_row.view(), value_.get()).code(), StatusCode::kData);
  auto unbound = build(kMapping);
  ASSERT_TRUE(unbound.has_value());
  EXPECT_EQ(unbound->map(good_row().view(), value_.get()).code(), StatusCode::kInternal);
}

TEST(RecordMapperConfigTest, BindNeedsEveryColumn) {
  auto mapper = build(kMapping);
  ASSERT_TRUE(mapper.has_value());
  std::vector<std::string> columns = kColumns;
  columns.erase(columns.begin() + kEnum);
  const Status s = mapper->bind(columns);
  EXPECT_EQ(s.code(), StatusCode::kConfig);
  EXPECT_NE(s.message().find("column c_e"), std::string::npos) << s.message();
}

struct BadMapping {
  const char* what;
  std::string mapping;
  const char* expected_in_message;
};

TEST(RecordMapperConfigTest, MismatchesAreConfigErrorsNamingFileAndField) {
  const std::string opt_s_line = R"({"field": "opt_s", "column": "c_s"},)";
  const std::vector<BadMapping> cases = {
      {"unknown field", edited(kMapping, R"("field": "opt_s")", R"("field": "nope")"), "field nope"},
      {"required field unmapped", edited(kMapping, R"({"field": "b", "column": "c_b"},)", ""), "field b"},
      {"codes on an int", edited(kMapping, R"("column": "c_i"})", R"("column": "c_i", "codes": {"1": "x"}})"),
       "field i"},
      {"code target not a symbol", edited(kMapping, R"("column": "c_e"})", R"("column": "c_e", "codes": {"1": "Z"}})"),
       "'Z'"},
      {"primary key unmapped", edited(kMapping, R"("primary_key": "s")", R"("primary_key": "fixed_text")"),
       "primary_key fixed_text"},
      {"primary key of wrong type", edited(kMapping, R"("primary_key": "s")", R"("primary_key": "d")"),
       "primary_key d"},
      {"format on a string", edited(kMapping, R"("column": "c_s"})", R"("column": "c_s", "format": "YYYY"})"),
       "field s"},
      {"bad format", edited(kMapping, R"("format": "YYYYMMDD")", R"("format": "YYYY-MM")"), "field opt_day"},
      {"no timezone", edited(kMapping, R"("source_timezone": "+08:00",)", ""), "source_timezone"},
      {"bad timezone", edited(kMapping, R"("+08:00")", R"("Asia/Shanghai")"), "source_timezone"},
      {"unknown key", edited(kMapping, R"("resource": "sample",)", R"("resource": "sample", "colour": 1,)"),
       "'colour'"},
      {"mapped twice", edited(kMapping, opt_s_line, opt_s_line + opt_s_line), "mapped twice"},
      {"not JSON", "{", "not valid JSON"},
      {"no fields", R"({"resource": "r", "schema": "s.avsc", "primary_key": "s", "fields": []})", "\"fields\""},
      {"field without column", edited(kMapping, R"("column": "c_b")", R"("col": "c_b")"), "'col'"},
  };
  for (const auto& c : cases) {
    auto mapper = build(c.mapping);
    ASSERT_FALSE(mapper.has_value()) << c.what;
    EXPECT_EQ(mapper.status().code(), StatusCode::kConfig) << c.what;
    EXPECT_NE(mapper.status().message().find("/maps/sample.mapping.json"), std::string::npos)
        << c.what << ": " << mapper.status().message();
    EXPECT_NE(mapper.status().message().find(c.expected_in_message), std::string::npos)
        << c.what << ": " << mapper.status().message();
  }
}

TEST(RecordMapperConfigTest, UnsupportedSchemaShapes) {
  const std::string with_array = edited(kSchema, R"({"name": "s", "type": "string"},)",
                                        R"({"name": "s", "type": "string"}, {"name": "tags", "type": {"type": "array", "items": "string"}},)");
  auto mapper = build(kMapping, with_array);
  ASSERT_FALSE(mapper.has_value());
  EXPECT_EQ(mapper.status().code(), StatusCode::kConfig);
  EXPECT_NE(mapper.status().message().find("field tags"), std::string::npos) << mapper.status().message();
}

}  // namespace
}  // namespace dxhub
