// StoredRow: a dead letter's stored row back into a RowView for replay.
#include "core/mapping/row_json.h"

#include <gtest/gtest.h>

#include <cstring>

namespace dxhub {
namespace {

TEST(StoredRow, RebuildsTypedValuesInColumnOrder) {
  auto row = StoredRow::parse(R"({"gmsfhm":"420281199001011234","n":42,"d":1.5,"gone":null,"ok":true,"xb":"9"})");
  ASSERT_TRUE(row) << row.status().to_string();
  ASSERT_EQ(row->columns(), (std::vector<std::string>{"gmsfhm", "n", "d", "gone", "ok", "xb"}));
  RowView v = row->view();
  ASSERT_EQ(v.count, 6u);
  EXPECT_EQ(v[0].type, FieldValue::Type::kText);
  EXPECT_EQ(v[0].s, "420281199001011234");
  EXPECT_EQ(v[0].s.data()[v[0].s.size()], '\0');  // the connectors' guarantee holds
  EXPECT_EQ(v[1].type, FieldValue::Type::kInt);
  EXPECT_EQ(v[1].i, 42);
  EXPECT_EQ(v[2].type, FieldValue::Type::kReal);
  EXPECT_DOUBLE_EQ(v[2].d, 1.5);
  EXPECT_TRUE(v[3].is_null());
  EXPECT_EQ(v[4].i, 1);
  EXPECT_EQ(v[5].s, "9");
}

TEST(StoredRow, ManyTextColumnsKeepTheirViewsValid) {
  std::string json = "{";
  for (int i = 0; i < 200; ++i) json += (i ? "," : "") + std::string("\"c") + std::to_string(i) + "\":\"v" + std::to_string(i) + "\"";
  json += "}";
  auto row = StoredRow::parse(json);
  ASSERT_TRUE(row);
  StoredRow moved = std::move(row).value();
  RowView v = moved.view();
  ASSERT_EQ(v.count, 200u);
  for (size_t i = 0; i < v.count; ++i) EXPECT_EQ(v[i].s, "v" + std::to_string(i));
}

TEST(StoredRow, NotAnObjectIsADataError) {
  for (const char* bad : {"", "[1,2]", "\"text\"", "{\"a\":"}) {
    auto row = StoredRow::parse(bad);
    ASSERT_FALSE(row) << bad;
    EXPECT_EQ(row.status().code(), StatusCode::kData);
  }
}

}  // namespace
}  // namespace dxhub
