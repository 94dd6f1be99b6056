// The general SQLite connector: views, queries, full refresh, trusted keys
// that repeat, column discovery, hostile names, advisories (issue 6 point 4).
#include <gtest/gtest.h>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "tests/connectors/sqlite_test_helpers.h"

namespace dxhub {
namespace {

using testing::mentions;
using testing::OpRow;
using testing::SqliteSourceTest;

class SqliteSources : public SqliteSourceTest {
 protected:
  void make_people(int n, const std::string& stamp = "2026-12-01 10:00:00") {
    exec("CREATE TABLE people(id INTEGER PRIMARY KEY, xm TEXT, gxsj TEXT); CREATE INDEX people_gxsj ON people(gxsj, id)");
    exec("BEGIN");
    for (int id = 1; id <= n; ++id) {
      exec("INSERT INTO people VALUES (" + std::to_string(id) + ", 'v" + std::to_string(id) + "', '" + stamp + "')");
    }
    exec("COMMIT");
  }
};

TEST_F(SqliteSources, ViewKeyIsRefusedUnlessTrusted) {
  make_people(3);
  exec("CREATE VIEW pv AS SELECT id, xm, gxsj FROM people");
  nlohmann::json cfg = base({{"table", "pv"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  auto refused = SqliteTableConnector::open(cfg, {}, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kConfig);
  EXPECT_NE(refused.status().message().find("key_unique"), std::string::npos) << refused.status().message();

  cfg["key_unique"] = "trust";
  auto conn = SqliteTableConnector::open(cfg, {}, nullptr);
  ASSERT_TRUE(conn) << conn.status().to_string();
  EXPECT_EQ((*conn)->columns(), (std::vector<std::string>{"id", "xm", "gxsj"})) << "empty columns: every column";
  auto rows = drain(cfg, {}, 2, true);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].values[1].s, "v3");
  EXPECT_FALSE(mentions(advisories_, "repeats"));
}

TEST_F(SqliteSources, TableColumnsEmptyMeansEveryColumnInOrder) {
  make_people(1);
  auto conn = SqliteTableConnector::open(base({{"table", "people"}, {"cursor_column", "gxsj"}, {"key_column", "id"}}),
                                         {}, nullptr);
  ASSERT_TRUE(conn) << conn.status().to_string();
  EXPECT_EQ((*conn)->columns(), (std::vector<std::string>{"id", "xm", "gxsj"}));
  testing::OpSink sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 1u);
  ASSERT_EQ(sink.rows[0].values.size(), 3u);
  EXPECT_EQ(sink.rows[0].values[2].s, "2026-12-01 10:00:00");
}

TEST_F(SqliteSources, QueryIsReadIncrementallyWithTheIssue3Rules) {
  make_people(4);
  nlohmann::json cfg = base({{"query", "SELECT id AS code, upper(xm) AS name, gxsj FROM people WHERE id <> 3;  "},
                             {"cursor_column", "gxsj"},
                             {"key_column", "code"},
                             {"key_unique", "trust"},
                             {"chunk_rows", 1}});
  auto first = drain(cfg, {}, 2, true);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].values[1].s, "V1");
  // Same second, lower key: the tie group is read again, only the change sent.
  exec("UPDATE people SET xm = 'changed' WHERE id = 1");
  auto second = drain(cfg, {}, 2, true);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].values[0].i, 1);
  EXPECT_EQ(second[0].values[1].s, "CHANGED");
  EXPECT_TRUE(drain(cfg, {}, 2, true).empty());
}

TEST_F(SqliteSources, QueryMustBeOneReadOnlySelect) {
  make_people(2);
  const char* bad[] = {"DELETE FROM people",
                       "SELECT 1 AS id, 'x' AS gxsj; DROP TABLE people",
                       "SELECT 1 AS id, 'x' AS gxsj) ; DROP TABLE people; --",
                       "SELECT id, gxsj FROM people) AS a, (SELECT 1",
                       "INSERT INTO people(id) VALUES (99) RETURNING id, id AS gxsj",
                       "EXPLAIN SELECT * FROM people",
                       "PRAGMA writable_schema = 1",
                       "SELECT id, id, gxsj FROM people",
                       "SELECT id, gxsj FROM people -- comment ) AS x; DROP TABLE people"};
  for (const char* q : bad) {
    auto conn = SqliteTableConnector::open(
        base({{"query", q}, {"cursor_column", "gxsj"}, {"key_column", "id"}, {"key_unique", "trust"}}), {}, nullptr);
    if (std::string(q).find("-- comment") != std::string::npos) {
      // The comment cannot reach the ")": a harmless query that reads.
      ASSERT_TRUE(conn) << conn.status().to_string();
      testing::OpSink sink;
      EXPECT_EQ(*(*conn)->read(10, sink), 2u);
      continue;
    }
    ASSERT_FALSE(conn) << q;
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig) << q << ": " << conn.status().to_string();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM people"), 2) << "nothing ran";
  // A query is never "proven" unique.
  auto unproven = SqliteTableConnector::open(
      base({{"query", "SELECT id, gxsj FROM people"}, {"cursor_column", "gxsj"}, {"key_column", "id"}}), {}, nullptr);
  ASSERT_FALSE(unproven);
  EXPECT_EQ(unproven.status().code(), StatusCode::kConfig);
  // Exactly one of table and query.
  auto both = SqliteTableConnector::open(base({{"query", "SELECT id, gxsj FROM people"}, {"table", "people"},
                                               {"cursor_column", "gxsj"}, {"key_column", "id"}}),
                                         {}, nullptr);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.status().code(), StatusCode::kConfig);
}

TEST_F(SqliteSources, WithQueriesWork) {
  exec("CREATE TABLE a(k INTEGER PRIMARY KEY, ts INTEGER)");
  exec("INSERT INTO a VALUES (1, 10), (2, 20)");
  auto rows = drain(base({{"query", "WITH x AS (SELECT k, ts * 2 AS ts FROM a) SELECT * FROM x"},
                          {"cursor_column", "ts"}, {"key_column", "k"}, {"key_unique", "trust"}}),
                    {}, 10, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].values[1].i, 40);
}

TEST_F(SqliteSources, FullRefreshReadsEverythingEveryRunInKeyOrder) {
  make_people(7);
  exec("UPDATE people SET gxsj = NULL WHERE id = 4");  // no cursor needed at all
  nlohmann::json cfg = base({{"table", "people"}, {"mode", "full_refresh"}, {"key_column", "id"}, {"chunk_rows", 2}});
  for (int run = 0; run < 2; ++run) {
    auto rows = drain(cfg, {"id", "xm"}, 3, false);
    ASSERT_EQ(rows.size(), 7u);
    for (size_t k = 0; k < rows.size(); ++k) EXPECT_EQ(rows[k].values[0].i, static_cast<int64_t>(k + 1));
    EXPECT_TRUE(cursor_.is_null()) << "a full refresh keeps no cursor";
  }
  // Reopened after every batch with its (null) cursor, a run starts over:
  // each open delivers the snapshot from the start.
  auto conn = SqliteTableConnector::open(cfg, {"id"}, nlohmann::json{{"v", 2}});
  ASSERT_TRUE(conn) << "a saved cursor (e.g. of another mode) is ignored";
  testing::OpSink sink;
  ASSERT_EQ(*(*conn)->read(3, sink), 3u);
  EXPECT_EQ(sink.rows[0].values[0].i, 1);

  auto with_cursor = cfg;
  with_cursor["cursor_column"] = "gxsj";
  auto refused = SqliteTableConnector::open(with_cursor, {"id"}, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("cursor_column"), std::string::npos);
}

// Two sources unioned: keys repeat, some within one tie group, some rows
// identical. Read in chunks of one row and batches of one, reopened each
// time: every row comes exactly once, and the repeat is reported.
TEST_F(SqliteSources, RepeatedTrustedKeysAreReadExactlyOnceAcrossChunksAndRuns) {
  exec("CREATE TABLE a(k INTEGER, v TEXT, ts INTEGER); CREATE TABLE b(k INTEGER, v TEXT, ts INTEGER)");
  exec("INSERT INTO a VALUES (1, 'a1', 5), (2, 'a2', 5), (3, 'a3', 5), (4, 'a4', 6)");
  exec("INSERT INTO b VALUES (2, 'b2', 5), (3, 'a3', 5), (3, 'b3', 5), (4, 'b4', 7), (5, 'b5', 5)");
  exec("CREATE VIEW u AS SELECT k, v, ts FROM a UNION ALL SELECT k, v, ts FROM b");
  const std::multiset<std::string> expected = table_texts("SELECT k, v, ts FROM u");
  ASSERT_EQ(expected.size(), 9u);
  for (const char* mode : {"incremental", "full_refresh"}) {
    nlohmann::json cfg = base({{"table", "u"}, {"mode", mode}, {"key_column", "k"}, {"key_unique", "trust"},
                               {"chunk_rows", 1}});
    if (std::string(mode) == "incremental") cfg["cursor_column"] = "ts";
    for (size_t batch : {1, 2, 100}) {
      for (bool reopen : {true, false}) {
        // A full refresh starts over at every open: one connector per run.
        if (reopen && std::string(mode) == "full_refresh") continue;
        cursor_ = nullptr;
        auto rows = drain(cfg, {"k", "v", "ts"}, batch, reopen);
        EXPECT_EQ(texts(rows), expected) << mode << " batch " << batch << " reopen " << reopen;
        // Repeats are seen within one open (reopened after every row, a
        // connector may see each row alone).
        if (!reopen) {
          EXPECT_TRUE(mentions(advisories_, "repeats")) << mode;
        }
        for (const auto& a : advisories_) {
          EXPECT_EQ(a.find("a1"), std::string::npos) << "no values in advisories";
        }
        if (std::string(mode) == "incremental") {
          EXPECT_TRUE(drain(cfg, {"k", "v", "ts"}, batch, reopen).empty()) << "nothing twice";
          // A repeat of a key already sent, in the tie group at the cursor:
          // it comes, once; the rows sent before do not.
          exec("INSERT INTO b VALUES (4, 'b4bis', 7)");
          auto again = drain(cfg, {"k", "v", "ts"}, batch, reopen);
          ASSERT_EQ(again.size(), 1u);
          EXPECT_EQ(again[0].values[1].s, "b4bis");
          EXPECT_TRUE(drain(cfg, {"k", "v", "ts"}, batch, reopen).empty());
          exec("DELETE FROM b WHERE v = 'b4bis'");
        }
      }
    }
  }
}

TEST_F(SqliteSources, DryRunWithTrustedKeyFindsRepeatsAtOpen) {
  exec("CREATE TABLE a(k INTEGER, ts INTEGER); INSERT INTO a VALUES (1, 1), (1, 2), (2, 3)");
  exec("CREATE VIEW v AS SELECT * FROM a");
  ConnectorOpenOptions dry;
  dry.dry_run = true;
  auto conn = SqliteTableConnector::open(
      base({{"table", "v"}, {"cursor_column", "ts"}, {"key_column", "k"}, {"key_unique", "trust"}}), {}, nullptr, dry);
  ASSERT_TRUE(conn) << conn.status().to_string();
  EXPECT_TRUE(mentions((*conn)->advisories(), "repeats"));
  exec("DELETE FROM a WHERE ts = 2");
  auto clean = SqliteTableConnector::open(
      base({{"table", "v"}, {"cursor_column", "ts"}, {"key_column", "k"}, {"key_unique", "trust"}}), {}, nullptr, dry);
  ASSERT_TRUE(clean);
  EXPECT_FALSE(mentions((*clean)->advisories(), "repeats"));
}

TEST_F(SqliteSources, MissingIndexIsAnAdvisoryAndAnIndexSilencesIt) {
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, gxsj TEXT); INSERT INTO t VALUES (1, 'a')");
  const nlohmann::json cfg = base({{"table", "t"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  auto without = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_TRUE(without);
  ASSERT_EQ((*without)->advisories().size(), 1u);
  EXPECT_TRUE(mentions((*without)->advisories(), "no index")) << (*without)->advisories()[0];
  EXPECT_TRUE(mentions((*without)->advisories(), "gxsj"));
  exec("CREATE INDEX t_gxsj ON t(gxsj, id)");
  auto with = SqliteTableConnector::open(cfg, {"id"}, nullptr);
  ASSERT_TRUE(with);
  EXPECT_TRUE((*with)->advisories().empty()) << (*with)->advisories()[0];

  // Full refresh over a key without an index (a view's text key).
  exec("CREATE TABLE s(code TEXT, x TEXT); CREATE VIEW sv AS SELECT code, x FROM s");
  auto full = SqliteTableConnector::open(
      base({{"table", "sv"}, {"mode", "full_refresh"}, {"key_column", "code"}, {"key_unique", "trust"}}), {}, nullptr);
  ASSERT_TRUE(full) << full.status().to_string();
  EXPECT_TRUE(mentions((*full)->advisories(), "no index"));
  auto rowid = SqliteTableConnector::open(base({{"table", "t"}, {"mode", "full_refresh"}, {"key_column", "id"}}), {},
                                          nullptr);
  ASSERT_TRUE(rowid);
  EXPECT_TRUE((*rowid)->advisories().empty()) << "the rowid is the key's index";
}

// Names are only ever quoted identifiers: a table and columns named like
// injections are read as names, and nothing else runs.
TEST_F(SqliteSources, HostileNamesAreQuotedNeverExecuted) {
  const std::string table = "t\"; DROP TABLE keep; --";
  const std::string key = "k') OR 1=1; DROP TABLE keep; --";
  const std::string col = "c\" FROM keep; --";
  const std::string cur = "ts]`'\"";
  exec("CREATE TABLE keep(x); INSERT INTO keep VALUES (1)");
  exec("CREATE TABLE " + sqlite_quote_identifier(table) + "(" + sqlite_quote_identifier(key) + " INTEGER PRIMARY KEY, " +
       sqlite_quote_identifier(col) + " TEXT, " + sqlite_quote_identifier(cur) + " TEXT)");
  exec("INSERT INTO " + sqlite_quote_identifier(table) + " VALUES (1, 'one', 'a'), (2, 'two', 'b')");
  for (const char* mode : {"incremental", "full_refresh", "triggers"}) {
    nlohmann::json cfg = base({{"table", table}, {"mode", mode}, {"key_column", key}});
    if (std::string(mode) == "incremental") cfg["cursor_column"] = cur;
    cursor_ = nullptr;
    // (A full refresh starts over at each open: one connector per run.)
    auto rows = drain(cfg, {key, col}, 1, std::string(mode) != "full_refresh");
    ASSERT_EQ(rows.size(), 2u) << mode;
    EXPECT_EQ(rows[1].values[1].s, "two");
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM keep"), 1) << "the other table survived";
  // Names that are not in the source are refused, not interpolated.
  auto missing = SqliteTableConnector::open(
      base({{"table", "keep; DROP TABLE keep"}, {"cursor_column", "x"}, {"key_column", "x"}}), {}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), StatusCode::kConfig);
  // A NUL would end the statement early in SQLite: refused outright.
  auto nul = SqliteTableConnector::open(
      base({{"table", std::string("keep\0x", 6)}, {"cursor_column", "x"}, {"key_column", "x"}}), {}, nullptr);
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.status().code(), StatusCode::kConfig);
  auto nul_column = SqliteTableConnector::open(base({{"table", table}, {"cursor_column", cur}, {"key_column", key}}),
                                               {std::string("c\0", 2)}, nullptr);
  ASSERT_FALSE(nul_column);
  EXPECT_EQ(scalar("SELECT count(*) FROM keep"), 1);
}

TEST_F(SqliteSources, UnknownKeysAndBadValuesAreConfigErrorsNamingTheKey) {
  make_people(1);
  const nlohmann::json good = base({{"table", "people"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  ASSERT_TRUE(SqliteTableConnector::open(good, {"id"}, nullptr));
  const std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"colums", nlohmann::json::array()}, {"mode", "sometimes"}, {"key_unique", "maybe"},
      {"chunk_rows", 0},                   {"rows_per_second", -5}, {"chunk_rows", "10"}};
  for (const auto& [key, value] : bad) {
    auto cfg = good;
    cfg[key] = value;
    auto conn = SqliteTableConnector::open(cfg, {"id"}, nullptr);
    ASSERT_FALSE(conn) << key;
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
    EXPECT_NE(conn.status().message().find(key), std::string::npos) << conn.status().message();
  }
  auto no_cursor = good;
  no_cursor.erase("cursor_column");
  auto refused = SqliteTableConnector::open(no_cursor, {"id"}, nullptr);
  ASSERT_FALSE(refused) << "incremental (the default) needs a cursor column";
  EXPECT_NE(refused.status().message().find("cursor_column"), std::string::npos);
}

}  // namespace
}  // namespace dxhub
