// Reads one table of an agency SQLite database incrementally, ordered by
// (cursor_column, key_column). The database is opened read-only: an agency
// database is never written.
//
// Config: {"database": path, "table": name, "cursor_column": "gxsj",
//          "key_column": "id", "fetch_rows": N (optional cap per read)}
// Cursor: {"value": <last cursor column value>, "key": <last key value>},
// both typed as SQLite returned them (integer, real, text or null).
// The key column must be unique and NOT NULL (a primary key), so that
// (cursor, key) totally orders the rows and none is skipped or repeated,
// even when many rows share one timestamp and a batch ends among them.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/common/row.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

class SqliteTableConnector final : public Connector {
 public:
  static constexpr const char* kKind = "sqlite_table";

  struct Config {
    std::string database;
    std::string table;
    std::string cursor_column;
    std::string key_column;
    size_t fetch_rows = 0;  // 0 = no cap beyond read()'s max_rows
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // Opens the database, checks the table and every column, prepares the
  // queries. Missing/unreadable database: kSource naming the path. Missing
  // table or column, bad config or cursor: kConfig naming them.
  static Expected<std::unique_ptr<SqliteTableConnector>> open(const nlohmann::json& config,
                                                              const std::vector<std::string>& columns,
                                                              const nlohmann::json& cursor);

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;

 private:
  // One typed value of the position (cursor column or key column).
  struct PositionValue {
    FieldValue::Type type = FieldValue::Type::kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;  // reused across rows: assign() keeps its capacity
  };

  SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db);
  Status check_columns();
  Status prepare_queries();
  Status bind_value(SqliteStmt& stmt, int index, const PositionValue& v);
  Status source_failure(const Status& cause) const;

  Config config_;
  std::vector<std::string> columns_;
  SqliteDb db_;
  // Prepared once, reset after every read(): no lock on the agency database
  // is held between batches, and the (cursor, key) keyset continues exactly.
  SqliteStmt from_start_;   // no position yet
  SqliteStmt after_value_;  // position has a non-null cursor value
  SqliteStmt after_null_;   // position is among rows whose cursor is NULL
  bool has_position_ = false;
  PositionValue position_value_;
  PositionValue position_key_;
  std::vector<FieldValue> values_;  // reused for every row
};

}  // namespace dxhub
