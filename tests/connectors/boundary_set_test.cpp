// The table connectors' shared cursor pieces (connectors/common): typed
// cursor values and the boundary set of (key, digest).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "connectors/common/boundary_set.h"
#include "connectors/common/row_digest.h"
#include "connectors/common/typed_cursor_value.h"
#include "core/common/utf8.h"

namespace dxhub {
namespace {

using namespace typed_cursor;
using Type = FieldValue::Type;

TEST(TypedCursorValue, EachFormReadsBackAsTheSameValue) {
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    Type type;
    int64_t i;
    double d;
    std::string s;
  } cases[] = {{Type::kInt, -42, 0, ""},          {Type::kReal, 0, 2.5, ""},
               {Type::kReal, 0, inf, ""},         {Type::kReal, 0, -inf, ""},
               {Type::kText, 0, 0, "湖北"},        {Type::kText, 0, 0, std::string("a\xff\0b", 4)},
               {Type::kBlob, 0, 0, "\x01\x02"}};
  for (const Case& c : cases) {
    const nlohmann::json j = typed_json(c.type, c.i, c.d, c.s);
    TypedValue back;
    ASSERT_TRUE(parse_typed(nlohmann::json::parse(j.dump()), back)) << j.dump();
    EXPECT_EQ(back.type, c.type) << j.dump();
    EXPECT_EQ(back.i, c.i);
    EXPECT_EQ(back.d, c.d);
    EXPECT_EQ(back.s, c.s);
  }
  TypedValue nan;
  ASSERT_TRUE(parse_typed(typed_json(Type::kReal, 0, std::nan(""), ""), nan));
  EXPECT_TRUE(std::isnan(nan.d));
}

TEST(TypedCursorValue, TextThatIsNotUtf8IsHexAndBytesAreBlob) {
  EXPECT_EQ(typed_json(Type::kText, 0, 0, "\xc0\x80").dump(), R"({"hex":"c080"})");
  EXPECT_EQ(typed_json(Type::kBlob, 0, 0, "ab").dump(), R"({"blob":"6162"})");
  EXPECT_EQ(typed_json(Type::kReal, 0, -std::numeric_limits<double>::infinity(), "").dump(), R"({"real":"-inf"})");
  EXPECT_EQ(digest_hex(0xabcULL), "0000000000000abc");
  TypedValue v;
  EXPECT_FALSE(parse_typed(nlohmann::json{{"hex", "abc"}}, v));   // odd length
  EXPECT_FALSE(parse_typed(nlohmann::json{{"real", "1"}}, v));    // not a named real
  EXPECT_FALSE(parse_typed(nlohmann::json::array({1}), v));
  EXPECT_FALSE(parse_typed(nlohmann::json(std::numeric_limits<uint64_t>::max()), v));
}

TEST(StrictUtf8, RefusesOverlongsSurrogatesAndPastTheLastCodePoint) {
  EXPECT_TRUE(is_valid_utf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  size_t bad = 0;
  EXPECT_FALSE(is_valid_utf8("0123456789\xe4\xb8", &bad));  // cut short
  EXPECT_EQ(bad, 10u);
  // The same verdict as nlohmann::json's strict dump.
  for (const char* s : {"\xc2\xa9", "\xc1\xbf", "\xed\x9f\xbf", "\xf0\x8f\xbf\xbf", "\x80"}) {
    bool dumps = true;
    try {
      (void)nlohmann::json(std::string(s)).dump();
    } catch (const nlohmann::json::exception&) {
      dumps = false;
    }
    EXPECT_EQ(is_valid_utf8(s), dumps) << s;
  }
}

TEST(BoundarySet, FindsTheUnconsumedEntryWithTheDigestAndRoundTripsThroughJson) {
  BoundarySet set;
  const std::string key = "k1";
  set.append(Type::kText, 0, 0, key, key_hash(Type::kText, 0, 0, key), 1);
  set.append(Type::kText, 0, 0, key, key_hash(Type::kText, 0, 0, key), 2);
  set.append(Type::kInt, 7, 0, {}, key_hash(Type::kInt, 7, 0, {}), 3);
  set.build_index();
  const uint64_t h = key_hash(Type::kText, 0, 0, key);
  const int64_t second = set.find(Type::kText, 0, 0, key, h, 2);
  ASSERT_GE(second, 0);
  EXPECT_EQ(set.digest(static_cast<size_t>(second)), 2u);
  set.consume(static_cast<size_t>(second));
  const int64_t other = set.find(Type::kText, 0, 0, key, h, 2);  // prefers an unconsumed one
  ASSERT_GE(other, 0);
  EXPECT_FALSE(set.consumed(static_cast<size_t>(other)));
  EXPECT_GE(set.find(Type::kInt, 7, 0, {}, key_hash(Type::kInt, 7, 0, {})), 0);
  EXPECT_EQ(set.find(Type::kReal, 0, 7.0, {}, key_hash(Type::kReal, 0, 7.0, {})), -1);  // not the integer 7

  nlohmann::json unconsumed = nlohmann::json::array();
  set.to_json(unconsumed, true);
  EXPECT_EQ(unconsumed.dump(), R"([["k1","0000000000000001"],[7,"0000000000000003"]])");
  BoundarySet back;
  ASSERT_TRUE(back.load(unconsumed, "x: ").is_ok());
  EXPECT_EQ(back.size(), 2u);
  BoundarySet refused;
  EXPECT_EQ(refused.load(nlohmann::json::object(), "x: ").message(), "x: expected an array of [key, digest]");
  EXPECT_FALSE(refused.load(nlohmann::json::parse(R"([["k","12"]])"), "x: ").is_ok());  // short digest
  EXPECT_FALSE(refused.load(nlohmann::json::parse(R"([[null,"0000000000000001"]])"), "x: ").is_ok());

  const nlohmann::json cursor = boundary_cursor_json(7, set, nullptr, back, &back);
  EXPECT_EQ(cursor["v"], 2);
  EXPECT_EQ(cursor["boundary"].size(), 3u);
  EXPECT_EQ(cursor["nulls"].size(), 4u);
}

TEST(RowDigest, ChangesWithAnyValueAndTypeNotWithTheBuffer) {
  std::string buf;
  FieldValue row[2] = {FieldValue::integer(1), FieldValue::text("ab")};
  const uint64_t d = row_digest(row, 2, buf);
  std::string other_buf(1000, 'x');
  EXPECT_EQ(row_digest(row, 2, other_buf), d);
  row[1] = FieldValue::text("ac");
  EXPECT_NE(row_digest(row, 2, buf), d);
  row[1] = FieldValue::blob("ab");
  EXPECT_NE(row_digest(row, 2, buf), d);
}

}  // namespace
}  // namespace dxhub
