#include "connectors/sqlite_table/sqlite_table_connector.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "core/common/sqlite_db.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::CollectingSink;
using testing::TempDir;

// An agency-like table: id key, gxsj timestamp cursor, a few payload columns.
class SqliteTableConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(db_path_, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.status().to_string();
    ASSERT_TRUE(db->exec("CREATE TABLE household_population(id INTEGER PRIMARY KEY, xm TEXT, hh TEXT, "
                         "photo BLOB, score REAL, gxsj TEXT);"
                         "CREATE INDEX idx_gxsj ON household_population(gxsj, id);")
                    .is_ok());
    writer_ = std::move(db).value();
  }

  void insert(int64_t id, const std::string& gxsj, const char* xm = "张三") {
    auto stmt = writer_.prepare("INSERT INTO household_population(id, xm, hh, score, gxsj) VALUES (?, ?, 'H1', 1.5, ?)");
    ASSERT_TRUE(stmt);
    ASSERT_TRUE(stmt->bind_int64(1, id).is_ok());
    ASSERT_TRUE((xm != nullptr ? stmt->bind_text(2, xm) : stmt->bind_null(2)).is_ok());
    ASSERT_TRUE(stmt->bind_text(3, gxsj).is_ok());
    ASSERT_TRUE(stmt->run().is_ok());
  }

  nlohmann::json config(const std::string& cursor_column = "gxsj") const {
    return {{"database", db_path_}, {"table", "household_population"}, {"cursor_column", cursor_column},
            {"key_column", "id"}};
  }

  Expected<std::unique_ptr<SqliteTableConnector>> open(const std::vector<std::string>& columns,
                                                      const nlohmann::json& cursor = nullptr) {
    return SqliteTableConnector::open(config(), columns, cursor);
  }

  TempDir dir_;
  std::string db_path_ = dir_.file("agency.db");
  SqliteDb writer_;
};

TEST_F(SqliteTableConnectorTest, TiesAcrossBatchBoundariesResumedFromSavedCursorEveryRowOnce) {
  ASSERT_TRUE(writer_.exec("BEGIN").is_ok());
  const char* stamps[7] = {"2024-01-01 08:00:00", "2024-01-01 09:00:00", "2024-01-02 10:00:00", "2024-01-03 00:00:00",
                           "2024-02-01 12:00:00", "2024-03-01 12:00:00", "2024-12-31 23:59:59"};
  // Timestamps scattered over ids, so equal timestamps are not contiguous by id.
  for (int64_t id = 1; id <= 1000; ++id) insert(id, stamps[(id * 37) % 7]);
  ASSERT_TRUE(writer_.exec("COMMIT").is_ok());

  std::map<int64_t, int> seen;
  std::string last_order;  // gxsj|id of the previous row, zero-padded, must increase
  nlohmann::json cursor = nullptr;
  int batches = 0;
  for (; batches < 200; ++batches) {
    // A fresh connector from the persisted (dumped and re-parsed) cursor each time.
    auto conn = open({"id", "gxsj"}, nlohmann::json::parse(cursor.dump()));
    ASSERT_TRUE(conn) << conn.status().to_string();
    CollectingSink sink;
    auto n = (*conn)->read(13, sink);
    ASSERT_TRUE(n) << n.status().to_string();
    ASSERT_EQ(*n, sink.rows.size());
    if (*n == 0) break;
    ASSERT_LE(*n, 13u);
    for (const auto& row : sink.rows) {
      ++seen[row[0].i];
      char order[64];
      std::snprintf(order, sizeof order, "%s|%08lld", row[1].s.c_str(), static_cast<long long>(row[0].i));
      EXPECT_LT(last_order, order);
      last_order = order;
    }
    cursor = (*conn)->cursor();
    EXPECT_EQ(cursor["value"], sink.rows.back()[1].s);
    EXPECT_EQ(cursor["boundary"].back()[0], sink.rows.back()[0].i);
  }
  EXPECT_EQ(batches, (1000 + 12) / 13);
  ASSERT_EQ(seen.size(), 1000u);
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << "id " << id;
}

TEST_F(SqliteTableConnectorTest, OneConnectorReadsAllRowsInSmallBatches) {
  for (int64_t id = 1; id <= 50; ++id) insert(id, id % 2 == 0 ? "B" : "A");
  auto conn = open({"id"});
  ASSERT_TRUE(conn);
  CollectingSink sink;
  for (int i = 0; i < 100; ++i) {
    auto n = (*conn)->read(4, sink);
    ASSERT_TRUE(n);
    if (*n == 0) break;
  }
  ASSERT_EQ(sink.rows.size(), 50u);
  // All "A" (odd ids) first, then "B", each in id order.
  for (size_t i = 0; i < 25; ++i) EXPECT_EQ(sink.rows[i][0].i, static_cast<int64_t>(2 * i + 1));
  for (size_t i = 0; i < 25; ++i) EXPECT_EQ(sink.rows[25 + i][0].i, static_cast<int64_t>(2 * i + 2));
}

TEST_F(SqliteTableConnectorTest, RowsAddedLaterWithSameTimestampAndHigherKeyArePickedUp) {
  for (int64_t id = 1; id <= 5; ++id) insert(id, "2024-05-01 10:00:00");
  auto conn = open({"id", "xm"});
  ASSERT_TRUE(conn);
  CollectingSink sink;
  auto n = (*conn)->read(100, sink);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 5u);
  EXPECT_EQ(*(*conn)->read(100, sink), 0u);

  insert(9, "2024-05-01 10:00:00", "李四");  // same timestamp, higher key
  insert(10, "2024-05-01 10:00:01", "王五");
  n = (*conn)->read(100, sink);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(sink.rows[5][0].i, 9);
  EXPECT_EQ(sink.rows[5][1].s, "李四");
  EXPECT_EQ(sink.rows[6][0].i, 10);
}

// The row count for progress: taken for a full load only, when asked (a
// progress display), never for a resumed one, and never failing an open.
TEST_F(SqliteTableConnectorTest, EstimatesTheRowsOfAFullLoadOnly) {
  for (int64_t id = 1; id <= 37; ++id) insert(id, "2024-01-01 08:00:00");
  ConnectorOpenOptions counting;
  counting.count_rows = true;
  auto full = SqliteTableConnector::open(config(), {"id", "gxsj"}, nullptr, counting);
  ASSERT_TRUE(full) << full.status().to_string();
  EXPECT_EQ((*full)->estimated_rows(), std::optional<int64_t>(37));
  CollectingSink sink;
  ASSERT_TRUE((*full)->read(10, sink));
  auto resumed = SqliteTableConnector::open(config(), {"id", "gxsj"}, (*full)->cursor(), counting);
  ASSERT_TRUE(resumed) << resumed.status().to_string();
  EXPECT_EQ((*resumed)->estimated_rows(), std::nullopt);

  nlohmann::json refresh = {{"database", db_path_}, {"table", "household_population"}, {"mode", "full_refresh"},
                            {"key_column", "id"}};
  auto every_run = SqliteTableConnector::open(refresh, {"id", "xm"}, nullptr, counting);
  ASSERT_TRUE(every_run) << every_run.status().to_string();
  EXPECT_EQ((*every_run)->estimated_rows(), std::optional<int64_t>(37));
  // Nobody shows progress (the daemon): no count, even of a full refresh.
  auto unasked = SqliteTableConnector::open(refresh, {"id", "xm"}, nullptr);
  ASSERT_TRUE(unasked) << unasked.status().to_string();
  EXPECT_EQ((*unasked)->estimated_rows(), std::nullopt);

  nlohmann::json query = {{"database", db_path_}, {"query", "SELECT id, gxsj FROM household_population WHERE id <= 5"},
                          {"cursor_column", "gxsj"}, {"key_column", "id"}, {"key_unique", "trust"}};
  auto counted_query = SqliteTableConnector::open(query, {"id", "gxsj"}, nullptr, counting);
  ASSERT_TRUE(counted_query) << counted_query.status().to_string();
  EXPECT_EQ((*counted_query)->estimated_rows(), std::optional<int64_t>(5));

  ConnectorOpenOptions dry;
  dry.dry_run = true;
  auto sample = SqliteTableConnector::open(config(), {"id", "gxsj"}, nullptr, dry);
  ASSERT_TRUE(sample) << sample.status().to_string();
  EXPECT_EQ((*sample)->estimated_rows(), std::nullopt);
}

TEST(AllocationCounter, SeesHeapAllocations) {
  const size_t before = testing::allocation_count();
  auto p = std::make_unique<std::string>(100, 'x');
  EXPECT_GE(testing::allocation_count() - before, 2u);  // the string object and its buffer
}

TEST_F(SqliteTableConnectorTest, ReadingRowsDoesNotAllocatePerRow) {
  ASSERT_TRUE(writer_.exec("BEGIN").is_ok());
  for (int64_t id = 1; id <= 3000; ++id) insert(id, "2024-07-" + std::to_string(10 + id % 20) + " 08:00:00");
  ASSERT_TRUE(writer_.exec("COMMIT").is_ok());
  auto conn = open({"id", "xm", "hh", "score", "photo"});
  ASSERT_TRUE(conn);
  struct CountingSink : RowSink {
    Status on_row(const RowView& row) override {
      ++rows;
      for (size_t c = 0; c < row.count; ++c) checksum += row[c].i + static_cast<int64_t>(row[c].s.size());
      return Status::ok();
    }
    size_t rows = 0;
    int64_t checksum = 0;
  } sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 10u);  // warm-up
  const size_t before = testing::allocation_count();
  auto n = (*conn)->read(2500, sink);
  const size_t allocations = testing::allocation_count() - before;
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 2500u);
  EXPECT_LT(allocations, 10u) << "allocations must not grow with the number of rows";
}

// The boundary re-read (every row looked up in the cursor's set and
// skipped) and a large tie group do not allocate per row either.
TEST_F(SqliteTableConnectorTest, ReReadOfALargeTieGroupDoesNotAllocatePerRow) {
  ASSERT_TRUE(writer_.exec("BEGIN").is_ok());
  for (int64_t id = 1; id <= 3000; ++id) insert(id, "2024-07-01 08:00:00");
  ASSERT_TRUE(writer_.exec("COMMIT").is_ok());
  struct CountingSink : RowSink {
    Status on_row(const RowView&) override {
      ++rows;
      return Status::ok();
    }
    size_t rows = 0;
  } sink;
  nlohmann::json cursor;
  {
    auto conn = open({"id", "xm", "hh"});
    ASSERT_TRUE(conn);
    ASSERT_EQ(*(*conn)->read(10, sink), 10u);  // warm-up
    const size_t before = testing::allocation_count();
    ASSERT_EQ(*(*conn)->read(5000, sink), 2990u);
    EXPECT_LT(testing::allocation_count() - before, 10u) << "allocations must not grow with the tie group";
    cursor = (*conn)->cursor();
  }
  ASSERT_EQ(cursor["boundary"].size(), 3000u);
  auto conn = open({"id", "xm", "hh"}, cursor);
  ASSERT_TRUE(conn);
  const size_t before = testing::allocation_count();
  ASSERT_EQ(*(*conn)->read(5000, sink), 0u) << "every row of the group was sent already";
  EXPECT_LT(testing::allocation_count() - before, 10u) << "allocations must not grow with the re-read group";
}

TEST_F(SqliteTableConnectorTest, ResumesAfterSavedCursor) {
  for (int64_t id = 1; id <= 10; ++id) insert(id, "2024-06-0" + std::to_string(id % 3 + 1));
  nlohmann::json saved;
  {
    auto conn = open({"id"});
    ASSERT_TRUE(conn);
    CollectingSink sink;
    ASSERT_EQ(*(*conn)->read(4, sink), 4u);
    saved = (*conn)->cursor();
  }
  // Order by (gxsj, id): day1 = 3,6,9; day2 = 1,4,7,10; day3 = 2,5,8.
  EXPECT_EQ(saved["value"], "2024-06-02");
  ASSERT_EQ(saved["boundary"].size(), 1u);
  EXPECT_EQ(saved["boundary"][0][0], 1);
  auto conn = open({"id"}, saved);
  ASSERT_TRUE(conn);
  EXPECT_EQ((*conn)->cursor(), saved);
  CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(100, sink), 6u);
  std::vector<int64_t> ids;
  for (const auto& r : sink.rows) ids.push_back(r[0].i);
  EXPECT_EQ(ids, (std::vector<int64_t>{4, 7, 10, 2, 5, 8}));
}

TEST_F(SqliteTableConnectorTest, NullsPassThroughAsNullAndTypesAreKept) {
  insert(1, "T", nullptr);
  ASSERT_TRUE(writer_.exec("UPDATE household_population SET photo = x'00ff10', hh = NULL WHERE id = 1").is_ok());
  auto conn = open({"xm", "hh", "photo", "score", "id"});
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 1u);
  const auto& row = sink.rows[0];
  EXPECT_EQ(row[0].type, FieldValue::Type::kNull);
  EXPECT_EQ(row[1].type, FieldValue::Type::kNull);
  EXPECT_EQ(row[2].type, FieldValue::Type::kBlob);
  EXPECT_EQ(row[2].s, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(row[3].type, FieldValue::Type::kReal);
  EXPECT_DOUBLE_EQ(row[3].d, 1.5);
  EXPECT_EQ(row[4].type, FieldValue::Type::kInt);
  EXPECT_EQ(row[4].i, 1);
}

TEST_F(SqliteTableConnectorTest, RowsWithNullCursorAreReadOnceAcrossBatches) {
  ASSERT_TRUE(writer_.exec("INSERT INTO household_population(id, gxsj) VALUES (1, NULL), (2, 'A'), (3, NULL), "
                           "(4, 'A'), (5, NULL)")
                  .is_ok());
  std::vector<int64_t> ids;
  nlohmann::json cursor = nullptr;
  for (int i = 0; i < 20; ++i) {
    auto conn = open({"id"}, cursor);
    ASSERT_TRUE(conn) << conn.status().to_string();
    CollectingSink sink;
    auto n = (*conn)->read(1, sink);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    ids.push_back(sink.rows[0][0].i);
    cursor = (*conn)->cursor();
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3, 5, 2, 4}));
}

TEST_F(SqliteTableConnectorTest, IntegerCursorColumnGivesIntegerCursor) {
  for (int64_t id = 1; id <= 3; ++id) insert(id, "x");
  auto conn = SqliteTableConnector::open(config("id"), {"xm"}, nullptr);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(2, sink), 2u);
  EXPECT_EQ((*conn)->cursor()["value"], 2);
  EXPECT_EQ((*conn)->cursor()["boundary"].size(), 1u);
  EXPECT_EQ((*conn)->cursor()["boundary"][0][0], 2);
  ASSERT_EQ(*(*conn)->read(5, sink), 1u);
}

TEST_F(SqliteTableConnectorTest, SinkErrorStopsAndTheRefusedRowIsReadAgain) {
  for (int64_t id = 1; id <= 5; ++id) insert(id, "T");
  auto conn = open({"id"});
  ASSERT_TRUE(conn);
  CollectingSink sink;
  sink.fail_at = 2;
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kData);
  EXPECT_EQ((*conn)->cursor()["boundary"].back()[0], 2);
  sink.fail_at.reset();
  ASSERT_EQ(*(*conn)->read(10, sink), 3u);
  EXPECT_EQ(sink.rows[2][0].i, 3);
}

TEST_F(SqliteTableConnectorTest, FetchRowsCapsEachRead) {
  for (int64_t id = 1; id <= 10; ++id) insert(id, "T");
  auto cfg = config();
  cfg["fetch_rows"] = 4;
  auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  EXPECT_EQ(*(*conn)->read(100, sink), 4u);
}

// Root ignores file permissions, so compare the database's bytes instead:
// a connector that wrote anything (a table, a pragma, a journal) shows.
TEST_F(SqliteTableConnectorTest, NeverWritesTheAgencyDatabase) {
  insert(1, "T");
  insert(2, "T");  // a tie group, and below a NULL cursor: every pass runs
  ASSERT_TRUE(writer_.exec("INSERT INTO household_population(id, gxsj) VALUES (3, NULL)").is_ok());
  writer_ = SqliteDb();
  auto bytes = [&] {
    std::ifstream in(db_path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string before = bytes();
  ASSERT_FALSE(before.empty());
  const auto mtime_before = std::filesystem::last_write_time(db_path_);
  nlohmann::json cursor = nullptr;
  for (int run = 0; run < 3; ++run) {
    auto conn = open({"id", "xm"}, cursor);
    ASSERT_TRUE(conn) << conn.status().to_string();
    CollectingSink sink;
    ASSERT_TRUE((*conn)->read(1, sink));
    ASSERT_TRUE((*conn)->read(10, sink));
    cursor = (*conn)->cursor();
    EXPECT_FALSE(std::filesystem::exists(db_path_ + "-journal"));
    EXPECT_FALSE(std::filesystem::exists(db_path_ + "-wal"));
  }
  EXPECT_EQ(bytes(), before) << "the agency database changed";
  EXPECT_EQ(std::filesystem::last_write_time(db_path_), mtime_before);
}

TEST_F(SqliteTableConnectorTest, MissingDatabaseIsSourceErrorNamingPath) {
  auto cfg = config();
  cfg["database"] = dir_.file("missing.db");
  auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kSource);
  EXPECT_NE(conn.status().message().find(dir_.file("missing.db")), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.file("missing.db"))) << "must not create the database";
}

TEST_F(SqliteTableConnectorTest, NotADatabaseIsSourceErrorNamingPath) {
  const std::string path = dir_.file("notes.txt");
  std::ofstream(path) << std::string(4096, 'x');
  auto cfg = config();
  cfg["database"] = path;
  auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kSource);
  EXPECT_NE(conn.status().message().find(path), std::string::npos);
}

TEST_F(SqliteTableConnectorTest, MissingTableIsNamed) {
  auto cfg = config();
  cfg["table"] = "no_such_table";
  auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
  EXPECT_NE(conn.status().message().find("no table no_such_table"), std::string::npos) << conn.status().message();
}

TEST_F(SqliteTableConnectorTest, MissingCursorColumnIsNamedWithItsRole) {
  auto conn = SqliteTableConnector::open(config("updated_at"), {"id"}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
  EXPECT_EQ(conn.status().message(), "table household_population has no column updated_at (cursor_column)");
}

TEST_F(SqliteTableConnectorTest, MissingRequestedColumnIsNamed) {
  auto conn = open({"id", "gmsfhm"});
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
  EXPECT_NE(conn.status().message().find("has no column gmsfhm"), std::string::npos) << conn.status().message();
}

TEST_F(SqliteTableConnectorTest, ColumnNamesAreCaseInsensitiveLikeSqlite) {
  insert(1, "T");
  auto conn = open({"ID", "Xm"});
  ASSERT_TRUE(conn) << conn.status().to_string();
  CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 1u);
  EXPECT_EQ(sink.rows[0][1].s, "张三");
}

TEST_F(SqliteTableConnectorTest, MalformedCursorAndConfigAreConfigErrors) {
  auto bad_cursor = open({"id"}, nlohmann::json{{"value", "x"}});
  ASSERT_FALSE(bad_cursor);
  EXPECT_EQ(bad_cursor.status().code(), StatusCode::kConfig);

  auto cfg = config();
  cfg.erase("key_column");
  auto bad_config = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_FALSE(bad_config);
  EXPECT_EQ(bad_config.status().code(), StatusCode::kConfig);
  EXPECT_NE(bad_config.status().message().find("key_column"), std::string::npos);
}

}  // namespace
}  // namespace dxhub
