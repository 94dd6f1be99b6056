#include "connectors/sqlite_table/sqlite_table_connector.h"

#include <strings.h>

#include <utility>

namespace dxhub {

namespace {

Expected<std::string> required_string(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return config_error(std::string("sqlite_table config needs a non-empty string \"") + key + "\"");
  }
  return it->get<std::string>();
}

bool same_identifier(const std::string& a, const std::string& b) {
  // SQLite identifiers are case-insensitive (ASCII).
  return a.size() == b.size() && strcasecmp(a.c_str(), b.c_str()) == 0;
}

}  // namespace

Expected<SqliteTableConnector::Config> SqliteTableConnector::parse_config(const nlohmann::json& config) {
  if (!config.is_object()) return config_error("sqlite_table config must be a JSON object");
  Config c;
  DXHUB_ASSIGN_OR_RETURN(c.database, required_string(config, "database"));
  DXHUB_ASSIGN_OR_RETURN(c.table, required_string(config, "table"));
  DXHUB_ASSIGN_OR_RETURN(c.cursor_column, required_string(config, "cursor_column"));
  DXHUB_ASSIGN_OR_RETURN(c.key_column, required_string(config, "key_column"));
  if (auto it = config.find("fetch_rows"); it != config.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
      return config_error("sqlite_table config \"fetch_rows\" must be a positive integer");
    }
    c.fetch_rows = it->get<size_t>();
  }
  return c;
}

SqliteTableConnector::SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db)
    : config_(std::move(config)), columns_(std::move(columns)), db_(std::move(db)), values_(columns_.size()) {}

Expected<std::unique_ptr<SqliteTableConnector>> SqliteTableConnector::open(const nlohmann::json& config,
                                                                          const std::vector<std::string>& columns,
                                                                          const nlohmann::json& cursor) {
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(c.database, SqliteDb::Mode::kReadOnly, StatusCode::kSource));
  // Read-only twice over: the open flags, and the connection refuses writes.
  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA query_only = ON"));
  std::unique_ptr<SqliteTableConnector> conn(new SqliteTableConnector(std::move(c), columns, std::move(db)));
  DXHUB_RETURN_IF_ERROR(conn->check_columns());

  if (!cursor.is_null()) {
    const std::string what = "invalid cursor for table " + conn->config_.table + ": ";
    if (!cursor.is_object() || !cursor.contains("value") || !cursor.contains("key")) {
      return config_error(what + "expected {\"value\": ..., \"key\": ...}, got " + cursor.dump());
    }
    auto load = [&](const nlohmann::json& j, PositionValue& out) -> Status {
      if (j.is_null()) {
        out.type = FieldValue::Type::kNull;
      } else if (j.is_number_integer()) {
        out.type = FieldValue::Type::kInt;
        out.i = j.get<int64_t>();
      } else if (j.is_number_float()) {
        out.type = FieldValue::Type::kReal;
        out.d = j.get<double>();
      } else if (j.is_string()) {
        out.type = FieldValue::Type::kText;
        out.s = j.get<std::string>();
      } else {
        return config_error(what + "unsupported value " + j.dump());
      }
      return Status::ok();
    };
    DXHUB_RETURN_IF_ERROR(load(cursor["value"], conn->position_value_));
    DXHUB_RETURN_IF_ERROR(load(cursor["key"], conn->position_key_));
    conn->has_position_ = true;
  }
  DXHUB_RETURN_IF_ERROR(conn->prepare_queries());
  return conn;
}

Status SqliteTableConnector::check_columns() {
  DXHUB_ASSIGN_OR_RETURN(bool exists, db_.table_exists(config_.table));
  if (!exists) return config_error("database " + config_.database + " has no table " + config_.table);
  DXHUB_ASSIGN_OR_RETURN(auto info, db_.prepare("PRAGMA table_info(" + sqlite_quote_identifier(config_.table) + ")"));
  std::vector<std::string> present;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, info.step());
    if (!row) break;
    present.emplace_back(info.column_text(1));
  }
  auto require = [&](const std::string& name, const char* role) -> Status {
    for (const auto& p : present) {
      if (same_identifier(p, name)) return Status::ok();
    }
    return config_error("table " + config_.table + " has no column " + name + " (" + role + ")");
  };
  DXHUB_RETURN_IF_ERROR(require(config_.cursor_column, "cursor_column"));
  DXHUB_RETURN_IF_ERROR(require(config_.key_column, "key_column"));
  for (const auto& c : columns_) DXHUB_RETURN_IF_ERROR(require(c, "requested column"));
  return Status::ok();
}

Status SqliteTableConnector::prepare_queries() {
  const std::string cur = sqlite_quote_identifier(config_.cursor_column);
  const std::string key = sqlite_quote_identifier(config_.key_column);
  std::string select = "SELECT ";
  for (const auto& c : columns_) select += sqlite_quote_identifier(c) + ", ";
  select += cur + ", " + key + " FROM " + sqlite_quote_identifier(config_.table);
  const std::string order = " ORDER BY " + cur + ", " + key;  // NULL cursors sort first
  DXHUB_ASSIGN_OR_RETURN(from_start_, db_.prepare(select + order));
  DXHUB_ASSIGN_OR_RETURN(after_value_, db_.prepare(select + " WHERE " + cur + " > ?1 OR (" + cur + " = ?1 AND " +
                                                   key + " > ?2)" + order));
  DXHUB_ASSIGN_OR_RETURN(after_null_, db_.prepare(select + " WHERE " + cur + " IS NOT NULL OR (" + cur +
                                                  " IS NULL AND " + key + " > ?1)" + order));
  return Status::ok();
}

Status SqliteTableConnector::bind_value(SqliteStmt& stmt, int index, const PositionValue& v) {
  switch (v.type) {
    case FieldValue::Type::kInt: return stmt.bind_int64(index, v.i);
    case FieldValue::Type::kReal: return stmt.bind_double(index, v.d);
    case FieldValue::Type::kText: return stmt.bind_text(index, v.s);
    default: return stmt.bind_null(index);
  }
}

Status SqliteTableConnector::source_failure(const Status& cause) const {
  return Status(StatusCode::kSource, "reading table " + config_.table + " of " + config_.database + ": " +
                                         cause.message());
}

Expected<size_t> SqliteTableConnector::read(size_t max_rows, RowSink& sink) {
  size_t limit = max_rows;
  if (config_.fetch_rows != 0 && config_.fetch_rows < limit) limit = config_.fetch_rows;
  if (limit == 0) return size_t{0};

  SqliteStmt* stmt = &from_start_;
  if (has_position_ && position_value_.type == FieldValue::Type::kNull) {
    stmt = &after_null_;
    DXHUB_RETURN_IF_ERROR(bind_value(*stmt, 1, position_key_));
  } else if (has_position_) {
    stmt = &after_value_;
    DXHUB_RETURN_IF_ERROR(bind_value(*stmt, 1, position_value_));
    DXHUB_RETURN_IF_ERROR(bind_value(*stmt, 2, position_key_));
  }

  const int ncols = static_cast<int>(columns_.size());
  size_t n = 0;
  Status result;
  while (n < limit) {
    Expected<bool> row = stmt->step();
    if (!row) {
      result = source_failure(row.status());
      break;
    }
    if (!*row) break;
    for (int c = 0; c < ncols; ++c) {
      FieldValue& v = values_[static_cast<size_t>(c)];
      switch (stmt->column_type(c)) {
        case SQLITE_INTEGER: v = FieldValue::integer(stmt->column_int64(c)); break;
        case SQLITE_FLOAT: v = FieldValue::real(stmt->column_double(c)); break;
        case SQLITE_TEXT: v = FieldValue::text(stmt->column_text(c)); break;
        case SQLITE_BLOB: v = FieldValue::blob(stmt->column_blob(c)); break;
        default: v = FieldValue::null(); break;
      }
    }
    result = sink.on_row(RowView{values_.data(), values_.size()});
    if (!result.is_ok()) break;
    // The row is delivered: move the position past it.
    auto take = [&](int col, PositionValue& out) {
      switch (stmt->column_type(col)) {
        case SQLITE_INTEGER: out.type = FieldValue::Type::kInt; out.i = stmt->column_int64(col); return true;
        case SQLITE_FLOAT: out.type = FieldValue::Type::kReal; out.d = stmt->column_double(col); return true;
        case SQLITE_TEXT: out.type = FieldValue::Type::kText; out.s.assign(stmt->column_text(col)); return true;
        case SQLITE_NULL: out.type = FieldValue::Type::kNull; return true;
        default: return false;  // a BLOB cannot be carried in a JSON cursor
      }
    };
    if (!take(ncols, position_value_) || !take(ncols + 1, position_key_)) {
      result = Status(StatusCode::kSource, "table " + config_.table + ": cursor/key column " +
                                               config_.cursor_column + "/" + config_.key_column +
                                               " holds a BLOB, which cannot be a cursor");
      break;
    }
    has_position_ = true;
    ++n;
  }
  Status reset = stmt->reset();
  if (!result.is_ok()) return result;
  if (!reset.is_ok()) return source_failure(reset);
  return n;
}

nlohmann::json SqliteTableConnector::cursor() const {
  if (!has_position_) return nullptr;
  auto to_json = [](const PositionValue& v) -> nlohmann::json {
    switch (v.type) {
      case FieldValue::Type::kInt: return v.i;
      case FieldValue::Type::kReal: return v.d;
      case FieldValue::Type::kText: return v.s;
      default: return nullptr;
    }
  };
  return nlohmann::json{{"value", to_json(position_value_)}, {"key", to_json(position_key_)}};
}

}  // namespace dxhub
