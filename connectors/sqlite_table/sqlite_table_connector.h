// Reads one table, view or read-only query of an agency SQLite database:
// incrementally by a cursor column (the rules below, issue 3), as a full
// refresh (every run reads everything in key order), or -- for a table the
// agency lets the hub install triggers on -- by trigger-based change capture
// (see sqlite_change_capture.cpp). Only "triggers" mode ever writes the
// agency database (its change table and triggers); every other mode opens it
// read-only.
//
// Settings (connector config, a JSON object; unknown keys are refused):
//   database          path of the agency database (required)
//   table             table or view to read; or
//   query             a single read-only SELECT (exactly one of table/query)
//   mode              "incremental" (default; needs cursor_column),
//                     "full_refresh" (no cursor: every run reads all rows in
//                     key order; the cursor stays null) or "triggers" (a
//                     table only; see sqlite_change_capture.cpp)
//   cursor_column     "last changed" column, e.g. gxsj (incremental only)
//   key_column        the row's identity (required): must be provably unique
//                     and NOT NULL -- an INTEGER PRIMARY KEY (rowid alias),
//                     or a column declared NOT NULL with a single-column,
//                     non-partial UNIQUE index or PRIMARY KEY (a TEXT PRIMARY
//                     KEY allows NULL in SQLite unless declared NOT NULL).
//                     Anything else (and every view and query) is refused at
//                     open (kConfig) unless key_unique is "trust".
//   key_unique        "prove" (default) or "trust": take the key as unique
//                     without proof; repeats found while reading are read
//                     correctly (none lost, none doubled) and reported by
//                     advisories(). Not with mode triggers.
//   fetch_rows        optional cap on rows per read()
//   chunk_rows        rows copied per short read transaction (default 5000):
//                     each chunk is read into the connector's own buffers and
//                     the statement reset before the sink sees a row, so no
//                     lock is held while the rows are mapped
//   rows_per_second   optional, default 0 (off): at most this many source
//                     rows per second are read (chunks are paced)
//   settle_seconds    optional, default 0: rows whose cursor value is newer
//                     than (now - settle_seconds) are left for a later read
//   cursor_format     how to compute "now - settle" in the column's terms:
//                     "datetime" (TEXT 'YYYY-MM-DD HH:MM:SS[.fff]' local time
//                     at source_utc_offset), "epoch_seconds", "epoch_millis",
//                     or "opaque" (default; settle_seconds > 0 is refused)
//   source_utc_offset "+08:00" by default; only for "datetime"
//   now_ms            tests only: a fixed clock (Unix milliseconds)
//
// Names from the config (table, columns) are checked against the source and
// always quoted; a query is checked to be one read-only statement and is
// read as a subquery on a connection that refuses writes (query_only).
//
// The rules, and why:
//  * Tie groups. Many rows share one cursor value (one second). A row
//    written later at the value V the cursor stopped at -- an insert or an
//    update with a lower key than the last one read, or the same key changed
//    again within the second -- sorts *before* a (value, key) keyset
//    position. So each open re-reads the whole group at V (c >= V) and skips
//    only rows already sent in the same form: the cursor keeps, for every
//    row sent at V, its key and an XXH3 digest of the selected values. After
//    that first read, the open continues by the (value, key) keyset: a tie
//    group is scanned once per open, not once per batch. The digest covers
//    the columns read (plus cursor and key): a change to a column not read
//    is not a change, and reading other columns sends the rows at V again.
//    The set holds only the rows of the last value read (~30 bytes each in
//    the cursor), so a bulk change stamping very many rows with one value
//    makes a large cursor until a later value is read.
//  * NULL cursor values. A NULL sorts before everything, so rows with a NULL
//    cursor are read in their own pass at each open (WHERE c IS NULL ORDER BY
//    key), skipped by the same (key, digest) test against the "nulls" set;
//    a row whose NULL later gets a value flows as an ordinary update. The
//    pass is skipped when the column is declared NOT NULL.
//  * Late commits. A writer stamps gxsj when it starts and commits later; a
//    read between the two passes that value and never comes back. With
//    settle_seconds = S, rows newer than now - S are not read yet, so any
//    writer that commits within S seconds of its stamp is seen. Choose S
//    above the longest write transaction plus the clock skew between the
//    agency's stamps and this host.
//  * A row whose cursor value is set *below* the cursor by its writer (a
//    back-dated stamp, older than settle allows), or changed without a new
//    cursor value in a group older than V, is not seen: no incremental
//    reader can see it. The value must be "last changed", set on every write.
//    Within one open, a row written into the group at V behind the keyset
//    position comes with the next open (the next run).
//  * Values compare as SQLite compares them: NULL < numbers < TEXT < BLOB;
//    integers and reals compare numerically. The cursor column of a table
//    must use the BINARY collation (checked); for a view or query the
//    comparisons and the order say COLLATE BINARY. With settle_seconds > 0 every value must be
//    of the format's type (TEXT for datetime, numbers for epoch_*): checked
//    at open, since a TEXT value in an epoch column would never settle.
//
//  * Short reads. Each chunk (chunk_rows) is one statement run: stepped into
//    the connector's buffers and reset before any row reaches the sink, so
//    the agency's writers wait at most for one chunk's copy, never for the
//    mapping. The next chunk continues by the same keyset as the next read()
//    would: the rules above hold per chunk exactly as per read().
//  * Repeated keys (key_unique "trust"). Rows with an equal (cursor, key)
//    are adjacent in the order read; where such a run is cut by a chunk or
//    read() boundary, the next chunk starts at the run (>=, not >) and skips
//    the rows of the run already handled, known by their digests; the tie
//    group's set keeps one entry per row, and a lookup prefers the entry of
//    the same digest, so two rows with one key at V suppress each other
//    never. Each row is delivered once, even two rows identical in every
//    column (each handled run row matches one row of the re-read run).
//
// Full refresh (mode "full_refresh"): no cursor column; every open reads the
// whole source in key order (keyset on the key, chunk by chunk) and the
// cursor stays null, so each run delivers the whole snapshot. Deciding what
// changed is the engine's change detection (a per-key digest of the last
// snapshot); this connector only promises every row once per run, in key
// order, with a run complete when read() returns 0.
//
// A good cursor column: set to "now" by every insert and update (trigger or
// application), never NULL (declare it NOT NULL), of one type, with an index
// on (cursor_column, key_column) -- every read is a range scan on it.
//
// Cursor (opaque to the host; persisted and passed back to open):
//   {"v": 2, "value": <typed V or null>, "boundary": [[<typed key>, "<16 hex
//    digest>"], ...], "nulls": [[<typed key>, "<digest>"], ...]}
// Typed values: JSON integer (INTEGER), JSON number (finite REAL),
// {"real": "inf"|"-inf"|"nan"} (NaN refused as V: SQLite stores NaN as
// NULL), JSON string (valid UTF-8 TEXT),
// {"hex": "..."} (other TEXT bytes), {"blob": "..."} (BLOB). The old form
// {"value": V, "key": K} is still read: as V with an empty set, so the rows
// at V are sent once more (at-least-once; the province upserts by key).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/common/boundary_set.h"
#include "connectors/connector.h"
#include "core/common/row.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

class SqliteTableConnector final : public Connector {
 public:
  static constexpr const char* kKind = "sqlite_table";

  enum class CursorFormat { kOpaque, kDatetime, kEpochSeconds, kEpochMillis };
  enum class Mode { kIncremental, kFullRefresh, kTriggers };

  struct Config {
    std::string database;
    std::string table;  // table or view; empty when query is set
    std::string query;  // a read-only SELECT; empty when table is set
    Mode mode = Mode::kIncremental;
    std::string cursor_column;  // incremental only
    std::string key_column;
    bool trust_key = false;  // key_unique "trust"
    size_t fetch_rows = 0;   // 0 = no cap beyond read()'s max_rows
    size_t chunk_rows = 5000;
    int64_t rows_per_second = 0;  // 0 = no limit
    int64_t settle_seconds = 0;
    CursorFormat cursor_format = CursorFormat::kOpaque;
    int32_t source_utc_offset_seconds = 8 * 3600;
    std::optional<int64_t> now_ms;  // fixed clock for tests; system clock when empty
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // Opens the database, checks the source, every column and the key's
  // uniqueness, prepares the queries (and in triggers mode, unless
  // dry_run, installs the change capture). Missing/unreadable database:
  // kSource naming the path. Missing table or column, a key that is not
  // provably unique and NOT NULL, bad config or cursor: kConfig naming them.
  static Expected<std::unique_ptr<SqliteTableConnector>> open(const nlohmann::json& config,
                                                              const std::vector<std::string>& columns,
                                                              const nlohmann::json& cursor,
                                                              const ConnectorOpenOptions& options = {});
  ~SqliteTableConnector() override;

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;
  std::vector<std::string> advisories() const override;
  std::optional<int64_t> estimated_rows() const override { return estimated_rows_; }

  // The settle bound for `now_ms` as the SQL value rows are compared with
  // (public for tests): 'YYYY-MM-DD HH:MM:SS' text or an integer.
  struct Bound {
    bool is_text = false;
    int64_t i = 0;
    std::string text;
  };
  static Bound settle_bound(const Config& config, int64_t now_ms);

  // Names of the change table and triggers trigger mode installs for
  // `table` (public for tests and for the agency's documentation).
  static std::string change_table_name(const std::string& table);
  static std::string trigger_name(const std::string& table, const char* op);

 private:
  // One owned, typed SQLite value (cursor value or key).
  struct OwnedValue {
    FieldValue::Type type = FieldValue::Type::kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;  // reused across rows: assign() keeps its capacity
  };

  // Rows already sent, as (key, digest): connectors/common/boundary_set.h.
  using SentSet = BoundarySet;

  // Rows of one statement run, copied out so that the statement can be
  // reset before the sink sees them. Buffers only grow: no allocation per
  // row once warmed up. Text and blobs stay NUL-terminated.
  class Chunk {
   public:
    void start(size_t width, size_t max_rows);
    void append_row(const SqliteStmt& stmt);  // columns 0..width-1 of the current row
    void finish();                             // points the string views into the arena
    size_t rows() const { return rows_; }
    size_t width() const { return width_; }
    const FieldValue* row(size_t r) const { return values_.data() + r * width_; }
    void reserve_bytes(size_t bytes) { bytes_.reserve(bytes); }

   private:
    size_t width_ = 0;
    size_t rows_ = 0;
    std::vector<FieldValue> values_;
    std::vector<size_t> offsets_;  // arena offset of each text/blob value
    std::string bytes_;
  };

  // Which pass a statement run belongs to.
  enum class Pass { kNulls, kMain, kFull, kChanges };

  SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db, ConnectorOpenOptions options);
  std::string source_sql() const;   // quoted table, or the query as a subquery
  std::string source_name() const;  // "table t", "view v", "query"
  std::string cursor_sql() const;   // the cursor column, COLLATE BINARY for views and queries
  Status check_source();
  Status check_columns();
  Status check_key_is_unique_not_null();
  Status check_cursor_values_match_format();
  Status check_index_use(const std::string& sql, const std::string& what);
  Status check_repeats_now();  // dry run with a trusted key: one GROUP BY
  void estimate_rows();        // full load: one COUNT(*); a failure leaves the estimate unknown
  Status load_cursor(const nlohmann::json& cursor);
  Status prepare_queries();
  Status source_failure(const Status& cause) const;
  int64_t now_ms() const;
  Status bind_bound(SqliteStmt& stmt);
  // Runs `stmt` for at most `max_rows` rows into chunk_, resetting it after.
  Status fill_chunk(SqliteStmt& stmt, size_t max_rows, bool& exhausted);
  size_t chunk_limit(size_t wanted) const;
  void pace(size_t rows);  // rows_per_second
  // One pass (null, main or full) until `limit` rows are delivered or the
  // pass is exhausted; returns rows delivered.
  Expected<size_t> read_pass(Pass pass, size_t limit, RowSink& sink, bool& exhausted);
  Status bind_pass(Pass pass, SqliteStmt*& stmt);
  uint64_t row_digest(const FieldValue* row, size_t count);
  void note_repeat();
  bool skip_handled_run_row(uint64_t digest);

  // Trigger mode (sqlite_change_capture.cpp).
  Status open_change_capture(const nlohmann::json& cursor);
  Status install_change_capture();
  Status prepare_change_queries();
  Status acknowledge_changes();
  Expected<size_t> read_changes(size_t limit, RowSink& sink, bool& exhausted);
  Expected<size_t> read_triggers(size_t limit, RowSink& sink);
  nlohmann::json trigger_cursor() const;

  Config config_;
  std::vector<std::string> columns_;
  SqliteDb db_;
  ConnectorOpenOptions options_;
  bool is_view_ = false;
  bool cursor_nullable_ = true;  // false: the null pass is skipped
  size_t key_index_ = 0;         // key column among columns_ (triggers mode)
  // Prepared once, reset after every chunk: no lock on the agency database
  // is held between chunks, nor while the sink maps a chunk.
  SqliteStmt nulls_first_;   // c IS NULL ORDER BY k
  SqliteStmt nulls_after_;   // c IS NULL AND k > ?2 (>= when the key is trusted)
  SqliteStmt main_start_;    // c IS NOT NULL (no boundary yet)
  SqliteStmt main_ge_;       // c >= ?1: the boundary group again, then on
  SqliteStmt main_after_;    // (c, k) > (?1, ?2): keyset within this open (>= when trusted)
  SqliteStmt full_first_;    // full refresh / snapshot: ORDER BY k
  SqliteStmt full_after_;    // k > ?2 (>= when trusted)

  bool opened_with_cursor_ = false;
  bool touched_ = false;  // a row was visited since open

  // Null pass.
  bool nulls_done_ = false;
  bool null_has_pos_ = false;
  OwnedValue null_pos_key_;
  SentSet nulls_old_;  // from the cursor; dropped when the pass completes
  SentSet nulls_new_;  // NULL-cursor rows visited in this open's pass

  // Main pass.
  bool main_has_pos_ = false;  // a non-null row was visited in this open
  OwnedValue pos_value_;
  OwnedValue pos_key_;
  bool has_boundary_ = false;  // boundary_value_ is set
  OwnedValue boundary_value_;  // V: the greatest value visited (or from the cursor)
  bool old_active_ = false;    // still at the cursor's V: boundary_old_ applies
  SentSet boundary_old_;
  SentSet boundary_new_;

  // Full pass (full refresh, or the trigger mode's snapshot).
  bool full_has_pos_ = false;
  OwnedValue full_pos_key_;

  // Trusted keys: digests of the rows handled at the current position
  // (equal cursor and key), so a run cut by a chunk boundary resumes exactly.
  std::vector<uint64_t> run_digests_;
  std::vector<uint8_t> run_used_;  // per run entry from before this chunk: matched in it
  size_t run_prior_ = 0;           // run entries from before this chunk
  bool repeat_seen_ = false;
  std::vector<std::string> advisories_;
  std::optional<int64_t> estimated_rows_;

  // Trigger mode.
  std::string change_table_;
  bool snapshot_active_ = false;  // the initial full pass is not complete yet
  int64_t change_id_ = 0;         // the last change handed out (or covered by the snapshot)
  int64_t durable_change_id_ = -1;  // may be acknowledged at the next read(); -1 = nothing yet
  int64_t acknowledged_id_ = 0;
  bool touched_in_read_ = false;  // this read() handed out rows (their op is fixed)
  SqliteStmt changes_;      // change_id > ?1 ORDER BY change_id LIMIT ?2, joined to the current row
  SqliteStmt acknowledge_;  // DELETE change_id <= ?1
  std::vector<FieldValue> delete_values_;  // reused: the key, every other column NULL

  // Pacing (rows_per_second).
  int64_t pace_next_ns_ = 0;  // steady clock: when the next chunk may start

  Chunk chunk_;
  std::string digest_buf_;  // reused for every row
};

}  // namespace dxhub
