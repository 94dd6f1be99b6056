// Schema v4: the snapshot tables of change detection. A v3 file keeps its
// rows; the snapshot changes of a chunk commit with its batch, or not at all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/state/state_store.h"
#include "tests/state/state_test_dir.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateV4Test : public testing::StateDirTest {
 protected:
  StateV4Test() : StateDirTest("dxhub_state_v4_") {}
  int64_t scalar(const std::string& sql) {
    auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadOnly);
    EXPECT_TRUE(db);
    auto stmt = db->prepare(sql);
    EXPECT_TRUE(stmt) << sql;
    auto row = stmt->step();
    EXPECT_TRUE(row && *row) << sql;
    return stmt->column_int64(0);
  }
};

TEST_F(StateV4Test, V3FileIsMigratedKeepingItsRows) {
  int64_t epoch = 0;
  {
    auto store = StateStore::open(db_path());
    ASSERT_TRUE(store) << store.status().to_string();
    auto e = store->epoch();
    ASSERT_TRUE(e);
    epoch = *e;
    NewBatch batch{"b-1", "households", 1, 3, "null", "fp", "dg", "body"};
    ASSERT_TRUE(store->spool_batch(batch, nlohmann::json{{"after", 5}}, {}).is_ok());
    DeadLetter letter{"households", "k1", "field x (column x): bad", "{}", "file.csv line 3"};
    ASSERT_TRUE(store->advance_cursor("households", nlohmann::json{{"after", 6}}, std::span(&letter, 1)).is_ok());
  }
  {
    // Back to what v3 was: no snapshot tables.
    auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DROP TABLE snapshot_rows; DROP TABLE snapshot_passes; PRAGMA user_version = 3").is_ok());
  }
  EXPECT_EQ(scalar("PRAGMA user_version"), 3);
  auto store = StateStore::open(db_path());
  ASSERT_TRUE(store) << store.status().to_string();
  EXPECT_EQ(scalar("PRAGMA user_version"), kStateSchemaVersion);
  EXPECT_EQ(*store->epoch(), epoch);
  EXPECT_EQ((*store->load_cursor("households"))["after"], 6);
  EXPECT_EQ(*store->next_sequence("households"), 2);
  auto pending = store->pending_batches("households", 0);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].body, "body");
  auto letters = store->dead_letters("households", 0);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].source_ref, "file.csv line 3");
  auto pass = store->snapshot_pass("households");
  ASSERT_TRUE(pass);
  EXPECT_FALSE(pass->exists);
  EXPECT_EQ(*store->snapshot_size("households"), 0);
}

TEST_F(StateV4Test, SnapshotChangesCommitWithTheirBatchOrNotAtAll) {
  auto store = StateStore::open(db_path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->begin_snapshot_pass("households", 1, 10).is_ok());
  std::vector<SnapshotChange> changes = {{"k1", 11, false}, {"k2", 12, false}};
  SnapshotUpdate update;
  update.pass = 1;
  update.changes = changes;
  NewBatch batch{"b-1", "households", 1, 2, "null", "fp", "dg", "body"};
  ASSERT_TRUE(store->spool_batch(batch, nlohmann::json{{"at", 2}}, {}, &update).is_ok());
  auto k1 = store->snapshot_row("households", "k1");
  ASSERT_TRUE(k1);
  EXPECT_TRUE(k1->found);
  EXPECT_EQ(k1->digest, 11u);
  EXPECT_EQ(k1->seen_pass, 1);
  // A batch that cannot be spooled (wrong sequence) leaves the snapshot as it was.
  std::vector<SnapshotChange> more = {{"k3", 13, false}, {"k1", 0, true}};
  update.changes = more;
  NewBatch wrong{"b-x", "households", 7, 2, "null", "fp", "dg", "body"};
  EXPECT_FALSE(store->spool_batch(wrong, nlohmann::json{{"at", 4}}, {}, &update).is_ok());
  EXPECT_FALSE(store->snapshot_row("households", "k3")->found);
  EXPECT_TRUE(store->snapshot_row("households", "k1")->found);
  // Digests above 2^63 round-trip.
  std::vector<SnapshotChange> big = {{"k4", 0xFEDCBA9876543210ull, false}};
  update.changes = big;
  ASSERT_TRUE(store->advance_cursor("households", nlohmann::json{{"at", 5}}, {}, &update).is_ok());
  EXPECT_EQ(store->snapshot_row("households", "k4")->digest, 0xFEDCBA9876543210ull);
  auto unseen = store->snapshot_unseen("households", 2, 10);
  ASSERT_TRUE(unseen);
  EXPECT_EQ(unseen->size(), 3u);
}

}  // namespace
}  // namespace dxhub
