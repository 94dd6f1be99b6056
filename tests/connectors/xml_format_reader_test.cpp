// The "xml" file format: records by XPath, fields by relative paths,
// namespaces, resume, bad records, hostile files.
#include "connectors/file/file_format.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::BadInputSink;
using testing::CollectingSink;
using testing::TempDir;

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name), std::ios::binary) << text;
  return dir.file(name);
}

const char* kOrders =
    R"(<?xml version="1.0" encoding="UTF-8"?>)"
    R"(<o:export xmlns:o="urn:orders" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
    R"(<o:order id="1"><o:no>A-1</o:no><o:amount>12.5</o:amount><o:note>x</o:note></o:order>)"
    R"(<o:order id="2"><o:no>A-2</o:no><o:amount xsi:nil="true"/><o:note></o:note></o:order>)"
    R"(<o:order id="3"><o:no>A-3</o:no><o:amount>7</o:amount></o:order>)"
    R"(</o:export>)";

nlohmann::json orders_format() {
  return {{"kind", "xml"},
          {"records_xpath", "/o:export/o:order"},
          {"namespaces", {{"o", "urn:orders"}}},
          {"fields", {{"id", "@id"}, {"no", "o:no"}, {"total", "number(o:amount) * 2"}}}};
}

TEST(XmlFormatReader, ReadsRecordsWithNamespacedFieldsAndNulls) {
  TempDir dir;
  std::string path = write(dir, "orders.xml", kOrders);
  auto reader = open_file_format(orders_format(), {path, "orders.xml", nullptr}, {"id", "no", "amount", "note", "total"});
  ASSERT_TRUE(reader) << reader.status().to_string();
  CollectingSink sink;
  auto n = (*reader)->read(100, sink);
  ASSERT_TRUE(n) << n.status().to_string();
  EXPECT_EQ(*n, 3u);
  ASSERT_EQ(sink.rows.size(), 3u);
  EXPECT_EQ(sink.rows[0][0].s, "1");
  EXPECT_EQ(sink.rows[0][1].s, "A-1");
  EXPECT_EQ(sink.rows[0][2].s, "12.5");
  EXPECT_EQ(sink.rows[0][4].s, "25");
  EXPECT_EQ(sink.rows[1][2].type, FieldValue::Type::kNull);  // xsi:nil
  EXPECT_EQ(sink.rows[1][3].type, FieldValue::Type::kText);  // empty element: ""
  EXPECT_EQ(sink.rows[1][3].s, "");
  EXPECT_EQ(sink.rows[2][3].type, FieldValue::Type::kNull);  // missing
  EXPECT_EQ(*(*reader)->read(100, sink), 0u);
  EXPECT_EQ((*reader)->position(), (nlohmann::json{{"record", 3}}));
}

TEST(XmlFormatReader, EmptyColumnsAreTheFirstRecordsChildren) {
  TempDir dir;
  std::string path = write(dir, "orders.xml", kOrders);
  nlohmann::json format = orders_format();
  format.erase("fields");
  auto reader = open_file_format(format, {path, "orders.xml", nullptr}, {});
  ASSERT_TRUE(reader) << reader.status().to_string();
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"no", "amount", "note"}));
}

TEST(XmlFormatReader, ResumesAfterTheRecordsAlreadyRead) {
  TempDir dir;
  std::string path = write(dir, "orders.xml", kOrders);
  CollectingSink first;
  auto reader = open_file_format(orders_format(), {path, "orders.xml", nullptr}, {"id"});
  ASSERT_TRUE(reader);
  ASSERT_EQ(*(*reader)->read(2, first), 2u);
  auto resumed = open_file_format(orders_format(), {path, "orders.xml", (*reader)->position()}, {"id"});
  ASSERT_TRUE(resumed);
  CollectingSink rest;
  ASSERT_EQ(*(*resumed)->read(10, rest), 1u);
  EXPECT_EQ(rest.rows[0][0].s, "3");
}

TEST(XmlFormatReader, NonElementRecordsAreBadInputWithRecordNumber) {
  TempDir dir;
  std::string path = write(dir, "mixed.xml", "<r><a><v>1</v></a>text<a><v>2</v></a></r>");
  nlohmann::json format = {{"kind", "xml"}, {"records_xpath", "/r/node()"}};
  auto reader = open_file_format(format, {path, "mixed.xml", nullptr}, {"v"});
  ASSERT_TRUE(reader);
  BadInputSink sink;
  ASSERT_EQ(*(*reader)->read(10, sink), 3u);
  EXPECT_EQ(sink.rows.size(), 2u);
  ASSERT_EQ(sink.refs().size(), 1u);
  EXPECT_EQ(sink.refs()[0], "mixed.xml record 2");
  EXPECT_EQ(sink.reasons()[0], "record is not an element");
}

TEST(XmlFormatReader, HostileFilesAreKDataNamingTheFile) {
  TempDir dir;
  nlohmann::json format = {{"kind", "xml"}, {"records_xpath", "/r/a"}, {"max_document_bytes", 4096}};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><r><a>&b;</a></r>", "entity declaration"},
      {"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r><a>&x;</a></r>", "external entity"},
      {"<r><a>1</a><a>", "malformed XML"},
      {"<r>" + std::string(5000, ' ') + "</r>", "larger than max_document_bytes"},
      {"<?xml version=\"1.0\" encoding=\"GBK\"?><r><a>\x81\x20</a></r>", "malformed XML"},
  };
  int i = 0;
  for (const auto& [text, reason] : cases) {
    std::string name = "bad" + std::to_string(i++) + ".xml";
    std::string path = write(dir, name, text);
    auto reader = open_file_format(format, {path, name, nullptr}, {"a"});
    ASSERT_TRUE(reader) << reader.status().to_string();
    CollectingSink sink;
    auto n = (*reader)->read(10, sink);
    ASSERT_FALSE(n) << name;
    EXPECT_EQ(n.status().code(), StatusCode::kData);
    EXPECT_NE(n.status().message().find(name), std::string::npos) << n.status().message();
    EXPECT_NE(n.status().message().find(reason), std::string::npos) << n.status().message();
    EXPECT_TRUE(sink.rows.empty());
  }
}

TEST(XmlFormatReader, GbkFileDecodes) {
  TempDir dir;
  std::string path = write(dir, "gbk.xml", "<?xml version=\"1.0\" encoding=\"GBK\"?><r><a><v>\xD6\xD0\xCE\xC4</v></a></r>");
  auto reader = open_file_format({{"kind", "xml"}, {"records_xpath", "/r/a"}}, {path, "gbk.xml", nullptr}, {"v"});
  ASSERT_TRUE(reader);
  CollectingSink sink;
  ASSERT_EQ(*(*reader)->read(10, sink), 1u);
  EXPECT_EQ(sink.rows[0][0].s, "\xE4\xB8\xAD\xE6\x96\x87");
}

// The rows are extracted into reused buffers: no allocation per record
// (the tree itself is libxml2's, allocated once by the parse).
TEST(XmlFormatReader, ReadingRecordsAllocatesNothingPerRecord) {
  TempDir dir;
  std::string text = "<r>";
  for (int i = 0; i < 300; ++i) text += "<a k=\"" + std::to_string(i) + "\"><v>value number " + std::to_string(i) + " long enough to need heap</v></a>";
  text += "</r>";
  std::string path = write(dir, "many_records_with_a_long_name.xml", text);
  auto reader = open_file_format({{"kind", "xml"}, {"records_xpath", "/r/a"}, {"fields", {{"k", "@k"}}}},
                                 {path, "many_records_with_a_long_name.xml", nullptr}, {"k", "v"});
  ASSERT_TRUE(reader);
  struct Counting : RowSink {
    Status on_row(const RowView& row) override {
      bytes += row[1].s.size();
      return Status::ok();
    }
    size_t bytes = 0;
  } sink;
  ASSERT_EQ(*(*reader)->read(1, sink), 1u);  // warms the buffers
  const size_t before = testing::allocation_count();
  ASSERT_EQ(*(*reader)->read(299, sink), 299u);
  EXPECT_EQ(testing::allocation_count() - before, 0u);
  EXPECT_GT(sink.bytes, 299u * 40);
}

TEST(XmlFormatReader, BadSettingsAreConfigErrorsNamingTheKey) {
  TempDir dir;
  std::string path = write(dir, "o.xml", kOrders);
  auto unknown = open_file_format({{"kind", "xml"}, {"records_xpath", "/a"}, {"recordz", 1}}, {path, "o.xml", nullptr}, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().code(), StatusCode::kConfig);
  EXPECT_NE(unknown.status().message().find("recordz"), std::string::npos);
  auto missing = open_file_format({{"kind", "xml"}}, {path, "o.xml", nullptr}, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("records_xpath"), std::string::npos);
  auto prefix = open_file_format({{"kind", "xml"}, {"records_xpath", "/a"}, {"fields", {{"x", "q:x"}}}},
                                 {path, "o.xml", nullptr}, {"x"});
  ASSERT_FALSE(prefix);
  EXPECT_NE(prefix.status().message().find("fields.x"), std::string::npos);
  auto depth = open_file_format({{"kind", "xml"}, {"records_xpath", "/a"}, {"max_depth", 999}}, {path, "o.xml", nullptr}, {});
  ASSERT_FALSE(depth);
  EXPECT_NE(depth.status().message().find("max_depth"), std::string::npos);
  auto nofile = open_file_format({{"kind", "xml"}, {"records_xpath", "/a"}}, {dir.file("none.xml"), "none.xml", nullptr}, {});
  ASSERT_FALSE(nofile);
  EXPECT_EQ(nofile.status().code(), StatusCode::kSource);
}

}  // namespace
}  // namespace dxhub
