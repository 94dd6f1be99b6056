#include <gtest/gtest.h>

#include <random>

#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/csv_test_support.h"

namespace dxhub::testing {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows texts(const RecordingSink& sink) {
  Rows out;
  for (const auto& r : sink.rows) {
    std::vector<std::string> row;
    for (const auto& v : r) row.push_back(v.type == FieldValue::Type::kNull ? "<null>" : v.s);
    out.push_back(row);
  }
  return out;
}

struct Read {
  Status status;
  std::vector<std::string> columns;
  RecordingSink sink;
};

void read_csv(const std::string& bytes, const nlohmann::json& settings, Read& out,
              const std::vector<std::string>& columns = {}, size_t batch = 1000) {
  TempDir dir;
  const std::string path = dir.file("in.csv");
  write_file(path, bytes);
  nlohmann::json format = settings;
  format["kind"] = "csv";
  auto reader = open_reader(format, path, columns);
  if (!reader) {
    out.status = reader.status();
    return;
  }
  out.columns = (*reader)->columns();
  out.status = read_all(**reader, out.sink, batch);
}

TEST(CsvReaderTest, Rfc4180QuotingAndLineBreaks) {
  Read r;
  read_csv(
      "id,name,note\r\n"
      "1,plain,\"with, comma\"\r\n"
      "2,\"say \"\"hi\"\"\",\"lf\nin field\"\r\n"
      "3,\"cr\rin\",\"crlf\r\nin\"\n"
      "4,,\"\"\r"
      "5,last,no newline",
      nlohmann::json::object(), r);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.columns, (std::vector<std::string>{"id", "name", "note"}));
  EXPECT_EQ(texts(r.sink), (Rows{{"1", "plain", "with, comma"},
                                 {"2", "say \"hi\"", "lf\nin field"},
                                 {"3", "cr\rin", "crlf\r\nin"},
                                 {"4", "", ""},
                                 {"5", "last", "no newline"}}));
  EXPECT_EQ(r.sink.refs,
            (std::vector<std::string>{"in.file line 2", "in.file line 3", "in.file line 5", "in.file line 8",
                                      "in.file line 9"}));
  EXPECT_TRUE(r.sink.bads.empty());
}

TEST(CsvReaderTest, BomTrailingEmptyLinesAndEmptyAsNull) {
  Read r;
  read_csv("\xEF\xBB\xBF" "a,b\n1,\n\"\",2\n\n\n", {{"empty_as_null", true}}, r);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.columns, (std::vector<std::string>{"a", "b"}));  // no BOM in the first name
  EXPECT_EQ(texts(r.sink), (Rows{{"1", "<null>"}, {"", "2"}}));  // a quoted empty field stays text
  Read keep;
  read_csv("a\n1\n\n2\n", {{"skip_empty_lines", false}, {"empty_as_null", true}}, keep);
  EXPECT_EQ(texts(keep.sink), (Rows{{"1"}, {"<null>"}, {"2"}}));
}

TEST(CsvReaderTest, DelimiterQuoteSkipLinesPositionalColumns) {
  Read r;
  read_csv("exported 2026-01-01\nsecond title line\n1;'x;y';'it''s'\n2;b;c\n",
           {{"delimiter", ";"}, {"quote", "'"}, {"skip_lines", 2}, {"header", false},
            {"column_names", {"id", "v", "w"}}},
           r, {"w", "id"});
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(r.columns, (std::vector<std::string>{"w", "id"}));
  EXPECT_EQ(texts(r.sink), (Rows{{"it's", "1"}, {"c", "2"}}));
  EXPECT_EQ(r.sink.refs[0], "in.file line 3");
  Read noquote;
  read_csv("a\tb\n\"x\t\"y\n", {{"delimiter", "\t"}, {"quote", ""}}, noquote);
  EXPECT_EQ(texts(noquote.sink), (Rows{{"\"x", "\"y"}}));
}

TEST(CsvReaderTest, RefusesBadSettingsAndMissingColumns) {
  for (const nlohmann::json& bad : {nlohmann::json{{"delimter", ","}}, nlohmann::json{{"delimiter", ",,"}},
                                    nlohmann::json{{"quote", ","}}, nlohmann::json{{"encoding", "latin9"}},
                                    nlohmann::json{{"header", false}}, nlohmann::json{{"max_field_bytes", -1}},
                                    nlohmann::json{{"skip_lines", "2"}}}) {
    Read r;
    read_csv("a\n1\n", bad, r);
    EXPECT_EQ(r.status.code(), StatusCode::kConfig) << bad.dump();
  }
  Read missing;
  read_csv("a,b\n1,2\n", nlohmann::json::object(), missing, {"c"});
  EXPECT_EQ(missing.status.code(), StatusCode::kData);
  EXPECT_NE(missing.status.message().find("in.file"), std::string::npos);
  Read dup;
  read_csv("a,a\n1,2\n", nlohmann::json::object(), dup);
  EXPECT_EQ(dup.status.code(), StatusCode::kData);
  auto none = open_reader({{"kind", "csv"}}, "/nonexistent/x.csv");
  EXPECT_EQ(none.status().code(), StatusCode::kSource);
}

TEST(CsvReaderTest, BrokenRecordsAreBadInputAndReadingGoesOn) {
  Read r;
  read_csv(
      "a,b\n"
      "1,\"x\"y\n"      // text after the closing quote
      "2,ok\n"
      "3,too,many\n"   // wrong field count
      "4\n"
      "5,\"never closed\n"
      "6,after\n"
      "7,multi\n",
      nlohmann::json::object(), r);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(texts(r.sink), (Rows{{"2", "ok"}, {"6", "after"}, {"7", "multi"}}));
  ASSERT_EQ(r.sink.bads.size(), 4u);
  EXPECT_EQ(r.sink.bads[0].ref, "in.file line 2");
  EXPECT_EQ(r.sink.bads[0].reason, "text after the closing quote of column 2");
  EXPECT_EQ(r.sink.bads[0].raw, "1,\"x\"y\n");
  EXPECT_EQ(r.sink.bads[1].ref, "in.file line 4");
  EXPECT_EQ(r.sink.bads[1].reason, "record has 3 fields, expected 2");
  EXPECT_EQ(r.sink.bads[2].ref, "in.file line 5");
  EXPECT_EQ(r.sink.bads[3].ref, "in.file line 6");
  EXPECT_NE(r.sink.bads[3].reason.find("unterminated"), std::string::npos);
  EXPECT_EQ(r.sink.bads[3].raw, "5,\"never closed\n");
  EXPECT_EQ(r.sink.refs.back(), "in.file line 8");
}

TEST(CsvReaderTest, HugeFieldIsRefusedWithoutKeepingIt) {
  std::string big = "id,blob\n1,small\n2,\"";
  big.append(20 * 1024 * 1024, 'x');
  big += "\"\n3,after\n";
  Read r;
  read_csv(big, nlohmann::json::object(), r);
  ASSERT_TRUE(r.status.is_ok()) << r.status.to_string();
  EXPECT_EQ(texts(r.sink), (Rows{{"1", "small"}, {"3", "after"}}));
  ASSERT_EQ(r.sink.bads.size(), 1u);
  EXPECT_EQ(r.sink.bads[0].ref, "in.file line 3");
  EXPECT_EQ(r.sink.bads[0].reason, "column 2 is longer than max_field_bytes (1048576)");
  EXPECT_LE(r.sink.bads[0].raw.size(), 64u * 1024);  // only a prefix is kept
  // A long unquoted record past max_record_bytes too.
  std::string wide = "a\n" + std::string(300, 'y') + "\nz\n";
  Read w;
  read_csv(wide, {{"max_record_bytes", 100}, {"max_field_bytes", 100}}, w);
  EXPECT_EQ(texts(w.sink), (Rows{{"z"}}));
  ASSERT_EQ(w.sink.bads.size(), 1u);
  EXPECT_EQ(w.sink.bads[0].ref, "in.file line 2");
}

TEST(CsvReaderTest, InvalidUtf8IsBadInput) {
  Read r;
  read_csv("a,b\n1,\xE4\xB8\xAD\n2,\xC3\x28\n3,\xED\xA0\x80\n4,ok\n", nlohmann::json::object(), r);
  ASSERT_TRUE(r.status.is_ok());
  EXPECT_EQ(texts(r.sink), (Rows{{"1", "\xE4\xB8\xAD"}, {"4", "ok"}}));
  ASSERT_EQ(r.sink.bads.size(), 2u);
  EXPECT_EQ(r.sink.bads[0].reason, "invalid UTF-8 byte sequence at column 2");
  EXPECT_EQ(r.sink.bads[1].ref, "in.file line 4");
}

// GBK and GB18030 files as Python encodes them.
TEST(CsvReaderTest, GbkAndGb18030AreConvertedToUtf8) {
  TempDir dir;
  const std::string path = dir.file("gbk.csv");
  // U+4E85 is 81 7C in GBK: its second byte is '|', the delimiter here.
  run_python(
      "import sys\n"
      "open(sys.argv[1],'wb').write('编号|姓名|地址\\n1|张亅|户籍\\n'.encode('gbk') + b'2|\\x81\\x20|x\\n' + "
      "'3|丽|终\\n'.encode('gbk'))\n"
      "open(sys.argv[1]+'.18030','wb').write('a,b\\n1,𠀀€中\\n'.encode('gb18030'))\n",
      path);
  RecordingSink sink;
  auto reader = open_reader({{"kind", "csv"}, {"delimiter", "|"}, {"encoding", "gbk"}}, path);
  ASSERT_TRUE(reader) << reader.status().to_string();
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"编号", "姓名", "地址"}));
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  EXPECT_EQ(texts(sink), (Rows{{"1", "张亅", "户籍"}, {"3", "丽", "终"}}));
  ASSERT_EQ(sink.bads.size(), 1u);
  EXPECT_EQ(sink.bads[0].ref, "in.file line 3");
  EXPECT_EQ(sink.bads[0].reason, "invalid GBK byte sequence at column 2");
  RecordingSink sink18030;
  auto r18030 = open_reader({{"kind", "csv"}, {"encoding", "GB18030"}}, path + ".18030");
  ASSERT_TRUE(r18030) << r18030.status().to_string();
  ASSERT_TRUE(read_all(**r18030, sink18030).is_ok());
  EXPECT_EQ(texts(sink18030), (Rows{{"1", "𠀀€中"}}));
  // The same 4-byte character is not GBK.
  RecordingSink as_gbk;
  auto r_gbk = open_reader({{"kind", "csv"}, {"encoding", "gbk"}}, path + ".18030");
  ASSERT_TRUE(r_gbk);
  ASSERT_TRUE(read_all(**r_gbk, as_gbk).is_ok());
  EXPECT_TRUE(as_gbk.rows.empty());
  EXPECT_EQ(as_gbk.bads.size(), 1u);
}

// A random file read with a tiny window (records cross every refill) gives
// what a large window gives, and a reader resumed from position() after
// any batch gives the rest exactly.
TEST(CsvReaderTest, SmallWindowAndResumeAgreeWithOnePass) {
  std::mt19937 rng(7);
  const char alphabet[] = "ab,\"\r\n x\xE4\xB8\xAD";
  std::string file = "c1,c2,c3\n";
  for (int row = 0; row < 400; ++row) {
    for (int c = 0; c < 3; ++c) {
      std::string v;
      int len = static_cast<int>(rng() % 8);
      for (int k = 0; k < len; ++k) {
        char ch = alphabet[rng() % (sizeof alphabet - 1)];
        if (ch == '\xE4') {
          v += "\xE4\xB8\xAD";
        } else if (ch != '\xB8' && ch != '\xAD') {
          v += ch;
        }
      }
      bool quote = v.find_first_of(",\"\r\n") != std::string::npos || rng() % 4 == 0;
      if (quote) {
        std::string q = "\"";
        for (char ch : v) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        v = q + "\"";
      }
      file += v + (c < 2 ? "," : (row % 3 == 0 ? "\r\n" : "\n"));
    }
  }
  Read big, small;
  read_csv(file, nlohmann::json::object(), big);
  read_csv(file, {{"max_record_bytes", 64}, {"max_field_bytes", 64}}, small);
  ASSERT_TRUE(big.status.is_ok());
  ASSERT_TRUE(small.status.is_ok());
  EXPECT_EQ(big.sink.rows.size(), 400u);
  EXPECT_TRUE(big.sink.bads.empty());
  EXPECT_EQ(texts(big.sink), texts(small.sink));
  EXPECT_EQ(big.sink.refs, small.sink.refs);

  TempDir dir;
  const std::string path = dir.file("resume.csv");
  write_file(path, file);
  for (size_t stop_after : {size_t{1}, size_t{57}, size_t{399}}) {
    RecordingSink first;
    auto reader = open_reader({{"kind", "csv"}, {"max_record_bytes", 256}}, path);
    ASSERT_TRUE(reader);
    EXPECT_TRUE((*reader)->position().is_null());
    ASSERT_EQ(*(*reader)->read(stop_after, first), stop_after);
    nlohmann::json pos = nlohmann::json::parse((*reader)->position().dump());
    RecordingSink rest;
    auto resumed = open_reader({{"kind", "csv"}}, path, {}, pos);
    ASSERT_TRUE(resumed) << resumed.status().to_string();
    ASSERT_TRUE(read_all(**resumed, rest).is_ok());
    Rows all = texts(first), tail = texts(rest);
    all.insert(all.end(), tail.begin(), tail.end());
    EXPECT_EQ(all, texts(big.sink)) << stop_after;
    EXPECT_EQ(rest.refs.front(), big.sink.refs[stop_after]);
  }
}

TEST(CsvReaderTest, SinkRefusalKeepsThePositionAtTheRefusedRow) {
  TempDir dir;
  const std::string path = dir.file("in.csv");
  write_file(path, "a\n1\n2\n3\n");
  RecordingSink sink;
  sink.fail_at = 1;
  auto reader = open_reader({{"kind", "csv"}}, path);
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->read(10, sink).has_value());
  RecordingSink rest;
  auto resumed = open_reader({{"kind", "csv"}}, path, {}, (*reader)->position());
  ASSERT_TRUE(read_all(**resumed, rest).is_ok());
  EXPECT_EQ(texts(rest), (Rows{{"2"}, {"3"}}));
}

struct CountingSink : RowSink {
  Status on_row(const RowView& row) override {
    rows++;
    bytes += row[0].s.size();
    return Status::ok();
  }
  size_t rows = 0, bytes = 0;
};

TEST(CsvReaderTest, NoHeapAllocationPerRecord) {
  TempDir dir;
  for (const char* encoding : {"utf-8", "gbk"}) {
    const std::string path = dir.file(std::string("alloc_") + encoding + ".csv");
    std::string file = "id,name,addr\n";
    for (int i = 0; i < 20000; ++i) file += std::to_string(i) + ",\"n," + std::to_string(i) + "\",abc\n";
    write_file(path, file);
    auto reader = open_reader({{"kind", "csv"}, {"encoding", encoding}, {"max_record_bytes", 4096}}, path);
    ASSERT_TRUE(reader);
    CountingSink sink;
    ASSERT_EQ(*(*reader)->read(100, sink), 100u);  // warms the buffers
    const size_t before = allocation_count();
    ASSERT_EQ(*(*reader)->read(19000, sink), 19000u);
    EXPECT_EQ(allocation_count() - before, 0u) << encoding;
  }
}

}  // namespace
}  // namespace dxhub::testing
