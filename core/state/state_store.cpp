#include "core/state/state_store.h"

#include <chrono>
#include <filesystem>
#include <utility>

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

  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms)));
  {
    DXHUB_ASSIGN_OR_RETURN(auto mode_stmt, db.prepare("PRAGMA journal_mode = WAL"));
    DXHUB_ASSIGN_OR_RETURN(bool has_row, mode_stmt.step());
    std::string mode = has_row ? column_string(mode_stmt, 0) : "";
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
    // Later versions migrate here: if (version < 2) { ... }
    DXHUB_RETURN_IF_ERROR(db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL); "
                                  "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', " +
                                  std::to_string(wall_clock_ms()) + ")"));
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
                         db_.prepare("INSERT INTO dead_letters (resource, source_key, reason, row_json, created_at) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5)"));
  return Status::ok();
}

Expected<nlohmann::json> StateStore::load_cursor(const std::string& resource) {
  ResetOnExit reset(select_cursor_);
  DXHUB_RETURN_IF_ERROR(select_cursor_.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool found, select_cursor_.step());
  if (!found || select_cursor_.column_is_null(0)) return nlohmann::json(nullptr);
  return parse_json_column(select_cursor_.column_text(0));
}

Expected<int64_t> StateStore::epoch() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT value FROM meta WHERE key = 'epoch'"));
  DXHUB_ASSIGN_OR_RETURN(bool found, stmt.step());
  if (!found) return internal_error("state store " + db_.path() + " has no epoch");
  return stmt.column_int64(0);
}

Expected<int64_t> StateStore::next_sequence(const std::string& resource) {
  ResetOnExit reset(select_cursor_);
  DXHUB_RETURN_IF_ERROR(select_cursor_.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool found, select_cursor_.step());
  return found ? select_cursor_.column_int64(1) : int64_t{1};
}

Status StateStore::write_cursor(const std::string& resource, const nlohmann::json& cursor,
                                int64_t sequence_increment) {
  std::string cursor_text = cursor.dump();  // bound in place: must outlive the statement's use
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
    DXHUB_RETURN_IF_ERROR(insert_dead_letter_.run());
  }
  return Status::ok();
}

Status StateStore::spool_batch(const NewBatch& batch, const nlohmann::json& new_cursor,
                               std::span<const DeadLetter> dead_letters) {
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
    {
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
      DXHUB_RETURN_IF_ERROR(insert_outbox_.run());
    }
    return tx.commit();
  };
  return run().with_context(context);
}

Status StateStore::advance_cursor(const std::string& resource, const nlohmann::json& new_cursor,
                                  std::span<const DeadLetter> dead_letters) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_RETURN_IF_ERROR(write_cursor(resource, new_cursor, 0));
    DXHUB_RETURN_IF_ERROR(insert_dead_letters(dead_letters));
    return tx.commit();
  };
  return run().with_context("advance cursor of " + resource);
}

Status StateStore::add_dead_letter(const std::string& resource, const std::string& source_key,
                                   const std::string& reason, const std::string& row_json) {
  DeadLetter letter{resource, source_key, reason, row_json};
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
      "last_error FROM outbox";
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
  DXHUB_RETURN_IF_ERROR(update.bind_text(4, summary.dump()));
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

Expected<std::vector<DeadLetterCount>> StateStore::dead_letter_counts() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt,
                         db_.prepare("SELECT resource, count(*) FROM dead_letters GROUP BY resource ORDER BY resource"));
  std::vector<DeadLetterCount> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), stmt.column_int64(1)});
  }
  return out;
}

Expected<std::vector<DeadLetter>> StateStore::dead_letters(const std::string& resource, size_t limit) {
  std::string sql = "SELECT resource, source_key, reason, row_json FROM dead_letters";
  if (!resource.empty()) sql += " WHERE resource = ?1";
  sql += " ORDER BY id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  if (!resource.empty()) DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<DeadLetter> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({column_string(stmt, 0), column_string(stmt, 1), column_string(stmt, 2), column_string(stmt, 3)});
  }
  return out;
}

}  // namespace dxhub
