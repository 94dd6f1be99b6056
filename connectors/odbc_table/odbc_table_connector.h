// Reads one table, view or query of any database with an ODBC driver
// (PostgreSQL through psqlODBC, SQLite through sqliteodbc, DM, KingbaseES,
// GaussDB...), in full or incrementally by (cursor_column, key_column), with
// the no-loss rules of connectors/sqlite_table (read its header): the
// boundary group c >= V is read again at each open and rows already sent
// there are skipped by (key, XXH3 digest) kept in the cursor; rows with a
// NULL cursor get their own pass; settle_seconds leaves rows stamped within
// the last S seconds for a later read (late commits).
//
// Settings (connector config, a JSON object; unknown keys are refused):
//   connection_string  ODBC connection string, e.g. "Driver=/usr/lib/.../
//                      psqlodbcw.so;Server=10.0.0.5;Port=5432;Database=hz"
//                      (no PWD/PASSWORD in it: see password_env)   } one of
//   dsn                a DSN from odbc.ini                          } these
//   user               optional, sent as UID
//   password_env       optional: NAME of the environment variable holding
//                      the password (sent as PWD; never logged, scrubbed
//                      from every driver message)
//   schema             optional schema of `table`
//   table              table or view to read (or "schema.table")  } one of
//   query              a SELECT, read as a derived table          } these
//   mode               "incremental" (default) or "full" (every run reads
//                      everything by key; the cursor stays null)
//   cursor_column      "last changed" column (incremental: required)
//   key_column         the row's identity (required): chunks resume after it
//   fetch_rows         rows per chunk (default 5000): each chunk is one short
//                      statement, closed before its rows reach the sink
//   rows_per_second    optional cap on rows read per second (0 = none)
//   settle_seconds, cursor_format, source_utc_offset, now_ms: as sqlite_table
//   login_timeout_seconds  default 10
//   query_timeout_seconds  default 0 (none)
//   limit_clause       how a chunk is bounded in SQL: "limit" (default;
//                      PostgreSQL, SQLite, DM, KingbaseES, GaussDB, MySQL),
//                      "fetch_first" (SQL:2008, Oracle 12+, DB2), "none"
//                      (SQL_ATTR_MAX_ROWS only; sqliteodbc then keeps
//                      SQLite's read lock: use "limit" there)
//
// Identifiers (schema, table, columns, cursor, key) must be plain: a letter
// (A-Z a-z, or a CJK ideograph), or _, then letters, digits, _ ; at most
// 128 bytes. They are quoted with the driver's SQL_IDENTIFIER_QUOTE_CHAR
// (quotes doubled), so they must be spelled as the catalog stores them
// (PostgreSQL folds unquoted names to lower case); a column whose spelling
// differs only in ASCII case from a unique catalog column is matched to it.
//
// Column types map as SQLite's do (see odbc_value_kind()): integers and BIT
// -> kInt, REAL/FLOAT/DOUBLE -> kReal, DECIMAL/NUMERIC -> kText (exact
// digits), character -> kText (UTF-8), binary -> kBlob, date/time/timestamp
// and others -> kText as the driver renders them ('YYYY-MM-DD HH:MM:SS[.f]').
// Integers are fetched as text and parsed strictly; a value that does not
// convert goes to on_bad_input (in the cursor or key: the read fails).
//
// Politeness: every chunk is one autocommit statement, closed and ended
// (SQLEndTran) before its rows reach the sink, so no read lock or open
// transaction is held while the engine works; rows_per_second paces chunks.
// A lost connection fails the read (kSource, cursor unchanged); the next
// read connects again.
//
// Cursor: the sqlite_table form {"v": 2, "value", "boundary", "nulls"} with
// typed values; the cursor column's value is bound back with the column's
// own SQL type, so a timestamp text compares as a timestamp.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/common/boundary_set.h"
#include "connectors/connector.h"
#include "connectors/odbc_table/odbc_api.h"
#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

// The FieldValue type an ODBC SQL data type is delivered as.
FieldValue::Type odbc_value_kind(SQLSMALLINT sql_type);
// A plain identifier as documented above.
bool odbc_plain_identifier(std::string_view name);
// `name` between `quote` characters, each `quote` inside doubled. An empty
// quote is refused (kConfig) unless the name is plain.
Expected<std::string> odbc_quote_identifier(std::string_view name, std::string_view quote);

class OdbcTableConnector final : public Connector {
 public:
  static constexpr const char* kKind = "odbc_table";

  enum class CursorFormat { kOpaque, kDatetime, kEpochSeconds, kEpochMillis };
  enum class LimitClause { kLimit, kFetchFirst, kNone };

  struct Config {
    std::string connection_string;  // as configured (no password)
    std::string dsn;
    std::string user;
    std::string password_env;
    std::string schema;
    std::string table;
    std::string query;
    bool incremental = true;
    std::string cursor_column;
    std::string key_column;
    size_t fetch_rows = 5000;
    double rows_per_second = 0;
    int64_t settle_seconds = 0;
    CursorFormat cursor_format = CursorFormat::kOpaque;
    int32_t source_utc_offset_seconds = 8 * 3600;
    std::optional<int64_t> now_ms;
    int login_timeout_seconds = 10;
    int query_timeout_seconds = 0;
    LimitClause limit_clause = LimitClause::kLimit;
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // Connects (kSource naming the source on failure, never the password),
  // discovers or checks the columns (kConfig), loads the cursor, and looks
  // for the advisories.
  static Expected<std::unique_ptr<OdbcTableConnector>> open(const nlohmann::json& config,
                                                            const std::vector<std::string>& columns,
                                                            const nlohmann::json& cursor,
                                                            const ConnectorOpenOptions& options = {});

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;
  std::vector<std::string> advisories() const override { return advisories_; }
  std::optional<int64_t> estimated_rows() const override { return estimated_rows_; }

  // The full connection string with UID/PWD (tests, bench); holds the secret.
  static Expected<std::string> build_connection_string(const Config& config, std::string* secret);

 private:
  struct OwnedValue {
    FieldValue::Type type = FieldValue::Type::kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;
  };
  // One selected column: how it is fetched.
  struct ColumnPlan {
    std::string sql_name;  // as the catalog spells it
    SQLSMALLINT sql_type = SQL_VARCHAR;
    SQLULEN size = 0;
    SQLSMALLINT digits = 0;
    bool nullable = true;
    FieldValue::Type kind = FieldValue::Type::kText;
    // Cursor or key that is also a selected column: copied from that one,
    // not fetched twice.
    int32_t same_as = -1;
  };
  // A bound parameter; its buffers stay put until the statement ran.
  struct Param {
    OwnedValue value;
    SQLLEN indicator = 0;
    const ColumnPlan* column = nullptr;
  };

  // Rows already sent, as (key, digest): connectors/common/boundary_set.h.
  using SentSet = BoundarySet;

  enum class Pass { kNulls, kMain, kFull };

  OdbcTableConnector(Config config, std::vector<std::string> columns);
  Status connect();
  void disconnect();
  Status discover_columns();
  Status build_queries();
  Status load_cursor(const nlohmann::json& cursor);
  void find_advisories();
  void estimate_rows();  // full load: one COUNT(*); a failure leaves the estimate unknown
  Status source_failure(const Status& cause) const;
  std::string source_name() const;
  int64_t now_ms() const;
  void pace(size_t& request);
  // Runs one chunk query of `pass` for up to `request` rows into the chunk
  // buffers, then closes the statement. Sets `exhausted` when fewer came.
  Status fetch_chunk(Pass pass, size_t request, bool& exhausted);
  Status fetch_value(SQLUSMALLINT column, const ColumnPlan& plan, size_t slot, bool& bad);
  void bind_param(const ColumnPlan& column, const OwnedValue& value);
  Status bind_params();
  // Hands the fetched chunk to the sink under the sqlite_table rules.
  Expected<size_t> deliver_chunk(Pass pass, RowSink& sink);
  uint64_t row_digest(const FieldValue* row) const;

  Config config_;
  std::vector<std::string> columns_;  // as requested (or discovered)
  std::string secret_;
  std::string connection_string_;
  odbc::Connection db_;
  odbc::Statement stmt_;  // declared after db_: freed before it
  std::string quote_;
  std::string source_sql_;  // quoted table or (query) alias
  std::vector<ColumnPlan> plans_;  // selected columns, [cursor], key
  size_t width_ = 0;
  size_t cursor_index_ = 0;
  size_t key_index_ = 0;
  bool cursor_nullable_ = true;
  std::vector<std::string> advisories_;
  std::optional<int64_t> estimated_rows_;

  // SQL of each chunk query without its row bound.
  std::string sql_nulls_first_, sql_nulls_after_, sql_main_start_, sql_main_ge_, sql_main_after_;
  std::string sql_full_first_, sql_full_after_;
  std::string sql_buf_;  // reused per chunk
  std::vector<Param> params_;
  size_t param_count_ = 0;

  // Chunk buffers, reused: values (offsets fixed up after the fetch), spans
  // into the arena, one bad-column mark per row.
  std::vector<FieldValue> chunk_values_;
  std::vector<std::pair<size_t, size_t>> chunk_spans_;
  std::vector<int32_t> chunk_bad_;
  std::vector<char> arena_;
  size_t arena_used_ = 0;
  size_t chunk_rows_ = 0;
  mutable std::string digest_buf_;

  // Politeness.
  bool paced_ = false;
  std::chrono::steady_clock::time_point pace_start_;
  size_t paced_rows_ = 0;

  // Position (as in sqlite_table).
  bool opened_with_cursor_ = false;
  bool touched_ = false;
  bool nulls_done_ = false;
  bool null_has_pos_ = false;
  OwnedValue null_pos_key_;
  SentSet nulls_old_;
  SentSet nulls_new_;
  bool main_has_pos_ = false;
  OwnedValue pos_value_;
  OwnedValue pos_key_;
  bool has_boundary_ = false;
  OwnedValue boundary_value_;
  bool old_active_ = false;
  SentSet boundary_old_;
  SentSet boundary_new_;
  bool full_has_pos_ = false;
  OwnedValue full_pos_key_;
};

}  // namespace dxhub
