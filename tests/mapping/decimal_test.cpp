// Avro decimal (bytes and fixed): the exact conversion, both encoders giving
// the same bytes, python3-avro reading back exactly the source value, and
// the schema constructs the mapping refuses at load.
#include "core/mapping/decimal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/mapping/record_mapper.h"
#include "tests/mapping/mapper_test_support.h"

namespace dxhub {
namespace {

using dxhub::testing::avro_c_encoding;
using dxhub::testing::OwnedRow;
using mapping::DecimalProblem;
using mapping::DecimalSpec;

std::string hex(const char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    out += {kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

// The encoded unscaled value as hex, or "!" + the problem.
std::string text_to_hex(std::string_view text, int precision, int scale, int fixed_size = 0) {
  char out[40];
  size_t length = 0;
  const DecimalProblem p = mapping::decimal_from_text(text, DecimalSpec{precision, scale, fixed_size}, out, length);
  if (p != DecimalProblem::kOk) return "!" + std::to_string(static_cast<int>(p));
  return hex(out, length);
}
std::string int_to_hex(int64_t v, int precision, int scale, int fixed_size = 0) {
  char out[40];
  size_t length = 0;
  const DecimalProblem p = mapping::decimal_from_integer(v, DecimalSpec{precision, scale, fixed_size}, out, length);
  if (p != DecimalProblem::kOk) return "!" + std::to_string(static_cast<int>(p));
  return hex(out, length);
}
std::string real_to_hex(double v, int precision, int scale, int fixed_size = 0) {
  char out[40];
  size_t length = 0;
  const DecimalProblem p = mapping::decimal_from_real(v, DecimalSpec{precision, scale, fixed_size}, out, length);
  if (p != DecimalProblem::kOk) return "!" + std::to_string(static_cast<int>(p));
  return hex(out, length);
}
const std::string kExceeds = "!" + std::to_string(static_cast<int>(DecimalProblem::kExceedsPrecision));
const std::string kMalformed = "!" + std::to_string(static_cast<int>(DecimalProblem::kNotDecimal));
const std::string kNotFinite = "!" + std::to_string(static_cast<int>(DecimalProblem::kNotFinite));

// Minimal two's-complement big-endian bytes of a 64-bit value: the
// independent reference for the randomized check.
std::string reference_hex(int64_t v) {
  for (int n = 1; n <= 8; ++n) {
    const bool fits = n == 8 || (v >= -(int64_t{1} << (8 * n - 1)) && v < (int64_t{1} << (8 * n - 1)));
    if (!fits) continue;
    std::string bytes;
    for (int i = n - 1; i >= 0; --i) bytes.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
    return hex(bytes.data(), bytes.size());
  }
  return "?";
}

TEST(DecimalTest, TextToUnscaledTwosComplement) {
  EXPECT_EQ(text_to_hex("195251.02", 12, 2), "0129edee");  // 19525102
  EXPECT_EQ(text_to_hex("195251.020", 12, 2), "0129edee");
  EXPECT_EQ(text_to_hex("195251.2", 12, 2), "0129ee00");  // padded: 19525120
  EXPECT_EQ(text_to_hex("+1.27", 3, 2), "7f");
  EXPECT_EQ(text_to_hex("1.28", 3, 2), "0080");           // 128 needs a sign byte
  EXPECT_EQ(text_to_hex("-1.28", 3, 2), "80");
  EXPECT_EQ(text_to_hex("-1.29", 3, 2), "ff7f");
  EXPECT_EQ(text_to_hex("-0.01", 3, 2), "ff");
  EXPECT_EQ(text_to_hex("0", 3, 2), "00");
  EXPECT_EQ(text_to_hex("-0.00", 3, 2), "00");            // no negative zero
  EXPECT_EQ(text_to_hex("000000000000000000000000000000000000000000000000001", 1, 0), "01");
  EXPECT_EQ(text_to_hex("99999999999999999999999999999999999999", 38, 0), "4b3b4ca85a86c47a098a223fffffffff");
  EXPECT_EQ(text_to_hex("-9999999999999999999999999999999999999.9", 38, 1), "b4c4b357a5793b85f675ddc000000001");
}

TEST(DecimalTest, RoundsHalfAwayFromZero) {
  EXPECT_EQ(text_to_hex("2.345", 5, 2), "00eb");    // 2.35
  EXPECT_EQ(text_to_hex("-2.345", 5, 2), "ff15");   // -2.35
  EXPECT_EQ(text_to_hex("2.3449999", 5, 2), "00ea");  // 2.34: only the first dropped digit counts
  EXPECT_EQ(text_to_hex("2.355", 5, 2), "00ec");    // 2.36 (half-even would give 2.36 too)
  EXPECT_EQ(text_to_hex("2.365", 5, 2), "00ed");    // 2.37 (half-even would give 2.36)
  EXPECT_EQ(text_to_hex("0.005", 5, 2), "01");
  EXPECT_EQ(text_to_hex("-0.005", 5, 2), "ff");
  EXPECT_EQ(text_to_hex("-0.004", 5, 2), "00");     // rounds to zero, not -0
  EXPECT_EQ(text_to_hex("7.5", 2, 0), "08");
  EXPECT_EQ(text_to_hex("-7.5", 2, 0), "f8");
}

TEST(DecimalTest, PrecisionIsEnforcedAfterRounding) {
  EXPECT_EQ(text_to_hex("999", 3, 0), "03e7");
  EXPECT_EQ(text_to_hex("1000", 3, 0), kExceeds);
  EXPECT_EQ(text_to_hex("999.994", 5, 2), text_to_hex("999.99", 5, 2));
  EXPECT_EQ(text_to_hex("999.995", 5, 2), kExceeds);  // rounds to 1000.00: six digits
  EXPECT_EQ(text_to_hex("-999.995", 5, 2), kExceeds);
  EXPECT_EQ(text_to_hex("123456789012345678901234567890123456789", 38, 0), kExceeds);
  EXPECT_EQ(text_to_hex("1", 3, 3), kExceeds);        // 1.000 has four digits
  EXPECT_EQ(text_to_hex("0.999", 3, 3), "03e7");
}

TEST(DecimalTest, OnlyPlainDecimalTextIsAccepted) {
  for (const char* bad : {"", "+", "-", ".5", "5.", "1e5", "1E5", " 1", "1 ", "1,000", "1.2.3", "0x10", "--1",
                          "+-1", "１２", "NaN", "inf", "\xFF", "12\xC3"}) {
    EXPECT_EQ(text_to_hex(bad, 10, 2), kMalformed) << "'" << bad << "'";
  }
  // A malformed tail is reported as malformed even when the digits already overflow.
  EXPECT_EQ(text_to_hex("99999x", 3, 0), kMalformed);
}

TEST(DecimalTest, FixedIsSignExtended) {
  EXPECT_EQ(text_to_hex("-0.0001", 18, 4, 8), "ffffffffffffffff");
  EXPECT_EQ(text_to_hex("0.0001", 18, 4, 8), "0000000000000001");
  EXPECT_EQ(text_to_hex("0", 18, 4, 8), "0000000000000000");
  EXPECT_EQ(text_to_hex("-1.28", 3, 2, 2), "ff80");
  EXPECT_EQ(text_to_hex("99999999999999999999999999999999999999", 38, 0, 20),
            "000000004b3b4ca85a86c47a098a223fffffffff");
}

TEST(DecimalTest, IntegersAreExact) {
  EXPECT_EQ(int_to_hex(0, 1, 0), "00");
  EXPECT_EQ(int_to_hex(0, 3, 3), "00");
  EXPECT_EQ(int_to_hex(5, 3, 2), "01f4");  // 5.00
  EXPECT_EQ(int_to_hex(10, 3, 2), kExceeds);
  EXPECT_EQ(int_to_hex(std::numeric_limits<int64_t>::min(), 19, 0), "8000000000000000");
  EXPECT_EQ(int_to_hex(std::numeric_limits<int64_t>::min(), 21, 2), "ce0000000000000000");
  EXPECT_EQ(int_to_hex(std::numeric_limits<int64_t>::max(), 18, 0), kExceeds);
  EXPECT_EQ(int_to_hex(12345678, 8, 0), "00bc614e");
  EXPECT_EQ(int_to_hex(-1, 1, 0, 4), "ffffffff");
}

TEST(DecimalTest, RealsGoThroughTheirShortestText) {
  EXPECT_EQ(real_to_hex(195251.02, 12, 2), "0129edee");
  EXPECT_EQ(real_to_hex(0.1, 3, 2), "0a");
  EXPECT_EQ(real_to_hex(2.675, 5, 2), text_to_hex("2.68", 5, 2));  // shortest text is 2.675, not 2.67499...
  EXPECT_EQ(real_to_hex(-0.0, 3, 2), "00");
  EXPECT_EQ(real_to_hex(5e-324, 3, 2), "00");
  EXPECT_EQ(real_to_hex(1e300, 38, 0), kExceeds);
  EXPECT_EQ(real_to_hex(1e20, 21, 0), text_to_hex("100000000000000000000", 21, 0));
  EXPECT_EQ(real_to_hex(std::nan(""), 10, 2), kNotFinite);
  EXPECT_EQ(real_to_hex(std::numeric_limits<double>::infinity(), 10, 2), kNotFinite);
  EXPECT_EQ(real_to_hex(-std::numeric_limits<double>::infinity(), 10, 2), kNotFinite);
}

TEST(DecimalTest, RandomValuesMatchAnInt64Reference) {
  std::mt19937_64 rng(420281);
  for (int n = 0; n < 20000; ++n) {
    const int scale = static_cast<int>(rng() % 7);
    const int64_t unscaled = static_cast<int64_t>(rng() % 2000000000000000000ULL) - 1000000000000000000LL;
    const int64_t shift = n % 3 == 0 ? 1000000 : 1;  // sometimes small values
    const int64_t v = unscaled / shift;
    // Text of v / 10^scale.
    const uint64_t abs = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    std::string digits = std::to_string(abs);
    if (static_cast<int>(digits.size()) <= scale) digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    std::string text = (v < 0 ? "-" : "") + digits.substr(0, digits.size() - static_cast<size_t>(scale));
    if (scale > 0) text += "." + digits.substr(digits.size() - static_cast<size_t>(scale));
    ASSERT_EQ(text_to_hex(text, 18, scale), reference_hex(v)) << text;
    // One more digit: rounds half away from zero.
    const int extra = static_cast<int>(rng() % 10);
    const std::string longer = (scale > 0 ? text : text + ".") + std::to_string(extra);
    const int64_t rounded = extra >= 5 ? (v < 0 ? v - 1 : v + 1) : v;
    ASSERT_EQ(text_to_hex(longer, 18, scale), reference_hex(rounded)) << longer;
    if (scale == 0) {
      ASSERT_EQ(int_to_hex(v, 18, 0), reference_hex(v)) << v;
    }
  }
}

// ---- The mapper with decimal fields ----

constexpr const char* kSchema = R"({
  "type": "record", "name": "Payment", "namespace": "test.decimal",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "rate", "type": {"type": "fixed", "name": "Money8", "size": 8, "logicalType": "decimal",
                              "precision": 18, "scale": 4}},
    {"name": "fee", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10}], "default": null},
    {"name": "tax", "type": "Money8"},
    {"name": "raw", "type": "bytes", "default": "\u00ffA"}
  ]})";

constexpr const char* kMapping = R"({
  "resource": "payment", "schema": "payment.avsc", "primary_key": "id",
  "fields": [
    {"field": "id", "column": "c_id"},
    {"field": "tax", "column": "c_tax"},
    {"field": "amount", "column": "c_amount"},
    {"field": "rate", "column": "c_rate"},
    {"field": "fee", "column": "c_fee"}
  ]})";

Expected<RecordMapper> build(const std::string& mapping_json, const std::string& schema_json) {
  DXHUB_ASSIGN_OR_RETURN(auto spec, mapping::parse_mapping_spec(mapping_json, "/maps/payment.mapping.json"));
  DXHUB_ASSIGN_OR_RETURN(auto schema, avro::Schema::from_json(schema_json));
  return RecordMapper::build(spec, schema);
}

class DecimalMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = avro::Schema::from_json(kSchema);
    ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
    schema_.emplace(std::move(*schema));
    auto value = schema_->new_value();
    ASSERT_TRUE(value.has_value());
    value_.emplace(std::move(*value));
    auto mapper = build(kMapping, kSchema);
    ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
    mapper_.emplace(std::move(*mapper));
    ASSERT_TRUE(mapper_->bind({"c_id", "c_amount", "c_rate", "c_fee", "c_tax"}).is_ok());
  }

  // map()+avro_value_write and encode() agree; returns the bytes or the error.
  Expected<std::string> both(const OwnedRow& row) {
    avro_value_reset(value_->get());
    const Status mapped = mapper_->map(row.view(), value_->get());
    std::string out = "x";
    const Status encoded = mapper_->encode(row.view(), out);
    EXPECT_EQ(mapped.code(), encoded.code()) << mapped.to_string() << " / " << encoded.to_string();
    EXPECT_EQ(mapped.message(), encoded.message());
    if (!mapped.is_ok()) {
      EXPECT_EQ(out, "x");
      return mapped;
    }
    EXPECT_EQ(out.substr(1), avro_c_encoding(value_->get()));
    return out.substr(1);
  }

  std::optional<avro::Schema> schema_;
  std::optional<avro::Value> value_;
  std::optional<RecordMapper> mapper_;
};

OwnedRow payment(std::function<void(OwnedRow&)> amount, std::function<void(OwnedRow&)> rate = nullptr,
                 std::function<void(OwnedRow&)> fee = nullptr) {
  OwnedRow row;
  row.text("p1");
  amount(row);
  if (rate) rate(row); else row.text("0.0425");
  if (fee) fee(row); else row.null();
  row.text("-1.5");
  return row;
}
std::function<void(OwnedRow&)> text(std::string v) { return [v](OwnedRow& r) { r.text(v); }; }
std::function<void(OwnedRow&)> integer(int64_t v) { return [v](OwnedRow& r) { r.integer(v); }; }
std::function<void(OwnedRow&)> real(double v) { return [v](OwnedRow& r) { r.real(v); }; }
std::function<void(OwnedRow&)> blob(std::string v) { return [v](OwnedRow& r) { r.blob(v); }; }
std::function<void(OwnedRow&)> null() { return [](OwnedRow& r) { r.null(); }; }

TEST_F(DecimalMapperTest, KnownBytesOnBothPaths) {
  auto bytes = both(payment(text("195251.02")));
  ASSERT_TRUE(bytes.has_value()) << bytes.status().to_string();
  std::string expected = std::string("\x04" "p1", 3);
  expected += std::string("\x08\x01\x29\xed\xee", 5);                     // amount: 4 bytes, 19525102
  expected += std::string("\x00\x00\x00\x00\x00\x00\x01\xa9", 8);         // rate: fixed 8, 425
  expected += '\x00';                                                       // fee: null
  expected += std::string("\xff\xff\xff\xff\xff\xff\xc5\x68", 8);         // tax: -15000
  expected += std::string("\x04\xff" "A", 3);                              // raw default: U+00FF is byte FF
  EXPECT_EQ(hex(bytes->data(), bytes->size()), hex(expected.data(), expected.size()));
}

TEST_F(DecimalMapperTest, GoodAndBadValuesAgreeOnBothPaths) {
  for (const auto& amount : {text("0"), text("-0.01"), text("9999999999.99"), text("-9999999999.994"), integer(0),
                             integer(-9999999999), real(0.1), real(-1234.565), text("00012.3")}) {
    for (const auto& fee : {null(), text(""), text("42"), integer(9999999999), real(1e9)}) {
      auto bytes = both(payment(amount, nullptr, fee));
      EXPECT_TRUE(bytes.has_value()) << bytes.status().to_string();
    }
  }
  struct Bad {
    std::function<void(OwnedRow&)> amount, rate, fee;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {text("10000000000"), nullptr, nullptr, "field amount (column c_amount): text exceeds the precision of decimal(12,2)"},
      {text("9999999999.995"), nullptr, nullptr, "field amount (column c_amount): text exceeds the precision of decimal(12,2)"},
      {integer(10000000000), nullptr, nullptr, "field amount (column c_amount): integer exceeds the precision of decimal(12,2)"},
      {real(1e10), nullptr, nullptr, "field amount (column c_amount): real exceeds the precision of decimal(12,2)"},
      {real(std::nan("")), nullptr, nullptr, "field amount (column c_amount): real is not a finite number for decimal(12,2)"},
      {real(-INFINITY), nullptr, nullptr, "field amount (column c_amount): real is not a finite number for decimal(12,2)"},
      {text("1.5e3"), nullptr, nullptr, "field amount (column c_amount): text is not a decimal(12,2) number ([+-]digits[.digits])"},
      {text("¥12.00"), nullptr, nullptr, "field amount (column c_amount): text is not a decimal(12,2) number ([+-]digits[.digits])"},
      {text("\xB1\xB1\xBE\xA9"), nullptr, nullptr, "field amount (column c_amount): text is not a decimal(12,2) number ([+-]digits[.digits])"},
      {blob("12"), nullptr, nullptr, "field amount (column c_amount): blob is not a decimal(12,2) number ([+-]digits[.digits])"},
      {null(), nullptr, nullptr, "field amount (column c_amount): NULL is not allowed: the field is not nullable"},
      {text(""), nullptr, nullptr, "field amount (column c_amount): text is not a decimal(12,2) number ([+-]digits[.digits])"},
      {text("1"), text("99999999999999.99995"), nullptr, "field rate (column c_rate): text exceeds the precision of decimal(18,4)"},
      {text("1"), nullptr, text("12345678901"), "field fee (column c_fee): text exceeds the precision of decimal(10,0)"},
  };
  for (const Bad& b : bad) {
    auto bytes = both(payment(b.amount, b.rate, b.fee));
    ASSERT_FALSE(bytes.has_value()) << b.message;
    EXPECT_EQ(bytes.status().code(), StatusCode::kData);
    EXPECT_EQ(bytes.status().message(), b.message);
  }
}

// python3-avro, an independent reader, decodes what the compiled encoder
// wrote to exactly the source value (at the field's scale).
TEST_F(DecimalMapperTest, PythonAvroReadsTheExactSourceValue) {
  struct Case {
    std::function<void(OwnedRow&)> amount;
    std::string amount_expected;
    std::string rate_text, rate_expected;
    std::function<void(OwnedRow&)> fee;
    std::string fee_expected;  // "" for null
  };
  const std::vector<Case> cases = {
      {text("195251.02"), "195251.02", "0.0425", "0.0425", null(), ""},
      {text("-195251.02"), "-195251.02", "-0.0001", "-0.0001", text("42"), "42"},
      {text("0"), "0.00", "0", "0.0000", integer(-7), "-7"},
      {text("9999999999.99"), "9999999999.99", "99999999999999.9999", "99999999999999.9999", text("9999999999"),
       "9999999999"},
      {text("-9999999999.99"), "-9999999999.99", "-99999999999999.9999", "-99999999999999.9999", text("-9999999999"),
       "-9999999999"},
      {text("2.345"), "2.35", "1.00005", "1.0001", real(2.5), "3"},   // half away from zero
      {text("-2.345"), "-2.35", "-1.00005", "-1.0001", real(-2.5), "-3"},
      {real(195251.02), "195251.02", "12.5", "12.5000", text("000123"), "123"},
      {integer(-9999999999), "-9999999999.00", "127", "127.0000", null(), ""},
      {text("+0.5"), "0.50", "0.00004", "0.0000", text("0.4"), "0"},
  };
  avro::OcfWriter writer(*schema_, avro::Codec::kNull, /*block_target_bytes=*/4096);
  ASSERT_TRUE(writer.begin({}).is_ok());
  std::vector<std::unique_ptr<OwnedRow>> rows;
  for (const Case& c : cases) {
    rows.push_back(std::make_unique<OwnedRow>(payment(c.amount, text(c.rate_text), c.fee)));
    ASSERT_TRUE(both(*rows.back()).has_value());
    const Status s = writer.append_with([&](std::string& block) { return mapper_->encode(rows.back()->view(), block); });
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("dxhub_decimal_" + std::to_string(::getpid()) + ".avro");
  std::ofstream(path, std::ios::binary).write(file.data(), static_cast<std::streamsize>(file.size()));

  const std::string command = std::string(DXHUB_PYTHON3) + " " + DXHUB_SOURCE_DIR +
                              "/tests/mapping/read_decimals.py " + path.string();
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe.get())) > 0;) output.append(buf, n);
  const int rc = pclose(pipe.release());
  std::filesystem::remove(path);
  ASSERT_EQ(rc, 0) << output;
  const auto records = nlohmann::json::parse(output, nullptr, false);
  ASSERT_TRUE(records.is_array()) << output;
  ASSERT_EQ(records.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& r = records[i];
    EXPECT_EQ(r["amount"], "decimal:" + cases[i].amount_expected) << i;
    EXPECT_EQ(r["rate"], "decimal:" + cases[i].rate_expected) << i;
    EXPECT_EQ(r["tax"], "decimal:-1.5000") << i;
    EXPECT_EQ(r["raw"], "bytes:ff41") << i;  // the default, U+00FF as byte FF
    if (cases[i].fee_expected.empty()) {
      EXPECT_TRUE(r["fee"].is_null()) << i << ": " << r.dump();
    } else {
      EXPECT_EQ(r["fee"], "decimal:" + cases[i].fee_expected) << i;
    }
  }
}

// ---- What the mapping refuses at load ----

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(DecimalConfigTest, UnsupportedConstructsAreRefusedNamingFieldAndConstruct) {
  const std::string amount = R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}})";
  const auto with_amount = [&](const std::string& field) { return replaced(kSchema, amount, field); };
  struct Refusal {
    std::string schema;
    std::vector<std::string> expected;  // each must appear in the message
  };
  const std::vector<Refusal> cases = {
      {with_amount(R"({"name": "amount", "type": {"type": "int", "logicalType": "time-millis"}})"),
       {"field amount", "logicalType time-millis on int"}},
      {with_amount(R"({"name": "amount", "type": {"type": "long", "logicalType": "time-micros"}})"),
       {"field amount", "logicalType time-micros on long"}},
      {with_amount(R"({"name": "amount", "type": {"type": "long", "logicalType": "local-timestamp-millis"}})"),
       {"field amount", "logicalType local-timestamp-millis on long"}},
      {with_amount(R"({"name": "amount", "type": {"type": "string", "logicalType": "uuid"}})"),
       {"field amount", "logicalType uuid on string"}},
      {with_amount(R"({"name": "amount", "type": {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}})"),
       {"field amount", "logicalType duration on fixed"}},
      {with_amount(R"({"name": "amount", "type": {"type": "long", "logicalType": "date"}})"),
       {"field amount", "logicalType date on long"}},
      {with_amount(R"({"name": "amount", "type": {"type": "string", "logicalType": "decimal", "precision": 4}})"),
       {"field amount", "logicalType decimal on string"}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "big-number"}})"),
       {"field amount", "logicalType big-number on bytes"}},
      {with_amount(R"({"name": "amount", "type": {"type": "fixed", "name": "F", "size": 4}})"),
       {"field amount", "cannot fill fixed"}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 39}})"),
       {"field amount", "decimal precision 39 is above 38"}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "scale": 2}})"),
       {"field amount", "decimal needs \"precision\""}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 0}})"),
       {"field amount", "precision must be at least 1"}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 5}})"),
       {"field amount", "scale is greater than its precision"}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": -1}})"),
       {"field amount", "decimal \"scale\""}},
      {with_amount(R"({"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": "12"}})"),
       {"field amount", "decimal \"precision\""}},
      {with_amount(R"({"name": "amount", "type": {"type": "fixed", "name": "F2", "size": 2, "logicalType": "decimal", "precision": 5}})"),
       {"field amount", "decimal precision 5 does not fit in fixed of size 2"}},
      {with_amount(R"({"name": "amount", "type": {"type": "fixed", "name": "F40", "size": 40, "logicalType": "decimal", "precision": 5}})"),
       {"field amount", "decimal on fixed of size 40"}},
      {with_amount(R"({"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 4}], "default": "\u0001"})"),
       {"field amount", "default"}},
      {with_amount(R"({"name": "amount", "type": [{"type": "bytes", "logicalType": "decimal", "precision": 4}, "null"], "default": "\u0001"})"),
       {"field amount", "a default on a decimal field is not supported"}},
      {with_amount(R"({"name": "amount", "type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2})"),
       {"field amount", "logicalType is written on the field"}},
      {with_amount(R"({"name": "amount", "type": {"type": "map", "values": "string"}})"), {"field amount", "cannot fill map"}},
      {with_amount(R"({"name": "amount", "type": {"type": "array", "items": "long"}})"), {"field amount", "cannot fill array"}},
      {with_amount(R"({"name": "amount", "type": {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "int"}]}})"),
       {"field amount", "cannot fill record"}},
      {with_amount(R"({"name": "amount", "type": ["null", "string", "long"]})"), {"field amount", "unions"}},
      {with_amount(R"({"name": "amount", "type": ["string", "long"]})"), {"field amount", "unions"}},
      {replaced(kSchema, R"("default": "\u00ffA")", R"("default": "\u0100")"),
       {"field raw", "bytes default may only hold characters U+0000 to U+00FF"}},
  };
  for (const Refusal& c : cases) {
    auto mapper = build(kMapping, c.schema);
    ASSERT_FALSE(mapper.has_value()) << c.schema;
    EXPECT_EQ(mapper.status().code(), StatusCode::kConfig) << mapper.status().to_string();
    EXPECT_NE(mapper.status().message().find("/maps/payment.mapping.json"), std::string::npos)
        << mapper.status().message();
    for (const std::string& e : c.expected) {
      EXPECT_NE(mapper.status().message().find(e), std::string::npos) << "want '" << e << "' in: "
                                                                     << mapper.status().message();
    }
  }
}

TEST(DecimalConfigTest, SupportedShapesStillLoad) {
  // A fixed decimal referenced by name from a union, with the namespace inherited.
  const std::string schema = replaced(kSchema, R"({"name": "tax", "type": "Money8"})",
                                      R"({"name": "tax", "type": ["null", "test.decimal.Money8"], "default": null})");
  auto mapper = build(kMapping, schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  // The largest fixed size and precision 38 on bytes.
  const std::string big = replaced(kSchema, R"("precision": 12, "scale": 2)", R"("precision": 38, "scale": 10)");
  EXPECT_TRUE(build(kMapping, big).has_value());
}

}  // namespace
}  // namespace dxhub
