// Politeness to the agency database (issue 6 point 7): no lock is held
// while the sink maps rows, so a writer in rollback-journal mode commits
// between chunks without waiting; and a rows-per-second limit.
#include <gtest/gtest.h>

#include <chrono>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/sqlite_test_helpers.h"

namespace dxhub {
namespace {

using testing::SqliteSourceTest;

class Politeness : public SqliteSourceTest {
 protected:
  void SetUp() override {
    SqliteSourceTest::SetUp();
    exec("CREATE TABLE people(id INTEGER PRIMARY KEY, xm TEXT, n INTEGER, gxsj TEXT);"
         "CREATE INDEX people_gxsj ON people(gxsj, id); CREATE TABLE log(x)");
    exec("BEGIN");
    for (int id = 1; id <= 3000; ++id) {
      exec("INSERT INTO people VALUES (" + std::to_string(id) + ", 'name" + std::to_string(id % 97) + "', 0, '2026-12-01 " +
           std::to_string(10 + id % 10) + ":00:00')");
    }
    exec("COMMIT");
  }
};

// A writer on its own connection, never waiting: any lock held by the
// reader makes its commit fail with SQLITE_BUSY at once.
class ImpatientWriter {
 public:
  explicit ImpatientWriter(const std::string& path) {
    auto db = SqliteDb::open(path, SqliteDb::Mode::kReadWrite);
    EXPECT_TRUE(db);
    db_ = std::move(db).value();
    sqlite3_busy_timeout(db_.get(), 0);
  }
  // Commits one change to the table being read and one elsewhere; true when
  // it went through without SQLITE_BUSY.
  bool commit_once() {
    ++attempts;
    const bool ok = db_.exec("BEGIN IMMEDIATE; UPDATE people SET n = n + 1 WHERE id = 1; INSERT INTO log VALUES (1); "
                             "COMMIT").is_ok();
    if (!ok) {
      ++busy;
      (void)db_.exec("ROLLBACK");
    }
    return ok;
  }
  SqliteDb db_;
  int attempts = 0;
  int busy = 0;
};

class WritingSink : public RowSink {
 public:
  explicit WritingSink(ImpatientWriter& w) : writer_(w) {}
  Status on_row(const RowView&) override {
    ++rows;
    if (rows % 50 == 0) writer_.commit_once();  // while the rows are "mapped"
    return Status::ok();
  }
  ImpatientWriter& writer_;
  size_t rows = 0;
};

TEST_F(Politeness, JournalModeIsRollbackNotWal) {
  auto stmt = db_.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(stmt);
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->column_text(0), "delete");
}

// The test can fail: a reader in the middle of a statement blocks the writer.
TEST_F(Politeness, AHeldReadStatementMakesTheWriterBusy) {
  ImpatientWriter writer(db_path_);
  auto reader = SqliteDb::open(db_path_, SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(reader);
  auto stmt = reader->prepare("SELECT id FROM people ORDER BY id");
  ASSERT_TRUE(stmt);
  ASSERT_TRUE(*stmt->step());
  EXPECT_FALSE(writer.commit_once()) << "a SHARED lock is held while the statement runs";
  ASSERT_TRUE(stmt->reset().is_ok());
  EXPECT_TRUE(writer.commit_once()) << "and released by the reset";
}

TEST_F(Politeness, WritersCommitWhileTheSinkMapsInEveryMode) {
  for (const char* mode : {"incremental", "full_refresh", "triggers"}) {
    nlohmann::json cfg = base({{"table", "people"}, {"mode", mode}, {"key_column", "id"}, {"chunk_rows", 200}});
    if (std::string(mode) == "incremental") cfg["cursor_column"] = "gxsj";
    auto conn = SqliteTableConnector::open(cfg, {"id", "xm"}, nullptr);
    ASSERT_TRUE(conn) << conn.status().to_string();
    ImpatientWriter writer(db_path_);
    WritingSink sink(writer);
    for (int reads = 0; reads < 100; ++reads) {  // bounded
      auto n = (*conn)->read(1000, sink);
      ASSERT_TRUE(n) << n.status().to_string();
      if (*n == 0) break;
    }
    EXPECT_GE(sink.rows, 3000u) << mode;
    EXPECT_GE(writer.attempts, 60) << mode;
    EXPECT_EQ(writer.busy, 0) << mode << ": the writer found a lock held while rows were mapped";
  }
}

TEST_F(Politeness, RowsPerSecondLimitPacesTheRead) {
  auto conn = SqliteTableConnector::open(
      base({{"table", "people"}, {"mode", "full_refresh"}, {"key_column", "id"}, {"rows_per_second", 400}}), {"id"},
      nullptr);
  ASSERT_TRUE(conn);
  testing::OpSink sink;
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(*(*conn)->read(600, sink), 600u);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // 600 rows at 400/s, the first fifth of a second's chunk at once: >= 1.3 s.
  EXPECT_GE(seconds, 1.2) << "a lower bound only";
  for (size_t k = 0; k < sink.rows.size(); ++k) EXPECT_EQ(sink.rows[k].values[0].i, static_cast<int64_t>(k + 1));
}

TEST_F(Politeness, ChunkedReadsOfViewsAndFullRefreshDoNotAllocatePerRow) {
  exec("CREATE VIEW pv AS SELECT id, xm, gxsj FROM people");
  const nlohmann::json configs[] = {
      base({{"table", "people"}, {"mode", "full_refresh"}, {"key_column", "id"}, {"chunk_rows", 100}}),
      base({{"table", "pv"}, {"cursor_column", "gxsj"}, {"key_column", "id"}, {"key_unique", "trust"},
            {"chunk_rows", 100}}),
      base({{"query", "SELECT id, xm FROM people"}, {"mode", "full_refresh"}, {"key_column", "id"},
            {"key_unique", "trust"}, {"chunk_rows", 100}})};
  for (const auto& cfg : configs) {
    auto conn = SqliteTableConnector::open(cfg, {"id", "xm"}, nullptr);
    ASSERT_TRUE(conn) << conn.status().to_string();
    struct Counting : RowSink {
      Status on_row(const RowView& row) override {
        rows += row.count;
        return Status::ok();
      }
      size_t rows = 0;
    } sink;
    ASSERT_EQ(*(*conn)->read(100, sink), 100u);  // warm-up: chunk buffers sized
    const size_t before = testing::allocation_count();
    ASSERT_EQ(*(*conn)->read(2500, sink), 2500u);
    EXPECT_LT(testing::allocation_count() - before, 10u) << cfg.dump();
  }
}

}  // namespace
}  // namespace dxhub
