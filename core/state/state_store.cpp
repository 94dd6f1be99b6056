#include "core/state/state_store.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <utility>

#include "core/common/json_text.h"

namespace dxhub {

namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS cursors (
  resource      TEXT PRIMARY KEY,
  cursor_json   TEXT,
  next_sequence INTEGER NOT NULL DEFAULT 1,
  updated_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  batch_id        TEXT PRIMARY KEY,
  resource        TEXT NOT NULL,
  sequence        INTEGER NOT NULL,
  record_count    INTEGER NOT NULL,
  codec           TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  digest          TEXT NOT NULL,
  body            BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  last_attempt_at INTEGER,
  UNIQUE (resource, sequence)
);
CREATE TABLE IF NOT EXISTS receipts (
  batch_id     TEXT PRIMARY KEY,
  resource     TEXT NOT NULL,
  sequence     INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  digest       TEXT NOT NULL,
  body_bytes   INTEGER NOT NULL,
  receipt_json TEXT NOT NULL,
  delivered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_resource_sequence ON receipts (resource, sequence);
CREATE TABLE IF NOT EXISTS runs (
  run_id       INTEGER PRIMARY KEY AUTOINCREMENT,
  command      TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  status       TEXT NOT NULL,
  summary_json TEXT
);
CREATE TABLE IF NOT EXISTS run_resources (
  run_id            INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  resource          TEXT NOT NULL,
  rows_read         INTEGER NOT NULL DEFAULT 0,
  rows_spooled      INTEGER NOT NULL DEFAULT 0,
  rows_delivered    INTEGER NOT NULL DEFAULT 0,
  batches_spooled   INTEGER NOT NULL DEFAULT 0,
  batches_delivered INTEGER NOT NULL DEFAULT 0,
  dead_letters      INTEGER NOT NULL DEFAULT 0,
  status            TEXT NOT NULL,
  error             TEXT,
  PRIMARY KEY (run_id, resource)
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  resource   TEXT NOT NULL,
  source_key TEXT NOT NULL,
  reason     TEXT NOT NULL,
  row_json   TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_resource ON dead_letters (resource);
)sql";

// v2: the state's epoch, refusal counts, the quarantine and dead-letter states.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  epoch INTEGER NOT NULL
);
ALTER TABLE outbox ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS quarantine (
  batch_id        TEXT PRIMARY KEY,
  resource        TEXT NOT NULL,
  sequence        INTEGER NOT NULL,
  record_count    INTEGER NOT NULL,
  codec           TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  digest          TEXT NOT NULL,
  body            BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  last_attempt_at INTEGER,
  refusals        INTEGER NOT NULL DEFAULT 0,
  reason          TEXT NOT NULL,
  quarantined_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_resource_sequence ON quarantine (resource, sequence);
ALTER TABLE dead_letters ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE dead_letters ADD COLUMN state_reason TEXT;
ALTER TABLE dead_letters ADD COLUMN state_changed_at INTEGER;
CREATE INDEX IF NOT EXISTS dead_letters_resource_state ON dead_letters (resource, state);
)sql";

// v3: dead letters say where in the source they came from (file and line,
// page and index).
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE dead_letters ADD COLUMN source_ref TEXT NOT NULL DEFAULT '';
)sql";

// v4: change detection by snapshot diff (full-refresh sources).
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE IF NOT EXISTS snapshot_rows (
  resource  TEXT NOT NULL,
  key       BLOB NOT NULL,
  digest    INTEGER NOT NULL,
  seen_pass INTEGER NOT NULL,
  PRIMARY KEY (resource, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshot_passes (
  resource   TEXT PRIMARY KEY,
  pass       INTEGER NOT NULL,
  complete   INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  bad_inputs INTEGER NOT NULL DEFAULT 0
);
)sql";

// v5: push ingest (core/ingest). Posts accepted by the ingest endpoint wait
// here, already encoded, until the micro-batcher moves them into the outbox
// (in the transaction that spools their batch); post ids are remembered for
// a while so that a post repeated after a lost answer is recognised.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE IF NOT EXISTS ingest_posts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  resource     TEXT NOT NULL,
  app_key      TEXT NOT NULL,
  post_id      TEXT NOT NULL DEFAULT '',
  record_count INTEGER NOT NULL,
  records      BLOB NOT NULL,
  received_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_posts_resource ON ingest_posts (resource, id);
CREATE TABLE IF NOT EXISTS ingest_post_ids (
  app_key      TEXT NOT NULL,
  post_id      TEXT NOT NULL,
  resource     TEXT NOT NULL,
  digest       TEXT NOT NULL,
  record_count INTEGER NOT NULL,
  staged_id    INTEGER NOT NULL,
  accepted_at  INTEGER NOT NULL,
  PRIMARY KEY (app_key, post_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ingest_post_ids_accepted ON ingest_post_ids (accepted_at);
)sql";

constexpr const char* kBatchColumns =
    "batch_id, resource, sequence, record_count, codec, fingerprint, digest, body, created_at, attempts, last_error, "
    "last_attempt_at, refusals";

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Cached statements are reset when a method leaves, so a half-read SELECT
// never pins an old WAL snapshot (which would block checkpoints and make the
// next write fail with SQLITE_BUSY_SNAPSHOT).
class ResetOnExit {
 public:
  explicit ResetOnExit(SqliteStmt& stmt) : stmt_(stmt) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { (void)stmt_.reset(); }

 private:
  SqliteStmt& stmt_;
};

Status bind_text_or_null(SqliteStmt& stmt, int index, const std::string& text) {
  return text.empty() ? stmt.bind_null(index) : stmt.bind_text(index, text);
}

nlohmann::json parse_json_column(std::string_view text) {
  if (text.empty()) return nullptr;
  // Written by this class with dump(); a damaged value is shown as text.
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string(text);
  return parsed;
}

std::string column_string(const SqliteStmt& stmt, int col) { return std::string(stmt.column_text(col)); }

}  // namespace

Expected<StateStore> StateStore::open(const std::string& path, const StateStoreOptions& options) {
  namespace fs = std::filesystem;
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    return io_error("state store " + path + ": directory " + parent.string() + " does not exist");
  }

  auto opened = SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate, StatusCode::kIo);
  if (!opened) return opened.status().with_context("state store");
  StateStore store(std::move(opened).value());
  SqliteDb& db = store.db_;

  db.set_busy_timeout(options.busy_timeout_ms);
  {
    // Two processes creating the file at once: switching to WAL can answer
    // SQLITE_BUSY at once (the busy handler is not called for that lock), so
    // it is retried for as long as the busy timeout would have waited.
    std::string mode;
    for (int64_t waited_ms = 0;; waited_ms += 10) {
      DXHUB_ASSIGN_OR_RETURN(auto mode_stmt, db.prepare("PRAGMA journal_mode = WAL"));
      auto has_row = mode_stmt.step();
      if (has_row) {
        mode = *has_row ? column_string(mode_stmt, 0) : "";
        break;
      }
      if ((sqlite3_errcode(db.get()) & 0xff) != SQLITE_BUSY || waited_ms >= options.busy_timeout_ms) {
        return has_row.status().with_context("state store " + path + ": switching to WAL");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (mode != "wal") {
      return io_error("state store " + path + ": cannot switch to WAL journal mode (got '" + mode + "')");
    }
  }
  DXHUB_RETURN_IF_ERROR(db.exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys = ON"));
  // Large batch bodies pass through the WAL; truncate it after checkpoints.
  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA journal_size_limit = 67108864"));

  {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db));
    DXHUB_ASSIGN_OR_RETURN(auto version_stmt, db.prepare("PRAGMA user_version"));
    DXHUB_ASSIGN_OR_RETURN(bool has_row, version_stmt.step());
    int64_t version = has_row ? version_stmt.column_int64(0) : 0;
    version_stmt = SqliteStmt();
    if (version > kStateSchemaVersion) {
      return io_error("state store " + path + ": schema version " + std::to_string(version) +
                      " is newer than this dxhub supports (" + std::to_string(kStateSchemaVersion) + ")");
    }
    if (version < 1) {
      DXHUB_RETURN_IF_ERROR(db.exec(kSchemaV1));
      DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA user_version = 1"));
    }
    if (version < 2) {
      DXHUB_RETURN_IF_ERROR(db.exec(kSchemaV2));
      // The epoch is set once: at creation, or for a v1 file at this migration.
      DXHUB_ASSIGN_OR_RETURN(auto epoch, db.prepare("INSERT OR IGNORE INTO meta (id, epoch) VALUES (1, ?1)"));
      DXHUB_RETURN_IF_ERROR(epoch.bind_int64(1, wall_clock_ms()));
      DXHUB_RETURN_IF_ERROR(epoch.run());
      DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA user_version = 2"));
    }
    if (version < 3) {
      DXHUB_RETURN_IF_ERROR(db.exec(kSchemaV3));
      DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA user_version = 3"));
    }
    if (version < 4) {
      DXHUB_RETURN_IF_ERROR(db.exec(kSchemaV4));
      DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA user_version = 4"));
    }
    if (version < 5) {
      DXHUB_RETURN_IF_ERROR(db.exec(kSchemaV5));
      DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA user_version = 5"));
    }
    // Later versions migrate here: if (version < 6) { ... }
    DXHUB_RETURN_IF_ERROR(tx.commit());
  }

  DXHUB_RETURN_IF_ERROR(store.prepare_statements());
  return store;
}

Status StateStore::prepare_statements() {
  DXHUB_ASSIGN_OR_RETURN(select_cursor_,
                         db_.prepare("SELECT cursor_json, next_sequence FROM cursors WHERE resource = ?1"));
  DXHUB_ASSIGN_OR_RETURN(
      upsert_cursor_,
      db_.prepare("INSERT INTO cursors (resource, cursor_json, next_sequence, updated_at) VALUES (?1, ?2, 1 + ?3, ?4) "
                  "ON CONFLICT (resource) DO UPDATE SET cursor_json = excluded.cursor_json, "
                  "next_sequence = next_sequence + ?3, updated_at = excluded.updated_at"));
  DXHUB_ASSIGN_OR_RETURN(
      insert_outbox_,
      db_.prepare("INSERT INTO outbox (batch_id, resource, sequence, record_count, codec, fingerprint, digest, body, "
                  "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  DXHUB_ASSIGN_OR_RETURN(insert_dead_letter_,
                         db_.prepare("INSERT INTO dead_letters (resource, source_key, reason, row_json, created_at, "
                                     "source_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  DXHUB_ASSIGN_OR_RETURN(select_snapshot_row_,
                         db_.prepare("SELECT digest, seen_pass FROM snapshot_rows WHERE resource = ?1 AND key = ?2"));
  DXHUB_ASSIGN_OR_RETURN(upsert_snapshot_row_,
                         db_.prepare("INSERT INTO snapshot_rows (resource, key, digest, seen_pass) VALUES (?1, ?2, ?3, ?4) "
                                     "ON CONFLICT (resource, key) DO UPDATE SET digest = excluded.digest, "
                                     "seen_pass = excluded.seen_pass"));
  DXHUB_ASSIGN_OR_RETURN(delete_snapshot_row_,
                         db_.prepare("DELETE FROM snapshot_rows WHERE resource = ?1 AND key = ?2"));
  return Status::ok();
}

Expected<nlohmann::json> StateStore::load_cursor(const std::string& resource) {
  ResetOnExit reset(select_cursor_);
  DXHUB_RETURN_IF_ERROR(select_cursor_.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool found, select_cursor_.step());
  if (!found || select_cursor_.column_is_null(0)) return nlohmann::json(nullptr);
  return parse_json_column(select_cursor_.column_text(0));
}

Expected<int64_t> StateStore::next_sequence(const std::string& resource) {
  ResetOnExit reset(select_cursor_);
  DXHUB_RETURN_IF_ERROR(select_cursor_.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool found, select_cursor_.step());
  return found ? select_cursor_.column_int64(1) : int64_t{1};
}

Status StateStore::write_cursor(const std::string& resource, const nlohmann::json& cursor,
                                int64_t sequence_increment) {
  std::string cursor_text = dump_json_safely(cursor);  // bound in place: must outlive the statement's use
  ResetOnExit reset(upsert_cursor_);
  DXHUB_RETURN_IF_ERROR(upsert_cursor_.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(cursor.is_null() ? upsert_cursor_.bind_null(2) : upsert_cursor_.bind_text_static(2, cursor_text));
  DXHUB_RETURN_IF_ERROR(upsert_cursor_.bind_int64(3, sequence_increment));
  DXHUB_RETURN_IF_ERROR(upsert_cursor_.bind_int64(4, wall_clock_ms()));
  return upsert_cursor_.run();
}

Status StateStore::insert_dead_letters(std::span<const DeadLetter> dead_letters) {
  int64_t now = wall_clock_ms();
  for (const DeadLetter& letter : dead_letters) {
    ResetOnExit reset(insert_dead_letter_);
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_text_static(1, letter.resource));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_text_static(2, letter.source_key));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_text_static(3, letter.reason));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_text_static(4, letter.row_json));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_int64(5, now));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.bind_text_static(6, letter.source_ref));
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.run());
  }
  return Status::ok();
}

Status StateStore::insert_outbox(const NewBatch& batch) {
  ResetOnExit reset(insert_outbox_);
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_text_static(1, batch.batch_id));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_text_static(2, batch.resource));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_int64(3, batch.sequence));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_int64(4, batch.record_count));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_text_static(5, batch.codec));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_text_static(6, batch.fingerprint));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_text_static(7, batch.digest));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_blob_static(8, batch.body));
  DXHUB_RETURN_IF_ERROR(insert_outbox_.bind_int64(9, wall_clock_ms()));
  return insert_outbox_.run();
}

Status StateStore::write_snapshot(const std::string& resource, const SnapshotUpdate& update) {
  for (const SnapshotChange& change : update.changes) {
    SqliteStmt& stmt = change.remove ? delete_snapshot_row_ : upsert_snapshot_row_;
    ResetOnExit reset(stmt);
    DXHUB_RETURN_IF_ERROR(stmt.bind_text_static(1, resource));
    DXHUB_RETURN_IF_ERROR(stmt.bind_blob_static(2, change.key));
    if (!change.remove) {
      DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, static_cast<int64_t>(change.digest)));
      DXHUB_RETURN_IF_ERROR(stmt.bind_int64(4, update.pass));
    }
    DXHUB_RETURN_IF_ERROR(stmt.run());
  }
  if (update.bad_inputs == 0 && !update.complete_pass) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(auto pass, db_.prepare("UPDATE snapshot_passes SET bad_inputs = bad_inputs + ?2, "
                                                "complete = max(complete, ?3) WHERE resource = ?1 AND pass = ?4"));
  DXHUB_RETURN_IF_ERROR(pass.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(pass.bind_int64(2, update.bad_inputs));
  DXHUB_RETURN_IF_ERROR(pass.bind_int64(3, update.complete_pass ? 1 : 0));
  DXHUB_RETURN_IF_ERROR(pass.bind_int64(4, update.pass));
  DXHUB_RETURN_IF_ERROR(pass.run());
  if (db_.changes() != 1) {
    return internal_error("snapshot pass " + std::to_string(update.pass) + " of " + resource + " is not the current one");
  }
  return Status::ok();
}

Expected<SnapshotPass> StateStore::snapshot_pass(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT pass, complete, started_at, bad_inputs FROM snapshot_passes "
                                                "WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool found, stmt.step());
  SnapshotPass pass;
  if (!found) return pass;
  pass.exists = true;
  pass.pass = stmt.column_int64(0);
  pass.complete = stmt.column_int64(1) != 0;
  pass.started_at_ms = stmt.column_int64(2);
  pass.bad_inputs = stmt.column_int64(3);
  return pass;
}

Status StateStore::begin_snapshot_pass(const std::string& resource, int64_t pass, int64_t started_at_ms) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("INSERT INTO snapshot_passes (resource, pass, complete, started_at, "
                                                  "bad_inputs) VALUES (?1, ?2, 0, ?3, 0) ON CONFLICT (resource) DO "
                                                  "UPDATE SET pass = excluded.pass, complete = 0, started_at = "
                                                  "excluded.started_at, bad_inputs = 0"));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, pass));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, started_at_ms));
    DXHUB_RETURN_IF_ERROR(stmt.run());
    // A pass reads from the source's start: were an older position kept
    // (a resource switched to snapshot mode), a continued pass would skip
    // the rows before it and take them for deleted.
    DXHUB_RETURN_IF_ERROR(write_cursor(resource, nullptr, 0));
    return tx.commit();
  };
  return run().with_context("begin snapshot pass of " + resource);
}

Expected<StoredSnapshotRow> StateStore::snapshot_row(const std::string& resource, std::string_view key) {
  ResetOnExit reset(select_snapshot_row_);
  DXHUB_RETURN_IF_ERROR(select_snapshot_row_.bind_text_static(1, resource));
  DXHUB_RETURN_IF_ERROR(select_snapshot_row_.bind_blob_static(2, key));
  DXHUB_ASSIGN_OR_RETURN(bool found, select_snapshot_row_.step());
  StoredSnapshotRow row;
  if (!found) return row;
  row.found = true;
  row.digest = static_cast<uint64_t>(select_snapshot_row_.column_int64(0));
  row.seen_pass = select_snapshot_row_.column_int64(1);
  return row;
}

Expected<std::vector<std::string>> StateStore::snapshot_unseen(const std::string& resource, int64_t pass,
                                                               size_t limit) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT key FROM snapshot_rows WHERE resource = ?1 AND "
                                                "seen_pass < ?2 ORDER BY key LIMIT ?3"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, pass));
  DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, static_cast<int64_t>(limit)));
  std::vector<std::string> keys;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    std::string_view key = stmt.column_blob(0);
    keys.emplace_back(key);
  }
  return keys;
}

Expected<int64_t> StateStore::snapshot_size(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT count(*) FROM snapshot_rows WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
  return row ? stmt.column_int64(0) : int64_t{0};
}

Status StateStore::spool_batch(const NewBatch& batch, const nlohmann::json& new_cursor,
                               std::span<const DeadLetter> dead_letters, const SnapshotUpdate* snapshot) {
  auto context = "spool batch " + batch.batch_id + " of " + batch.resource;
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(int64_t expected_sequence, next_sequence(batch.resource));
    if (batch.sequence != expected_sequence) {
      return internal_error("sequence " + std::to_string(batch.sequence) + " is not the next one (" +
                            std::to_string(expected_sequence) + ")");
    }
    DXHUB_RETURN_IF_ERROR(write_cursor(batch.resource, new_cursor, 1));
    DXHUB_RETURN_IF_ERROR(insert_dead_letters(dead_letters));
    if (snapshot != nullptr) DXHUB_RETURN_IF_ERROR(write_snapshot(batch.resource, *snapshot));
    DXHUB_RETURN_IF_ERROR(insert_outbox(batch));
    return tx.commit();
  };
  return run().with_context(context);
}

Status StateStore::advance_cursor(const std::string& resource, const nlohmann::json& new_cursor,
                                  std::span<const DeadLetter> dead_letters, const SnapshotUpdate* snapshot) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_RETURN_IF_ERROR(write_cursor(resource, new_cursor, 0));
    DXHUB_RETURN_IF_ERROR(insert_dead_letters(dead_letters));
    if (snapshot != nullptr) DXHUB_RETURN_IF_ERROR(write_snapshot(resource, *snapshot));
    return tx.commit();
  };
  return run().with_context("advance cursor of " + resource);
}

Status StateStore::add_dead_letter(const std::string& resource, const std::string& source_key,
                                   const std::string& reason, const std::string& row_json) {
  DeadLetter letter{resource, source_key, reason, row_json, ""};
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_RETURN_IF_ERROR(insert_dead_letters(std::span<const DeadLetter>(&letter, 1)));
    return tx.commit();
  };
  return run().with_context("dead letter of " + resource);
}

Expected<std::vector<OutboxEntry>> StateStore::pending_batches(const std::string& resource, size_t limit) {
  std::string sql =
      "SELECT batch_id, resource, sequence, record_count, codec, fingerprint, digest, body, created_at, attempts, "
      "last_error, refusals FROM outbox";
  if (!resource.empty()) sql += " WHERE resource = ?1";
  sql += " ORDER BY resource, sequence";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  if (!resource.empty()) DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<OutboxEntry> entries;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    OutboxEntry& e = entries.emplace_back();
    e.batch_id = column_string(stmt, 0);
    e.resource = column_string(stmt, 1);
    e.sequence = stmt.column_int64(2);
    e.record_count = stmt.column_int64(3);
    e.codec = column_string(stmt, 4);
    e.fingerprint = column_string(stmt, 5);
    e.digest = column_string(stmt, 6);
    e.body = std::string(stmt.column_blob(7));
    e.created_at_ms = stmt.column_int64(8);
    e.attempts = static_cast<int>(stmt.column_int64(9));
    e.last_error = column_string(stmt, 10);
    e.refusals = static_cast<int>(stmt.column_int64(11));
  }
  return entries;
}

Expected<std::vector<std::string>> StateStore::resources_with_pending() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT DISTINCT resource FROM outbox ORDER BY resource"));
  std::vector<std::string> resources;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    resources.push_back(column_string(stmt, 0));
  }
  return resources;
}

Status StateStore::record_receipt(const std::string& batch_id, const std::string& receipt_json) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(
        auto insert,
        db_.prepare("INSERT INTO receipts (batch_id, resource, sequence, record_count, digest, body_bytes, "
                    "receipt_json, delivered_at) SELECT batch_id, resource, sequence, record_count, digest, "
                    "length(body), ?2, ?3 FROM outbox WHERE batch_id = ?1"));
    DXHUB_RETURN_IF_ERROR(insert.bind_text(1, batch_id));
    DXHUB_RETURN_IF_ERROR(insert.bind_text(2, receipt_json));
    DXHUB_RETURN_IF_ERROR(insert.bind_int64(3, wall_clock_ms()));
    DXHUB_RETURN_IF_ERROR(insert.run());
    if (db_.changes() != 1) return internal_error("batch is not in the outbox");
    DXHUB_ASSIGN_OR_RETURN(auto remove, db_.prepare("DELETE FROM outbox WHERE batch_id = ?1"));
    DXHUB_RETURN_IF_ERROR(remove.bind_text(1, batch_id));
    DXHUB_RETURN_IF_ERROR(remove.run());
    return tx.commit();
  };
  return run().with_context("record receipt of batch " + batch_id);
}

Status StateStore::record_failed_attempt(const std::string& batch_id, const std::string& error) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(auto update, db_.prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?2, "
                                                    "last_attempt_at = ?3 WHERE batch_id = ?1"));
    DXHUB_RETURN_IF_ERROR(update.bind_text(1, batch_id));
    DXHUB_RETURN_IF_ERROR(update.bind_text(2, error));
    DXHUB_RETURN_IF_ERROR(update.bind_int64(3, wall_clock_ms()));
    DXHUB_RETURN_IF_ERROR(update.run());
    if (db_.changes() != 1) return internal_error("batch is not in the outbox");
    return tx.commit();
  };
  return run().with_context("record failed attempt of batch " + batch_id);
}

Expected<int64_t> StateStore::begin_run(const std::string& command) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto insert,
                         db_.prepare("INSERT INTO runs (command, started_at, status) VALUES (?1, ?2, 'running')"));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(1, command));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(2, wall_clock_ms()));
  DXHUB_RETURN_IF_ERROR(insert.run());
  int64_t run_id = db_.last_insert_rowid();
  DXHUB_RETURN_IF_ERROR(tx.commit());
  return run_id;
}

Status StateStore::finish_run(int64_t run_id, const std::string& status, const nlohmann::json& summary) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(
      auto update, db_.prepare("UPDATE runs SET finished_at = ?2, status = ?3, summary_json = ?4 WHERE run_id = ?1"));
  DXHUB_RETURN_IF_ERROR(update.bind_int64(1, run_id));
  DXHUB_RETURN_IF_ERROR(update.bind_int64(2, wall_clock_ms()));
  DXHUB_RETURN_IF_ERROR(update.bind_text(3, status));
  DXHUB_RETURN_IF_ERROR(update.bind_text(4, dump_json_safely(summary)));
  DXHUB_RETURN_IF_ERROR(update.run());
  if (db_.changes() != 1) return internal_error("finish run " + std::to_string(run_id) + ": no such run");
  return tx.commit();
}

Status StateStore::record_run_resource(int64_t run_id, const RunResourceStats& stats) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(
      auto upsert,
      db_.prepare("INSERT OR REPLACE INTO run_resources (run_id, resource, rows_read, rows_spooled, rows_delivered, "
                  "batches_spooled, batches_delivered, dead_letters, status, error) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(1, run_id));
  DXHUB_RETURN_IF_ERROR(upsert.bind_text(2, stats.resource));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(3, stats.rows_read));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(4, stats.rows_spooled));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(5, stats.rows_delivered));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(6, stats.batches_spooled));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(7, stats.batches_delivered));
  DXHUB_RETURN_IF_ERROR(upsert.bind_int64(8, stats.dead_letters));
  DXHUB_RETURN_IF_ERROR(upsert.bind_text(9, stats.status));
  DXHUB_RETURN_IF_ERROR(bind_text_or_null(upsert, 10, stats.error));
  Status inserted = upsert.run();
  if (!inserted.is_ok()) {
    return inserted.with_context("record stats of " + stats.resource + " for run " + std::to_string(run_id));
  }
  return tx.commit();
}

Expected<std::vector<CursorInfo>> StateStore::cursors() {
  DXHUB_ASSIGN_OR_RETURN(
      auto stmt, db_.prepare("SELECT resource, cursor_json, next_sequence, updated_at FROM cursors ORDER BY resource"));
  std::vector<CursorInfo> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), parse_json_column(stmt.column_text(1)), stmt.column_int64(2),
                   stmt.column_int64(3)});
  }
  return out;
}

Expected<std::vector<OutboxSummary>> StateStore::outbox_summary() {
  DXHUB_ASSIGN_OR_RETURN(
      auto stmt,
      db_.prepare("SELECT resource, count(*), sum(record_count), sum(length(body)), min(created_at), max(attempts), "
                  "(SELECT last_error FROM outbox o2 WHERE o2.resource = o.resource AND last_attempt_at IS NOT NULL "
                  " ORDER BY last_attempt_at DESC LIMIT 1) "
                  "FROM outbox o GROUP BY resource ORDER BY resource"));
  std::vector<OutboxSummary> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), stmt.column_int64(1), stmt.column_int64(2), stmt.column_int64(3),
                   stmt.column_int64(4), stmt.column_int64(5), column_string(stmt, 6)});
  }
  return out;
}

Expected<std::vector<ReceiptSummary>> StateStore::receipt_summary() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT resource, count(*), sum(record_count), sum(body_bytes), "
                                                "max(sequence), max(delivered_at) FROM receipts GROUP BY resource "
                                                "ORDER BY resource"));
  std::vector<ReceiptSummary> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), stmt.column_int64(1), stmt.column_int64(2), stmt.column_int64(3),
                   stmt.column_int64(4), stmt.column_int64(5)});
  }
  return out;
}

Expected<std::vector<RunInfo>> StateStore::last_runs(size_t count) {
  DXHUB_ASSIGN_OR_RETURN(auto runs, db_.prepare("SELECT run_id, command, started_at, finished_at, status, "
                                                "summary_json FROM runs ORDER BY run_id DESC LIMIT ?1"));
  DXHUB_RETURN_IF_ERROR(runs.bind_int64(1, static_cast<int64_t>(count)));
  std::vector<RunInfo> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, runs.step());
    if (!has_row) break;
    RunInfo& run = out.emplace_back();
    run.run_id = runs.column_int64(0);
    run.command = column_string(runs, 1);
    run.started_at_ms = runs.column_int64(2);
    run.finished_at_ms = runs.column_int64(3);
    run.status = column_string(runs, 4);
    run.summary = parse_json_column(runs.column_text(5));
  }
  DXHUB_ASSIGN_OR_RETURN(auto resources,
                         db_.prepare("SELECT resource, rows_read, rows_spooled, rows_delivered, batches_spooled, "
                                     "batches_delivered, dead_letters, status, error FROM run_resources "
                                     "WHERE run_id = ?1 ORDER BY resource"));
  for (RunInfo& run : out) {
    DXHUB_RETURN_IF_ERROR(resources.reset());
    DXHUB_RETURN_IF_ERROR(resources.bind_int64(1, run.run_id));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool has_row, resources.step());
      if (!has_row) break;
      run.resources.push_back({column_string(resources, 0), resources.column_int64(1), resources.column_int64(2),
                               resources.column_int64(3), resources.column_int64(4), resources.column_int64(5),
                               resources.column_int64(6), column_string(resources, 7),
                               column_string(resources, 8)});
    }
  }
  return out;
}

Expected<std::map<std::string, int64_t>> StateStore::last_resource_starts() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT rr.resource, max(r.started_at) FROM run_resources rr "
                                                "JOIN runs r ON r.run_id = rr.run_id GROUP BY rr.resource"));
  std::map<std::string, int64_t> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out[column_string(stmt, 0)] = stmt.column_int64(1);
  }
  return out;
}

Expected<std::vector<DeadLetterCount>> StateStore::dead_letter_counts() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt,
                         db_.prepare("SELECT resource, sum(state = 'open'), sum(state = 'discarded'), "
                                     "sum(state = 'replayed') FROM dead_letters GROUP BY resource ORDER BY resource"));
  std::vector<DeadLetterCount> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), stmt.column_int64(1), stmt.column_int64(2), stmt.column_int64(3)});
  }
  return out;
}

namespace {
constexpr const char* kDeadLetterColumns =
    "SELECT resource, source_key, reason, row_json, id, state, state_reason, created_at, source_ref FROM dead_letters";

StoredDeadLetter read_dead_letter(const SqliteStmt& stmt) {
  StoredDeadLetter d;
  d.resource = column_string(stmt, 0);
  d.source_key = column_string(stmt, 1);
  d.reason = column_string(stmt, 2);
  d.row_json = column_string(stmt, 3);
  d.id = stmt.column_int64(4);
  d.state = column_string(stmt, 5);
  d.state_reason = column_string(stmt, 6);
  d.created_at_ms = stmt.column_int64(7);
  d.source_ref = column_string(stmt, 8);
  return d;
}
}  // namespace

Expected<std::vector<StoredDeadLetter>> StateStore::dead_letters(const std::string& resource, size_t limit,
                                                                 const std::string& state) {
  std::string sql = kDeadLetterColumns;
  sql += " WHERE (?1 = '' OR resource = ?1) AND (?2 = '' OR state = ?2) ORDER BY id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(2, state));
  std::vector<StoredDeadLetter> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back(read_dead_letter(stmt));
  }
  return out;
}

Expected<StoredDeadLetter> StateStore::dead_letter(int64_t id) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(std::string(kDeadLetterColumns) + " WHERE id = ?1"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_int64(1, id));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  if (!has_row) return not_found_error("no dead letter with id " + std::to_string(id));
  return read_dead_letter(stmt);
}

Expected<std::vector<int64_t>> StateStore::discard_dead_letters(int64_t id, const std::string& resource,
                                                                const ActionRecord& action) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto select, db_.prepare("SELECT id FROM dead_letters WHERE state = 'open' AND "
                                                  "((?1 > 0 AND id = ?1) OR (?1 = 0 AND resource = ?2)) ORDER BY id"));
  DXHUB_RETURN_IF_ERROR(select.bind_int64(1, id));
  DXHUB_RETURN_IF_ERROR(select.bind_text(2, resource));
  std::vector<int64_t> ids;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, select.step());
    if (!has_row) break;
    ids.push_back(select.column_int64(0));
  }
  select = SqliteStmt();
  if (id > 0 && ids.empty()) return not_found_error("no open dead letter with id " + std::to_string(id));
  DXHUB_ASSIGN_OR_RETURN(auto update, db_.prepare("UPDATE dead_letters SET state = 'discarded', state_reason = ?2, "
                                                  "state_changed_at = ?3 WHERE id = ?1"));
  for (int64_t each : ids) {
    DXHUB_RETURN_IF_ERROR(update.reset());
    DXHUB_RETURN_IF_ERROR(update.bind_int64(1, each));
    DXHUB_RETURN_IF_ERROR(update.bind_text(2, action.reason));
    DXHUB_RETURN_IF_ERROR(update.bind_int64(3, wall_clock_ms()));
    DXHUB_RETURN_IF_ERROR(update.run());
  }
  DXHUB_RETURN_IF_ERROR(insert_action_run(action, {{"resource", resource}, {"dead_letter_ids", ids}}));
  DXHUB_RETURN_IF_ERROR(tx.commit());
  return ids;
}

Status StateStore::insert_batch_keeping_cursor(const NewBatch& batch) {
  DXHUB_ASSIGN_OR_RETURN(int64_t expected_sequence, next_sequence(batch.resource));
  if (batch.sequence != expected_sequence) {
    return internal_error("sequence " + std::to_string(batch.sequence) + " is not the next one (" +
                          std::to_string(expected_sequence) + ")");
  }
  // The sequence advances, the cursor stays where reading left it.
  DXHUB_ASSIGN_OR_RETURN(auto bump, db_.prepare("INSERT INTO cursors (resource, cursor_json, next_sequence, "
                                                "updated_at) VALUES (?1, NULL, 2, ?2) ON CONFLICT (resource) DO "
                                                "UPDATE SET next_sequence = next_sequence + 1, updated_at = ?2"));
  DXHUB_RETURN_IF_ERROR(bump.bind_text(1, batch.resource));
  DXHUB_RETURN_IF_ERROR(bump.bind_int64(2, wall_clock_ms()));
  DXHUB_RETURN_IF_ERROR(bump.run());
  return insert_outbox(batch);
}

Status StateStore::record_replay(const NewBatch* batch, std::span<const int64_t> replayed,
                                 std::span<const std::pair<int64_t, std::string>> still_failing,
                                 const ActionRecord& action, const nlohmann::json& summary) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    if (batch != nullptr) DXHUB_RETURN_IF_ERROR(insert_batch_keeping_cursor(*batch));
    DXHUB_ASSIGN_OR_RETURN(auto mark, db_.prepare("UPDATE dead_letters SET state = ?2, state_reason = ?3, "
                                                  "state_changed_at = ?4 WHERE id = ?1 AND state = 'open'"));
    for (int64_t id : replayed) {
      DXHUB_RETURN_IF_ERROR(mark.reset());
      DXHUB_RETURN_IF_ERROR(mark.bind_int64(1, id));
      DXHUB_RETURN_IF_ERROR(mark.bind_text(2, kDeadLetterReplayed));
      DXHUB_RETURN_IF_ERROR(mark.bind_text(3, batch != nullptr ? batch->batch_id : ""));
      DXHUB_RETURN_IF_ERROR(mark.bind_int64(4, wall_clock_ms()));
      DXHUB_RETURN_IF_ERROR(mark.run());
      if (db_.changes() != 1) return internal_error("dead letter " + std::to_string(id) + " is no longer open");
    }
    DXHUB_ASSIGN_OR_RETURN(auto reason, db_.prepare("UPDATE dead_letters SET reason = ?2 WHERE id = ?1"));
    for (const auto& [id, text] : still_failing) {
      DXHUB_RETURN_IF_ERROR(reason.reset());
      DXHUB_RETURN_IF_ERROR(reason.bind_int64(1, id));
      DXHUB_RETURN_IF_ERROR(reason.bind_text(2, text));
      DXHUB_RETURN_IF_ERROR(reason.run());
    }
    DXHUB_RETURN_IF_ERROR(insert_action_run(action, summary));
    return tx.commit();
  };
  return run().with_context("record replay");
}

Expected<int64_t> StateStore::epoch() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT epoch FROM meta WHERE id = 1"));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  if (!has_row) return internal_error("state store " + path() + ": no epoch in table meta");
  return stmt.column_int64(0);
}

Expected<int64_t> StateStore::synchronous_level() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("PRAGMA synchronous"));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  if (!has_row) return internal_error("PRAGMA synchronous returned nothing");
  return stmt.column_int64(0);
}

Status StateStore::insert_action_run(const ActionRecord& action, nlohmann::json summary) {
  if (!action.reason.empty()) summary["reason"] = action.reason;
  DXHUB_ASSIGN_OR_RETURN(auto insert, db_.prepare("INSERT INTO runs (command, started_at, finished_at, status, "
                                                  "summary_json) VALUES (?1, ?2, ?2, 'ok', ?3)"));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(1, action.command));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(2, wall_clock_ms()));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(3, dump_json_safely(summary)));
  return insert.run();
}

Status StateStore::move_to_quarantine(const std::string& batch_id, const std::string& reason) {
  DXHUB_ASSIGN_OR_RETURN(auto insert, db_.prepare(std::string("INSERT INTO quarantine (") + kBatchColumns +
                                                  ", reason, quarantined_at) SELECT " + kBatchColumns +
                                                  ", ?2, ?3 FROM outbox WHERE batch_id = ?1"));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(1, batch_id));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(2, reason));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(3, wall_clock_ms()));
  DXHUB_RETURN_IF_ERROR(insert.run());
  if (db_.changes() != 1) return internal_error("batch is not in the outbox");
  DXHUB_ASSIGN_OR_RETURN(auto remove, db_.prepare("DELETE FROM outbox WHERE batch_id = ?1"));
  DXHUB_RETURN_IF_ERROR(remove.bind_text(1, batch_id));
  return remove.run();
}

Status StateStore::quarantine_batch(const std::string& batch_id, const std::string& reason) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_RETURN_IF_ERROR(move_to_quarantine(batch_id, reason));
    return tx.commit();
  };
  return run().with_context("quarantine batch " + batch_id);
}

Expected<RefusalOutcome> StateStore::record_refusal(const std::string& batch_id, const std::string& error,
                                                    int quarantine_after) {
  auto run = [&]() -> Expected<RefusalOutcome> {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(auto update,
                           db_.prepare("UPDATE outbox SET attempts = attempts + 1, refusals = refusals + 1, "
                                       "last_error = ?2, last_attempt_at = ?3 WHERE batch_id = ?1 RETURNING refusals"));
    DXHUB_RETURN_IF_ERROR(update.bind_text(1, batch_id));
    DXHUB_RETURN_IF_ERROR(update.bind_text(2, error));
    DXHUB_RETURN_IF_ERROR(update.bind_int64(3, wall_clock_ms()));
    DXHUB_ASSIGN_OR_RETURN(bool has_row, update.step());
    if (!has_row) return internal_error("batch is not in the outbox");
    int64_t refusals = update.column_int64(0);
    update = SqliteStmt();
    RefusalOutcome outcome = RefusalOutcome::kCounted;
    if (refusals >= quarantine_after) {
      DXHUB_RETURN_IF_ERROR(move_to_quarantine(
          batch_id, "refused " + std::to_string(refusals) + " times; last: " + error));
      outcome = RefusalOutcome::kQuarantined;
    }
    DXHUB_RETURN_IF_ERROR(tx.commit());
    return outcome;
  };
  auto outcome = run();
  if (!outcome) return outcome.status().with_context("record refusal of batch " + batch_id);
  return outcome;
}

Expected<int64_t> StateStore::pending_bytes(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt,
                         db_.prepare("SELECT coalesce(sum(length(body)), 0) FROM outbox WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  return has_row ? stmt.column_int64(0) : int64_t{0};
}

Expected<std::vector<BatchInfo>> StateStore::list_batches(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(
      auto stmt,
      db_.prepare("SELECT batch_id, resource, sequence, record_count, length(body), attempts, refusals, last_error, "
                  "created_at, 0, NULL, NULL FROM outbox WHERE ?1 = '' OR resource = ?1 "
                  "UNION ALL SELECT batch_id, resource, sequence, record_count, length(body), attempts, refusals, "
                  "last_error, created_at, 1, reason, quarantined_at FROM quarantine WHERE ?1 = '' OR resource = ?1 "
                  "ORDER BY 2, 3"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<BatchInfo> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    BatchInfo& b = out.emplace_back();
    b.batch_id = column_string(stmt, 0);
    b.resource = column_string(stmt, 1);
    b.sequence = stmt.column_int64(2);
    b.record_count = stmt.column_int64(3);
    b.bytes = stmt.column_int64(4);
    b.attempts = static_cast<int>(stmt.column_int64(5));
    b.refusals = static_cast<int>(stmt.column_int64(6));
    b.last_error = column_string(stmt, 7);
    b.created_at_ms = stmt.column_int64(8);
    b.quarantined = stmt.column_int64(9) != 0;
    b.reason = column_string(stmt, 10);
    b.quarantined_at_ms = stmt.column_int64(11);
  }
  return out;
}

Expected<std::vector<std::string>> StateStore::retry_quarantined(const std::string& batch_id,
                                                                 const std::string& resource,
                                                                 const ActionRecord& action) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto select, db_.prepare("SELECT batch_id FROM quarantine WHERE (?1 <> '' AND batch_id = ?1) "
                                                  "OR (?1 = '' AND (?2 = '' OR resource = ?2)) ORDER BY resource, "
                                                  "sequence"));
  DXHUB_RETURN_IF_ERROR(select.bind_text(1, batch_id));
  DXHUB_RETURN_IF_ERROR(select.bind_text(2, resource));
  std::vector<std::string> ids;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, select.step());
    if (!has_row) break;
    ids.push_back(column_string(select, 0));
  }
  select = SqliteStmt();
  if (!batch_id.empty() && ids.empty()) return not_found_error("batch " + batch_id + " is not in the quarantine");
  DXHUB_ASSIGN_OR_RETURN(auto insert,
                         db_.prepare("INSERT INTO outbox (batch_id, resource, sequence, record_count, codec, "
                                     "fingerprint, digest, body, created_at) SELECT batch_id, resource, sequence, "
                                     "record_count, codec, fingerprint, digest, body, created_at FROM quarantine "
                                     "WHERE batch_id = ?1"));
  DXHUB_ASSIGN_OR_RETURN(auto remove, db_.prepare("DELETE FROM quarantine WHERE batch_id = ?1"));
  for (const auto& id : ids) {
    DXHUB_RETURN_IF_ERROR(insert.reset());
    DXHUB_RETURN_IF_ERROR(insert.bind_text(1, id));
    DXHUB_RETURN_IF_ERROR(insert.run());
    DXHUB_RETURN_IF_ERROR(remove.reset());
    DXHUB_RETURN_IF_ERROR(remove.bind_text(1, id));
    DXHUB_RETURN_IF_ERROR(remove.run());
  }
  DXHUB_RETURN_IF_ERROR(insert_action_run(action, {{"batch_ids", ids}, {"resource", resource}}));
  DXHUB_RETURN_IF_ERROR(tx.commit());
  return ids;
}

Expected<BatchInfo> StateStore::drop_batch(const std::string& batch_id, const ActionRecord& action) {
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto all, list_batches(""));
  const BatchInfo* found = nullptr;
  for (const auto& b : all) {
    if (b.batch_id == batch_id) found = &b;
  }
  if (found == nullptr) return not_found_error("batch " + batch_id + " is neither spooled nor quarantined");
  BatchInfo dropped = *found;
  DXHUB_ASSIGN_OR_RETURN(auto remove, db_.prepare(dropped.quarantined ? "DELETE FROM quarantine WHERE batch_id = ?1"
                                                                      : "DELETE FROM outbox WHERE batch_id = ?1"));
  DXHUB_RETURN_IF_ERROR(remove.bind_text(1, batch_id));
  DXHUB_RETURN_IF_ERROR(remove.run());
  DXHUB_RETURN_IF_ERROR(insert_action_run(action, {{"batch_id", dropped.batch_id},
                                                   {"resource", dropped.resource},
                                                   {"sequence", dropped.sequence},
                                                   {"records", dropped.record_count},
                                                   {"was_quarantined", dropped.quarantined}}));
  DXHUB_RETURN_IF_ERROR(tx.commit());
  return dropped;
}

Expected<std::vector<QuarantineSummary>> StateStore::quarantine_summary() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT resource, reason, count(*), sum(record_count) FROM quarantine "
                                                "GROUP BY resource, reason ORDER BY resource, reason"));
  std::vector<QuarantineSummary> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    std::string resource = column_string(stmt, 0);
    if (out.empty() || out.back().resource != resource) out.push_back({resource, 0, 0, {}});
    out.back().batches += stmt.column_int64(2);
    out.back().records += stmt.column_int64(3);
    out.back().reasons.emplace_back(column_string(stmt, 1), stmt.column_int64(2));
  }
  return out;
}

}  // namespace dxhub
