#include <gtest/gtest.h>

#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/csv_test_support.h"

namespace dxhub::testing {
namespace {

TEST(JsonlReaderTest, ObjectsByNameDottedPathsAndTypes) {
  TempDir dir;
  const std::string path = dir.file("in.jsonl");
  write_file(path,
             "{\"id\":1,\"name\":\"张三\",\"addr\":{\"city\":\"大冶\"},\"tags\":[1,\"a\"],\"ok\":true,\"r\":1.5}\r\n"
             "\n"
             "{\"id\":2,\"name\":null,\"a.b\":\"literal\"}\n"
             "{\"id\":18446744073709551615,\"name\":\"x\\u0000y\"}");
  RecordingSink sink;
  auto reader = open_reader({{"kind", "jsonl"}}, path, {"id", "name", "addr.city", "tags", "ok", "r", "a.b", "addr"});
  ASSERT_TRUE(reader) << reader.status().to_string();
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  ASSERT_EQ(sink.rows.size(), 3u);
  const auto& r0 = sink.rows[0];
  EXPECT_EQ(r0[0].type, FieldValue::Type::kInt);
  EXPECT_EQ(r0[0].i, 1);
  EXPECT_EQ(r0[1].s, "张三");
  EXPECT_EQ(r0[2].s, "大冶");
  EXPECT_EQ(r0[3].s, "[1,\"a\"]");
  EXPECT_EQ(r0[4].i, 1);
  EXPECT_EQ(r0[5].type, FieldValue::Type::kReal);
  EXPECT_EQ(r0[5].d, 1.5);
  EXPECT_EQ(r0[6].type, FieldValue::Type::kNull);
  EXPECT_EQ(r0[7].s, "{\"city\":\"大冶\"}");
  EXPECT_EQ(sink.rows[1][1].type, FieldValue::Type::kNull);
  EXPECT_EQ(sink.rows[1][6].s, "literal");  // a key with a dot wins over the path
  EXPECT_EQ(sink.rows[2][0].type, FieldValue::Type::kReal);
  EXPECT_EQ(sink.rows[2][1].s, std::string("x\0y", 3));
  EXPECT_EQ(sink.refs, (std::vector<std::string>{"in.file line 1", "in.file line 3", "in.file line 4"}));
}

TEST(JsonlReaderTest, ColumnsFromTheFirstObject) {
  TempDir dir;
  const std::string path = dir.file("in.jsonl");
  write_file(path, "\xEF\xBB\xBF" "not json\n{\"b\":1,\"a\":2}\n{\"a\":3}\n");
  RecordingSink sink;
  auto reader = open_reader({{"kind", "jsonl"}}, path);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"b", "a"}));
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  EXPECT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.bads.size(), 1u);
}

TEST(JsonlReaderTest, BadLinesAreBadInputAndReadingGoesOn) {
  TempDir dir;
  const std::string path = dir.file("in.jsonl");
  std::string file = "{\"a\":\"ok\"}\n{\"a\":\n[1,2]\n{\"a\":\"\xC3\x28\"}\n" + std::string(200, ' ') +
                     "{\"a\":\"long\"}\n{\"a\":1} trailing\n{\"a\":\"end\"}\n";
  write_file(path, file);
  RecordingSink sink;
  auto reader = open_reader({{"kind", "jsonl"}, {"max_line_bytes", 128}}, path, {"a"});
  ASSERT_TRUE(reader);
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  EXPECT_EQ(sink.column(0), (std::vector<std::string>{"ok", "end"}));
  ASSERT_EQ(sink.bads.size(), 5u);
  EXPECT_EQ(sink.bads[0].ref, "in.file line 2");
  EXPECT_NE(sink.bads[0].reason.find("not JSON"), std::string::npos);
  EXPECT_EQ(sink.bads[1].reason, "not a JSON object");
  EXPECT_EQ(sink.bads[2].reason, "invalid UTF-8");
  EXPECT_EQ(sink.bads[3].reason, "line longer than max_line_bytes (128)");
  EXPECT_EQ(sink.bads[3].ref, "in.file line 5");
  EXPECT_EQ(sink.bads[4].ref, "in.file line 6");
  EXPECT_EQ(sink.refs.back(), "in.file line 7");
  auto bad_key = open_reader({{"kind", "jsonl"}, {"max_lines", 1}}, path);
  EXPECT_EQ(bad_key.status().code(), StatusCode::kConfig);
}

TEST(JsonlReaderTest, ResumeFromPositionAndNoAllocationPerLine) {
  TempDir dir;
  const std::string path = dir.file("in.jsonl");
  std::string file;
  for (int i = 0; i < 5000; ++i) {
    file += "{\"id\":" + std::to_string(i) + ",\"n\":\"name " + std::to_string(i) + "\",\"o\":{\"k\":[1]}}\n";
  }
  write_file(path, file);
  auto reader = open_reader({{"kind", "jsonl"}, {"max_line_bytes", 1024}}, path, {"id", "n", "o"});
  ASSERT_TRUE(reader);
  RecordingSink first;
  ASSERT_EQ(*(*reader)->read(100, first), 100u);
  struct Counting : RowSink {
    Status on_row(const RowView& row) override {
      last = row[0].i;
      return Status::ok();
    }
    int64_t last = -1;
  } counting;
  const size_t before = allocation_count();
  ASSERT_EQ(*(*reader)->read(2000, counting), 2000u);
  EXPECT_EQ(allocation_count() - before, 0u);
  EXPECT_EQ(counting.last, 2099);
  RecordingSink rest;
  auto resumed = open_reader({{"kind", "jsonl"}}, path, {"id"}, nlohmann::json::parse((*reader)->position().dump()));
  ASSERT_TRUE(resumed);
  ASSERT_TRUE(read_all(**resumed, rest).is_ok());
  ASSERT_EQ(rest.rows.size(), 2900u);
  EXPECT_EQ(rest.rows.front()[0].i, 2100);
  EXPECT_EQ(rest.refs.front(), "in.file line 2101");
}

}  // namespace
}  // namespace dxhub::testing
