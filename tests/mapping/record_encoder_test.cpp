// RecordMapper::encode() (the compiled encoder) against the reference path,
// RecordMapper::map() + avro_value_write: the same bytes for every good row,
// the same Status for every bad one, and `out` untouched on error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/avro/avro_c_reader.h"
#include "core/avro/ocf_writer.h"
#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "sandbox/sample/household_generator.h"
#include "tests/mapping/mapper_test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using dxhub::testing::avro_c_encoding;
using dxhub::testing::OwnedRow;

// Every target type the mapping supports, both union orders, and a default
// for every type on the unmapped fields.
constexpr const char* kSchema = R"({
  "type": "record", "name": "AllTypes", "namespace": "test.encoder",
  "fields": [
    {"name": "s", "type": "string"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "b", "type": "boolean"},
    {"name": "def_s", "type": "string", "default": "缺省值"},
    {"name": "e", "type": {"type": "enum", "name": "Letter", "symbols": ["A", "B", "C"]}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "raw", "type": "bytes"},
    {"name": "def_i", "type": "int", "default": -42},
    {"name": "def_l", "type": "long", "default": 9007199254740993},
    {"name": "opt_s", "type": ["null", "string"], "default": null},
    {"name": "opt_l", "type": ["long", "null"], "default": 0},
    {"name": "opt_day", "type": ["null", {"type": "int", "logicalType": "date"}], "default": null},
    {"name": "coded", "type": "string"},
    {"name": "coded_e", "type": {"type": "enum", "name": "Sex", "symbols": ["MALE", "FEMALE"]}},
    {"name": "def_f", "type": "float", "default": 1.25},
    {"name": "def_d", "type": "double", "default": -0.5},
    {"name": "def_b", "type": "boolean", "default": true},
    {"name": "def_e", "type": "Letter", "default": "B"},
    {"name": "def_bytes", "type": "bytes", "default": "ab"},
    {"name": "def_opt", "type": ["null", "string"], "default": null},
    {"name": "def_opt_l", "type": ["long", "null"], "default": -7},
    {"name": "def_ts", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": -1}
  ]})";

// Deliberately not in schema order, so that encode() (schema order) and
// map() (mapping order) meet bad fields in a different order.
constexpr const char* kMapping = R"({
  "resource": "all_types", "schema": "all_types.avsc", "primary_key": "s", "source_timezone": "+08:00",
  "fields": [
    {"field": "coded_e", "column": "c_code_e", "codes": {"M": "MALE", "F": "FEMALE"}},
    {"field": "e", "column": "c_e"},
    {"field": "opt_day", "column": "c_opt_day", "format": "YYYYMMDD"},
    {"field": "i", "column": "c_i"},
    {"field": "l", "column": "c_l"},
    {"field": "f", "column": "c_f"},
    {"field": "d", "column": "c_d"},
    {"field": "b", "column": "c_b"},
    {"field": "day", "column": "c_day"},
    {"field": "ts", "column": "c_ts"},
    {"field": "us", "column": "c_us"},
    {"field": "raw", "column": "c_raw"},
    {"field": "opt_s", "column": "c_opt_s"},
    {"field": "opt_l", "column": "c_opt_l"},
    {"field": "coded", "column": "c_code", "codes": {"01": "城镇", "02": "农村", "03": ""}},
    {"field": "s", "column": "c_s"}
  ]})";

// One column of the synthetic source: the values it may hold.
struct ColumnValues {
  std::string name;
  std::vector<std::function<void(OwnedRow&)>> good;
  std::vector<std::function<void(OwnedRow&)>> bad;  // each makes map() fail
};

std::function<void(OwnedRow&)> text(std::string v) { return [v](OwnedRow& r) { r.text(v); }; }
std::function<void(OwnedRow&)> integer(int64_t v) { return [v](OwnedRow& r) { r.integer(v); }; }
std::function<void(OwnedRow&)> real(double v) { return [v](OwnedRow& r) { r.real(v); }; }
std::function<void(OwnedRow&)> blob(std::string v) { return [v](OwnedRow& r) { r.blob(v); }; }
std::function<void(OwnedRow&)> null() { return [](OwnedRow& r) { r.null(); }; }

std::string long_chinese(size_t chars) {
  std::string out;
  for (size_t i = 0; i < chars; ++i) out += (i % 2 ? "冶" : "大");
  return out;
}

std::vector<ColumnValues> columns() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return {
      {"c_s",
       {text("张三"), text(""), text("欧阳·娜娜 湖北省大冶市"), text(long_chinese(100)), text(std::string(300, 'x')),
        integer(-12), integer(kMin), real(0.1), real(-1e300), blob("plain")},
       {text("\xD5\xC5\xC8\xFD"), null(), blob("\xFF")}},
      {"c_i",
       {text("0"), text("-1"), text("2147483647"), text("-2147483648"), integer(63), integer(64), integer(-64),
        integer(-65), integer(8191), integer(8192), real(3.0), real(-0.0)},
       {text("2147483648"), text("12a"), text(""), real(3.5), null(), integer(int64_t{1} << 31)}},
      {"c_l",
       {text("-9223372036854775808"), text("9223372036854775807"), integer(int64_t{1} << 62), integer(-1),
        integer(kMax), integer(kMin), real(-9007199254740992.0), text("007")},
       {text("9223372036854775808"), real(1e19), real(std::nan("")), text(" 1")}},
      {"c_f",
       {text("1.5"), text("-0.0"), text("3.4e38"), integer(7), real(1e-45), real(0.1), real(-123456.789),
        text("16777217")},
       {text("1e39"), real(std::numeric_limits<double>::infinity()), text("abc")}},
      {"c_d",
       {text("2.5"), real(-1e308), real(4.9e-324), integer(kMax), text("-0"), real(0.1), text("6.02214076e23")},
       {text("abc"), real(std::nan("")), text("1e400")}},
      {"c_b", {text("true"), text("false"), text("1"), text("0"), integer(0), integer(1)},
       {text("yes"), integer(2), real(1.0)}},
      {"c_e", {text("A"), text("B"), text("C")}, {text("D"), integer(1), text("")}},
      {"c_day", {text("1969-12-31"), text("2024-02-29"), text("1900-03-01"), integer(-5), integer(INT32_MIN)},
       {text("1900-02-29"), integer(int64_t{1} << 40), text(""), text("2024-2-29")}},
      {"c_ts",
       {text("2025-01-01 08:00:00"), text("1900-01-01 00:00:00"), text("2099-12-31 23:59:59"),
        integer(1700000000123), integer(-1)},
       {text("2025-01-01 24:00:00"), text("bad")}},
      {"c_us", {text("1970-01-01 08:00:00"), text("1969-12-31 23:59:59"), integer(kMin)}, {text("1970-01-01")}},
      {"c_raw", {text("abc"), text(""), blob(std::string("\x00\x01\xFF", 3)), blob(std::string(200, '\x80'))},
       {integer(5), null()}},
      {"c_opt_s", {null(), text(""), text("文本"), integer(0)}, {text("\xC3")}},
      {"c_opt_l", {null(), text(""), text("-9223372036854775808"), integer(300), integer(0)}, {text("x")}},
      {"c_opt_day", {text(""), null(), text("20240229"), text("19700101")}, {text("20230230"), integer(kMax)}},
      {"c_code", {text("01"), text("02"), text("03")}, {text("04"), integer(1)}},
      {"c_code_e", {text("M"), text("F")}, {text("X"), null()}},
  };
}

std::vector<std::string> column_names(const std::vector<ColumnValues>& cols) {
  std::vector<std::string> names;
  for (const auto& c : cols) names.push_back(c.name);
  return names;
}

Expected<RecordMapper> build_mapper(const avro::Schema& schema) {
  DXHUB_ASSIGN_OR_RETURN(auto spec, mapping::parse_mapping_spec(kMapping, "/maps/all_types.mapping.json"));
  return RecordMapper::build(spec, schema);
}

// map() + avro_value_write and encode() on one row must agree.
struct Comparison {
  Status mapped;
  Status encoded;
  std::string reference;  // avro-c's bytes when mapped
  std::string out;        // after encode(), which appended to kPrefix
};
constexpr std::string_view kPrefix = "earlier records\x01";

Comparison compare(const RecordMapper& mapper, avro::Value& value, const RowView& row) {
  Comparison c;
  avro_value_reset(value.get());
  c.mapped = mapper.map(row, value.get());
  if (c.mapped.is_ok()) c.reference = avro_c_encoding(value.get());
  c.out = kPrefix;
  c.encoded = mapper.encode(row, c.out);
  return c;
}

void expect_same(const Comparison& c, const std::string& what) {
  ASSERT_EQ(c.mapped.code(), c.encoded.code()) << what << ": " << c.mapped.to_string() << " vs " << c.encoded.to_string();
  ASSERT_EQ(c.mapped.message(), c.encoded.message()) << what;
  if (c.mapped.is_ok()) {
    ASSERT_EQ(c.out.substr(0, kPrefix.size()), kPrefix) << what;
    ASSERT_EQ(c.out.substr(kPrefix.size()), c.reference) << what;
  } else {
    ASSERT_EQ(c.out, kPrefix) << what << ": out was not restored";
  }
}

class RecordEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = avro::Schema::from_json(kSchema);
    ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
    schema_.emplace(std::move(*schema));
    auto value = schema_->new_value();
    ASSERT_TRUE(value.has_value());
    value_.emplace(std::move(*value));
    auto mapper = build_mapper(*schema_);
    ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
    mapper_.emplace(std::move(*mapper));
    ASSERT_TRUE(mapper_->bind(column_names(cols_)).is_ok());
  }

  // Column `c` takes good value `g` (or bad value `b` when b >= 0); other
  // columns their first good value.
  OwnedRow row_with(size_t c, size_t g, int b = -1) {
    OwnedRow row;
    for (size_t k = 0; k < cols_.size(); ++k) {
      if (k != c) cols_[k].good[0](row);
      else if (b >= 0) cols_[k].bad[static_cast<size_t>(b)](row);
      else cols_[k].good[g](row);
    }
    return row;
  }

  std::vector<ColumnValues> cols_ = columns();
  std::optional<avro::Schema> schema_;
  std::optional<avro::Value> value_;
  std::optional<RecordMapper> mapper_;
};

TEST_F(RecordEncoderTest, EveryGoodAndBadValueOfEveryColumn) {
  int good = 0, bad = 0;
  for (size_t c = 0; c < cols_.size(); ++c) {
    for (size_t g = 0; g < cols_[c].good.size(); ++g) {
      const Comparison cmp = compare(*mapper_, *value_, row_with(c, g).view());
      ASSERT_TRUE(cmp.mapped.is_ok()) << cols_[c].name << " good #" << g << ": " << cmp.mapped.to_string();
      expect_same(cmp, cols_[c].name + " good #" + std::to_string(g));
      ++good;
    }
    for (size_t b = 0; b < cols_[c].bad.size(); ++b) {
      const Comparison cmp = compare(*mapper_, *value_, row_with(c, 0, static_cast<int>(b)).view());
      ASSERT_FALSE(cmp.mapped.is_ok()) << cols_[c].name << " bad #" << b;
      EXPECT_EQ(cmp.mapped.code(), StatusCode::kData) << cmp.mapped.to_string();
      expect_same(cmp, cols_[c].name + " bad #" + std::to_string(b));
      ++bad;
    }
  }
  EXPECT_GT(good, 80);
  EXPECT_GT(bad, 35);
}

TEST_F(RecordEncoderTest, RandomRowsGiveTheSameBytesAndTheSameErrors) {
  std::mt19937_64 rng(20260101);
  int ok_rows = 0, bad_rows = 0;
  for (int n = 0; n < 20000; ++n) {
    OwnedRow row;
    for (const auto& col : cols_) {
      // About one column in thirty is bad: rows with none, one and several bad fields.
      const bool pick_bad = !col.bad.empty() && rng() % 30 == 0;
      const auto& pool = pick_bad ? col.bad : col.good;
      pool[rng() % pool.size()](row);
    }
    const Comparison cmp = compare(*mapper_, *value_, row.view());
    expect_same(cmp, "row " + std::to_string(n));
    if (::testing::Test::HasFatalFailure()) return;
    (cmp.mapped.is_ok() ? ok_rows : bad_rows)++;
  }
  EXPECT_GT(ok_rows, 5000);
  EXPECT_GT(bad_rows, 5000);
}

TEST_F(RecordEncoderTest, SeveralBadFieldsReportTheFirstInMappingOrder) {
  // s comes first in the schema, e before it in the mapping.
  OwnedRow row;
  for (size_t k = 0; k < cols_.size(); ++k) {
    if (cols_[k].name == "c_s") cols_[k].bad[0](row);
    else if (cols_[k].name == "c_e") text("Z")(row);
    else cols_[k].good[0](row);
  }
  const Comparison cmp = compare(*mapper_, *value_, row.view());
  EXPECT_EQ(cmp.encoded.message(), "field e (column c_e): text is not a symbol of the enum");
  expect_same(cmp, "two bad fields");
}

TEST_F(RecordEncoderTest, KnownBytesForDefaultsAndUnions) {
  // A hand-checked row: the encoding does not merely agree with avro-c, it
  // is the Avro binary format.
  const OwnedRow row = row_with(SIZE_MAX, 0);
  std::string out;
  ASSERT_TRUE(mapper_->encode(row.view(), out).is_ok());
  const std::string s = "张三";
  std::string expected;
  expected += static_cast<char>(s.size() * 2) + s;  // s
  expected += '\x00';                                // i = 0
  expected += std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01", 10);  // l = INT64_MIN
  expected += std::string("\x00\x00\xC0\x3F", 4);   // f = 1.5f
  expected += std::string("\x00\x00\x00\x00\x00\x00\x04\x40", 8);  // d = 2.5
  expected += '\x01';                                // b = true
  const std::string def_s = "缺省值";
  expected += static_cast<char>(def_s.size() * 2) + def_s;
  expected += '\x00';                                // e = A
  expected += '\x01';                                // day = -1
  expected += std::string("\x80\xF0\xCB\xF2\x83\x65", 6);  // ts = 1735689600000
  expected += '\x00';                                // us = 0
  expected += std::string("\x06" "abc", 4);          // raw
  expected += 'S';                                   // def_i = -42
  expected += std::string("\x82\x80\x80\x80\x80\x80\x80\x20", 8);  // def_l = 2^53 + 1
  expected += '\x00';                                // opt_s: null branch
  expected += '\x02';                                // opt_l: null is branch 1
  expected += '\x00';                                // opt_day: null ("" in a nullable date)
  const std::string town = "城镇";
  expected += static_cast<char>(town.size() * 2) + town;  // coded
  expected += '\x00';                                // coded_e = MALE
  expected += std::string("\x00\x00\xA0\x3F", 4);   // def_f = 1.25f
  expected += std::string("\x00\x00\x00\x00\x00\x00\xE0\xBF", 8);  // def_d = -0.5
  expected += '\x01';                                // def_b
  expected += '\x02';                                // def_e = B
  expected += std::string("\x04" "ab", 3);           // def_bytes
  expected += '\x00';                                // def_opt: null
  expected += std::string("\x00\x0D", 2);            // def_opt_l: branch 0, -7
  expected += '\x01';                                // def_ts = -1
  EXPECT_EQ(out, expected);
  expect_same(compare(*mapper_, *value_, row.view()), "known row");
}

TEST_F(RecordEncoderTest, ShortRowsAndUnboundMappers) {
  OwnedRow short_row;
  short_row.text("01");
  std::string out = "keep";
  const Status s = mapper_->encode(short_row.view(), out);
  EXPECT_EQ(s.code(), StatusCode::kData);
  EXPECT_EQ(s.message(), mapper_->map(short_row.view(), value_->get()).message());
  EXPECT_EQ(out, "keep");
  auto unbound = build_mapper(*schema_);
  ASSERT_TRUE(unbound.has_value());
  EXPECT_EQ(unbound->encode(row_with(SIZE_MAX, 0).view(), out).code(), StatusCode::kInternal);
  EXPECT_EQ(out, "keep");
}

TEST_F(RecordEncoderTest, TextWithoutItsNulIsAnInternalErrorOnBothPaths) {
  const std::string backing = "张三X";
  std::vector<FieldValue> cells;
  OwnedRow base = row_with(SIZE_MAX, 0);
  for (size_t k = 0; k < cols_.size(); ++k) cells.push_back(base.view()[k]);
  cells[0] = FieldValue::text(std::string_view(backing).substr(0, 6));  // c_s: no NUL after
  const Comparison cmp = compare(*mapper_, *value_, RowView{cells.data(), cells.size()});
  EXPECT_EQ(cmp.encoded.code(), StatusCode::kInternal);
  expect_same(cmp, "text without NUL");
}

// The real household schema and mapping over generated rows, and the OCF
// written by append_with() read back by avro-c.
class HouseholdEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dxhub_household_encoder_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HouseholdEncoderTest, TwentyThousandRowsEncodeAsAvroCWritesThem) {
  const std::string mappings = std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security/";
  const std::string db_path = (dir_ / "household.db").string();
  sample::HouseholdOptions opt;
  opt.rows = 20000;
  ASSERT_TRUE(sample::generate_household_db(db_path, opt).is_ok());
  auto schema = avro::Schema::from_file(mappings + "household_population.avsc");
  ASSERT_TRUE(schema.has_value());
  auto mapper = RecordMapper::load(mappings + "household_population.mapping.json", *schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(db.has_value());
  auto stmt = db->prepare("SELECT * FROM household_population ORDER BY id");
  ASSERT_TRUE(stmt.has_value());
  std::vector<std::string> names;
  for (int c = 0; c < stmt->column_count(); ++c) names.emplace_back(stmt->column_name(c));
  ASSERT_TRUE(mapper->bind(names).is_ok());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());

  avro::OcfWriter writer(*schema, avro::Codec::kSnappy, /*block_target_bytes=*/16 * 1024);
  ASSERT_TRUE(writer.begin({{"dxhub.resource", "household_population"}}).is_ok());
  std::vector<std::string> records;
  std::vector<FieldValue> cells(names.size());
  while (*stmt->step()) {
    for (int c = 0; c < stmt->column_count(); ++c) {
      if (stmt->column_is_null(c)) cells[c] = FieldValue::null();
      else if (stmt->column_type(c) == SQLITE_INTEGER) cells[c] = FieldValue::integer(stmt->column_int64(c));
      else cells[c] = FieldValue::text(stmt->column_text(c));
    }
    const RowView row{cells.data(), cells.size()};
    const Comparison cmp = compare(*mapper, *value, row);
    ASSERT_TRUE(cmp.mapped.is_ok()) << cmp.mapped.to_string();
    expect_same(cmp, "household row " + std::to_string(records.size()));
    records.push_back(cmp.reference);
    Status appended = writer.append_with([&](std::string& block) { return mapper->encode(row, block); });
    ASSERT_TRUE(appended.is_ok()) << appended.to_string();
  }
  ASSERT_EQ(records.size(), 20000u);
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());

  size_t index = 0;
  auto decoded = avro::read_ocf_with_avro_c(file, [&](avro_value_t* record) {
    EXPECT_LT(index, records.size());
    if (index < records.size()) {
      EXPECT_EQ(avro_c_encoding(record), records[index]) << "record " << index;
    }
    ++index;
    return Status::ok();
  });
  ASSERT_TRUE(decoded.has_value()) << decoded.status().to_string();
  EXPECT_EQ(decoded->record_count, 20000);
  EXPECT_EQ(index, 20000u);
  EXPECT_GT(decoded->block_count, 50);  // ~170-byte records in 16 KiB blocks
}

// The same rows through append() and through append_encoded()/append_with():
// the same blocks, and avro-c reads the same records from both files.
TEST_F(RecordEncoderTest, OcfFromEncodedRecordsMatchesOcfFromAvroCValues) {
  std::mt19937_64 rng(7);
  std::vector<OwnedRow> rows;
  rows.reserve(500);  // OwnedRow's views point into its own strings: never copy one
  while (rows.size() < 500) {
    OwnedRow row;
    for (const auto& col : cols_) col.good[rng() % col.good.size()](row);
    rows.push_back(std::move(row));
  }
  auto write = [&](int how) {
    avro::OcfWriter writer(*schema_, avro::Codec::kDeflate, /*block_target_bytes=*/4096);
    EXPECT_TRUE(writer.begin({}).is_ok());
    std::string scratch;
    for (const OwnedRow& row : rows) {
      Status s;
      if (how == 0) {
        avro_value_reset(value_->get());
        s = mapper_->map(row.view(), value_->get());
        if (s.is_ok()) s = writer.append(value_->get());
      } else if (how == 1) {
        scratch.clear();
        s = mapper_->encode(row.view(), scratch);
        if (s.is_ok()) s = writer.append_encoded(scratch);
      } else {
        s = writer.append_with([&](std::string& block) { return mapper_->encode(row.view(), block); });
      }
      EXPECT_TRUE(s.is_ok()) << s.to_string();
    }
    std::string file;
    EXPECT_TRUE(writer.finish(file).is_ok());
    return file;
  };
  std::vector<std::vector<std::string>> decoded_records(3);
  std::vector<int64_t> blocks(3);
  for (int how = 0; how < 3; ++how) {
    const std::string file = write(how);
    auto decoded = avro::read_ocf_with_avro_c(file, [&](avro_value_t* record) {
      decoded_records[how].push_back(avro_c_encoding(record));
      return Status::ok();
    });
    ASSERT_TRUE(decoded.has_value()) << how << ": " << decoded.status().to_string();
    EXPECT_EQ(decoded->record_count, 500);
    blocks[how] = decoded->block_count;
  }
  EXPECT_GT(blocks[0], 5);
  EXPECT_EQ(blocks[1], blocks[0]);
  EXPECT_EQ(blocks[2], blocks[0]);
  EXPECT_EQ(decoded_records[1], decoded_records[0]);
  EXPECT_EQ(decoded_records[2], decoded_records[0]);
}

}  // namespace
}  // namespace dxhub
