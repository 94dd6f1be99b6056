// The hub's durable state: one SQLite file in WAL mode holding source
// cursors, the outbox of spooled batches, delivery receipts, dead letters and
// run history. Spooling a batch and advancing the cursor happen in ONE
// transaction, as do recording a receipt and deleting the batch from the
// outbox, so a crash at any point neither loses nor duplicates data.
//
// Concurrency: a StateStore is one SQLite connection and is used by one thread
// only. Threads that share the state (the engine's reader thread spooling and
// its delivery thread draining) each open their own StateStore on the same
// file. WAL lets readers run beside the writer; every write takes the write
// lock up front (BEGIN IMMEDIATE) and waits up to busy_timeout_ms for it.
//
// Schema (PRAGMA user_version = 5; older files are migrated on open). Times are integer milliseconds since the
// Unix epoch (UTC); JSON columns hold compact JSON text.
//
//   cursors(resource TEXT PRIMARY KEY,
//           cursor_json TEXT,                 -- the source position after the last spooled row; NULL = none yet
//           next_sequence INTEGER NOT NULL,   -- sequence the next spooled batch gets; starts at 1, only grows
//           updated_at INTEGER NOT NULL)
//   outbox(batch_id TEXT PRIMARY KEY, resource TEXT, sequence INTEGER,
//          record_count INTEGER, codec TEXT, fingerprint TEXT,
//          digest TEXT,                       -- lowercase hex SHA-256 of body
//          body BLOB,                         -- the Avro object container file
//          created_at INTEGER, attempts INTEGER DEFAULT 0,
//          last_error TEXT, last_attempt_at INTEGER,
//          refusals INTEGER DEFAULT 0)        -- v2: permanent refusals, counted across runs
//          UNIQUE (resource, sequence)
//   quarantine(the outbox's columns, reason TEXT, quarantined_at INTEGER)   -- v2
//          batches refused delivery.quarantine_after times, or whose body no
//          longer matches its digest; kept until `dxhub outbox retry|drop`
//   meta(id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER)   -- v2
//          epoch: wall-clock ms at the state's creation (or v1 migration), set once
//   receipts(batch_id TEXT PRIMARY KEY, resource TEXT, sequence INTEGER,
//            record_count INTEGER, digest TEXT, body_bytes INTEGER,
//            receipt_json TEXT, delivered_at INTEGER)
//            INDEX (resource, sequence)
//   runs(run_id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT,
//        started_at INTEGER, finished_at INTEGER,  -- NULL while running
//        status TEXT,                               -- 'running', then the caller's final status
//        summary_json TEXT)
//   run_resources(run_id INTEGER REFERENCES runs, resource TEXT,
//                 rows_read, rows_spooled, rows_delivered, batches_spooled,
//                 batches_delivered, dead_letters INTEGER, status TEXT, error TEXT,
//                 PRIMARY KEY (run_id, resource))
//   dead_letters(id INTEGER PRIMARY KEY AUTOINCREMENT, resource TEXT,
//                source_key TEXT, reason TEXT, row_json TEXT, created_at INTEGER,
//                state TEXT DEFAULT 'open',  -- v2: open | discarded | replayed
//                state_reason TEXT,          -- discard reason, or the replay's batch id
//                state_changed_at INTEGER)
//                INDEX (resource), INDEX (resource, state)
//   snapshot_rows(resource TEXT, key BLOB,   -- v4: change detection by snapshot diff
//                 digest INTEGER,            -- XXH3-64 of the row's source values (seeded by schema + mapping)
//                 seen_pass INTEGER,         -- the last pass that read the key
//                 PRIMARY KEY (resource, key)) WITHOUT ROWID
//          key = the Avro binary of the primary key field, exactly as a tombstone carries it
//   snapshot_passes(resource TEXT PRIMARY KEY, pass INTEGER, complete INTEGER,   -- v4
//                   started_at INTEGER,      -- ms; the source time of the pass's tombstones
//                   bad_inputs INTEGER)      -- input the pass could not make rows of: deletes withheld
//   ingest_posts(id INTEGER PRIMARY KEY AUTOINCREMENT, resource, app_key, post_id,   -- v5: push ingest
//                record_count INTEGER, records BLOB,  -- the post's records, Avro binary, concatenated
//                received_at INTEGER)                 -- posts accepted, not yet in a batch
//          INDEX (resource, id)
//   ingest_post_ids(app_key, post_id, resource, digest, record_count, staged_id,   -- v5
//                   accepted_at, PRIMARY KEY (app_key, post_id))
//          post ids seen, kept ingest.post_id_retention_hours: a repeated post is answered, not stored again
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

inline constexpr int kStateSchemaVersion = 5;

struct StateStoreOptions {
  // synchronous=FULL (default, config "state_synchronous": "full"): every
  // commit fsyncs the WAL, so a spool, a receipt or a quarantine that was
  // committed survives power loss and OS crashes, at the price of one fsync
  // per commit (a few per batch). synchronous=NORMAL ("normal") is durable
  // against a process crash only: the last commits may be lost on power
  // failure; a lost spool rolls the cursor back with it (rows are read
  // again) and a lost receipt means the batch is sent again (the province
  // deduplicates by batch_id); but a lost quarantine, dead-letter action or
  // operator drop is simply undone, so FULL is the default.
  bool synchronous_full = true;
  // How long a write waits for another connection's write lock.
  int busy_timeout_ms = 10000;
};

struct DeadLetter {
  std::string resource;
  std::string source_key;  // the row's primary key or position in the source
  std::string reason;
  std::string row_json;
  // Where in the source: "orders.csv line 17", "page 3 record 5" (empty
  // for table rows, whose key says it).
  std::string source_ref;
};

// The row_json of a dead letter that is raw source input rather than a row
// (BadInput): {"dxhub_bad_input": {"bytes", "truncated", "raw" | "raw_hex"}}.
// Such a letter cannot be replayed: the source must be fixed and re-read.
inline constexpr const char* kBadInputKey = "dxhub_bad_input";

// A dead letter as read back from the state.
struct StoredDeadLetter : DeadLetter {
  int64_t id = 0;
  std::string state;         // open | discarded | replayed
  std::string state_reason;  // discard reason or replay batch id
  int64_t created_at_ms = 0;
};

inline constexpr const char* kDeadLetterOpen = "open";
inline constexpr const char* kDeadLetterDiscarded = "discarded";
inline constexpr const char* kDeadLetterReplayed = "replayed";

struct NewBatch {
  std::string batch_id;
  std::string resource;
  int64_t sequence = 0;  // must equal next_sequence(resource)
  int64_t record_count = 0;
  std::string codec;
  std::string fingerprint;
  std::string digest;     // lowercase hex SHA-256 of body
  std::string_view body;  // borrowed; not copied before SQLite writes it
};

struct OutboxEntry {
  std::string batch_id;
  std::string resource;
  int64_t sequence = 0;
  int64_t record_count = 0;
  std::string codec;
  std::string fingerprint;
  std::string digest;
  std::string body;
  int64_t created_at_ms = 0;
  int attempts = 0;
  std::string last_error;
  int refusals = 0;  // permanent refusals so far (across runs)
};

// One spooled or quarantined batch, without its body (`dxhub outbox list`).
struct BatchInfo {
  std::string batch_id;
  std::string resource;
  int64_t sequence = 0;
  int64_t record_count = 0;
  int64_t bytes = 0;
  int attempts = 0;
  int refusals = 0;
  std::string last_error;
  int64_t created_at_ms = 0;
  bool quarantined = false;
  std::string reason;  // why quarantined
  int64_t quarantined_at_ms = 0;
};

struct QuarantineSummary {
  std::string resource;
  int64_t batches = 0;
  int64_t records = 0;
  std::vector<std::pair<std::string, int64_t>> reasons;  // reason -> batches
};

// What an outbox / dead-letter action changed, recorded in run history.
struct ActionRecord {
  std::string command;  // "outbox retry", "dead-letters discard", ...
  std::string reason;   // the operator's reason, if the action takes one
};

struct RunResourceStats {
  std::string resource;
  int64_t rows_read = 0;
  int64_t rows_spooled = 0;
  int64_t rows_delivered = 0;
  int64_t batches_spooled = 0;
  int64_t batches_delivered = 0;
  int64_t dead_letters = 0;
  std::string status;  // e.g. "ok", "failed", "partial"
  std::string error;
};

// --- read-only views for `dxhub state` ---
struct CursorInfo {
  std::string resource;
  nlohmann::json cursor;  // null when none
  int64_t next_sequence = 1;
  int64_t updated_at_ms = 0;
};

struct OutboxSummary {
  std::string resource;
  int64_t batches = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t oldest_created_at_ms = 0;
  int64_t max_attempts = 0;
  std::string last_error;  // of the most recently attempted batch, if any
};

struct ReceiptSummary {
  std::string resource;
  int64_t batches = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t last_sequence = 0;
  int64_t last_delivered_at_ms = 0;
};

struct RunInfo {
  int64_t run_id = 0;
  std::string command;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;  // 0 while running (or if the process died)
  std::string status;
  nlohmann::json summary;
  std::vector<RunResourceStats> resources;
};

struct DeadLetterCount {
  std::string resource;
  int64_t count = 0;  // open ones
  int64_t discarded = 0;
  int64_t replayed = 0;
};

// --- snapshot diff (core/engine/snapshot_diff.h) ---
// The pass of a resource read in full refresh: `pass` is the one being read
// (complete = false) or the last one finished.
struct SnapshotPass {
  bool exists = false;  // false: no pass was ever started
  int64_t pass = 0;
  bool complete = true;
  int64_t started_at_ms = 0;
  int64_t bad_inputs = 0;
};

// What one chunk read in a pass changes in the stored snapshot.
struct SnapshotChange {
  std::string key;      // Avro binary of the primary key
  uint64_t digest = 0;  // of the row's values (ignored for a removal)
  bool remove = false;  // the key's delete was spooled: forget it
};

struct SnapshotUpdate {
  int64_t pass = 0;
  std::span<const SnapshotChange> changes;  // seen keys get seen_pass = pass
  int64_t bad_inputs = 0;                   // added to the pass's count
  bool complete_pass = false;               // the pass ends (after its deletes)
};

struct StoredSnapshotRow {
  bool found = false;
  uint64_t digest = 0;
  int64_t seen_pass = 0;
};

// --- push ingest (core/ingest) ---
// A post accepted by the ingest endpoint, its records already encoded in
// the resource's schema.
struct NewPost {
  std::string resource;
  std::string app_key;
  std::string post_id;       // the client's idempotency key; "" = none (no duplicate detection)
  std::string digest;        // hex SHA-256 of the request body: a repeated post_id must carry the same
  int64_t record_count = 0;
  std::string_view records;  // Avro binary records, concatenated (borrowed)
  int64_t received_at_ms = 0;
};

enum class PostOutcome {
  kStaged,     // stored now
  kDuplicate,  // the same app key sent this post_id with the same body before: nothing stored again
  kConflict,   // the post_id was used before for another body: refused
};

struct StagedPostResult {
  PostOutcome outcome = PostOutcome::kStaged;
  int64_t staged_id = 0;       // of this post, or of the original for a duplicate
  int64_t record_count = 0;    // likewise
  int64_t accepted_at_ms = 0;  // likewise
};

struct StagedPost {
  int64_t id = 0;
  int64_t record_count = 0;
  std::string records;
  int64_t received_at_ms = 0;
};

struct StagedSummary {
  std::string resource;
  int64_t posts = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t oldest_received_at_ms = 0;
};

// Outcome of one refusal counted against a batch.
enum class RefusalOutcome { kCounted, kQuarantined };

class StateStore {
 public:
  // Opens (creating if needed) the state file and creates or migrates its
  // schema. The parent directory must exist. Errors are kIo and name the path.
  static Expected<StateStore> open(const std::string& path, const StateStoreOptions& options = {});

  StateStore(StateStore&&) noexcept = default;
  StateStore& operator=(StateStore&&) noexcept = default;

  const std::string& path() const { return db_.path(); }

  // Wall-clock ms at the state's creation (or its migration from v1); set
  // once. Batches of a newer state (after the file was lost) outrank older
  // ones at the province.
  Expected<int64_t> epoch();
  // This connection's PRAGMA synchronous: 2 = FULL, 1 = NORMAL.
  Expected<int64_t> synchronous_level();

  // --- cursors and sequences ---
  Expected<nlohmann::json> load_cursor(const std::string& resource);  // null if none
  // Peek: the sequence number the next spooled batch of `resource` gets.
  Expected<int64_t> next_sequence(const std::string& resource);

  // ONE transaction: inserts the batch into the outbox, sets the resource's
  // cursor to `new_cursor`, advances its sequence and stores `dead_letters`
  // (rows of the same chunk that could not be mapped). On failure nothing
  // changes. batch.sequence must be next_sequence(resource) (kInternal
  // otherwise: two spoolers on one resource).
  // With `snapshot`, the chunk's snapshot changes are written in the same
  // transaction (a change-detecting resource: nothing emitted is forgotten,
  // nothing recorded is unsent).
  Status spool_batch(const NewBatch& batch, const nlohmann::json& new_cursor,
                     std::span<const DeadLetter> dead_letters = {}, const SnapshotUpdate* snapshot = nullptr);
  // ONE transaction: moves the cursor without a batch (every row of a chunk
  // was dead-lettered, or unchanged) and stores the dead letters (and the
  // snapshot changes).
  Status advance_cursor(const std::string& resource, const nlohmann::json& new_cursor,
                        std::span<const DeadLetter> dead_letters, const SnapshotUpdate* snapshot = nullptr);

  // --- snapshot diff ---
  Expected<SnapshotPass> snapshot_pass(const std::string& resource);
  // ONE transaction: starts pass `pass` (complete = false, no bad inputs) at
  // `started_at_ms` and resets the resource's cursor (a pass reads from the start).
  Status begin_snapshot_pass(const std::string& resource, int64_t pass, int64_t started_at_ms);
  Expected<StoredSnapshotRow> snapshot_row(const std::string& resource, std::string_view key);
  // Up to `limit` keys last seen before `pass`, in key order: the deletes.
  Expected<std::vector<std::string>> snapshot_unseen(const std::string& resource, int64_t pass, size_t limit);
  Expected<int64_t> snapshot_size(const std::string& resource);
  Status add_dead_letter(const std::string& resource, const std::string& source_key, const std::string& reason,
                         const std::string& row_json);

  // --- outbox and receipts ---
  // Ascending sequence per resource (ordered by resource, then sequence);
  // an empty `resource` means all resources. limit 0 = no limit.
  Expected<std::vector<OutboxEntry>> pending_batches(const std::string& resource, size_t limit);
  Expected<std::vector<std::string>> resources_with_pending();
  // ONE transaction: records the receipt and deletes the batch from the
  // outbox. kInternal if the batch is not in the outbox.
  Status record_receipt(const std::string& batch_id, const std::string& receipt_json);
  // Counts an attempt that failed; the batch stays in the outbox.
  Status record_failed_attempt(const std::string& batch_id, const std::string& error);
  // ONE transaction: counts an attempt and a permanent refusal; when the
  // batch has now been refused `quarantine_after` times it moves to the
  // quarantine with `error` as the reason.
  Expected<RefusalOutcome> record_refusal(const std::string& batch_id, const std::string& error,
                                          int quarantine_after);
  // Moves the batch from the outbox to the quarantine at once.
  Status quarantine_batch(const std::string& batch_id, const std::string& reason);
  // Bytes of spooled (not quarantined) bodies of `resource`.
  Expected<int64_t> pending_bytes(const std::string& resource);

  // --- push ingest (state_store_ingest.cpp) ---
  // ONE transaction for all `posts` (group commit): each is staged, or
  // recognised as a duplicate or conflict of an earlier post_id (of the same
  // app key), in order; results are parallel to `posts`. On failure nothing
  // is stored.
  Expected<std::vector<StagedPostResult>> stage_posts(std::span<const NewPost> posts);
  // The oldest staged posts of `resource`, in order, holding at most
  // `max_records` records -- but always the first one, however large.
  Expected<std::vector<StagedPost>> staged_posts(const std::string& resource, int64_t max_records);
  // ONE transaction: spools `batch` (its sequence must be next_sequence; the
  // resource's cursor does not move) and deletes the resource's staged posts
  // up to `last_staged_id`, whose records it holds.
  Status spool_staged(const NewBatch& batch, int64_t last_staged_id);
  Expected<std::vector<StagedSummary>> staged_summary();
  // Forgets post ids accepted before `before_ms`; returns how many.
  Expected<int64_t> forget_post_ids(int64_t before_ms);

  // --- operator actions (each also written to run history, same transaction) ---
  // Spooled and quarantined batches, by resource then sequence; "" = all.
  Expected<std::vector<BatchInfo>> list_batches(const std::string& resource);
  // Back into the outbox with attempts and refusals reset: `batch_id`, or
  // every quarantined batch (of `resource`, "" = all) when batch_id is "".
  // Returns the ids moved; kNotFound when batch_id is not quarantined.
  Expected<std::vector<std::string>> retry_quarantined(const std::string& batch_id, const std::string& resource,
                                                       const ActionRecord& action);
  // Deletes a spooled or quarantined batch for good; kNotFound if neither.
  Expected<BatchInfo> drop_batch(const std::string& batch_id, const ActionRecord& action);

  // --- run history ---
  Expected<int64_t> begin_run(const std::string& command);
  Status finish_run(int64_t run_id, const std::string& status, const nlohmann::json& summary);
  // Inserts or replaces the stats of (run_id, stats.resource).
  Status record_run_resource(int64_t run_id, const RunResourceStats& stats);

  // --- views for `dxhub state` ---
  Expected<std::vector<CursorInfo>> cursors();
  Expected<std::vector<OutboxSummary>> outbox_summary();
  Expected<std::vector<ReceiptSummary>> receipt_summary();
  Expected<std::vector<RunInfo>> last_runs(size_t count);  // newest first
  // Per resource: started_at (ms) of the newest run that recorded it (the
  // daemon's "last run", from which a missed slot is judged).
  Expected<std::map<std::string, int64_t>> last_resource_starts();
  Expected<std::vector<DeadLetterCount>> dead_letter_counts();
  Expected<std::vector<QuarantineSummary>> quarantine_summary();
  // Newest first; empty resource = all. limit 0 = no limit. `state` "" = any.
  Expected<std::vector<StoredDeadLetter>> dead_letters(const std::string& resource, size_t limit,
                                                       const std::string& state = "");
  Expected<StoredDeadLetter> dead_letter(int64_t id);  // kNotFound if none

  // Marks `id` (or, id 0, every open dead letter of `resource`) discarded
  // with the reason; rows are kept. Returns the ids changed.
  Expected<std::vector<int64_t>> discard_dead_letters(int64_t id, const std::string& resource,
                                                      const ActionRecord& action);
  // ONE transaction for a replay: spools `batch` (if its body is not empty;
  // sequence must be next_sequence, the cursor does not move), marks
  // `replayed` as replayed by it, and stores the new reasons of those that
  // still fail.
  Status record_replay(const NewBatch* batch, std::span<const int64_t> replayed,
                       std::span<const std::pair<int64_t, std::string>> still_failing, const ActionRecord& action,
                       const nlohmann::json& summary);

 private:
  explicit StateStore(SqliteDb db) : db_(std::move(db)) {}
  Status prepare_statements();
  Status write_cursor(const std::string& resource, const nlohmann::json& cursor, int64_t sequence_increment);
  Status insert_dead_letters(std::span<const DeadLetter> dead_letters);
  Status write_snapshot(const std::string& resource, const SnapshotUpdate& update);
  Status insert_outbox(const NewBatch& batch);
  // Inserts the batch and advances the sequence without moving the cursor
  // (replays, pushed posts); batch.sequence must be next_sequence.
  Status insert_batch_keeping_cursor(const NewBatch& batch);
  Status move_to_quarantine(const std::string& batch_id, const std::string& reason);
  Status insert_action_run(const ActionRecord& action, nlohmann::json summary);

  SqliteDb db_;  // declared first: statements below are finalized before it closes
  SqliteStmt select_cursor_;
  SqliteStmt upsert_cursor_;
  SqliteStmt insert_outbox_;
  SqliteStmt insert_dead_letter_;
  SqliteStmt select_snapshot_row_;
  SqliteStmt upsert_snapshot_row_;
  SqliteStmt delete_snapshot_row_;
};

}  // namespace dxhub
