// The sample exporter and the readers agree: a generated household table
// written as CSV (UTF-8, GBK, GB18030), JSON lines and xlsx reads back as
// the rows SQLite holds.
#include <gtest/gtest.h>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/file_export.h"
#include "sandbox/sample/household_generator.h"
#include "tests/connectors/csv_test_support.h"

namespace dxhub::testing {
namespace {

std::string canonical(FieldValue::Type type, int64_t i, double d, const std::string& s) {
  switch (type) {
    case FieldValue::Type::kNull: return "<null>";
    case FieldValue::Type::kInt: return std::to_string(i);
    case FieldValue::Type::kReal: return std::to_string(d);
    default: return s;
  }
}

TEST(FileExportRoundTripTest, EveryFormatReadsBackAsTheTable) {
  TempDir dir;
  const std::string db_path = dir.file("h.db");
  sample::HouseholdOptions household;
  household.rows = 500;
  ASSERT_TRUE(sample::generate_household_db(db_path, household).is_ok());
  std::vector<std::vector<std::string>> expected;
  {
    auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
    ASSERT_TRUE(db);
    auto stmt = db->prepare("SELECT * FROM household_population");
    ASSERT_TRUE(stmt);
    for (;;) {
      auto more = stmt->step();
      ASSERT_TRUE(more);
      if (!*more) break;
      std::vector<std::string> row;
      for (int c = 0; c < stmt->column_count(); ++c) {
        const int t = stmt->column_type(c);
        row.push_back(t == SQLITE_NULL      ? "<null>"
                      : t == SQLITE_INTEGER ? std::to_string(stmt->column_int64(c))
                                            : std::string(stmt->column_text(c)));
      }
      expected.push_back(row);
    }
  }
  ASSERT_EQ(expected.size(), 500u);
  struct Case {
    const char* format;
    const char* encoding;
    nlohmann::json reader;
  };
  const Case cases[] = {
      {"csv", "utf-8", {{"kind", "csv"}, {"empty_as_null", true}}},
      {"csv", "gbk", {{"kind", "csv"}, {"empty_as_null", true}, {"encoding", "gbk"}}},
      {"csv", "gb18030", {{"kind", "csv"}, {"empty_as_null", true}, {"encoding", "gb18030"}}},
      {"jsonl", "utf-8", {{"kind", "jsonl"}}},
      {"xlsx", "utf-8", {{"kind", "xlsx"}}},
  };
  for (const Case& c : cases) {
    const std::string out = dir.file(std::string("h.") + c.encoding + "." + c.format);
    sample::FileExportOptions options{db_path, "household_population", c.format, c.encoding, out};
    auto written = sample::export_table_to_file(options);
    ASSERT_TRUE(written) << written.status().to_string();
    EXPECT_EQ(*written, 500);
    auto reader = open_reader(c.reader, out);
    ASSERT_TRUE(reader) << c.format << " " << reader.status().to_string();
    EXPECT_EQ((*reader)->columns().size(), expected[0].size());
    RecordingSink sink;
    ASSERT_TRUE(read_all(**reader, sink, 77).is_ok());
    EXPECT_TRUE(sink.bads.empty()) << c.format << " " << c.encoding;
    ASSERT_EQ(sink.rows.size(), expected.size()) << c.format;
    size_t differences = 0;
    for (size_t r = 0; r < expected.size(); ++r) {
      for (size_t k = 0; k < expected[r].size(); ++k) {
        const auto& v = sink.rows[r][k];
        std::string got = canonical(v.type, v.i, v.d, v.s);
        if (got != expected[r][k]) ++differences;
      }
    }
    EXPECT_EQ(differences, 0u) << c.format << " " << c.encoding;
  }
  if (std::string_view(cases[1].encoding) == "gbk") {
    // The GBK file is really GBK: fewer bytes than UTF-8 for the Chinese text.
    EXPECT_LT(std::filesystem::file_size(dir.file("h.gbk.csv")), std::filesystem::file_size(dir.file("h.utf-8.csv")));
  }
}

}  // namespace
}  // namespace dxhub::testing
