// The push-ingest tables of the state (schema v5): posts are staged in one
// transaction per group, repeats of a post_id are recognised, and a batch is
// spooled in the transaction that unstages its posts -- all or nothing.
#include <gtest/gtest.h>

#include "core/common/sqlite_db.h"
#include "core/state/state_store.h"
#include "tests/state/state_test_dir.h"

namespace dxhub {
namespace {

class StateStoreIngestTest : public testing::StateDirTest {
 protected:
  StateStoreIngestTest() : StateDirTest("dxhub_state_ingest_") {}

  StateStore open_store() {
    auto store = StateStore::open(db_path());
    EXPECT_TRUE(store) << store.status().to_string();
    return std::move(store).value();
  }

  static NewPost post(const std::string& post_id, std::string_view records, int64_t count,
                      const std::string& digest = "d1", const std::string& app_key = "gaj") {
    NewPost p;
    p.resource = "household_population";
    p.app_key = app_key;
    p.post_id = post_id;
    p.digest = digest;
    p.record_count = count;
    p.records = records;
    p.received_at_ms = 1000;
    return p;
  }

  static NewBatch batch(const std::string& id, int64_t sequence) {
    NewBatch b;
    b.batch_id = id;
    b.resource = "household_population";
    b.sequence = sequence;
    b.record_count = 3;
    b.codec = "null";
    b.fingerprint = "fp";
    b.digest = "digest-" + id;
    b.body = "body";
    return b;
  }
};

TEST_F(StateStoreIngestTest, RepeatedPostIdsAreDuplicatesOrConflictsWithinAndAcrossGroups) {
  StateStore store = open_store();
  std::vector<NewPost> group = {post("p1", "aaa", 1), post("p2", "bbbb", 2), post("p1", "aaa", 1),
                                post("p1", "other", 1, "d2"), post("", "x", 1), post("", "x", 1),
                                post("p1", "aaa", 1, "d1", "another-agency")};
  auto results = store.stage_posts(group);
  ASSERT_TRUE(results) << results.status().to_string();
  ASSERT_EQ(results->size(), group.size());
  EXPECT_EQ((*results)[0].outcome, PostOutcome::kStaged);
  EXPECT_EQ((*results)[1].outcome, PostOutcome::kStaged);
  EXPECT_EQ((*results)[2].outcome, PostOutcome::kDuplicate);
  EXPECT_EQ((*results)[2].staged_id, (*results)[0].staged_id);
  EXPECT_EQ((*results)[3].outcome, PostOutcome::kConflict);
  EXPECT_EQ((*results)[4].outcome, PostOutcome::kStaged);  // no post_id: no detection
  EXPECT_EQ((*results)[5].outcome, PostOutcome::kStaged);
  EXPECT_EQ((*results)[6].outcome, PostOutcome::kStaged);  // post ids are per app key

  // A later group still knows p1.
  std::vector<NewPost> again = {post("p1", "aaa", 1)};
  auto repeated = store.stage_posts(again);
  ASSERT_TRUE(repeated);
  EXPECT_EQ((*repeated)[0].outcome, PostOutcome::kDuplicate);

  auto staged = store.staged_posts("household_population", 100);
  ASSERT_TRUE(staged);
  ASSERT_EQ(staged->size(), 5u);
  EXPECT_EQ((*staged)[1].records, "bbbb");
  auto summary = store.staged_summary();
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ((*summary)[0].records, 6);
  EXPECT_EQ((*summary)[0].posts, 5);
}

TEST_F(StateStoreIngestTest, StagedPostsKeepTheRecordBudgetButAlwaysGiveTheFirst) {
  StateStore store = open_store();
  std::vector<NewPost> group = {post("a", "x", 7), post("b", "y", 2), post("c", "z", 2)};
  ASSERT_TRUE(store.stage_posts(group));
  auto first = store.staged_posts("household_population", 3);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);  // larger than the budget, still given
  EXPECT_EQ((*first)[0].record_count, 7);
  auto more = store.staged_posts("household_population", 11);
  ASSERT_TRUE(more);
  EXPECT_EQ(more->size(), 3u);
  auto fewer = store.staged_posts("household_population", 10);
  ASSERT_TRUE(fewer);
  EXPECT_EQ(fewer->size(), 2u);
}

TEST_F(StateStoreIngestTest, SpoolingUnstagesInTheSameTransactionAndLeavesTheCursor) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(batch("polled", 1), nlohmann::json{{"gxsj", "x"}}).is_ok());
  std::vector<NewPost> group = {post("a", "x", 1), post("b", "y", 1), post("c", "z", 1)};
  auto staged = store.stage_posts(group);
  ASSERT_TRUE(staged);
  ASSERT_TRUE(store.spool_staged(batch("pushed", 2), (*staged)[1].staged_id).is_ok());
  auto left = store.staged_posts("household_population", 100);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].records, "z");
  EXPECT_EQ(*store.next_sequence("household_population"), 3);
  EXPECT_EQ((*store.load_cursor("household_population"))["gxsj"], "x");  // the poll cursor stays
  auto pending = store.pending_batches("household_population", 0);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[1].batch_id, "pushed");

  // A wrong sequence (two spoolers) changes nothing: the posts stay staged.
  Status wrong = store.spool_staged(batch("late", 2), (*staged)[2].staged_id);
  EXPECT_EQ(wrong.code(), StatusCode::kInternal) << wrong.to_string();
  EXPECT_EQ(store.staged_posts("household_population", 100)->size(), 1u);
  EXPECT_EQ(store.pending_batches("household_population", 0)->size(), 2u);
  // So does a batch that would unstage nothing.
  Status nothing = store.spool_staged(batch("empty", 3), 0);
  EXPECT_FALSE(nothing.is_ok());
  EXPECT_EQ(store.pending_batches("household_population", 0)->size(), 2u);
  EXPECT_EQ(*store.next_sequence("household_population"), 3);
}

TEST_F(StateStoreIngestTest, OldPostIdsAreForgotten) {
  StateStore store = open_store();
  std::vector<NewPost> group = {post("a", "x", 1), post("b", "y", 1)};
  group[1].received_at_ms = 5000;
  ASSERT_TRUE(store.stage_posts(group));
  auto forgotten = store.forget_post_ids(2000);
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(*forgotten, 1);
  std::vector<NewPost> again = {post("a", "x", 1), post("b", "y", 1)};
  auto results = store.stage_posts(again);
  ASSERT_TRUE(results);
  EXPECT_EQ((*results)[0].outcome, PostOutcome::kStaged);  // forgotten: a new post
  EXPECT_EQ((*results)[1].outcome, PostOutcome::kDuplicate);
}

TEST_F(StateStoreIngestTest, AVersionFourFileGainsTheIngestTables) {
  {
    StateStore store = open_store();
  }
  {
    auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DROP TABLE ingest_posts; DROP TABLE ingest_post_ids; PRAGMA user_version = 4").is_ok());
  }
  StateStore store = open_store();
  std::vector<NewPost> group = {post("a", "x", 1)};
  EXPECT_TRUE(store.stage_posts(group));
}

}  // namespace
}  // namespace dxhub
