// Schema v2: epoch, synchronous=FULL by default, quarantine, operator
// actions in run history, dead-letter states, replay spooling.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/state/state_store.h"
#include "tests/state/state_test_dir.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateV2Test : public testing::StateDirTest {
 protected:
  StateV2Test() : StateDirTest("dxhub_state_v2_") {}
  StateStore open_store() {
    auto store = StateStore::open(db_path());
    EXPECT_TRUE(store) << store.status().to_string();
    return std::move(store).value();
  }
  static NewBatch batch(const std::string& id, int64_t sequence, std::string_view body) {
    return NewBatch{id, "households", sequence, 3, "null", "fp", "digest-" + id, body};
  }
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

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(StateV2Test, EpochIsSetAtCreationAndNeverChanges) {
  int64_t before = now_ms();
  int64_t epoch = 0;
  {
    StateStore store = open_store();
    auto e = store.epoch();
    ASSERT_TRUE(e) << e.status().to_string();
    epoch = *e;
  }
  EXPECT_GE(epoch, before);
  EXPECT_LE(epoch, now_ms());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  StateStore again = open_store();
  EXPECT_EQ(*again.epoch(), epoch);
  EXPECT_EQ(scalar("PRAGMA user_version"), kStateSchemaVersion);
}

TEST_F(StateV2Test, SynchronousIsFullByDefaultAndNormalOnRequest) {
  StateStore full = open_store();
  EXPECT_EQ(*full.synchronous_level(), 2);
  StateStoreOptions normal;
  normal.synchronous_full = false;
  auto n = StateStore::open(db_path(), normal);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n->synchronous_level(), 1);
}

// A file written by the v1 schema: its rows survive, new columns get their
// defaults, the epoch is set at migration.
TEST_F(StateV2Test, V1FileIsMigratedKeepingItsRows) {
  {
    auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(R"sql(
      CREATE TABLE cursors (resource TEXT PRIMARY KEY, cursor_json TEXT, next_sequence INTEGER NOT NULL DEFAULT 1,
                            updated_at INTEGER NOT NULL);
      CREATE TABLE outbox (batch_id TEXT PRIMARY KEY, resource TEXT NOT NULL, sequence INTEGER NOT NULL,
        record_count INTEGER NOT NULL, codec TEXT NOT NULL, fingerprint TEXT NOT NULL, digest TEXT NOT NULL,
        body BLOB NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        last_attempt_at INTEGER, UNIQUE (resource, sequence));
      CREATE TABLE receipts (batch_id TEXT PRIMARY KEY, resource TEXT NOT NULL, sequence INTEGER NOT NULL,
        record_count INTEGER NOT NULL, digest TEXT NOT NULL, body_bytes INTEGER NOT NULL, receipt_json TEXT NOT NULL,
        delivered_at INTEGER NOT NULL);
      CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, started_at INTEGER NOT NULL,
        finished_at INTEGER, status TEXT NOT NULL, summary_json TEXT);
      CREATE TABLE run_resources (run_id INTEGER NOT NULL, resource TEXT NOT NULL, rows_read INTEGER NOT NULL DEFAULT 0,
        rows_spooled INTEGER NOT NULL DEFAULT 0, rows_delivered INTEGER NOT NULL DEFAULT 0,
        batches_spooled INTEGER NOT NULL DEFAULT 0, batches_delivered INTEGER NOT NULL DEFAULT 0,
        dead_letters INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, error TEXT, PRIMARY KEY (run_id, resource));
      CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, resource TEXT NOT NULL,
        source_key TEXT NOT NULL, reason TEXT NOT NULL, row_json TEXT NOT NULL, created_at INTEGER NOT NULL);
      INSERT INTO cursors VALUES ('households', '{"after":5}', 2, 1);
      INSERT INTO outbox (batch_id, resource, sequence, record_count, codec, fingerprint, digest, body, created_at,
                          attempts) VALUES ('old-1', 'households', 1, 3, 'null', 'fp', 'd', x'00', 1, 2);
      INSERT INTO dead_letters (resource, source_key, reason, row_json, created_at)
        VALUES ('households', 'k1', 'field x (column x): bad', '{"x":"bad"}', 1);
      PRAGMA user_version = 1;
    )sql").is_ok());
  }
  int64_t before = now_ms();
  StateStore store = open_store();
  EXPECT_EQ(scalar("PRAGMA user_version"), kStateSchemaVersion);
  EXPECT_GE(*store.epoch(), before);
  auto pending = store.pending_batches("", 0);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].attempts, 2);
  EXPECT_EQ((*pending)[0].refusals, 0);
  auto letters = store.dead_letters("households", 0);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].state, "open");
  EXPECT_EQ((*letters)[0].source_ref, "");  // v3 column, default for old rows
  EXPECT_EQ(*store.next_sequence("households"), 2);
}

// A dead letter keeps where in the source it came from.
TEST_F(StateV2Test, DeadLetterSourceReferenceRoundTrips) {
  StateStore store = open_store();
  DeadLetter letter{"orders", "orders.csv line 17", "line 17: unterminated quoted field", "{\"raw\":\"x\"}",
                    "orders.csv line 17"};
  ASSERT_TRUE(store.advance_cursor("orders", nlohmann::json{{"line", 17}}, std::span<const DeadLetter>(&letter, 1))
                  .is_ok());
  auto letters = store.dead_letters("orders", 0);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].source_ref, "orders.csv line 17");
  auto one = store.dead_letter((*letters)[0].id);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->source_ref, "orders.csv line 17");
}

TEST_F(StateV2Test, RefusalsCountAcrossOpensThenQuarantineLetsLaterBatchesThrough) {
  {
    StateStore store = open_store();
    ASSERT_TRUE(store.spool_batch(batch("b1", 1, "one"), {{"after", 1}}).is_ok());
    ASSERT_TRUE(store.spool_batch(batch("b2", 2, "two"), {{"after", 2}}).is_ok());
    auto first = store.record_refusal("b1", "HTTP 400 BAD_BATCH: no", 3);
    ASSERT_TRUE(first) << first.status().to_string();
    EXPECT_EQ(*first, RefusalOutcome::kCounted);
  }
  StateStore store = open_store();  // a later run
  EXPECT_EQ(*store.record_refusal("b1", "HTTP 400 BAD_BATCH: no", 3), RefusalOutcome::kCounted);
  EXPECT_EQ(*store.record_refusal("b1", "HTTP 400 BAD_BATCH: still no", 3), RefusalOutcome::kQuarantined);
  auto pending = store.pending_batches("households", 0);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].batch_id, "b2");  // next in line
  auto listed = store.list_batches("");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  const BatchInfo& q = (*listed)[0];
  EXPECT_EQ(q.batch_id, "b1");
  EXPECT_TRUE(q.quarantined);
  EXPECT_EQ(q.refusals, 3);
  EXPECT_EQ(q.attempts, 3);
  EXPECT_EQ(q.bytes, 3);
  EXPECT_NE(q.reason.find("still no"), std::string::npos) << q.reason;
  EXPECT_FALSE((*listed)[1].quarantined);
  auto summary = store.quarantine_summary();
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ((*summary)[0].batches, 1);
  EXPECT_EQ(*store.pending_bytes("households"), 3);  // "two"; the quarantined body does not count
}

TEST_F(StateV2Test, RetryPutsQuarantinedBatchBackWithCountsResetAndIsRecorded) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(batch("b1", 1, "one"), {{"after", 1}}).is_ok());
  ASSERT_TRUE(store.quarantine_batch("b1", "corrupt spool body").is_ok());
  EXPECT_TRUE(store.pending_batches("", 0)->empty());
  auto missing = store.retry_quarantined("nope", "", {"outbox retry", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto ids = store.retry_quarantined("", "households", {"outbox retry", ""});
  ASSERT_TRUE(ids) << ids.status().to_string();
  ASSERT_EQ(ids->size(), 1u);
  auto pending = store.pending_batches("", 0);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].body, "one");
  EXPECT_EQ((*pending)[0].attempts, 0);
  EXPECT_EQ((*pending)[0].refusals, 0);
  EXPECT_TRUE(store.quarantine_summary()->empty());
  auto runs = store.last_runs(1);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].command, "outbox retry");
  EXPECT_EQ((*runs)[0].summary["batch_ids"][0], "b1");
}

TEST_F(StateV2Test, DropDeletesTheBatchAndRecordsTheReason) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(batch("b1", 1, "one"), {{"after", 1}}).is_ok());
  auto dropped = store.drop_batch("b1", {"outbox drop", "sent by hand on 12-01"});
  ASSERT_TRUE(dropped) << dropped.status().to_string();
  EXPECT_EQ(dropped->sequence, 1);
  EXPECT_TRUE(store.list_batches("")->empty());
  auto runs = store.last_runs(1);
  EXPECT_EQ((*runs)[0].command, "outbox drop");
  EXPECT_EQ((*runs)[0].summary["reason"], "sent by hand on 12-01");
  EXPECT_EQ((*runs)[0].summary["batch_id"], "b1");
  auto again = store.drop_batch("b1", {"outbox drop", "x"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);
}

TEST_F(StateV2Test, DiscardKeepsTheRowsWithTheReason) {
  StateStore store = open_store();
  std::vector<DeadLetter> letters = {{"households", "k1", "field a (column a): 'x' bad", R"({"a":"x"})", ""},
                                     {"households", "k2", "field a (column a): 'y' bad", R"({"a":"y"})", ""},
                                     {"other", "k3", "field b (column b): 'z' bad", R"({"b":"z"})", ""}};
  ASSERT_TRUE(store.advance_cursor("households", {{"after", 9}}, letters).is_ok());
  auto all = store.dead_letters("", 0);
  ASSERT_EQ(all->size(), 3u);
  int64_t k1 = (*all)[2].id;
  auto one = store.discard_dead_letters(k1, "", {"dead-letters discard", "known bad test row"});
  ASSERT_TRUE(one) << one.status().to_string();
  EXPECT_EQ(one->size(), 1u);
  auto shown = store.dead_letter(k1);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->state, "discarded");
  EXPECT_EQ(shown->state_reason, "known bad test row");
  EXPECT_EQ(shown->row_json, R"({"a":"x"})");
  auto rest = store.discard_dead_letters(0, "households", {"dead-letters discard", "all of them"});
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), 1u);  // k2 only: k1 already discarded, k3 another resource
  auto counts = store.dead_letter_counts();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].resource, "households");
  EXPECT_EQ((*counts)[0].count, 0);
  EXPECT_EQ((*counts)[0].discarded, 2);
  EXPECT_EQ((*counts)[1].count, 1);
  EXPECT_EQ(store.dead_letter(424242).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.last_runs(1)->at(0).command, "dead-letters discard");
}

TEST_F(StateV2Test, ReplaySpoolsANewBatchWithoutMovingTheCursor) {
  StateStore store = open_store();
  std::vector<DeadLetter> letters = {{"households", "k1", "old reason 1", R"({"a":"x"})", ""},
                                     {"households", "k2", "old reason 2", R"({"a":"y"})", ""}};
  ASSERT_TRUE(store.spool_batch(batch("b1", 1, "one"), {{"after", 7}}, letters).is_ok());
  auto open = store.dead_letters("households", 0, kDeadLetterOpen);
  ASSERT_EQ(open->size(), 2u);
  int64_t k2 = (*open)[0].id, k1 = (*open)[1].id;
  NewBatch replay = batch("r1", 2, "replayed");
  std::vector<int64_t> replayed = {k1};
  std::vector<std::pair<int64_t, std::string>> failing = {{k2, "new reason"}};
  ASSERT_TRUE(store.record_replay(&replay, replayed, failing, {"dead-letters replay", ""}, {{"n", 1}}).is_ok());
  EXPECT_EQ(*store.next_sequence("households"), 3);
  EXPECT_EQ((*store.load_cursor("households"))["after"], 7);
  EXPECT_EQ(store.pending_batches("households", 0)->size(), 2u);
  EXPECT_EQ(store.dead_letter(k1)->state, "replayed");
  EXPECT_EQ(store.dead_letter(k1)->state_reason, "r1");
  EXPECT_EQ(store.dead_letter(k2)->state, "open");
  EXPECT_EQ(store.dead_letter(k2)->reason, "new reason");
  // A replay of an already replayed row is refused as a whole.
  NewBatch twice = batch("r2", 3, "again");
  EXPECT_FALSE(store.record_replay(&twice, replayed, {}, {"dead-letters replay", ""}, {}).is_ok());
  EXPECT_EQ(*store.next_sequence("households"), 3);
}

TEST_F(StateV2Test, InvalidUtf8InCursorAndErrorsIsStoredNotThrown) {
  StateStore store = open_store();
  std::string bad = "2026-01-01 \xe4\xb8";  // cut inside a UTF-8 character
  ASSERT_TRUE(store.spool_batch(batch("b1", 1, "one"), {{"after", bad}}).is_ok());
  ASSERT_TRUE(store.record_failed_attempt("b1", "HTTP 400 X: " + bad).is_ok());
  auto runs_begin = store.begin_run("sync");
  ASSERT_TRUE(runs_begin);
  ASSERT_TRUE(store.finish_run(*runs_begin, "failed", {{"errors", {bad}}}).is_ok());
  auto cursor = store.load_cursor("households");
  ASSERT_TRUE(cursor);
  EXPECT_TRUE((*cursor)["after"].is_string());
}

}  // namespace
}  // namespace dxhub
