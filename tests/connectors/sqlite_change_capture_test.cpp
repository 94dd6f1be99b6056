// Trigger-based change capture (mode "triggers", issue 6 point 6), checked
// at the connector with a sink that keeps operations: a model province
// applies every upsert and delete and must end equal to the agency table.
#include <gtest/gtest.h>

#include <map>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/sqlite_test_helpers.h"

namespace dxhub {
namespace {

using testing::mentions;
using testing::OpRow;
using testing::SqliteSourceTest;

class ChangeCapture : public SqliteSourceTest {
 protected:
  void SetUp() override {
    SqliteSourceTest::SetUp();
    exec("CREATE TABLE t(id INTEGER PRIMARY KEY, xm TEXT, n INTEGER)");
    exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  }
  nlohmann::json cfg(size_t chunk = 5000) const {
    return base({{"table", "t"}, {"mode", "triggers"}, {"key_column", "id"}, {"chunk_rows", chunk}});
  }
  // The province: rows by key.
  void apply(const std::vector<OpRow>& rows) {
    for (const auto& r : rows) {
      if (r.op == RowOp::kDelete) {
        EXPECT_EQ(r.values[1].type, FieldValue::Type::kNull) << "a delete carries only its key";
        province_.erase(r.values[0].i);
      } else {
        province_[r.values[0].i] = testing::row_text(r.values);
      }
    }
  }
  std::map<int64_t, std::string> agency() {
    std::map<int64_t, std::string> out;
    for (const auto& text : table_texts("SELECT id, xm, n FROM t")) {
      out[std::stoll(text.substr(2, text.find('|') - 2))] = text;
    }
    return out;
  }
  int64_t pending_changes() { return scalar("SELECT count(*) FROM dxhub_changes_t"); }

  std::map<int64_t, std::string> province_;
};

TEST_F(ChangeCapture, SnapshotThenInsertsUpdatesAndDeletesExactly) {
  auto snapshot = drain(cfg(), {}, 100, true);
  ASSERT_EQ(snapshot.size(), 3u);
  apply(snapshot);
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 3);
  EXPECT_EQ(cursor_["change_id"], 0);
  EXPECT_EQ(cursor_["snapshot"], false);

  // Several updates of one row in one second, an insert and a delete.
  exec("UPDATE t SET xm = 'b1' WHERE id = 2");
  exec("UPDATE t SET xm = 'b2' WHERE id = 2");
  exec("UPDATE t SET xm = 'b3', n = 20 WHERE id = 2");
  exec("INSERT INTO t VALUES (4, 'd', 4)");
  exec("DELETE FROM t WHERE id = 3");
  EXPECT_EQ(pending_changes(), 5);

  auto conn = SqliteTableConnector::open(cfg(), {}, cursor_);
  ASSERT_TRUE(conn) << conn.status().to_string();
  testing::OpSink sink;
  ASSERT_EQ(*(*conn)->read(100, sink), 2u) << "upserts first; the delete needs a read of its own";
  EXPECT_EQ(pending_changes(), 5) << "nothing acknowledged before it is durable (the next read)";
  EXPECT_EQ(sink.rows[0].values[0].i, 2);
  EXPECT_EQ(sink.rows[0].values[1].s, "b3") << "the row as it is now";
  EXPECT_EQ(sink.rows[1].values[0].i, 4);
  ASSERT_EQ(*(*conn)->read(100, sink), 1u);
  EXPECT_EQ(sink.rows[2].op, RowOp::kDelete);
  EXPECT_EQ(sink.rows[2].values[0].i, 3);
  EXPECT_EQ(pending_changes(), 1) << "the changes of the first read are acknowledged, the delete not yet";
  ASSERT_EQ(*(*conn)->read(100, sink), 0u);
  EXPECT_EQ(pending_changes(), 0) << "acknowledged once durable (at the next read)";
  apply(sink.rows);
  EXPECT_EQ(province_, agency());
}

TEST_F(ChangeCapture, ChangesDuringTheSnapshotAreNotLost) {
  // Batches of one, reopened every time from the saved cursor, while the
  // agency writes behind and ahead of the snapshot's position.
  int step = 0;
  const char* writes[] = {"UPDATE t SET xm = 'a2' WHERE id = 1",     // behind the position
                          "DELETE FROM t WHERE id = 3",              // ahead of it
                          "INSERT INTO t VALUES (0, 'zero', 0)",     // behind
                          "UPDATE t SET id = 10 WHERE id = 2",       // the key moves
                          "INSERT INTO t VALUES (3, 'again', 33)",   // a deleted key comes back
                          "DELETE FROM t WHERE id = 0",
                          "UPDATE t SET n = n + 1"};
  for (int reads = 0; reads < 200; ++reads) {
    auto conn = SqliteTableConnector::open(cfg(1), {"id", "xm", "n"}, cursor_);
    ASSERT_TRUE(conn) << conn.status().to_string();
    testing::OpSink sink;
    auto n = (*conn)->read(1, sink);
    ASSERT_TRUE(n) << n.status().to_string();
    apply(sink.rows);
    cursor_ = nlohmann::json::parse((*conn)->cursor().dump());
    if (step < 7) {
      exec(writes[step++]);
    } else if (*n == 0) {
      break;
    }
  }
  EXPECT_EQ(province_, agency());
  EXPECT_FALSE(province_.empty());
}

TEST_F(ChangeCapture, DryRunInstallsNothingAndAcknowledgesNothing) {
  ConnectorOpenOptions dry;
  dry.dry_run = true;
  auto rows = drain(cfg(), {}, 100, false, dry);
  EXPECT_EQ(rows.size(), 3u) << "the snapshot, as a check would sample it";
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'dxhub%'"), 0);
  EXPECT_TRUE(mentions(advisories_, "not installed"));

  cursor_ = nullptr;
  drain(cfg(), {}, 100, false);  // a real run installs
  exec("DELETE FROM t WHERE id = 1");
  const nlohmann::json saved = cursor_;
  auto dry_rows = drain(cfg(), {}, 100, false, dry);
  ASSERT_EQ(dry_rows.size(), 1u);
  EXPECT_EQ(dry_rows[0].op, RowOp::kDelete);
  EXPECT_EQ(pending_changes(), 1) << "a dry run acknowledges nothing";
  cursor_ = saved;
  auto real = drain(cfg(), {}, 100, false);
  ASSERT_EQ(real.size(), 1u);
  EXPECT_EQ(pending_changes(), 0);
}

TEST_F(ChangeCapture, DroppedTriggersAreInstalledAgainWithANewSnapshot) {
  drain(cfg(), {}, 100, false);
  exec("DROP TRIGGER dxhub_t_update");
  exec("UPDATE t SET xm = 'unseen' WHERE id = 1");
  auto rows = drain(cfg(), {}, 100, false);
  EXPECT_EQ(rows.size(), 3u) << "a full snapshot again";
  EXPECT_TRUE(mentions(advisories_, "missing"));
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 3);
}

TEST_F(ChangeCapture, RefusedWhereItCannotWork) {
  exec("CREATE VIEW tv AS SELECT * FROM t");
  auto view = SqliteTableConnector::open(base({{"table", "tv"}, {"mode", "triggers"}, {"key_column", "id"}}), {},
                                         nullptr);
  ASSERT_FALSE(view);
  EXPECT_EQ(view.status().code(), StatusCode::kConfig);
  auto no_key = SqliteTableConnector::open(cfg(), {"xm"}, nullptr);
  ASSERT_FALSE(no_key) << "a delete carries the key: it must be read";
  auto query = SqliteTableConnector::open(
      base({{"query", "SELECT * FROM t"}, {"mode", "triggers"}, {"key_column", "id"}}), {}, nullptr);
  ASSERT_FALSE(query);
  auto bad_cursor = SqliteTableConnector::open(cfg(), {}, nlohmann::json{{"v", 2}, {"value", 1}});
  ASSERT_FALSE(bad_cursor);
  EXPECT_EQ(bad_cursor.status().code(), StatusCode::kConfig);
}

TEST_F(ChangeCapture, DrainingDoesNotAllocatePerRow) {
  drain(cfg(), {}, 100, false);
  exec("BEGIN");
  for (int id = 100; id < 3100; ++id) exec("INSERT INTO t VALUES (" + std::to_string(id) + ", 'x', 1)");
  exec("COMMIT");
  auto conn = SqliteTableConnector::open(cfg(), {}, cursor_);
  ASSERT_TRUE(conn);
  struct Counting : RowSink {
    Status on_row(const RowView&) override {
      ++rows;
      return Status::ok();
    }
    size_t rows = 0;
  } sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 10u);  // warm-up
  const size_t before = testing::allocation_count();
  ASSERT_EQ(*(*conn)->read(2500, sink), 2500u);
  EXPECT_LT(testing::allocation_count() - before, 10u);
}

}  // namespace
}  // namespace dxhub
