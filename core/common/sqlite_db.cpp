#include "core/common/sqlite_db.h"

#include <chrono>
#include <cstdint>
#include <thread>

namespace dxhub {

namespace {
Status sqlite_status(sqlite3* db, int rc, const char* what, StatusCode code) {
  std::string msg = std::string(what) + ": " + sqlite3_errstr(rc);
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && msg.find(detail) == std::string::npos) msg += std::string(" (") + detail + ")";
  }
  return Status(code, std::move(msg));
}
}  // namespace

Status SqliteStmt::check(int rc, const char* what) const {
  if (rc == SQLITE_OK) return Status::ok();
  return sqlite_status(sqlite3_db_handle(stmt_.get()), rc, what, StatusCode::kIo);
}

Status SqliteStmt::bind_int64(int index, int64_t v) {
  return check(sqlite3_bind_int64(stmt_.get(), index, v), "bind");
}
Status SqliteStmt::bind_double(int index, double v) {
  return check(sqlite3_bind_double(stmt_.get(), index, v), "bind");
}
Status SqliteStmt::bind_text(int index, std::string_view v) {
  return check(sqlite3_bind_text64(stmt_.get(), index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               "bind");
}
Status SqliteStmt::bind_text_static(int index, std::string_view v) {
  return check(sqlite3_bind_text64(stmt_.get(), index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8),
               "bind");
}
Status SqliteStmt::bind_blob(int index, const void* data, size_t size) {
  return check(sqlite3_bind_blob64(stmt_.get(), index, data, size, SQLITE_TRANSIENT), "bind");
}
Status SqliteStmt::bind_blob_static(int index, std::string_view data) {
  return check(sqlite3_bind_blob64(stmt_.get(), index, data.data(), data.size(), SQLITE_STATIC), "bind");
}
Status SqliteStmt::bind_null(int index) { return check(sqlite3_bind_null(stmt_.get(), index), "bind"); }

Expected<bool> SqliteStmt::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return check(rc, "step");
}

Status SqliteStmt::run() {
  for (;;) {
    auto more = step();
    if (!more) return more.status();
    if (!*more) return Status::ok();
  }
}

Status SqliteStmt::reset() {
  sqlite3_clear_bindings(stmt_.get());
  return check(sqlite3_reset(stmt_.get()), "reset");
}

std::string_view SqliteStmt::column_text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

std::string_view SqliteStmt::column_blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_.get(), col);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

Expected<SqliteDb> SqliteDb::open(const std::string& path, Mode mode, StatusCode error_code) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::kReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case Mode::kReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case Mode::kReadWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db;
  db.db_.reset(raw);
  db.path_ = path;
  db.error_code_ = error_code;
  if (rc != SQLITE_OK) {
    return sqlite_status(raw, rc, ("cannot open database " + path).c_str(), error_code);
  }
  sqlite3_extended_result_codes(raw, 1);
  db.set_busy_timeout(5000);
  // Opening is lazy in SQLite: touch the schema so a non-database file fails here.
  char* err = nullptr;
  rc = sqlite3_exec(raw, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    return sqlite_status(raw, rc, ("cannot read database " + path).c_str(), error_code);
  }
  return db;
}

namespace {

// SQLite's busy handler: `count` tries so far; the timeout (ms) is the argument.
int wait_briefly_for_lock(void* timeout_ms, int count) {
  constexpr int kFastTries = 50;  // 50 x 0.2 ms = the first 10 ms
  const int64_t waited_us = count < kFastTries ? int64_t{count} * 200
                                               : int64_t{kFastTries} * 200 + int64_t{count - kFastTries} * 1000;
  if (waited_us >= static_cast<int64_t>(reinterpret_cast<intptr_t>(timeout_ms)) * 1000) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(count < kFastTries ? 200 : 1000));
  return 1;
}

}  // namespace

void SqliteDb::set_busy_timeout(int timeout_ms) {
  sqlite3_busy_handler(db_.get(), timeout_ms > 0 ? &wait_briefly_for_lock : nullptr,
                       reinterpret_cast<void*>(static_cast<intptr_t>(timeout_ms)));
}

Status SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string msg = "exec failed: ";
  msg += err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(error_code_, path_ + ": " + msg);
}

Expected<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return sqlite_status(db_.get(), rc, (path_ + ": cannot prepare statement").c_str(), error_code_);
  }
  return SqliteStmt(raw);
}

Expected<bool> SqliteDb::table_exists(std::string_view name) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, name));
  return stmt.step();
}

Expected<SqliteTransaction> SqliteTransaction::begin(SqliteDb& db) {
  DXHUB_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  return SqliteTransaction(&db);
}

SqliteTransaction::~SqliteTransaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Status SqliteTransaction::commit() {
  if (db_ == nullptr) return internal_error("transaction already finished");
  Status s = db_->exec("COMMIT");
  if (s.is_ok()) db_ = nullptr;
  return s;
}

std::string sqlite_quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace dxhub
