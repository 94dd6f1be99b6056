// The snapshot diff against a real state file: what a pass sends, what it
// records, and which keys it finds deleted -- including a pass cut short
// (the process died) and continued by the next run, the rule the engine
// follows (core/engine/snapshot_diff.h).
#include "core/engine/snapshot_diff.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/state/state_store.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;

constexpr const char* kResource = "households";
constexpr uint64_t kSeed = 42;

// A source table: key -> value; rows are (key, value) with the key as the
// "encoded key" too (the diff treats keys as opaque bytes).
using Source = std::map<std::string, std::string>;

class SnapshotDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dxhub_snapshot_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  StateStore open_store(const std::string& name = "state.db") {
    auto store = StateStore::open((dir_ / name).string());
    EXPECT_TRUE(store) << store.status().to_string();
    return std::move(store).value();
  }

  struct PassResult {
    std::vector<std::string> sent;     // upserts, in read order
    std::vector<std::string> deleted;  // keys found deleted after the pass
    int64_t unchanged = 0;
  };

  // What the engine does for one run: start (or continue) a pass, read
  // `rows` in chunks of `chunk` rows, commit each chunk's changes; if
  // `stop_after_chunks` >= 0 the run "dies" after that many chunks (nothing
  // more commits); otherwise the deletes are computed, forgotten and the
  // pass completed.
  PassResult run(StateStore& store, const std::vector<std::pair<std::string, std::string>>& rows, size_t chunk = 2,
                 int stop_after_chunks = -1) {
    PassResult out;
    auto pass = store.snapshot_pass(kResource);
    EXPECT_TRUE(pass);
    if (!pass->exists || pass->complete) {
      pass->pass += 1;
      EXPECT_TRUE(store.begin_snapshot_pass(kResource, pass->pass, 1000 * pass->pass).is_ok());
    }
    SnapshotDiff diff(store, kResource, pass->pass, kSeed);
    int chunks = 0;
    for (size_t first = 0; first < rows.size(); first += chunk) {
      if (stop_after_chunks >= 0 && chunks == stop_after_chunks) return out;
      diff.clear_chunk();
      for (size_t i = first; i < std::min(rows.size(), first + chunk); ++i) {
        FieldValue values[2] = {FieldValue::text(rows[i].first), FieldValue::text(rows[i].second)};
        auto changed = diff.changed(rows[i].first, RowView(values, 2));
        EXPECT_TRUE(changed) << changed.status().to_string();
        if (*changed) out.sent.push_back(rows[i].first);
      }
      SnapshotUpdate update = diff.update();
      EXPECT_TRUE(store.advance_cursor(kResource, nlohmann::json{{"at", first + chunk}}, {}, &update).is_ok());
      ++chunks;
    }
    out.unchanged = diff.unchanged_rows();
    auto gone = store.snapshot_unseen(kResource, pass->pass, 1000);
    EXPECT_TRUE(gone);
    std::vector<SnapshotChange> removals;
    for (auto& key : *gone) {
      out.deleted.push_back(key);
      removals.push_back({key, 0, true});
    }
    SnapshotUpdate update;
    update.pass = pass->pass;
    update.changes = removals;
    update.complete_pass = true;
    EXPECT_TRUE(store.advance_cursor(kResource, nullptr, {}, &update).is_ok());
    return out;
  }

  fs::path dir_;
};

using Rows = std::vector<std::pair<std::string, std::string>>;
using Keys = std::vector<std::string>;

TEST_F(SnapshotDiffTest, SendsInsertsUpdatesAndFindsDeletes) {
  StateStore store = open_store();
  PassResult first = run(store, {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}});
  EXPECT_EQ(first.sent, (Keys{"a", "b", "c", "d"}));
  EXPECT_TRUE(first.deleted.empty());
  // b changed, c deleted, e added, a and d unchanged.
  PassResult second = run(store, {{"a", "1"}, {"b", "2"}, {"d", "1"}, {"e", "1"}});
  EXPECT_EQ(second.sent, (Keys{"b", "e"}));
  EXPECT_EQ(second.deleted, (Keys{"c"}));
  EXPECT_EQ(second.unchanged, 2);
  // Nothing changed: nothing sent, nothing deleted.
  PassResult third = run(store, {{"a", "1"}, {"b", "2"}, {"d", "1"}, {"e", "1"}});
  EXPECT_TRUE(third.sent.empty());
  EXPECT_TRUE(third.deleted.empty());
  EXPECT_EQ(third.unchanged, 4);
  auto size = store.snapshot_size(kResource);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 4);
  // A deleted key that comes back is an insert again.
  PassResult fourth = run(store, {{"a", "1"}, {"b", "2"}, {"c", "1"}, {"d", "1"}, {"e", "1"}});
  EXPECT_EQ(fourth.sent, (Keys{"c"}));
}

TEST_F(SnapshotDiffTest, EveryColumnAndItsTypeCounts) {
  FieldValue a[2] = {FieldValue::text("k"), FieldValue::integer(1)};
  FieldValue b[2] = {FieldValue::text("k"), FieldValue::real(1)};
  FieldValue c[2] = {FieldValue::text("k"), FieldValue::text("1")};
  FieldValue d[2] = {FieldValue::text("k"), FieldValue::null()};
  FieldValue e[2] = {FieldValue::text("k1"), FieldValue::null()};
  std::vector<uint64_t> digests = {snapshot_row_digest(RowView(a, 2), kSeed), snapshot_row_digest(RowView(b, 2), kSeed),
                                   snapshot_row_digest(RowView(c, 2), kSeed), snapshot_row_digest(RowView(d, 2), kSeed),
                                   snapshot_row_digest(RowView(e, 2), kSeed)};
  for (size_t i = 0; i < digests.size(); ++i) {
    for (size_t j = i + 1; j < digests.size(); ++j) EXPECT_NE(digests[i], digests[j]) << i << " " << j;
  }
  // A text split differently over two columns is another row.
  FieldValue f[2] = {FieldValue::text("ab"), FieldValue::text("c")};
  FieldValue g[2] = {FieldValue::text("a"), FieldValue::text("bc")};
  EXPECT_NE(snapshot_row_digest(RowView(f, 2), kSeed), snapshot_row_digest(RowView(g, 2), kSeed));
  // The seed (schema + mapping) changes every digest.
  EXPECT_NE(snapshot_row_digest(RowView(a, 2), kSeed), snapshot_row_digest(RowView(a, 2), kSeed + 1));
  EXPECT_NE(snapshot_seed("schema", "mapping 1"), snapshot_seed("schema", "mapping 2"));
}

TEST_F(SnapshotDiffTest, KeyRepeatedInOneSnapshotIsSentOnlyWhenItsValueDiffers) {
  StateStore store = open_store();
  // Same chunk, then across chunks (chunk = 2): a, a(same) | a(other), b.
  PassResult first = run(store, {{"a", "1"}, {"a", "1"}, {"a", "2"}, {"b", "1"}});
  EXPECT_EQ(first.sent, (Keys{"a", "a", "b"}));
  PassResult second = run(store, {{"a", "2"}, {"b", "1"}});
  EXPECT_TRUE(second.sent.empty());  // the pass's last value of a was kept
  EXPECT_TRUE(second.deleted.empty());
}

TEST_F(SnapshotDiffTest, PassCutShortAndContinuedFindsNoFalseDeletes) {
  Rows source = {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"}, {"f", "1"}};
  {
    StateStore store = open_store();
    run(store, source);
  }
  // Second pass: b changes, f is deleted; the run dies after its first chunk.
  Rows changed = {{"a", "1"}, {"b", "2"}, {"c", "1"}, {"d", "1"}, {"e", "1"}};
  {
    StateStore store = open_store();
    PassResult cut = run(store, changed, 2, /*stop_after_chunks=*/1);
    EXPECT_EQ(cut.sent, (Keys{"b"}));
    auto pass = store.snapshot_pass(kResource);
    ASSERT_TRUE(pass);
    EXPECT_FALSE(pass->complete);
    EXPECT_EQ(pass->pass, 2);
  }
  // The next run continues pass 2, reading from the start again: b (sent
  // before the crash) is not sent twice, c..e (not read before) are not
  // deleted, only f is.
  {
    StateStore store = open_store();
    PassResult resumed = run(store, changed);
    EXPECT_TRUE(resumed.sent.empty());
    EXPECT_EQ(resumed.deleted, (Keys{"f"}));
    auto pass = store.snapshot_pass(kResource);
    ASSERT_TRUE(pass);
    EXPECT_TRUE(pass->complete);
    EXPECT_EQ(pass->pass, 2);
  }
}

TEST_F(SnapshotDiffTest, UncommittedChunkIsReadAgainAsChanged) {
  StateStore store = open_store();
  run(store, {{"a", "1"}, {"b", "1"}});
  auto pass = store.snapshot_pass(kResource);
  ASSERT_TRUE(pass);
  ASSERT_TRUE(store.begin_snapshot_pass(kResource, pass->pass + 1, 5).is_ok());
  {
    SnapshotDiff diff(store, kResource, pass->pass + 1, kSeed);
    FieldValue row[2] = {FieldValue::text("a"), FieldValue::text("2")};
    auto changed = diff.changed("a", RowView(row, 2));
    ASSERT_TRUE(changed);
    EXPECT_TRUE(*changed);
    // never committed: the spool transaction did not happen
  }
  SnapshotDiff again(store, kResource, pass->pass + 1, kSeed);
  FieldValue row[2] = {FieldValue::text("a"), FieldValue::text("2")};
  auto changed = again.changed("a", RowView(row, 2));
  ASSERT_TRUE(changed);
  EXPECT_TRUE(*changed);  // still sent: nothing recorded it
}

TEST_F(SnapshotDiffTest, RestoredOldStateResendsWhatChangedSince) {
  {
    StateStore store = open_store();
    run(store, {{"a", "1"}, {"b", "1"}, {"c", "1"}});
  }
  fs::copy_file(dir_ / "state.db", dir_ / "backup.db");
  {
    StateStore store = open_store();
    PassResult later = run(store, {{"a", "2"}, {"b", "1"}});
    EXPECT_EQ(later.sent, (Keys{"a"}));
    EXPECT_EQ(later.deleted, (Keys{"c"}));
  }
  // The backup (taken before a changed and c was deleted) is restored: the
  // next pass sends a again and deletes c again (both harmless: the province
  // applies them by (epoch, sequence) and deletes are idempotent); nothing is missed.
  fs::remove(dir_ / "state.db");
  fs::remove(dir_ / "state.db-wal");
  fs::remove(dir_ / "state.db-shm");
  fs::copy_file(dir_ / "backup.db", dir_ / "state.db");
  StateStore store = open_store();
  PassResult restored = run(store, {{"a", "2"}, {"b", "1"}});
  EXPECT_EQ(restored.sent, (Keys{"a"}));
  EXPECT_EQ(restored.deleted, (Keys{"c"}));
}

TEST_F(SnapshotDiffTest, BadInputIsCountedInThePass) {
  StateStore store = open_store();
  ASSERT_TRUE(store.begin_snapshot_pass(kResource, 1, 7).is_ok());
  SnapshotDiff diff(store, kResource, 1, kSeed);
  diff.bad_input();
  SnapshotUpdate update = diff.update();
  ASSERT_TRUE(store.advance_cursor(kResource, nullptr, {}, &update).is_ok());
  auto pass = store.snapshot_pass(kResource);
  ASSERT_TRUE(pass);
  EXPECT_EQ(pass->bad_inputs, 1);
  EXPECT_EQ(pass->started_at_ms, 7);
  // A stale pass id is refused (two runs on one resource), and nothing of that chunk is kept.
  SnapshotUpdate stale;
  stale.pass = 9;
  stale.bad_inputs = 1;
  EXPECT_FALSE(store.advance_cursor(kResource, nlohmann::json{{"x", 1}}, {}, &stale).is_ok());
  auto cursor = store.load_cursor(kResource);
  ASSERT_TRUE(cursor);
  EXPECT_TRUE(cursor->is_null());
}

}  // namespace
}  // namespace dxhub
