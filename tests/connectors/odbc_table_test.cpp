// odbc_table against real servers: PostgreSQL (started by the fixture,
// through psqlODBC) and SQLite (through sqliteodbc). Every backend test runs
// on both; the PostgreSQL server is shared by the whole binary.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector_factory.h"
#include "connectors/odbc_table/odbc_table_connector.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/odbc_pg_fixture.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::CollectingSink;
using testing::OdbcSession;
using testing::OwnedValue;
using testing::PgServer;
using testing::TempDir;
using Type = FieldValue::Type;

#define ASSERT_OK(expr)                             \
  do {                                              \
    const Status _s = (expr);                       \
    ASSERT_TRUE(_s.is_ok()) << _s.to_string();      \
  } while (0)

std::atomic<int> g_database_counter{0};

class OdbcBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (pg()) {
      PgServer& server = PgServer::shared();
      ASSERT_TRUE(server.ok()) << "PostgreSQL fixture: " << server.error();
      database_ = "dxt_" + std::to_string(::getpid()) + "_" + std::to_string(g_database_counter++);
      OdbcSession admin(server.connection_string());
      ASSERT_TRUE(admin.ok()) << admin.error();
      ASSERT_OK(admin.exec("DROP DATABASE IF EXISTS " + database_));
      ASSERT_OK(admin.exec("CREATE DATABASE " + database_));
      conn_ = server.connection_string(database_);
    } else {
      tmp_ = std::make_unique<TempDir>();
      db_path_ = tmp_->file("agency.db");
      conn_ = std::string("Driver=") + testing::kSqliteOdbcDriver + ";Database=" + db_path_;
    }
    session_ = std::make_unique<OdbcSession>(conn_);
    ASSERT_TRUE(session_->ok()) << session_->error();
  }

  bool pg() const { return GetParam() == "postgres"; }
  std::string blob_type() const { return pg() ? "BYTEA" : "BLOB"; }
  std::string blob(const std::string& hex) const { return pg() ? "'\\x" + hex + "'::bytea" : "x'" + hex + "'"; }

  void exec(const std::string& sql) {
    const Status s = session_->exec(sql);
    ASSERT_TRUE(s.is_ok()) << sql << ": " << s.to_string();
  }
  std::string scalar(const std::string& sql) {
    auto v = session_->scalar(sql);
    EXPECT_TRUE(v.has_value()) << sql << ": " << v.status().to_string();
    return v ? *v : "";
  }

  nlohmann::json config(nlohmann::json extra) const {
    nlohmann::json c = {{"connection_string", conn_}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    return c;
  }
  Expected<std::unique_ptr<OdbcTableConnector>> open(const nlohmann::json& extra,
                                                     const std::vector<std::string>& columns = {},
                                                     const nlohmann::json& cursor = nullptr) {
    return OdbcTableConnector::open(config(extra), columns, cursor);
  }
  // Reads until exhausted in batches of `batch`; returns the rows.
  std::vector<std::vector<OwnedValue>> read_all(Connector& c, size_t batch = 1000) {
    CollectingSink sink;
    for (int guard = 0; guard < 10000; ++guard) {
      auto n = c.read(batch, sink);
      EXPECT_TRUE(n.has_value()) << n.status().to_string();
      if (!n || *n == 0) break;
    }
    return sink.rows;
  }
  // A table ev(id, name, gxsj) for incremental reads.
  void make_events(bool not_null_cursor = false) {
    exec(std::string("CREATE TABLE ev (id INTEGER PRIMARY KEY, name VARCHAR(40), gxsj TIMESTAMP") +
         (not_null_cursor ? " NOT NULL" : "") + ")");
  }
  void insert_event(int id, const std::string& name, const std::string& gxsj) {
    exec("INSERT INTO ev VALUES (" + std::to_string(id) + ", '" + name + "', " +
         (gxsj.empty() ? std::string("NULL") : "'" + gxsj + "'") + ")");
  }
  nlohmann::json events_config(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json c = {{"table", "ev"}, {"cursor_column", "gxsj"}, {"key_column", "id"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    return c;
  }
  static std::vector<int64_t> ids(const std::vector<std::vector<OwnedValue>>& rows) {
    std::vector<int64_t> out;
    for (const auto& r : rows) out.push_back(r.at(0).i);
    return out;
  }

  std::string conn_;
  std::string database_;
  std::string db_path_;
  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<OdbcSession> session_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OdbcBackendTest, ::testing::Values("postgres", "sqlite"),
                         [](const auto& param_info) { return param_info.param; });

// ---- types: the same content gives the same rows and types on both ----


TEST_P(OdbcBackendTest, ColumnTypesMapAsDocumentedAndDiscoverKeepsOrder) {
  exec("CREATE TABLE typ (id INTEGER PRIMARY KEY, big BIGINT, ratio DOUBLE PRECISION, name VARCHAR(40), raw " +
       blob_type() + ", stamp TIMESTAMP, day DATE, empty VARCHAR(10))");
  exec("INSERT INTO typ VALUES (1, 9007199254740993, 1.5, '中文名字', " + blob("00ff10") +
       ", '2024-01-02 03:04:05', '2024-01-02', NULL)");
  exec("INSERT INTO typ VALUES (2, -5, -0.25, 'plain', " + blob("") + ", '2024-01-02 03:04:05.123', '1999-12-31', 'x')");
  auto conn = open({{"table", "typ"}, {"mode", "full"}, {"key_column", "id"}});
  ASSERT_TRUE(conn.has_value()) << conn.status().to_string();
  EXPECT_EQ((*conn)->columns(),
            (std::vector<std::string>{"id", "big", "ratio", "name", "raw", "stamp", "day", "empty"}));
  auto rows = read_all(**conn);
  ASSERT_EQ(rows.size(), 2u);
  const std::vector<Type> types = {Type::kInt, Type::kInt, Type::kReal, Type::kText,
                                   Type::kBlob, Type::kText, Type::kText, Type::kNull};
  for (size_t c = 0; c < types.size(); ++c) EXPECT_EQ(rows[0][c].type, types[c]) << "column " << c;
  EXPECT_EQ(rows[0][1].i, 9007199254740993LL);
  EXPECT_EQ(rows[0][2].d, 1.5);
  EXPECT_EQ(rows[0][3].s, "中文名字");
  EXPECT_EQ(rows[0][4].s, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(rows[0][5].s, "2024-01-02 03:04:05");
  EXPECT_EQ(rows[0][6].s, "2024-01-02");
  EXPECT_EQ(rows[1][4].type, Type::kBlob);
  EXPECT_EQ(rows[1][4].s, "");
  EXPECT_EQ(rows[1][5].s, "2024-01-02 03:04:05.123");
  EXPECT_EQ(rows[1][7].s, "x");
  EXPECT_TRUE((*conn)->cursor().is_null()) << "full mode keeps no cursor";
}

TEST(OdbcCrossBackend, SameContentSameRowsAndTypes) {
  PgServer& server = PgServer::shared();
  ASSERT_TRUE(server.ok()) << server.error();
  TempDir tmp;
  const std::string sqlite_conn = std::string("Driver=") + testing::kSqliteOdbcDriver + ";Database=" +
                                  tmp.file("same.db");
  OdbcSession admin(server.connection_string());
  ASSERT_TRUE(admin.ok()) << admin.error();
  const std::string db = "dxt_same_" + std::to_string(::getpid());
  ASSERT_OK(admin.exec("DROP DATABASE IF EXISTS " + db));
  ASSERT_OK(admin.exec("CREATE DATABASE " + db));
  std::vector<std::vector<std::vector<OwnedValue>>> results;
  for (const std::string& conn : {server.connection_string(db), sqlite_conn}) {
    const bool is_pg = conn != sqlite_conn;
    OdbcSession s(conn);
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_OK(s.exec(std::string("CREATE TABLE hh (id INTEGER PRIMARY KEY, 户号 VARCHAR(20), n BIGINT, w DOUBLE "
                                 "PRECISION, photo ") + (is_pg ? "BYTEA" : "BLOB") +
                     ", gxsj TIMESTAMP, note VARCHAR(30))"));
    for (int i = 1; i <= 40; ++i) {
      const std::string hex = i % 3 == 0 ? "" : "0a0b";
      ASSERT_OK(s.exec("INSERT INTO hh VALUES (" + std::to_string(i) + ", '户" + std::to_string(i) + "', " +
                       std::to_string(i * 1000003LL) + ", " + std::to_string(i) + ".25, " +
                       (is_pg ? "'\\x" + hex + "'::bytea" : "x'" + hex + "'") + ", '2024-03-0" +
                       std::to_string(1 + i % 5) + " 08:00:0" + std::to_string(i % 10) + "', " +
                       (i % 4 == 0 ? std::string("NULL") : "'n" + std::to_string(i) + "'") + ")"));
    }
    auto c = OdbcTableConnector::open({{"connection_string", conn}, {"table", "hh"}, {"cursor_column", "gxsj"},
                                       {"key_column", "id"}, {"fetch_rows", 7}},
                                      {}, nullptr);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    CollectingSink sink;
    for (int guard = 0; guard < 100; ++guard) {
      auto n = (*c)->read(9, sink);
      ASSERT_TRUE(n.has_value()) << n.status().to_string();
      if (*n == 0) break;
    }
    EXPECT_EQ(sink.rows.size(), 40u);
    results.push_back(sink.rows);
  }
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t r = 0; r < results[0].size(); ++r) {
    ASSERT_EQ(results[0][r].size(), results[1][r].size());
    for (size_t c = 0; c < results[0][r].size(); ++c) {
      const OwnedValue& a = results[0][r][c];
      const OwnedValue& b = results[1][r][c];
      EXPECT_EQ(a.type, b.type) << "row " << r << " column " << c;
      EXPECT_EQ(a.i, b.i) << "row " << r << " column " << c;
      EXPECT_EQ(a.d, b.d) << "row " << r << " column " << c;
      EXPECT_EQ(a.s, b.s) << "row " << r << " column " << c;
    }
  }
  ASSERT_OK(admin.exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"));
}

TEST(OdbcPostgres, NumericIsExactDigitsAndTimestampKeepsMicroseconds) {
  PgServer& server = PgServer::shared();
  ASSERT_TRUE(server.ok()) << server.error();
  OdbcSession s(server.connection_string());
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_OK(s.exec("DROP TABLE IF EXISTS money; CREATE TABLE money (id INTEGER PRIMARY KEY, amount NUMERIC(30,2), "
                   "at TIMESTAMP(6), f4 REAL)"));
  ASSERT_OK(s.exec("INSERT INTO money VALUES (1, 12345678901234567890.10, '2024-01-02 03:04:05.123456', 0.5)"));
  auto c = OdbcTableConnector::open({{"connection_string", server.connection_string()}, {"table", "public.money"},
                                     {"mode", "full"}, {"key_column", "id"}},
                                    {"amount", "at", "f4"}, nullptr);
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  CollectingSink sink;
  ASSERT_TRUE((*c)->read(10, sink).has_value());
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0][0].type, Type::kText);
  EXPECT_EQ(sink.rows[0][0].s, "12345678901234567890.10");
  EXPECT_EQ(sink.rows[0][1].s, "2024-01-02 03:04:05.123456");
  EXPECT_EQ(sink.rows[0][2].type, Type::kReal);
  EXPECT_EQ(sink.rows[0][2].d, 0.5);
}

// ---- identifiers ----

TEST_P(OdbcBackendTest, HostileIdentifiersAreRefusedAndQuotingDoublesQuotes) {
  exec("CREATE TABLE t (id INTEGER PRIMARY KEY, gxsj TIMESTAMP)");
  exec("INSERT INTO t VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-01 00:00:01'), (3, NULL)");
  const std::vector<std::string> hostile = {"x\"; DROP TABLE t; --", "t\"", "t; DROP TABLE t", "t /* c */",
                                            "t -- c", std::string("t\0x", 3), "t'", "t`", "t]", "", " t",
                                            "t.u.v", "1t", "t-x", "ｔ"};
  for (const std::string& name : hostile) {
    for (const char* role : {"table", "cursor_column", "key_column"}) {
      nlohmann::json extra = {{"table", "t"}, {"cursor_column", "gxsj"}, {"key_column", "id"}};
      extra[role] = name;
      auto c = open(extra);
      ASSERT_FALSE(c.has_value()) << role;
      EXPECT_EQ(c.status().code(), StatusCode::kConfig) << c.status().to_string();
      if (name.size() > 2) {
        EXPECT_EQ(c.status().message().find(name), std::string::npos) << "never quote a value";
      }
    }
    auto c = open({{"table", "t"}, {"cursor_column", "gxsj"}, {"key_column", "id"}}, {"id", name});
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.status().code(), StatusCode::kConfig);
  }
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM t"), "3") << "table t survived";

  // The quoting itself: a table really named like an attack is created,
  // filled and counted through odbc_quote_identifier, and t is untouched.
  for (const std::string& name : {std::string("x\"; DROP TABLE t; --"), std::string("a\"\"b"),
                                  std::string("semi;colon /* c */ -- d")}) {
    auto q = odbc_quote_identifier(name, "\"");
    ASSERT_TRUE(q.has_value());
    exec("CREATE TABLE " + *q + " (id INTEGER)");
    exec("INSERT INTO " + *q + " VALUES (7)");
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM " + *q), "1") << name;
  }
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM t"), "3") << "table t survived";
  EXPECT_FALSE(odbc_quote_identifier(std::string("a\0b", 3), "\"").has_value());
}

TEST_P(OdbcBackendTest, ChineseIdentifiersWork) {
  exec("CREATE TABLE 户籍 (编号 INTEGER PRIMARY KEY, 姓名 VARCHAR(20), 更新时间 TIMESTAMP)");
  exec("INSERT INTO 户籍 VALUES (1, '张三', '2024-01-01 00:00:00'), (2, '李四', '2024-01-01 00:00:01')");
  auto c = open({{"table", "户籍"}, {"cursor_column", "更新时间"}, {"key_column", "编号"}}, {"编号", "姓名"});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  auto rows = read_all(**c);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][1].s, "李四");
  EXPECT_EQ((*c)->cursor()["value"], "2024-01-01 00:00:01");
}

// ---- config ----

TEST(OdbcConfig, RefusesBadSettingsNamingTheKey) {
  const nlohmann::json base = {{"connection_string", "Driver=x"}, {"table", "t"}, {"cursor_column", "c"},
                               {"key_column", "k"}};
  auto refused = [&](nlohmann::json c, const std::string& key) {
    auto parsed = OdbcTableConnector::parse_config(c);
    ASSERT_FALSE(parsed.has_value()) << c.dump();
    EXPECT_EQ(parsed.status().code(), StatusCode::kConfig);
    EXPECT_NE(parsed.status().message().find(key), std::string::npos) << parsed.status().message();
  };
  ASSERT_TRUE(OdbcTableConnector::parse_config(base).has_value());
  auto c = base;
  c["colour"] = 1;
  refused(c, "colour");
  c = base;
  c["connection_string"] = "Driver=x;Server=h;PWD=hunter2";
  refused(c, "password_env");
  c["connection_string"] = "Driver=x; password = hunter2";
  refused(c, "password_env");
  c = base;
  c["dsn"] = "x";
  refused(c, "dsn");
  c = base;
  c.erase("table");
  refused(c, "table");
  c["query"] = "SELECT 1";
  c["table"] = "t";
  refused(c, "query");
  c = base;
  c["fetch_rows"] = 0;
  refused(c, "fetch_rows");
  c = base;
  c["rows_per_second"] = -1;
  refused(c, "rows_per_second");
  c = base;
  c["settle_seconds"] = 5;
  refused(c, "cursor_format");
  c = base;
  c["mode"] = "sometimes";
  refused(c, "mode");
  c = base;
  c["limit_clause"] = "top";
  refused(c, "limit_clause");
  c = base;
  c["password_env"] = "A B";
  refused(c, "password_env");
  c = base;
  c.erase("cursor_column");
  refused(c, "cursor_column");
  c["mode"] = "full";
  ASSERT_TRUE(OdbcTableConnector::parse_config(c).has_value());
}

TEST(OdbcConfig, PasswordComesFromTheEnvironmentOnly) {
  OdbcTableConnector::Config c;
  c.connection_string = "Driver=x;Server=h";
  c.user = "reader";
  c.password_env = "DXHUB_TEST_ODBC_PW";
  ::unsetenv("DXHUB_TEST_ODBC_PW");
  auto missing = OdbcTableConnector::build_connection_string(c, nullptr);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.status().message().find("DXHUB_TEST_ODBC_PW"), std::string::npos);
  ::setenv("DXHUB_TEST_ODBC_PW", "p}w;x", 1);
  std::string secret;
  auto cs = OdbcTableConnector::build_connection_string(c, &secret);
  ASSERT_TRUE(cs.has_value());
  EXPECT_EQ(*cs, "Driver=x;Server=h;UID={reader};PWD={p}}w;x}");
  EXPECT_EQ(secret, "p}w;x");
  ::unsetenv("DXHUB_TEST_ODBC_PW");
}

TEST(OdbcPostgres, UnreachableServerIsSourceErrorWithoutThePassword) {
  const int port = [] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);  // nothing listens there now
    return static_cast<int>(ntohs(addr.sin_port));
  }();
  ::setenv("DXHUB_TEST_ODBC_PW2", "Sup3rS3cret", 1);
  auto c = OdbcTableConnector::open({{"connection_string", std::string("Driver=") + testing::kPsqlOdbcDriver +
                                                               ";Server=127.0.0.1;Port=" + std::to_string(port) +
                                                               ";Database=x"},
                                     {"user", "postgres"},
                                     {"password_env", "DXHUB_TEST_ODBC_PW2"},
                                     {"table", "ev"},
                                     {"cursor_column", "gxsj"},
                                     {"key_column", "id"},
                                     {"login_timeout_seconds", 5}},
                                    {}, nullptr);
  ::unsetenv("DXHUB_TEST_ODBC_PW2");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.status().code(), StatusCode::kSource) << c.status().to_string();
  EXPECT_NE(c.status().message().find("cannot connect"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("odbc_table ev"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("Sup3rS3cret"), std::string::npos) << c.status().message();
}

TEST(OdbcFactory, OpensOdbcTableByKind) {
  TempDir tmp;
  const std::string conn = std::string("Driver=") + testing::kSqliteOdbcDriver + ";Database=" + tmp.file("f.db");
  {
    OdbcSession s(conn);
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_OK(s.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(5))"));
    ASSERT_OK(s.exec("INSERT INTO t VALUES (1, 'a')"));
  }
  auto c = open_connector("odbc_table", {{"connection_string", conn}, {"table", "t"}, {"mode", "full"},
                                         {"key_column", "id"}},
                          {}, nullptr, {});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  EXPECT_EQ((*c)->columns(), (std::vector<std::string>{"id", "v"}));
}

// ---- incremental: the sqlite_table rules ----

TEST_P(OdbcBackendTest, BoundaryGroupIsReadAgainAndSuppressedByDigest) {
  make_events();
  for (int id = 1; id <= 5; ++id) insert_event(id, "a" + std::to_string(id), "2024-01-01 10:00:00");
  insert_event(6, "b6", "2024-01-01 10:00:01");
  insert_event(7, "b7", "2024-01-01 10:00:01");
  nlohmann::json cursor;
  {
    auto c = open(events_config({{"fetch_rows", 3}}), {"id", "name"});
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_EQ(ids(read_all(**c, 2)), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
    cursor = (*c)->cursor();
    EXPECT_EQ(cursor["value"], "2024-01-01 10:00:01");
    EXPECT_EQ(cursor["boundary"].size(), 2u);
  }
  {
    auto c = open(events_config(), {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_TRUE(read_all(**c).empty()) << "nothing new: the boundary rows are not sent again";
    EXPECT_EQ((*c)->cursor(), cursor);
  }
  // Written at V after the read: a lower key, and a change to a row sent at V.
  insert_event(0, "late0", "2024-01-01 10:00:01");
  exec("UPDATE ev SET name = 'b6 again' WHERE id = 6");
  {
    auto c = open(events_config(), {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    auto rows = read_all(**c);
    EXPECT_EQ(ids(rows), (std::vector<int64_t>{0, 6}));
    cursor = (*c)->cursor();
    EXPECT_EQ(cursor["boundary"].size(), 3u);
  }
  exec("UPDATE ev SET name = 'moved', gxsj = '2024-01-01 10:00:02' WHERE id = 2");
  {
    auto c = open(events_config(), {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    auto rows = read_all(**c);
    ASSERT_EQ(ids(rows), (std::vector<int64_t>{2}));
    EXPECT_EQ(rows[0][1].s, "moved");
    EXPECT_EQ((*c)->cursor()["value"], "2024-01-01 10:00:02");
  }
}

TEST_P(OdbcBackendTest, NullCursorRowsHaveTheirOwnPass) {
  make_events();
  insert_event(1, "n1", "");
  insert_event(2, "v2", "2024-01-01 10:00:00");
  insert_event(3, "n3", "");
  nlohmann::json cursor;
  {
    auto c = open(events_config(), {"id", "name"});
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_EQ(ids(read_all(**c, 1)), (std::vector<int64_t>{1, 3, 2}));
    cursor = (*c)->cursor();
    EXPECT_EQ(cursor["nulls"].size(), 2u);
  }
  exec("UPDATE ev SET name = 'n3 changed' WHERE id = 3");
  exec("UPDATE ev SET gxsj = '2024-01-01 10:00:05' WHERE id = 1");
  {
    auto c = open(events_config(), {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_EQ(ids(read_all(**c)), (std::vector<int64_t>{3, 1}))
        << "a changed NULL row again; a NULL that got a value as an update";
    cursor = (*c)->cursor();
  }
  {
    auto c = open(events_config(), {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_TRUE(read_all(**c).empty());
  }
}

int64_t local_ms(int y, int mo, int d, int h, int mi, int s, int offset_seconds) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return (static_cast<int64_t>(timegm(&tm)) - offset_seconds) * 1000;
}

TEST_P(OdbcBackendTest, SettleSecondsWaitsForLateCommits) {
  make_events();
  insert_event(1, "old", "2024-01-01 10:00:04");
  insert_event(2, "fresh", "2024-01-01 10:00:07");
  const int64_t now1 = local_ms(2024, 1, 1, 10, 0, 10, 8 * 3600);
  nlohmann::json cursor;
  {
    auto c = open(events_config({{"settle_seconds", 5}, {"cursor_format", "datetime"}, {"now_ms", now1}}),
                  {"id", "name"});
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_EQ(ids(read_all(**c)), (std::vector<int64_t>{1})) << "10:00:07 is within the settle window";
    cursor = (*c)->cursor();
  }
  // A writer that stamped 10:00:06 commits only now: still seen.
  insert_event(3, "late", "2024-01-01 10:00:06");
  const int64_t now2 = local_ms(2024, 1, 1, 10, 0, 30, 8 * 3600);
  {
    auto c = open(events_config({{"settle_seconds", 5}, {"cursor_format", "datetime"}, {"now_ms", now2}}),
                  {"id", "name"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    EXPECT_EQ(ids(read_all(**c)), (std::vector<int64_t>{3, 2}));
  }
}

TEST_P(OdbcBackendTest, ManyRowsInOneSecondAcrossChunksAndReopens) {
  make_events(true);
  std::string values;
  for (int id = 1; id <= 300; ++id) {
    values += (values.empty() ? "" : ", ") + std::string("(") + std::to_string(id) + ", 'r', '2024-01-01 10:00:0" +
              std::to_string(id % 3) + "')";
  }
  exec("INSERT INTO ev VALUES " + values);
  // Each run reads 25 rows and stops (a crash), the next resumes from its cursor.
  nlohmann::json cursor;
  std::vector<int64_t> seen;
  for (int run = 0; run < 40; ++run) {
    auto c = open(events_config({{"fetch_rows", 10}}), {"id"}, cursor);
    ASSERT_TRUE(c.has_value()) << c.status().to_string();
    CollectingSink sink;
    auto n = (*c)->read(25, sink);
    ASSERT_TRUE(n.has_value()) << n.status().to_string();
    for (const auto& r : sink.rows) seen.push_back(r[0].i);
    cursor = (*c)->cursor();
    if (*n == 0) break;
  }
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 300u) << "every row once, none twice";
  for (int id = 1; id <= 300; ++id) EXPECT_EQ(seen[static_cast<size_t>(id - 1)], id);
}

TEST_P(OdbcBackendTest, QueryAndViewSources) {
  make_events();
  insert_event(1, "a", "2024-01-01 10:00:00");
  insert_event(2, "b", "2024-01-01 10:00:01");
  auto q = open({{"query", "SELECT id, name, gxsj FROM ev WHERE name <> 'zz';"}, {"cursor_column", "gxsj"},
                 {"key_column", "id"}});
  ASSERT_TRUE(q.has_value()) << q.status().to_string();
  EXPECT_EQ((*q)->columns(), (std::vector<std::string>{"id", "name", "gxsj"}));
  EXPECT_EQ(ids(read_all(**q)), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE((*q)->advisories().empty()) << (*q)->advisories().front();
  exec("CREATE VIEW twice AS SELECT id, gxsj FROM ev UNION ALL SELECT id, gxsj FROM ev");
  auto v = open({{"table", "twice"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  ASSERT_TRUE(v.has_value()) << v.status().to_string();
  bool repeats = false;
  for (const auto& line : (*v)->advisories()) repeats = repeats || line.find("repeats") != std::string::npos;
  EXPECT_TRUE(repeats) << "a key that repeats is reported";
}

TEST_P(OdbcBackendTest, AdvisoriesReportMissingIndexOnce) {
  exec("CREATE TABLE noidx (id INTEGER, gxsj TIMESTAMP)");
  exec("INSERT INTO noidx VALUES (1, '2024-01-01 00:00:00')");
  auto a = open({{"table", "noidx"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  ASSERT_TRUE(a.has_value()) << a.status().to_string();
  const auto lines = (*a)->advisories();
  int cursor_lines = 0, key_lines = 0;
  for (const auto& line : lines) {
    cursor_lines += line.find("cursor_column gxsj") != std::string::npos;
    key_lines += line.find("key_column id") != std::string::npos;
  }
  EXPECT_EQ(cursor_lines, 1);
  EXPECT_EQ(key_lines, 1);
  exec("CREATE TABLE withidx (id INTEGER NOT NULL, gxsj TIMESTAMP)");
  exec("CREATE UNIQUE INDEX withidx_id ON withidx (id)");
  exec("CREATE INDEX withidx_c ON withidx (gxsj, id)");
  auto b = open({{"table", "withidx"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  ASSERT_TRUE(b.has_value()) << b.status().to_string();
  EXPECT_TRUE((*b)->advisories().empty()) << (*b)->advisories().front();
}

// ---- politeness ----

// A writer commits from inside the sink: no read lock or open transaction
// of the connector may be in its way.
class WriterSink : public RowSink {
 public:
  explicit WriterSink(std::function<Status()> write) : write_(std::move(write)) {}
  Status on_row(const RowView&) override {
    ++rows;
    Status s = write_();
    if (s.is_ok()) ++writes_ok;
    else failures.push_back(s.to_string());
    return Status::ok();
  }
  size_t rows = 0;
  size_t writes_ok = 0;
  std::vector<std::string> failures;

 private:
  std::function<Status()> write_;
};

TEST_P(OdbcBackendTest, NoReadLockIsHeldWhileRowsAreHandedOut) {
  make_events();
  exec("CREATE TABLE side (n INTEGER)");
  for (int id = 1; id <= 12; ++id) insert_event(id, "r", "2024-01-01 10:00:" + std::to_string(10 + id));
  auto c = open(events_config({{"fetch_rows", 4}}), {"id"});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  std::function<Status()> write;
  sqlite3* writer = nullptr;
  std::unique_ptr<OdbcSession> pg_writer;
  if (pg()) {
    pg_writer = std::make_unique<OdbcSession>(conn_);
    ASSERT_TRUE(pg_writer->ok()) << pg_writer->error();
    write = [&]() -> Status {
      // The connector's backend must not sit in a transaction, and an
      // exclusive lock on its table must be granted at once (NOWAIT).
      auto open_tx = pg_writer->scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'");
      if (!open_tx || *open_tx != "0") return source_error("connector holds a transaction");
      return pg_writer->exec("BEGIN; LOCK TABLE ev IN ACCESS EXCLUSIVE MODE NOWAIT; INSERT INTO side VALUES (1); "
                             "COMMIT");
    };
  } else {
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &writer), SQLITE_OK);
    sqlite3_busy_timeout(writer, 0);  // a held read lock fails the commit at once
    write = [&]() -> Status {
      char* err = nullptr;
      const int rc = sqlite3_exec(writer, "BEGIN IMMEDIATE; INSERT INTO side VALUES (1); COMMIT", nullptr, nullptr, &err);
      std::string text = err ? err : "";
      sqlite3_free(err);
      if (rc != SQLITE_OK) {
        sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
        return source_error("writer blocked: " + text);
      }
      return Status::ok();
    };
  }
  WriterSink sink(write);
  size_t reads = 0;
  for (; reads < 20; ++reads) {
    auto n = (*c)->read(4, sink);
    ASSERT_TRUE(n.has_value()) << n.status().to_string();
    if (*n == 0) break;
    // And between chunks too.
    const Status w = write();
    ASSERT_TRUE(w.is_ok()) << w.to_string() << " after " << sink.writes_ok << " writes in the sink, read " << reads;
  }
  if (writer) sqlite3_close(writer);
  EXPECT_EQ(sink.rows, 12u);
  EXPECT_EQ(sink.writes_ok, 12u) << (sink.failures.empty() ? "" : sink.failures.front());
  EXPECT_EQ(reads, 3u);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM side"), "15");
}

TEST_P(OdbcBackendTest, RowsPerSecondLimitsTheRate) {
  make_events();
  for (int id = 1; id <= 20; ++id) insert_event(id, "r", "2024-01-01 10:00:" + std::to_string(10 + id));
  auto c = open(events_config({{"rows_per_second", 20}, {"fetch_rows", 5}}), {"id"});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(read_all(**c, 5).size(), 20u);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Chunks of 5 at 20 rows/s start 0.25 s apart: four chunks take >= 0.75 s.
  EXPECT_GE(seconds, 0.7);
}

TEST_P(OdbcBackendTest, NoHeapAllocationPerRow) {
  make_events(true);
  std::string values;
  for (int id = 1; id <= 3000; ++id) {
    values += (values.empty() ? "" : ", ") + std::string("(") + std::to_string(id) + ", 'name " +
              std::to_string(id) + " 中文', '2024-01-01 10:" + std::to_string(10 + id % 50) + ":00')";
  }
  exec("INSERT INTO ev VALUES " + values);
  auto c = open(events_config({{"fetch_rows", 500}}), {"id", "name", "gxsj"});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  struct Counting : RowSink {
    Status on_row(const RowView& row) override {
      ++rows;
      bytes += row[1].s.size();
      return Status::ok();
    }
    size_t rows = 0, bytes = 0;
  } sink;
  ASSERT_TRUE((*c)->read(500, sink).has_value());  // warm-up: buffers reach their size
  const size_t before = testing::allocation_count();
  for (int k = 0; k < 10; ++k) {
    auto n = (*c)->read(500, sink);
    ASSERT_TRUE(n.has_value()) << n.status().to_string();
    if (*n == 0) break;
  }
  const size_t allocations = testing::allocation_count() - before;
  EXPECT_EQ(sink.rows, 3000u);
  // A few per chunk (SQL text, messages), none per row.
  EXPECT_LT(allocations, 2500u / 20) << allocations << " allocations for 2500 rows";
}

// ---- failures ----

TEST_P(OdbcBackendTest, LargeValuesArriveWhole) {
  exec("CREATE TABLE big (id INTEGER PRIMARY KEY, t " + std::string(pg() ? "TEXT" : "TEXT") + ", b " + blob_type() +
       ")");
  std::string text;
  for (int k = 0; k < 30000; ++k) text += static_cast<char>('a' + k % 26);
  text += "中文";
  std::string hex;
  for (int k = 0; k < 20000; ++k) hex += "0f";
  exec("INSERT INTO big VALUES (1, '" + text + "', " + blob(hex) + ")");
  auto c = open({{"table", "big"}, {"mode", "full"}, {"key_column", "id"}});
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  auto rows = read_all(**c);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1].s, text);
  EXPECT_EQ(rows[0][2].s, std::string(20000, '\x0f'));
}

TEST(OdbcSqlite, ValueThatDoesNotConvertIsBadInputAndTheReadGoesOn) {
  TempDir tmp;
  const std::string conn = std::string("Driver=") + testing::kSqliteOdbcDriver + ";Database=" + tmp.file("bad.db");
  {
    OdbcSession s(conn);
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_OK(s.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, gxsj TIMESTAMP)"));
    ASSERT_OK(s.exec("INSERT INTO t VALUES (1, 10, '2024-01-01 00:00:01'), (2, 'abc', '2024-01-01 00:00:02'), "
                     "(3, 30, '2024-01-01 00:00:03')"));
  }
  testing::BadInputSink sink;
  auto c = OdbcTableConnector::open({{"connection_string", conn}, {"table", "t"}, {"cursor_column", "gxsj"},
                                     {"key_column", "id"}},
                                    {"id", "n"}, nullptr);
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  for (int guard = 0; guard < 10; ++guard) {
    auto n = (*c)->read(10, sink);
    ASSERT_TRUE(n.has_value()) << n.status().to_string();
    if (*n == 0) break;
  }
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.rows[1][1].i, 30);
  ASSERT_EQ(sink.bad_inputs.size(), 1u);
  EXPECT_NE(sink.bad_inputs[0].reason.find("column n"), std::string::npos);
  EXPECT_EQ(sink.bad_inputs[0].reason.find("abc"), std::string::npos);
}

// The row count for progress: a full load only (no cursor yet, or mode
// full), not a resumed read nor a dry run.
TEST(OdbcSqlite, EstimatesTheRowsOfAFullLoadOnly) {
  TempDir tmp;
  const std::string conn = std::string("Driver=") + testing::kSqliteOdbcDriver + ";Database=" + tmp.file("count.db");
  {
    OdbcSession s(conn);
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_OK(s.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, gxsj TIMESTAMP)"));
    ASSERT_OK(s.exec("INSERT INTO t VALUES (1, 10, '2024-01-01 00:00:01'), (2, 20, '2024-01-01 00:00:02'), "
                     "(3, 30, '2024-01-01 00:00:03')"));
  }
  const nlohmann::json incremental = {{"connection_string", conn}, {"table", "t"}, {"cursor_column", "gxsj"},
                                      {"key_column", "id"}};
  ConnectorOpenOptions counting;
  counting.count_rows = true;
  auto first = OdbcTableConnector::open(incremental, {"id", "n"}, nullptr, counting);
  ASSERT_TRUE(first.has_value()) << first.status().to_string();
  EXPECT_EQ((*first)->estimated_rows(), std::optional<int64_t>(3));
  testing::BadInputSink sink;
  ASSERT_TRUE((*first)->read(2, sink).has_value());
  auto resumed = OdbcTableConnector::open(incremental, {"id", "n"}, (*first)->cursor(), counting);
  ASSERT_TRUE(resumed.has_value()) << resumed.status().to_string();
  EXPECT_EQ((*resumed)->estimated_rows(), std::nullopt);
  const nlohmann::json full_mode = {{"connection_string", conn}, {"table", "t"}, {"mode", "full"}, {"key_column", "id"}};
  auto full = OdbcTableConnector::open(full_mode, {"id", "n"}, nullptr, counting);
  ASSERT_TRUE(full.has_value()) << full.status().to_string();
  EXPECT_EQ((*full)->estimated_rows(), std::optional<int64_t>(3));
  // Nobody shows progress (the daemon): no count.
  auto unasked = OdbcTableConnector::open(full_mode, {"id", "n"}, nullptr);
  ASSERT_TRUE(unasked.has_value()) << unasked.status().to_string();
  EXPECT_EQ((*unasked)->estimated_rows(), std::nullopt);
  ConnectorOpenOptions dry;
  dry.dry_run = true;
  auto sample = OdbcTableConnector::open(incremental, {"id", "n"}, nullptr, dry);
  ASSERT_TRUE(sample.has_value()) << sample.status().to_string();
  EXPECT_EQ((*sample)->estimated_rows(), std::nullopt);
}

TEST(OdbcPostgres, LostConnectionFailsTheReadKeepsTheCursorAndRecovers) {
  PgServer& server = PgServer::shared();
  ASSERT_TRUE(server.ok()) << server.error();
  OdbcSession admin(server.connection_string());
  ASSERT_TRUE(admin.ok()) << admin.error();
  const std::string db = "dxt_lost_" + std::to_string(::getpid());
  ASSERT_OK(admin.exec("DROP DATABASE IF EXISTS " + db));
  ASSERT_OK(admin.exec("CREATE DATABASE " + db));
  {
    OdbcSession s(server.connection_string(db));
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_OK(s.exec("CREATE TABLE ev (id INTEGER PRIMARY KEY, gxsj TIMESTAMP NOT NULL)"));
    ASSERT_OK(s.exec("INSERT INTO ev SELECT g, TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second' FROM "
                     "generate_series(1, 6) g"));
  }
  auto c = OdbcTableConnector::open({{"connection_string", server.connection_string(db)}, {"table", "ev"},
                                     {"cursor_column", "gxsj"}, {"key_column", "id"}},
                                    {"id"}, nullptr);
  ASSERT_TRUE(c.has_value()) << c.status().to_string();
  CollectingSink sink;
  ASSERT_EQ(*(*c)->read(2, sink), 2u);
  const nlohmann::json before = (*c)->cursor();
  ASSERT_OK(admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'"));
  auto failed = (*c)->read(2, sink);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.status().code(), StatusCode::kSource) << failed.status().to_string();
  EXPECT_NE(failed.status().message().find("odbc_table ev"), std::string::npos);
  EXPECT_EQ((*c)->cursor(), before) << "cursor unchanged by a failed read";
  // The next read connects again and goes on where the cursor was.
  for (int guard = 0; guard < 10; ++guard) {
    auto n = (*c)->read(2, sink);
    ASSERT_TRUE(n.has_value()) << n.status().to_string();
    if (*n == 0) break;
  }
  std::vector<int64_t> got;
  for (const auto& r : sink.rows) got.push_back(r[0].i);
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  c->reset();
  ASSERT_OK(admin.exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"));
}

TEST_P(OdbcBackendTest, MissingTableOrColumnIsConfigError) {
  make_events();
  auto t = open({{"table", "nope"}, {"cursor_column", "gxsj"}, {"key_column", "id"}});
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.status().code(), StatusCode::kConfig) << t.status().to_string();
  auto col = open(events_config(), {"id", "missing"});
  ASSERT_FALSE(col.has_value());
  EXPECT_EQ(col.status().code(), StatusCode::kConfig);
  EXPECT_NE(col.status().message().find("missing"), std::string::npos);
  auto upper = open(events_config(), {"ID", "NAME"});
  ASSERT_TRUE(upper.has_value()) << "a column differing only in case is matched: " << upper.status().to_string();
  EXPECT_EQ((*upper)->columns(), (std::vector<std::string>{"ID", "NAME"}));
}

}  // namespace
}  // namespace dxhub
