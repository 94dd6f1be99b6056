#include "core/common/sqlite_db.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dxhub {
namespace {

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dxhub_common_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(SqliteDb, MissingFileReadOnlyIsErrorWithPath) {
  auto db = SqliteDb::open("/nonexistent/dir/x.db", SqliteDb::Mode::kReadOnly, StatusCode::kSource);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.status().code(), StatusCode::kSource);
  EXPECT_NE(db.status().message().find("/nonexistent/dir/x.db"), std::string::npos);
}

TEST(SqliteDb, GarbageFileIsRefusedAtOpen) {
  std::string path = temp_path("garbage.db");
  std::ofstream(path) << "this is not a database, just text that is long enough to have a header........";
  auto db = SqliteDb::open(path, SqliteDb::Mode::kReadOnly, StatusCode::kSource);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.status().code(), StatusCode::kSource);
}

TEST(SqliteDb, TransactionRollsBackUnlessCommitted) {
  std::string path = temp_path("tx.db");
  std::filesystem::remove(path);
  auto db = SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.status().to_string();
  ASSERT_TRUE(db->exec("CREATE TABLE t(x INTEGER)").is_ok());
  {
    auto tx = SqliteTransaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)").is_ok());
  }  // dropped: rolled back
  {
    auto tx = SqliteTransaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)").is_ok());
    ASSERT_TRUE(tx->commit().is_ok());
  }
  auto stmt = db->prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(stmt);
  auto row = stmt->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(stmt->column_text(0), "2");
  auto exists = db->table_exists("t");
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
  EXPECT_EQ(sqlite_quote_identifier("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace dxhub
