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
// Schema (PRAGMA user_version = 1). Times are integer milliseconds since the
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
//          last_error TEXT, last_attempt_at INTEGER)
//          UNIQUE (resource, sequence)
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
//                source_key TEXT, reason TEXT, row_json TEXT, created_at INTEGER)
//                INDEX (resource)
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

inline constexpr int kStateSchemaVersion = 1;

struct StateStoreOptions {
  // synchronous=NORMAL (default): in WAL mode a commit is durable against a
  // process crash, but the last commits may be lost on power failure / OS
  // crash. That is safe here: a lost spool rolls the cursor back with it, so
  // the rows are simply read again. A lost receipt means the batch is sent
  // again and the province deduplicates by batch_id. synchronous=FULL fsyncs
  // the WAL on every commit (durable on power loss) at the price of one fsync
  // per batch.
  bool synchronous_full = false;
  // How long a write waits for another connection's write lock.
  int busy_timeout_ms = 10000;
};

struct DeadLetter {
  std::string resource;
  std::string source_key;  // the row's primary key or position in the source
  std::string reason;
  std::string row_json;
};

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
  int64_t count = 0;
};

class StateStore {
 public:
  // Opens (creating if needed) the state file and creates or migrates its
  // schema. The parent directory must exist. Errors are kIo and name the path.
  static Expected<StateStore> open(const std::string& path, const StateStoreOptions& options = {});

  StateStore(StateStore&&) noexcept = default;
  StateStore& operator=(StateStore&&) noexcept = default;

  const std::string& path() const { return db_.path(); }

  // --- cursors and sequences ---
  Expected<nlohmann::json> load_cursor(const std::string& resource);  // null if none
  // Peek: the sequence number the next spooled batch of `resource` gets.
  Expected<int64_t> next_sequence(const std::string& resource);
  // Wall-clock ms when this state file was created: batches of a newer
  // state (after the file was lost) outrank older ones at the province.
  Expected<int64_t> epoch();

  // ONE transaction: inserts the batch into the outbox, sets the resource's
  // cursor to `new_cursor`, advances its sequence and stores `dead_letters`
  // (rows of the same chunk that could not be mapped). On failure nothing
  // changes. batch.sequence must be next_sequence(resource) (kInternal
  // otherwise: two spoolers on one resource).
  Status spool_batch(const NewBatch& batch, const nlohmann::json& new_cursor,
                     std::span<const DeadLetter> dead_letters = {});
  // ONE transaction: moves the cursor without a batch (every row of a chunk
  // was dead-lettered) and stores the dead letters.
  Status advance_cursor(const std::string& resource, const nlohmann::json& new_cursor,
                        std::span<const DeadLetter> dead_letters);
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
  Expected<std::vector<DeadLetterCount>> dead_letter_counts();
  // Newest first; empty resource = all. limit 0 = no limit.
  Expected<std::vector<DeadLetter>> dead_letters(const std::string& resource, size_t limit);

 private:
  explicit StateStore(SqliteDb db) : db_(std::move(db)) {}
  Status prepare_statements();
  Status write_cursor(const std::string& resource, const nlohmann::json& cursor, int64_t sequence_increment);
  Status insert_dead_letters(std::span<const DeadLetter> dead_letters);

  SqliteDb db_;  // declared first: statements below are finalized before it closes
  SqliteStmt select_cursor_;
  SqliteStmt upsert_cursor_;
  SqliteStmt insert_outbox_;
  SqliteStmt insert_dead_letter_;
};

}  // namespace dxhub
