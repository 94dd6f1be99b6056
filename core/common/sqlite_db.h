// The one wrapper around SQLite: RAII handles and SQLite errors turned into
// Status in one place. Used by the state store, the table connector, the
// sample generator and the mock province.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

class SqliteStmt {
 public:
  SqliteStmt() = default;
  explicit SqliteStmt(sqlite3_stmt* s) : stmt_(s) {}

  // Bind helpers take 1-based parameter indexes, as SQLite does.
  Status bind_int64(int index, int64_t v);
  Status bind_double(int index, double v);
  Status bind_text(int index, std::string_view v);  // copied (SQLITE_TRANSIENT)
  Status bind_text_static(int index, std::string_view v);  // caller keeps it alive until step
  Status bind_blob(int index, const void* data, size_t size);  // copied
  Status bind_blob_static(int index, std::string_view data);    // caller keeps it alive until step
  Status bind_null(int index);

  // Returns true when a row is available, false when done.
  Expected<bool> step();
  // Runs to completion (for statements that return no rows).
  Status run();
  Status reset();  // reset + clear bindings

  int column_count() const { return sqlite3_column_count(stmt_.get()); }
  int column_type(int col) const { return sqlite3_column_type(stmt_.get(), col); }
  int64_t column_int64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  double column_double(int col) const { return sqlite3_column_double(stmt_.get(), col); }
  std::string_view column_text(int col) const;
  std::string_view column_blob(int col) const;
  bool column_is_null(int col) const { return column_type(col) == SQLITE_NULL; }
  const char* column_name(int col) const { return sqlite3_column_name(stmt_.get(), col); }

  sqlite3_stmt* get() const { return stmt_.get(); }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  Status check(int rc, const char* what) const;
  std::unique_ptr<sqlite3_stmt, SqliteFinalizer> stmt_;
};

class SqliteDb {
 public:
  enum class Mode { kReadOnly, kReadWrite, kReadWriteCreate };

  // Opens `path`. Errors become `error_code` (kSource for agency databases,
  // kIo for the hub's own state) with the path in the message.
  static Expected<SqliteDb> open(const std::string& path, Mode mode,
                                 StatusCode error_code = StatusCode::kIo);

  Status exec(std::string_view sql);
  Expected<SqliteStmt> prepare(std::string_view sql);
  // How long a statement waits for another connection's lock before
  // SQLITE_BUSY (5 s after open). Retries every 0.2 ms at first, then every
  // 1 ms: SQLite's own busy_timeout sleeps 1, 2, 5, ... up to 100 ms between
  // tries, which adds hundreds of ms when two threads commit often (the push
  // endpoint's writer beside a delivery thread).
  void set_busy_timeout(int timeout_ms);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }
  // True when table `name` exists.
  Expected<bool> table_exists(std::string_view name);

  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }
  StatusCode error_code() const { return error_code_; }

 private:
  std::unique_ptr<sqlite3, SqliteCloser> db_;
  std::string path_;
  StatusCode error_code_ = StatusCode::kIo;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed.
class SqliteTransaction {
 public:
  static Expected<SqliteTransaction> begin(SqliteDb& db);
  SqliteTransaction(SqliteTransaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  Status commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

// Quotes an SQL identifier ("a""b").
std::string sqlite_quote_identifier(std::string_view name);

}  // namespace dxhub
