#include "core/state/state_store.h"
#include "tests/state/state_test_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateStoreTest : public testing::StateDirTest {
 protected:
  StateStoreTest() : StateDirTest("dxhub_state_test_") {}

  StateStore open_store() {
    auto store = StateStore::open(db_path());
    EXPECT_TRUE(store) << store.status().to_string();
    return std::move(store).value();
  }

  static NewBatch make_batch(const std::string& id, const std::string& resource, int64_t sequence,
                             std::string_view body) {
    NewBatch b;
    b.batch_id = id;
    b.resource = resource;
    b.sequence = sequence;
    b.record_count = 3;
    b.codec = "deflate";
    b.fingerprint = "fp-" + resource;
    b.digest = "digest-" + id;
    b.body = body;
    return b;
  }

};

TEST_F(StateStoreTest, FreshStoreHasNoCursorAndSequenceStartsAtOne) {
  StateStore store = open_store();
  auto cursor = store.load_cursor("households");
  ASSERT_TRUE(cursor) << cursor.status().to_string();
  EXPECT_TRUE(cursor->is_null());
  auto seq = store.next_sequence("households");
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 1);
  auto pending = store.pending_batches("", 0);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->empty());
}

TEST_F(StateStoreTest, SpoolStoresBatchCursorAndAdvancesSequence) {
  StateStore store = open_store();
  // "\x01" "b": split so that b is not read as a third hex digit; sizeof
  // - 1 counts the embedded NUL but not the terminating one.
  static constexpr char kBody[] = "\x00\x01" "binary\xff body";
  std::string body(kBody, sizeof kBody - 1);
  ASSERT_TRUE(store.spool_batch(make_batch("b1", "households", 1, body), {{"id", 42}}).is_ok());
  auto cursor = store.load_cursor("households");
  ASSERT_TRUE(cursor);
  EXPECT_EQ((*cursor)["id"], 42);
  EXPECT_EQ(*store.next_sequence("households"), 2);
  EXPECT_EQ(*store.next_sequence("other"), 1);

  auto pending = store.pending_batches("households", 10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  const OutboxEntry& e = (*pending)[0];
  EXPECT_EQ(e.batch_id, "b1");
  EXPECT_EQ(e.sequence, 1);
  EXPECT_EQ(e.record_count, 3);
  EXPECT_EQ(e.codec, "deflate");
  EXPECT_EQ(e.fingerprint, "fp-households");
  EXPECT_EQ(e.digest, "digest-b1");
  EXPECT_EQ(e.body, body);  // embedded NUL and 0xff survive
  EXPECT_EQ(e.attempts, 0);
  EXPECT_GT(e.created_at_ms, 0);
}

TEST_F(StateStoreTest, FailedSpoolChangesNothing) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(make_batch("dup", "households", 1, "one"), {{"id", 1}}).is_ok());
  std::vector<DeadLetter> letters{{"households", "k9", "bad date", "{}", ""}};
  // Same batch id again: the outbox insert (the last step) fails after the
  // cursor and the dead letter were written; all of it must roll back.
  Status s = store.spool_batch(make_batch("dup", "households", 2, "two"), {{"id", 2}}, letters);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_NE(s.message().find("dup"), std::string::npos) << s.message();
  EXPECT_EQ((*store.load_cursor("households"))["id"], 1);
  EXPECT_EQ(*store.next_sequence("households"), 2);
  EXPECT_TRUE(store.dead_letter_counts()->empty());
  EXPECT_EQ(store.pending_batches("", 0)->size(), 1u);

  // The store is still usable afterwards (the transaction was rolled back).
  ASSERT_TRUE(store.spool_batch(make_batch("b2", "households", 2, "two"), {{"id", 2}}, letters).is_ok());
  EXPECT_EQ(*store.next_sequence("households"), 3);
  EXPECT_EQ(store.dead_letter_counts()->at(0).count, 1);
}

TEST_F(StateStoreTest, SpoolWithWrongSequenceIsRefused) {
  StateStore store = open_store();
  Status s = store.spool_batch(make_batch("b5", "households", 5, "x"), {{"id", 5}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.to_string();
  EXPECT_TRUE(store.load_cursor("households")->is_null());
  EXPECT_EQ(*store.next_sequence("households"), 1);
}

TEST_F(StateStoreTest, ReceiptMovesBatchOutOfOutbox) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(make_batch("b1", "r", 1, "aaaa"), {{"id", 1}}).is_ok());
  ASSERT_TRUE(store.spool_batch(make_batch("b2", "r", 2, "bbbbbb"), {{"id", 2}}).is_ok());
  ASSERT_TRUE(store.record_receipt("b1", R"({"receipt_id":"x1"})").is_ok());

  auto pending = store.pending_batches("r", 0);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].batch_id, "b2");
  auto receipts = store.receipt_summary();
  ASSERT_TRUE(receipts);
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ((*receipts)[0].batches, 1);
  EXPECT_EQ((*receipts)[0].records, 3);
  EXPECT_EQ((*receipts)[0].bytes, 4);
  EXPECT_EQ((*receipts)[0].last_sequence, 1);

  // Second receipt for the same batch: it is no longer in the outbox.
  Status again = store.record_receipt("b1", "{}");
  EXPECT_EQ(again.code(), StatusCode::kInternal) << again.to_string();
  Status unknown = store.record_receipt("nope", "{}");
  EXPECT_EQ(unknown.code(), StatusCode::kInternal);
  EXPECT_EQ(store.receipt_summary()->at(0).batches, 1);
}

TEST_F(StateStoreTest, FailedAttemptsAreCounted) {
  StateStore store = open_store();
  ASSERT_TRUE(store.spool_batch(make_batch("b1", "r", 1, "x"), {{"id", 1}}).is_ok());
  ASSERT_TRUE(store.record_failed_attempt("b1", "unavailable: HTTP 503").is_ok());
  ASSERT_TRUE(store.record_failed_attempt("b1", "unavailable: timeout").is_ok());
  auto pending = store.pending_batches("r", 1);
  ASSERT_TRUE(pending);
  EXPECT_EQ((*pending)[0].attempts, 2);
  EXPECT_EQ((*pending)[0].last_error, "unavailable: timeout");
  auto summary = store.outbox_summary();
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ((*summary)[0].max_attempts, 2);
  EXPECT_EQ((*summary)[0].last_error, "unavailable: timeout");
  EXPECT_EQ(store.record_failed_attempt("missing", "x").code(), StatusCode::kInternal);
}

TEST_F(StateStoreTest, PendingIsOrderedBySequenceAndFiltered) {
  StateStore store = open_store();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(store.spool_batch(make_batch("a" + std::to_string(i), "alpha", i, "x"), {{"id", i}}).is_ok());
    ASSERT_TRUE(store.spool_batch(make_batch("b" + std::to_string(i), "beta", i, "yy"), {{"id", i}}).is_ok());
  }
  ASSERT_TRUE(store.record_receipt("a1", "{}").is_ok());
  auto alpha = store.pending_batches("alpha", 3);
  ASSERT_TRUE(alpha);
  ASSERT_EQ(alpha->size(), 3u);
  EXPECT_EQ((*alpha)[0].sequence, 2);
  EXPECT_EQ((*alpha)[2].sequence, 4);
  auto all = store.pending_batches("", 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 9u);
  auto resources = store.resources_with_pending();
  ASSERT_TRUE(resources);
  EXPECT_EQ(*resources, (std::vector<std::string>{"alpha", "beta"}));
  auto summary = store.outbox_summary();
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->size(), 2u);
  EXPECT_EQ((*summary)[1].resource, "beta");
  EXPECT_EQ((*summary)[1].batches, 5);
  EXPECT_EQ((*summary)[1].records, 15);
  EXPECT_EQ((*summary)[1].bytes, 10);
}

TEST_F(StateStoreTest, AdvanceCursorWithOnlyDeadLetters) {
  StateStore store = open_store();
  std::vector<DeadLetter> letters{{"r", "k1", "bad id card", R"({"a":1})", ""}, {"r", "k2", "bad date", R"({"a":2})", ""}};
  ASSERT_TRUE(store.advance_cursor("r", {{"rowid", 200}}, letters).is_ok());
  EXPECT_EQ((*store.load_cursor("r"))["rowid"], 200);
  EXPECT_EQ(*store.next_sequence("r"), 1);  // no batch: sequence unchanged
  ASSERT_TRUE(store.add_dead_letter("s", "k3", "why", "{}").is_ok());
  auto counts = store.dead_letter_counts();
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].resource, "r");
  EXPECT_EQ((*counts)[0].count, 2);
  auto newest = store.dead_letters("r", 1);
  ASSERT_TRUE(newest);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].source_key, "k2");
  EXPECT_EQ((*newest)[0].row_json, R"({"a":2})");
}

TEST_F(StateStoreTest, StateAndSequenceSurviveReopen) {
  {
    StateStore store = open_store();
    ASSERT_TRUE(store.spool_batch(make_batch("b1", "r", 1, "x"), {{"id", 1}}).is_ok());
    ASSERT_TRUE(store.spool_batch(make_batch("b2", "r", 2, "y"), {{"id", 2}, {"ts", "2024-01-01"}}).is_ok());
    ASSERT_TRUE(store.record_receipt("b1", "{}").is_ok());
    // The receipt removed b1 and b2 holds sequence 2: even with an empty
    // outbox, numbering must not restart.
    ASSERT_TRUE(store.record_receipt("b2", "{}").is_ok());
    auto run = store.begin_run("run");
    ASSERT_TRUE(run);
    ASSERT_TRUE(store.record_run_resource(*run, {"r", 10, 9, 9, 2, 2, 1, "ok", ""}).is_ok());
    ASSERT_TRUE(store.finish_run(*run, "ok", {{"rows", 10}}).is_ok());
  }
  StateStore store = open_store();
  EXPECT_EQ(*store.next_sequence("r"), 3);
  auto cursor = store.load_cursor("r");
  ASSERT_TRUE(cursor);
  EXPECT_EQ((*cursor)["ts"], "2024-01-01");
  EXPECT_TRUE(store.pending_batches("", 0)->empty());
  auto runs = store.last_runs(5);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, "ok");
  EXPECT_GT((*runs)[0].finished_at_ms, 0);
  EXPECT_EQ((*runs)[0].summary["rows"], 10);
  ASSERT_EQ((*runs)[0].resources.size(), 1u);
  EXPECT_EQ((*runs)[0].resources[0].rows_read, 10);
  EXPECT_EQ((*runs)[0].resources[0].dead_letters, 1);
  auto cursors = store.cursors();
  ASSERT_TRUE(cursors);
  ASSERT_EQ(cursors->size(), 1u);
  EXPECT_EQ((*cursors)[0].next_sequence, 3);
}

TEST_F(StateStoreTest, LastRunsNewestFirstAndRunResourceReplaced) {
  StateStore store = open_store();
  auto first = store.begin_run("run");
  auto second = store.begin_run("deliver");
  ASSERT_TRUE(first && second);
  EXPECT_GT(*second, *first);
  ASSERT_TRUE(store.record_run_resource(*second, {"r", 1, 0, 0, 0, 0, 0, "running", ""}).is_ok());
  ASSERT_TRUE(store.record_run_resource(*second, {"r", 5, 5, 0, 1, 0, 0, "failed", "HTTP 400"}).is_ok());
  auto runs = store.last_runs(1);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].run_id, *second);
  EXPECT_EQ((*runs)[0].command, "deliver");
  EXPECT_EQ((*runs)[0].status, "running");
  EXPECT_EQ((*runs)[0].finished_at_ms, 0);
  ASSERT_EQ((*runs)[0].resources.size(), 1u);
  EXPECT_EQ((*runs)[0].resources[0].rows_read, 5);
  EXPECT_EQ((*runs)[0].resources[0].error, "HTTP 400");
  EXPECT_EQ(store.finish_run(9999, "ok", {}).code(), StatusCode::kInternal);
}

TEST_F(StateStoreTest, MissingDirectoryGivesClearError) {
  std::string path = (dir_ / "no_such_dir" / "state.db").string();
  auto store = StateStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.status().code(), StatusCode::kIo);
  EXPECT_NE(store.status().message().find("does not exist"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "no_such_dir"));
}

TEST_F(StateStoreTest, NonDatabaseFileGivesClearError) {
  {
    std::ofstream out(db_path());
    for (int i = 0; i < 64; ++i) out << "this is a text file, not an SQLite database\n";
  }
  auto store = StateStore::open(db_path());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.status().code(), StatusCode::kIo);
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find(db_path()), std::string::npos);
}

TEST_F(StateStoreTest, NewerSchemaVersionIsRefused) {
  {
    auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99").is_ok());
  }
  auto store = StateStore::open(db_path());
  ASSERT_FALSE(store);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos) << store.status().message();
}

TEST_F(StateStoreTest, OpensInWalModeWithChosenSynchronous) {
  {
    StateStoreOptions options;
    options.synchronous_full = true;
    auto store = StateStore::open(db_path(), options);
    ASSERT_TRUE(store) << store.status().to_string();
  }
  auto db = SqliteDb::open(db_path(), SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(db);
  auto stmt = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(stmt);
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->column_text(0), "wal");  // persistent in the file
}

// The engine's shape: a reader thread spooling while a delivery thread drains
// and records receipts, each with its own connection on the same file.
TEST_F(StateStoreTest, SpoolerAndReceiptWriterOnTwoThreads) {
  constexpr int kBatches = 300;
  { StateStore init = open_store(); }  // schema created once up front, like the engine does
  std::atomic<bool> spooler_done{false};
  Status spooler_status;
  Status drainer_status;
  std::vector<std::string> delivered;
  int receipts_while_spooling = 0;  // proves the two connections really overlapped
  std::atomic<int> delivered_count{0};

  std::thread spooler([&] {
    auto store = StateStore::open(db_path());
    if (!store) {
      spooler_status = store.status();
      spooler_done = true;
      return;
    }
    std::string body(4096, 'b');
    for (int i = 1; i <= kBatches && spooler_status.is_ok(); ++i) {
      body[0] = static_cast<char>(i);
      spooler_status = store->spool_batch(make_batch("batch-" + std::to_string(i), "r", i, body), {{"id", i}});
      // Stands in for reading and encoding the next chunk. Without any gap the
      // spooler would re-take the write lock at once after every commit and
      // the drainer (SQLite's busy handler polls, it does not queue) would
      // only get in after the spooler finished.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (i == kBatches / 2) {
        // Halfway, make sure receipts are being written while spooling goes on
        // (bounded wait, so a broken drainer cannot hang the test).
        for (int waited = 0; delivered_count.load() == 0 && waited < 5000; ++waited) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    }
    spooler_done = true;
  });
  std::thread drainer([&] {
    auto store = StateStore::open(db_path());
    if (!store) {
      drainer_status = store.status();
      return;
    }
    int64_t expected_next = 1;
    // Bounded: stops once the spooler has finished and the outbox is empty,
    // or after a generous number of idle polls.
    for (int idle = 0; idle < 20000 && drainer_status.is_ok();) {
      bool finished = spooler_done.load();
      auto pending = store->pending_batches("r", 16);
      if (!pending) {
        drainer_status = pending.status();
        break;
      }
      if (pending->empty()) {
        if (finished) break;
        ++idle;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      for (const OutboxEntry& e : *pending) {
        if (e.sequence != expected_next) {
          drainer_status = internal_error("out of order: got " + std::to_string(e.sequence));
          break;
        }
        ++expected_next;
        if (e.sequence % 7 == 0) {
          drainer_status = store->record_failed_attempt(e.batch_id, "simulated");
          if (!drainer_status.is_ok()) break;
        }
        drainer_status = store->record_receipt(e.batch_id, R"({"ok":true})");
        if (!drainer_status.is_ok()) break;
        delivered.push_back(e.batch_id);
        ++delivered_count;
        if (!spooler_done.load()) ++receipts_while_spooling;
      }
    }
  });
  spooler.join();
  drainer.join();
  ASSERT_TRUE(spooler_status.is_ok()) << spooler_status.to_string();
  ASSERT_TRUE(drainer_status.is_ok()) << drainer_status.to_string();
  EXPECT_EQ(delivered.size(), static_cast<size_t>(kBatches));
  EXPECT_GT(receipts_while_spooling, 0);
  std::set<std::string> unique(delivered.begin(), delivered.end());
  EXPECT_EQ(unique.size(), delivered.size());

  StateStore store = open_store();
  EXPECT_TRUE(store.pending_batches("", 0)->empty());
  EXPECT_EQ(store.receipt_summary()->at(0).batches, kBatches);
  EXPECT_EQ(*store.next_sequence("r"), kBatches + 1);
  EXPECT_EQ((*store.load_cursor("r"))["id"], kBatches);
}

// Two connections opening a brand-new file at the same moment must both end
// up with the schema (the migration runs under BEGIN IMMEDIATE).
TEST_F(StateStoreTest, ConcurrentFirstOpenCreatesSchemaOnce) {
  Status results[2];
  std::thread a([&] { results[0] = StateStore::open(db_path()).status(); });
  std::thread b([&] { results[1] = StateStore::open(db_path()).status(); });
  a.join();
  b.join();
  EXPECT_TRUE(results[0].is_ok()) << results[0].to_string();
  EXPECT_TRUE(results[1].is_ok()) << results[1].to_string();
  StateStore store = open_store();
  EXPECT_EQ(*store.next_sequence("x"), 1);
}

// A 10 MB body (a 50k-record batch) goes in and comes back intact.
TEST_F(StateStoreTest, LargeBodyRoundTrips) {
  StateStore store = open_store();
  std::string body(10 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 2654435761u) >> 13);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store.spool_batch(make_batch("big", "r", 1, body), {{"id", 1}}).is_ok());
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "[ measure  ] spool_batch of 10 MiB: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
  auto pending = store.pending_batches("r", 1);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_TRUE((*pending)[0].body == body);
}

}  // namespace
}  // namespace dxhub
