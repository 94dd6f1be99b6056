// The incremental table reader misses nothing and repeats nothing: tie
// groups changed after a read, late commits (settle), NULL cursors, odd
// cursor values, and keys that cannot identify a row.
#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "core/common/sqlite_db.h"
#include "tests/connectors/sqlite_test_helpers.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::CollectingSink;
using testing::OwnedValue;

// Unix milliseconds of a local 'YYYY-MM-DD HH:MM:SS' at +08:00.
int64_t shanghai_ms(const char* local) {
  std::tm tm{};
  EXPECT_NE(strptime(local, "%Y-%m-%d %H:%M:%S", &tm), nullptr);
  return (static_cast<int64_t>(timegm(&tm)) - 8 * 3600) * 1000;
}

class IncrementalTest : public testing::SqliteDbTest {
 protected:
  nlohmann::json config(const std::string& table = "t", const std::string& key = "id",
                        const std::string& cursor = "gxsj") const {
    return {{"database", db_path_}, {"table", table}, {"cursor_column", cursor}, {"key_column", key}};
  }

  // One run per batch: a fresh connector from the persisted cursor (dumped
  // strictly, as the state store would, and parsed back) reads `batch` rows.
  std::vector<std::vector<OwnedValue>> drain_per_batch(const nlohmann::json& cfg,
                                                       const std::vector<std::string>& columns, size_t batch) {
    std::vector<std::vector<OwnedValue>> rows;
    for (int runs = 0; runs < 10000; ++runs) {
      auto conn = SqliteTableConnector::open(cfg, columns, cursor_);
      EXPECT_TRUE(conn) << conn.status().to_string();
      if (!conn) break;
      CollectingSink sink;
      auto n = (*conn)->read(batch, sink);
      EXPECT_TRUE(n) << n.status().to_string();
      if (!n || *n == 0) break;
      EXPECT_EQ(*n, sink.rows.size());
      for (auto& r : sink.rows) rows.push_back(std::move(r));
      std::string text;
      EXPECT_NO_THROW(text = (*conn)->cursor().dump());
      cursor_ = nlohmann::json::parse(text);
      EXPECT_EQ(cursor_, (*conn)->cursor()) << "the cursor must round-trip exactly";
    }
    return rows;
  }

  // One run: one connector reads until exhausted in batches of `batch`.
  std::vector<std::vector<OwnedValue>> drain_one_run(const nlohmann::json& cfg, const std::vector<std::string>& columns,
                                                     size_t batch) {
    std::vector<std::vector<OwnedValue>> rows;
    auto conn = SqliteTableConnector::open(cfg, columns, cursor_);
    EXPECT_TRUE(conn) << conn.status().to_string();
    if (!conn) return rows;
    CollectingSink sink;
    for (int reads = 0; reads < 10000; ++reads) {
      auto n = (*conn)->read(batch, sink);
      EXPECT_TRUE(n) << n.status().to_string();
      if (!n || *n == 0) break;
    }
    std::string text;
    EXPECT_NO_THROW(text = (*conn)->cursor().dump());
    if (!text.empty()) cursor_ = nlohmann::json::parse(text);
    return std::move(sink.rows);
  }

  static std::vector<int64_t> ids(const std::vector<std::vector<OwnedValue>>& rows, size_t col = 0) {
    std::vector<int64_t> out;
    for (const auto& r : rows) out.push_back(r[col].i);
    return out;
  }

  nlohmann::json cursor_ = nullptr;
};

// (a) Same-second update with a lower key than the last one read.
TEST_F(IncrementalTest, SameSecondUpdateWithLowerKeyIsDeliveredOnce) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, xm TEXT, gxsj TEXT); CREATE INDEX t_gxsj ON t(gxsj, id)");
  for (int id = 1; id <= 5; ++id) exec("INSERT INTO t VALUES (" + std::to_string(id) + ", 'v1', '2026-12-01 10:00:00')");
  EXPECT_EQ(ids(drain_per_batch(config(), {"id", "xm"}, 2)), (std::vector<int64_t>{1, 2, 3, 4, 5}));

  exec("UPDATE t SET xm = 'v2' WHERE id = 2");  // gxsj kept: same second
  auto again = drain_per_batch(config(), {"id", "xm"}, 2);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0][0].i, 2);
  EXPECT_EQ(again[0][1].s, "v2");
  EXPECT_TRUE(drain_per_batch(config(), {"id", "xm"}, 2).empty()) << "sent once, not again";

  // Back to the first form: a change too, so it is sent again.
  exec("UPDATE t SET xm = 'v1' WHERE id = 2");
  EXPECT_EQ(ids(drain_one_run(config(), {"id", "xm"}, 100)), (std::vector<int64_t>{2}));
  EXPECT_TRUE(drain_one_run(config(), {"id", "xm"}, 100).empty());
}

// (b) Same-second insert with a smaller TEXT key.
TEST_F(IncrementalTest, SameSecondInsertWithSmallerTextKeyIsDeliveredOnce) {
  exec("CREATE TABLE t(code TEXT PRIMARY KEY NOT NULL, xm TEXT, gxsj TEXT)");
  exec("INSERT INTO t VALUES ('m', 'a', '2026-12-01 10:00:00'), ('n', 'b', '2026-12-01 10:00:00')");
  auto first = drain_per_batch(config("t", "code"), {"code"}, 1);
  ASSERT_EQ(first.size(), 2u);
  exec("INSERT INTO t VALUES ('a', 'c', '2026-12-01 10:00:00')");
  auto second = drain_per_batch(config("t", "code"), {"code"}, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0][0].s, "a");
  EXPECT_TRUE(drain_per_batch(config("t", "code"), {"code"}, 1).empty());
}

// A large tie group split over many batches and runs, changed in between.
TEST_F(IncrementalTest, TieGroupAcrossRunsEveryRowVersionOnce) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, xm TEXT, gxsj TEXT); CREATE INDEX t_gxsj ON t(gxsj, id)");
  exec("BEGIN");
  for (int id = 1; id <= 300; ++id) {
    exec("INSERT INTO t VALUES (" + std::to_string(id) + ", 'v1', '" +
         (id % 3 == 0 ? "2026-12-01 10:00:01" : "2026-12-01 10:00:00") + "')");
  }
  exec("COMMIT");
  std::map<int64_t, int> seen;
  for (int64_t id : ids(drain_per_batch(config(), {"id", "xm"}, 7))) ++seen[id];
  ASSERT_EQ(seen.size(), 300u);
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << id;

  // Changes within the last second (the boundary group), lower keys included.
  exec("UPDATE t SET xm = 'v2' WHERE id IN (3, 150, 297)");
  exec("INSERT INTO t VALUES (0, 'new', '2026-12-01 10:00:01')");
  auto changed = ids(drain_one_run(config(), {"id", "xm"}, 2));
  EXPECT_EQ(changed, (std::vector<int64_t>{0, 3, 150, 297}));
  EXPECT_TRUE(drain_per_batch(config(), {"id", "xm"}, 7).empty());
  // A change to a column not read is no change of what was sent.
  exec("ALTER TABLE t ADD COLUMN extra TEXT");
  exec("UPDATE t SET extra = 'x' WHERE id = 3");
  EXPECT_TRUE(drain_per_batch(config(), {"id", "xm"}, 7).empty());
}

// Within one run the open continues by keyset (a tie group is not scanned
// once per batch); a row added behind the position comes with the next run.
TEST_F(IncrementalTest, RowAddedBehindThePositionDuringARunComesWithTheNextRun) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT NOT NULL); CREATE INDEX t_gxsj ON t(gxsj, id)");
  exec("INSERT INTO t VALUES (5, 'T'), (6, 'T'), (7, 'T')");
  auto conn = SqliteTableConnector::open(config(), {"id"}, nullptr);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(2, sink), 2u);
  exec("INSERT INTO t VALUES (1, 'T')");
  ASSERT_EQ(*(*conn)->read(10, sink), 1u);
  EXPECT_EQ(ids(sink.rows), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(*(*conn)->read(10, sink), 0u);
  cursor_ = nlohmann::json::parse((*conn)->cursor().dump());
  EXPECT_EQ(ids(drain_one_run(config(), {"id"}, 10)), (std::vector<int64_t>{1}));
  EXPECT_TRUE(drain_one_run(config(), {"id"}, 10).empty());
}

// (c) A row stamped before the cursor but committed after the read passed it.
TEST_F(IncrementalTest, LateCommittingRowIsReadWithSettleLag) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT NOT NULL)");
  auto cfg = config();
  cfg["settle_seconds"] = 10;
  cfg["cursor_format"] = "datetime";
  exec("INSERT INTO t VALUES (1, '2026-12-01 10:00:05')");
  cfg["now_ms"] = shanghai_ms("2026-12-01 10:00:06");
  EXPECT_TRUE(drain_per_batch(cfg, {"id"}, 10).empty()) << "10:00:05 has not settled at 10:00:06";
  // A writer that stamped 10:00:03 commits only now.
  exec("INSERT INTO t VALUES (2, '2026-12-01 10:00:03')");
  cfg["now_ms"] = shanghai_ms("2026-12-01 10:00:14");
  EXPECT_EQ(ids(drain_per_batch(cfg, {"id"}, 10)), (std::vector<int64_t>{2})) << "10:00:04 and older have settled";
  cfg["now_ms"] = shanghai_ms("2026-12-01 10:00:20");
  EXPECT_EQ(ids(drain_per_batch(cfg, {"id"}, 10)), (std::vector<int64_t>{1}));
  EXPECT_TRUE(drain_per_batch(cfg, {"id"}, 10).empty());
}

TEST_F(IncrementalTest, SettleWorksForEpochColumns) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL)");
  exec("INSERT INTO t VALUES (1, 1000), (2, 1990), (3, 2000)");
  auto cfg = config("t", "id", "ts");
  cfg["settle_seconds"] = 10;
  cfg["cursor_format"] = "epoch_seconds";
  cfg["now_ms"] = 1995 * 1000 + 999;  // bound 1985: 1990 has not settled
  EXPECT_EQ(ids(drain_one_run(cfg, {"id"}, 10)), (std::vector<int64_t>{1}));
  cfg["now_ms"] = 2010 * 1000;
  EXPECT_EQ(ids(drain_one_run(cfg, {"id"}, 10)), (std::vector<int64_t>{2, 3}));

  cursor_ = nullptr;
  cfg["cursor_format"] = "epoch_millis";
  cfg["now_ms"] = 2000 + 10 * 1000;
  EXPECT_EQ(ids(drain_one_run(cfg, {"id"}, 10)), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(IncrementalTest, SettleBoundIsTheColumnsLocalTime) {
  SqliteTableConnector::Config c;
  c.settle_seconds = 30;
  c.cursor_format = SqliteTableConnector::CursorFormat::kDatetime;
  const int64_t now = shanghai_ms("2026-12-01 00:00:10") + 999;
  EXPECT_EQ(SqliteTableConnector::settle_bound(c, now).text, "2026-11-30 23:59:40");
  c.source_utc_offset_seconds = -(5 * 3600 + 30 * 60);
  EXPECT_EQ(SqliteTableConnector::settle_bound(c, now).text, "2026-11-30 10:29:40");
  c.cursor_format = SqliteTableConnector::CursorFormat::kEpochSeconds;
  EXPECT_EQ(SqliteTableConnector::settle_bound(c, 100999).i, 70);
  EXPECT_EQ(SqliteTableConnector::settle_bound(c, -1).i, -31);
  c.cursor_format = SqliteTableConnector::CursorFormat::kEpochMillis;
  EXPECT_EQ(SqliteTableConnector::settle_bound(c, 100999).i, 70999);
}

TEST_F(IncrementalTest, SettleConfigErrors) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj)");  // no affinity: a value may be of any type
  auto expect_config_error = [&](nlohmann::json cfg, const char* needle) {
    auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
    ASSERT_FALSE(conn) << cfg.dump();
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
    EXPECT_NE(conn.status().message().find(needle), std::string::npos) << conn.status().message();
  };
  auto cfg = config();
  cfg["settle_seconds"] = 5;
  expect_config_error(cfg, "cursor_format");  // opaque cannot settle
  cfg["cursor_format"] = "iso";
  expect_config_error(cfg, "cursor_format");
  cfg["cursor_format"] = "datetime";
  cfg["source_utc_offset"] = "8";
  expect_config_error(cfg, "source_utc_offset");
  cfg.erase("source_utc_offset");
  cfg["settle_seconds"] = -1;
  expect_config_error(cfg, "settle_seconds");
  // A value of the wrong type would never settle or never be held back.
  cfg["settle_seconds"] = 5;
  exec("INSERT INTO t VALUES (1, '2026-12-01 10:00:00'), (2, 1764554400)");
  expect_config_error(cfg, "non-TEXT");
  cfg["cursor_format"] = "epoch_seconds";
  expect_config_error(cfg, "TEXT or BLOB");
}

// (d) NULL cursor values: rows inserted later with NULL, and NULLs that get a value.
TEST_F(IncrementalTest, NullCursorRowsInsertedLaterAreReadAndLaterValuesFlow) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, xm TEXT, gxsj TEXT); CREATE INDEX t_gxsj ON t(gxsj, id)");
  exec("INSERT INTO t VALUES (1, 'a', '2026-12-01 10:00:00'), (2, 'b', NULL)");
  EXPECT_EQ(ids(drain_per_batch(config(), {"id", "xm"}, 1)), (std::vector<int64_t>{2, 1}));
  exec("INSERT INTO t VALUES (3, 'c', NULL), (0, 'd', NULL)");
  EXPECT_EQ(ids(drain_per_batch(config(), {"id", "xm"}, 1)), (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(drain_per_batch(config(), {"id", "xm"}, 1).empty());
  exec("UPDATE t SET xm = 'c2' WHERE id = 3");  // changed while still NULL
  EXPECT_EQ(ids(drain_one_run(config(), {"id", "xm"}, 10)), (std::vector<int64_t>{3}));
  exec("UPDATE t SET gxsj = '2026-12-01 10:00:09' WHERE id = 0");
  EXPECT_EQ(ids(drain_one_run(config(), {"id", "xm"}, 10)), (std::vector<int64_t>{0}));
  EXPECT_TRUE(drain_one_run(config(), {"id", "xm"}, 10).empty());
  EXPECT_EQ(cursor_["nulls"].size(), 2u) << "only rows still NULL are remembered: " << cursor_.dump();
}

// (e) Infinite reals, huge integers, mixed types, invalid UTF-8: the cursor
// round-trips exactly and every row comes once, in SQLite's order.
TEST_F(IncrementalTest, OddCursorValuesRoundTripAndEveryRowComesOnce) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, c)");  // no affinity: values keep their type
  exec("INSERT INTO t VALUES (1, 9e999), (2, -9e999), (3, 9223372036854775807), (4, 9007199254740993), "
       "(5, 9007199254740992), (6, 1.5), (7, 'text'), (8, CAST(x'ff61' AS TEXT)), (9, x'00ff'), "
       "(10, 9007199254740993), (11, -9223372036854775808), (12, 2), (13, 2.0), (14, CAST(x'ff61' AS TEXT)), "
       "(15, 9e999)");
  const auto rows = drain_per_batch(config("t", "id", "c"), {"id", "c"}, 1);
  // NULL < numbers (ints and reals by value; 2 = 2.0) < TEXT < BLOB, then key.
  EXPECT_EQ(ids(rows), (std::vector<int64_t>{2, 11, 6, 12, 13, 5, 4, 10, 3, 1, 15, 7, 8, 14, 9}));
  EXPECT_EQ(cursor_["value"], (nlohmann::json{{"blob", "00ff"}}));
  EXPECT_TRUE(drain_per_batch(config("t", "id", "c"), {"id", "c"}, 1).empty());

  // Each boundary kind, persisted and re-read: nothing again.
  for (const char* boundary : {"9e999", "9223372036854775807", "9007199254740993", "CAST(x'ff61' AS TEXT)"}) {
    cursor_ = nullptr;
    exec("DELETE FROM t");
    exec(std::string("INSERT INTO t VALUES (1, 0), (2, ") + boundary + "), (3, " + boundary + ")");
    EXPECT_EQ(ids(drain_per_batch(config("t", "id", "c"), {"id"}, 1)), (std::vector<int64_t>{1, 2, 3})) << boundary;
    EXPECT_TRUE(drain_per_batch(config("t", "id", "c"), {"id"}, 1).empty()) << boundary << " " << cursor_.dump();
    exec(std::string("INSERT INTO t VALUES (0, ") + boundary + ")");
    EXPECT_EQ(ids(drain_per_batch(config("t", "id", "c"), {"id"}, 1)), (std::vector<int64_t>{0})) << boundary;
  }
  EXPECT_EQ(cursor_["value"], (nlohmann::json{{"hex", "ff61"}}));
}

TEST_F(IncrementalTest, InvalidUtf8AndOddKeysRoundTrip) {
  exec("CREATE TABLE t(k NOT NULL PRIMARY KEY, gxsj TEXT)");  // no affinity: keys of any type
  exec("INSERT INTO t VALUES (CAST(x'ff' AS TEXT), 'T'), (CAST(x'c0af' AS TEXT), 'T'), ('ok', 'T'), "
       "(9223372036854775807, 'T'), (-1.5, 'T'), (x'0001', 'T'), (9e999, 'T')");
  const auto rows = drain_per_batch(config("t", "k"), {"k"}, 1);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(cursor_["boundary"].size(), 7u);
  EXPECT_TRUE(drain_per_batch(config("t", "k"), {"k"}, 1).empty()) << cursor_.dump();
  exec("UPDATE t SET gxsj = 'T' WHERE k = CAST(x'ff' AS TEXT)");  // no change: not sent
  EXPECT_TRUE(drain_one_run(config("t", "k"), {"k"}, 3).empty());
}

TEST_F(IncrementalTest, NanIsNotACursorValue) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, c)");
  nlohmann::json nan_cursor = {{"v", 2}, {"value", {{"real", "nan"}}}, {"boundary", nlohmann::json::array()},
                               {"nulls", nlohmann::json::array()}};
  auto conn = SqliteTableConnector::open(config("t", "id", "c"), {"id"}, nan_cursor);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
}

TEST_F(IncrementalTest, FirstCursorFormatIsReadAndTheRowsAtItsValueComeOnceMore) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT)");
  exec("INSERT INTO t VALUES (1, 'A'), (2, 'B'), (3, 'B'), (4, 'C')");
  cursor_ = {{"value", "B"}, {"key", 2}};
  EXPECT_EQ(ids(drain_per_batch(config(), {"id"}, 1)), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(cursor_["v"], 2);
  EXPECT_TRUE(drain_per_batch(config(), {"id"}, 1).empty());
}

TEST_F(IncrementalTest, MalformedSecondFormCursorsAreConfigErrors) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT)");
  const nlohmann::json empty = nlohmann::json::array();
  for (const nlohmann::json& bad :
       {nlohmann::json{{"v", 3}, {"value", "A"}, {"boundary", empty}, {"nulls", empty}},
        nlohmann::json{{"v", 2}, {"value", "A"}, {"boundary", {{1, "zz"}}}, {"nulls", empty}},
        nlohmann::json{{"v", 2}, {"value", "A"}, {"boundary", {{1, "0011223344556677"}}}},
        nlohmann::json{{"v", 2}, {"value", {{"hex", "f"}}}, {"boundary", empty}, {"nulls", empty}},
        nlohmann::json{{"v", 2}, {"value", 18446744073709551615ull}, {"boundary", empty}, {"nulls", empty}}}) {
    auto conn = SqliteTableConnector::open(config(), {"id"}, bad);
    ASSERT_FALSE(conn) << bad.dump();
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig) << bad.dump();
  }
}

// (f) The key must identify a row: unique and NOT NULL, provably.
TEST_F(IncrementalTest, KeyThatIsNotUniqueOrMayBeNullIsRefusedNamingTableAndColumn) {
  exec("CREATE TABLE text_pk(k TEXT PRIMARY KEY, gxsj TEXT);"
       "CREATE TABLE no_index(k TEXT NOT NULL, gxsj TEXT);"
       "CREATE TABLE plain_index(k TEXT NOT NULL, gxsj TEXT); CREATE INDEX pi ON plain_index(k);"
       "CREATE TABLE nullable_unique(k TEXT UNIQUE, gxsj TEXT);"
       "CREATE TABLE partial_unique(k TEXT NOT NULL, gxsj TEXT); CREATE UNIQUE INDEX pu ON partial_unique(k) WHERE k > 'a';"
       "CREATE TABLE two_columns(k TEXT NOT NULL, j TEXT, gxsj TEXT, UNIQUE(k, j));"
       "CREATE TABLE composite_pk(k INTEGER NOT NULL, j INTEGER NOT NULL, gxsj TEXT, PRIMARY KEY(k, j));"
       "CREATE TABLE desc_pk(k INTEGER PRIMARY KEY DESC, gxsj TEXT);"
       "CREATE TABLE expr_unique(k TEXT NOT NULL, gxsj TEXT); CREATE UNIQUE INDEX eu ON expr_unique(lower(k));"
       "CREATE VIEW a_view AS SELECT 1 AS k, 'T' AS gxsj;");
  for (const char* table : {"text_pk", "no_index", "plain_index", "nullable_unique", "partial_unique", "two_columns",
                            "composite_pk", "desc_pk", "expr_unique", "a_view"}) {
    auto conn = SqliteTableConnector::open(config(table, "k"), {"k"}, nullptr);
    ASSERT_FALSE(conn) << table;
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig) << table;
    EXPECT_NE(conn.status().message().find(std::string("table ") + table + " key_column k"), std::string::npos)
        << conn.status().message();
  }
}

TEST_F(IncrementalTest, KeysThatIdentifyARowAreAccepted) {
  exec("CREATE TABLE rowid_alias(k INTEGER PRIMARY KEY, gxsj TEXT);"
       "CREATE TABLE lower_case(k integer primary key, gxsj TEXT);"
       "CREATE TABLE text_pk_not_null(k TEXT PRIMARY KEY NOT NULL, gxsj TEXT);"
       "CREATE TABLE unique_not_null(k TEXT NOT NULL UNIQUE, gxsj TEXT);"
       "CREATE TABLE unique_index(k TEXT NOT NULL, gxsj TEXT); CREATE UNIQUE INDEX ui ON unique_index(k);"
       "CREATE TABLE without_rowid(k TEXT PRIMARY KEY, gxsj TEXT) WITHOUT ROWID;"
       "CREATE TABLE other_column_pk(id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, gxsj TEXT);");
  for (const char* table : {"rowid_alias", "lower_case", "text_pk_not_null", "unique_not_null", "unique_index",
                            "without_rowid", "other_column_pk"}) {
    auto conn = SqliteTableConnector::open(config(table, "K"), {"k"}, nullptr);
    EXPECT_TRUE(conn) << table << ": " << conn.status().to_string();
  }
}

TEST_F(IncrementalTest, CursorColumnWithAnotherCollationIsRefused) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT COLLATE NOCASE)");
  auto conn = SqliteTableConnector::open(config(), {"id"}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
  EXPECT_NE(conn.status().message().find("NOCASE"), std::string::npos) << conn.status().message();
}

}  // namespace
}  // namespace dxhub
