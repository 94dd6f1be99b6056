// Reads one table of an agency SQLite database incrementally, ordered by
// (cursor_column, key_column), so that every committed row version is
// delivered, and none twice. The database is opened read-only: an agency
// database is never written.
//
// Settings (connector config, a JSON object):
//   database          path of the agency database (required)
//   table             table to read (required; a view is refused, see key)
//   cursor_column     "last changed" column, e.g. gxsj (required)
//   key_column        the row's identity (required): must be provably unique
//                     and NOT NULL -- an INTEGER PRIMARY KEY (rowid alias),
//                     or a column declared NOT NULL with a single-column,
//                     non-partial UNIQUE index or PRIMARY KEY (a TEXT PRIMARY
//                     KEY allows NULL in SQLite unless declared NOT NULL).
//                     Anything else is refused at open (kConfig).
//   fetch_rows        optional cap on rows per read()
//   settle_seconds    optional, default 0: rows whose cursor value is newer
//                     than (now - settle_seconds) are left for a later read
//   cursor_format     how to compute "now - settle" in the column's terms:
//                     "datetime" (TEXT 'YYYY-MM-DD HH:MM:SS[.fff]' local time
//                     at source_utc_offset), "epoch_seconds", "epoch_millis",
//                     or "opaque" (default; settle_seconds > 0 is refused)
//   source_utc_offset "+08:00" by default; only for "datetime"
//   now_ms            tests only: a fixed clock (Unix milliseconds)
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
//    integers and reals compare numerically. The cursor column must use the
//    BINARY collation (checked). With settle_seconds > 0 every value must be
//    of the format's type (TEXT for datetime, numbers for epoch_*): checked
//    at open, since a TEXT value in an epoch column would never settle.
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

#include "connectors/connector.h"
#include "core/common/row.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

class SqliteTableConnector final : public Connector {
 public:
  static constexpr const char* kKind = "sqlite_table";

  enum class CursorFormat { kOpaque, kDatetime, kEpochSeconds, kEpochMillis };

  struct Config {
    std::string database;
    std::string table;
    std::string cursor_column;
    std::string key_column;
    size_t fetch_rows = 0;  // 0 = no cap beyond read()'s max_rows
    int64_t settle_seconds = 0;
    CursorFormat cursor_format = CursorFormat::kOpaque;
    int32_t source_utc_offset_seconds = 8 * 3600;
    std::optional<int64_t> now_ms;  // fixed clock for tests; system clock when empty
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // Opens the database, checks the table, every column and the key's
  // uniqueness, prepares the queries. Missing/unreadable database: kSource
  // naming the path. Missing table or column, a key that is not provably
  // unique and NOT NULL, bad config or cursor: kConfig naming them.
  static Expected<std::unique_ptr<SqliteTableConnector>> open(const nlohmann::json& config,
                                                              const std::vector<std::string>& columns,
                                                              const nlohmann::json& cursor);

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;

  // The settle bound for `now_ms` as the SQL value rows are compared with
  // (public for tests): 'YYYY-MM-DD HH:MM:SS' text or an integer.
  struct Bound {
    bool is_text = false;
    int64_t i = 0;
    std::string text;
  };
  static Bound settle_bound(const Config& config, int64_t now_ms);

 private:
  // One owned, typed SQLite value (cursor value or key).
  struct OwnedValue {
    FieldValue::Type type = FieldValue::Type::kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;  // reused across rows: assign() keeps its capacity
  };

  // Rows already sent, as (key, digest). Append-only while reading; the set
  // loaded from the cursor gets a hash index for lookups. Key bytes live in
  // one arena so that appending a row does not allocate once warmed up.
  class SentSet {
   public:
    void clear();
    void reserve(size_t entries, size_t key_bytes);
    void append(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t key_hash,
                uint64_t digest);
    void build_index();
    // Index of the entry with this key, or -1.
    int64_t find(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t key_hash) const;
    uint64_t digest(size_t index) const { return entries_[index].digest; }
    void consume(size_t index) { entries_[index].consumed = true; }
    size_t size() const { return entries_.size(); }
    // Appends [typed key, hex digest] for entries (only unconsumed ones if asked).
    void to_json(nlohmann::json& array, bool only_unconsumed) const;
    Status load(const nlohmann::json& array, const std::string& what);

   private:
    struct Entry {
      uint64_t key_hash;
      uint64_t digest;
      int64_t i;
      double d;
      uint32_t offset;
      uint32_t length;
      FieldValue::Type type;
      bool consumed;
    };
    std::vector<Entry> entries_;
    std::string key_bytes_;
    std::vector<uint32_t> slots_;  // open addressing: entry index + 1, 0 = empty
  };

  SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db);
  Status check_columns();
  Status check_key_is_unique_not_null();
  Status check_cursor_values_match_format();
  Status load_cursor(const nlohmann::json& cursor);
  Status prepare_queries();
  Status source_failure(const Status& cause) const;
  int64_t now_ms() const;
  Status bind_bound(SqliteStmt& stmt);
  // One pass over `stmt` (null pass or main pass); returns rows delivered.
  Expected<size_t> read_pass(SqliteStmt& stmt, bool null_pass, size_t limit, RowSink& sink, bool& exhausted);
  uint64_t row_digest();  // of values_ (selected columns, cursor, key)

  Config config_;
  std::vector<std::string> columns_;
  SqliteDb db_;
  bool cursor_nullable_ = true;  // false: the null pass is skipped
  // Prepared once, reset after every read(): no lock on the agency database
  // is held between batches.
  SqliteStmt nulls_first_;   // c IS NULL ORDER BY k
  SqliteStmt nulls_after_;   // c IS NULL AND k > ?2
  SqliteStmt main_start_;    // c IS NOT NULL (no boundary yet)
  SqliteStmt main_ge_;       // c >= ?1: the boundary group again, then on
  SqliteStmt main_after_;    // (c, k) > (?1, ?2): keyset within this open

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

  std::vector<FieldValue> values_;  // reused for every row: selected columns, then cursor and key
  std::string digest_buf_;          // reused for every row
};

}  // namespace dxhub
