#include "connectors/connector_factory.h"

#include <gtest/gtest.h>

#include "core/common/sqlite_db.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

TEST(ConnectorFactory, UnknownKindIsConfigError) {
  auto conn = open_connector("ftp_folder", nlohmann::json::object(), {}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
  EXPECT_NE(conn.status().message().find("ftp_folder"), std::string::npos);
}

TEST(ConnectorFactory, PluginKindIsNotOpenedHere) {
  auto conn = open_connector("plugin", nlohmann::json::object(), {}, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
}

TEST(ConnectorFactory, OpensSqliteTable) {
  testing::TempDir dir;
  {
    auto db = SqliteDb::open(dir.file("a.db"), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, ts TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
                    .is_ok());
  }
  nlohmann::json config = {
      {"database", dir.file("a.db")}, {"table", "t"}, {"cursor_column", "ts"}, {"key_column", "id"}};
  auto conn = open_connector("sqlite_table", config, {"ts"}, nullptr);
  ASSERT_TRUE(conn) << conn.status().to_string();
  EXPECT_EQ((*conn)->columns(), std::vector<std::string>{"ts"});
  testing::CollectingSink sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 2u);
  EXPECT_EQ(sink.rows[1][0].s, "b");
}

}  // namespace
}  // namespace dxhub
