#include "connectors/sqlite_table/sqlite_table_connector.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <thread>
#include <utility>

#include "connectors/common/row_digest.h"
#include "connectors/sqlite_table/sqlite_table_values.h"

namespace dxhub {

using namespace sqlite_table_internal;

// ---- config ----

namespace {

// Names go into SQL quoted, and into messages: no NUL (SQLite would cut the
// statement there), no control characters, valid UTF-8.
Status check_identifier(const std::string& name, const std::string& what) {
  if (name.empty()) return config_error("sqlite_table config: " + what + " is empty");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return config_error("sqlite_table config: " + what + " holds a control character");
  }
  if (!is_valid_utf8(name)) return config_error("sqlite_table config: " + what + " is not valid UTF-8");
  return Status::ok();
}

Expected<std::string> optional_identifier(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::string();
  if (!it->is_string()) return config_error(std::string("sqlite_table config \"") + key + "\" must be a string");
  std::string name = it->get<std::string>();
  DXHUB_RETURN_IF_ERROR(check_identifier(name, std::string("\"") + key + "\""));
  return name;
}

Expected<size_t> positive_count(const nlohmann::json& config, const char* key, size_t fallback, int64_t max) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > max) {
    return config_error(std::string("sqlite_table config \"") + key + "\" must be an integer from 1 to " +
                        std::to_string(max));
  }
  return static_cast<size_t>(it->get<int64_t>());
}

}  // namespace

Expected<SqliteTableConnector::Config> SqliteTableConnector::parse_config(const nlohmann::json& config) {
  if (!config.is_object()) return config_error("sqlite_table config must be a JSON object");
  static const char* const known[] = {"database",      "table",          "query",         "mode",
                                      "cursor_column", "key_column",     "key_unique",    "fetch_rows",
                                      "chunk_rows",    "rows_per_second", "settle_seconds", "cursor_format",
                                      "source_utc_offset", "now_ms"};
  for (const auto& item : config.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || item.key() == k;
    if (!ok) return config_error("sqlite_table config has an unknown key " + dump_safe(item.key()));
  }
  Config c;
  DXHUB_ASSIGN_OR_RETURN(c.database, required_string(config, "database"));
  DXHUB_ASSIGN_OR_RETURN(c.table, optional_identifier(config, "table"));
  if (auto it = config.find("query"); it != config.end()) {
    if (!it->is_string()) return config_error("sqlite_table config \"query\" must be a string");
    c.query = it->get<std::string>();
    // Trailing blanks and semicolons would end the subquery it is read as.
    while (!c.query.empty() && (std::isspace(static_cast<unsigned char>(c.query.back())) || c.query.back() == ';')) {
      c.query.pop_back();
    }
    if (c.query.empty()) return config_error("sqlite_table config \"query\" is empty");
    if (c.query.find('\0') != std::string::npos) return config_error("sqlite_table config \"query\" holds a NUL byte");
  }
  if (c.table.empty() == c.query.empty()) {
    return config_error("sqlite_table config needs exactly one of \"table\" (a table or view) and \"query\"");
  }
  if (auto it = config.find("mode"); it != config.end()) {
    const std::string m = it->is_string() ? it->get<std::string>() : std::string();
    if (m == "incremental") c.mode = Mode::kIncremental;
    else if (m == "full_refresh") c.mode = Mode::kFullRefresh;
    else if (m == "triggers") c.mode = Mode::kTriggers;
    else return config_error("sqlite_table config \"mode\" must be one of incremental, full_refresh, triggers");
  }
  if (c.mode == Mode::kIncremental) {
    DXHUB_ASSIGN_OR_RETURN(c.cursor_column, required_string(config, "cursor_column"));
    DXHUB_RETURN_IF_ERROR(check_identifier(c.cursor_column, "\"cursor_column\""));
  } else if (config.contains("cursor_column")) {
    return config_error("sqlite_table config \"cursor_column\" is for mode incremental only");
  }
  DXHUB_ASSIGN_OR_RETURN(c.key_column, required_string(config, "key_column"));
  DXHUB_RETURN_IF_ERROR(check_identifier(c.key_column, "\"key_column\""));
  if (auto it = config.find("key_unique"); it != config.end()) {
    const std::string k = it->is_string() ? it->get<std::string>() : std::string();
    if (k == "trust") c.trust_key = true;
    else if (k != "prove") return config_error("sqlite_table config \"key_unique\" must be \"prove\" or \"trust\"");
  }
  if (c.mode == Mode::kTriggers) {
    if (c.table.empty()) return config_error("sqlite_table config: mode triggers needs a \"table\", not a query");
    if (c.trust_key) {
      return config_error("sqlite_table config: mode triggers needs a key proven unique (\"key_unique\" \"prove\")");
    }
  }
  DXHUB_ASSIGN_OR_RETURN(c.fetch_rows, positive_count(config, "fetch_rows", 0, std::numeric_limits<int32_t>::max()));
  DXHUB_ASSIGN_OR_RETURN(c.chunk_rows, positive_count(config, "chunk_rows", c.chunk_rows, 1'000'000));
  DXHUB_ASSIGN_OR_RETURN(size_t rate, positive_count(config, "rows_per_second", 0, 1'000'000'000));
  c.rows_per_second = static_cast<int64_t>(rate);
  if (auto it = config.find("settle_seconds"); it != config.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 366LL * 86400) {
      return config_error("sqlite_table config \"settle_seconds\" must be an integer from 0 to 31622400");
    }
    c.settle_seconds = it->get<int64_t>();
  }
  if (auto it = config.find("cursor_format"); it != config.end()) {
    const std::string f = it->is_string() ? it->get<std::string>() : std::string();
    if (f == "opaque") c.cursor_format = CursorFormat::kOpaque;
    else if (f == "datetime") c.cursor_format = CursorFormat::kDatetime;
    else if (f == "epoch_seconds") c.cursor_format = CursorFormat::kEpochSeconds;
    else if (f == "epoch_millis") c.cursor_format = CursorFormat::kEpochMillis;
    else {
      return config_error("sqlite_table config \"cursor_format\" must be one of datetime, epoch_seconds, "
                          "epoch_millis, opaque; got " + dump_safe(*it));
    }
  }
  if (auto it = config.find("source_utc_offset"); it != config.end()) {
    if (!it->is_string()) return config_error("sqlite_table config \"source_utc_offset\" must be a string like +08:00");
    DXHUB_ASSIGN_OR_RETURN(c.source_utc_offset_seconds, parse_utc_offset(it->get<std::string>()));
  }
  if (auto it = config.find("now_ms"); it != config.end()) {
    if (!it->is_number_integer()) return config_error("sqlite_table config \"now_ms\" must be an integer");
    c.now_ms = it->get<int64_t>();
  }
  if (c.mode != Mode::kIncremental && c.settle_seconds > 0) {
    return config_error("sqlite_table config \"settle_seconds\" is for mode incremental only");
  }
  if (c.settle_seconds > 0 && c.cursor_format == CursorFormat::kOpaque) {
    return config_error("sqlite_table config for " + (c.table.empty() ? std::string("a query") : "table " + c.table) +
                        ": \"settle_seconds\" needs a \"cursor_format\" (datetime, epoch_seconds or epoch_millis) "
                        "to know what \"now\" is in column " + c.cursor_column);
  }
  return c;
}

SqliteTableConnector::Bound SqliteTableConnector::settle_bound(const Config& config, int64_t now_ms) {
  Bound b;
  const int64_t threshold_ms = now_ms - config.settle_seconds * 1000;
  switch (config.cursor_format) {
    case CursorFormat::kEpochMillis: b.i = threshold_ms; break;
    case CursorFormat::kEpochSeconds: b.i = floor_div(threshold_ms, 1000); break;
    default: {
      // Whole seconds, floored: a row stamped within the threshold's second
      // with a fraction waits for the next read (late, never lost).
      const time_t local = static_cast<time_t>(floor_div(threshold_ms, 1000) + config.source_utc_offset_seconds);
      std::tm tm{};
      gmtime_r(&local, &tm);
      char buf[96];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec);
      b.is_text = true;
      b.text = buf;
      break;
    }
  }
  return b;
}

// ---- open ----

SqliteTableConnector::SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db,
                                           ConnectorOpenOptions options)
    : config_(std::move(config)), columns_(std::move(columns)), db_(std::move(db)), options_(std::move(options)) {
  // Warm capacity so that ordinary tie groups, chunks and rows never allocate.
  boundary_new_.reserve(1024, 16 * 1024);
  nulls_new_.reserve(64, 1024);
  digest_buf_.reserve(4096);
  run_digests_.reserve(64);
  run_used_.reserve(64);
  chunk_.reserve_bytes(256 * 1024);
}

SqliteTableConnector::~SqliteTableConnector() = default;

Expected<std::unique_ptr<SqliteTableConnector>> SqliteTableConnector::open(const nlohmann::json& config,
                                                                          const std::vector<std::string>& columns,
                                                                          const nlohmann::json& cursor,
                                                                          const ConnectorOpenOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  for (const auto& name : columns) DXHUB_RETURN_IF_ERROR(check_identifier(name, "a requested column name"));
  // Only trigger mode, and only outside a dry run, may write: it installs its
  // change table and triggers and acknowledges changes. Everything else is
  // read-only twice over: the open flags, and the connection refuses writes.
  const bool writes = c.mode == Mode::kTriggers && !options.dry_run;
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(c.database, writes ? SqliteDb::Mode::kReadWrite
                                                                         : SqliteDb::Mode::kReadOnly,
                                                     StatusCode::kSource));
  if (!writes) DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA query_only = ON"));
  std::unique_ptr<SqliteTableConnector> conn(
      new SqliteTableConnector(std::move(c), columns, std::move(db), options));
  DXHUB_RETURN_IF_ERROR(conn->check_source());
  DXHUB_RETURN_IF_ERROR(conn->check_columns());
  DXHUB_RETURN_IF_ERROR(conn->check_key_is_unique_not_null());
  DXHUB_RETURN_IF_ERROR(conn->check_cursor_values_match_format());
  if (conn->config_.mode == Mode::kIncremental) {
    DXHUB_RETURN_IF_ERROR(conn->load_cursor(cursor));
  }
  // Full refresh keeps no cursor (a saved one, e.g. from another mode, is
  // ignored: every run reads everything anyway).
  DXHUB_RETURN_IF_ERROR(conn->prepare_queries());
  if (conn->config_.mode == Mode::kTriggers) DXHUB_RETURN_IF_ERROR(conn->open_change_capture(cursor));
  if (options.dry_run && conn->config_.trust_key) DXHUB_RETURN_IF_ERROR(conn->check_repeats_now());
  // A full load (no cursor yet, or a full refresh) is counted when progress is shown.
  if (options.count_rows && (cursor.is_null() || conn->config_.mode == Mode::kFullRefresh)) conn->estimate_rows();
  return conn;
}

void SqliteTableConnector::estimate_rows() {
  auto stmt = db_.prepare("SELECT COUNT(*) FROM " + source_sql());
  if (!stmt) return;
  auto row = stmt->step();
  if (row && *row) estimated_rows_ = stmt->column_int64(0);
}

std::string SqliteTableConnector::source_sql() const {
  if (!config_.table.empty()) return sqlite_quote_identifier(config_.table);
  // On lines of its own, so that a trailing -- comment cannot swallow the ")".
  return "(\n" + config_.query + "\n) AS dxhub_source";
}

std::string SqliteTableConnector::source_name() const {
  if (!config_.query.empty()) return "the configured query";
  return (is_view_ ? "view " : "table ") + config_.table;
}

std::string SqliteTableConnector::cursor_sql() const {
  const std::string c = sqlite_quote_identifier(config_.cursor_column);
  // A table's collation is checked at open; a view's or query's cannot be.
  return config_.table.empty() || is_view_ ? c + " COLLATE BINARY" : c;
}

Status SqliteTableConnector::check_source() {
  if (!config_.table.empty()) {
    DXHUB_ASSIGN_OR_RETURN(bool exists, db_.table_exists(config_.table));
    if (!exists) return config_error("database " + config_.database + " has no table " + config_.table);
    DXHUB_ASSIGN_OR_RETURN(auto list, db_.prepare("SELECT type FROM pragma_table_list WHERE schema = 'main' AND "
                                                  "name = ?1"));
    DXHUB_RETURN_IF_ERROR(list.bind_text(1, config_.table));
    DXHUB_ASSIGN_OR_RETURN(bool listed, list.step());
    is_view_ = listed && list.column_text(0) == "view";
    if (is_view_ && config_.mode == Mode::kTriggers) {
      return config_error("view " + config_.table + ": mode triggers needs a table (no triggers on a view)");
    }
    return Status::ok();
  }
  // A query: one statement, read-only, returning rows. The connection also
  // refuses writes (query_only), and the wrapped form is checked again.
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), config_.query.c_str(), static_cast<int>(config_.query.size()), &raw, &tail);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK || raw == nullptr) {
    return config_error("sqlite_table config \"query\" does not compile: " + std::string(sqlite3_errmsg(db_.get())));
  }
  if (sqlite3_stmt_readonly(raw) == 0 || sqlite3_column_count(raw) == 0 || sqlite3_stmt_isexplain(raw) != 0) {
    return config_error("sqlite_table config \"query\" must be a read-only SELECT");
  }
  sqlite3_stmt* next = nullptr;
  rc = sqlite3_prepare_v2(db_.get(), tail, -1, &next, nullptr);
  SqliteStmt rest(next);
  if (rc != SQLITE_OK || next != nullptr) {
    return config_error("sqlite_table config \"query\" must be a single statement");
  }
  return Status::ok();
}

Status SqliteTableConnector::check_columns() {
  std::vector<std::string> present;
  if (!config_.table.empty()) {
    DXHUB_ASSIGN_OR_RETURN(auto info, db_.prepare("SELECT name, \"notnull\" FROM pragma_table_info(?1)"));
    DXHUB_RETURN_IF_ERROR(info.bind_text(1, config_.table));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, info.step());
      if (!row) break;
      present.emplace_back(info.column_text(0));
      if (config_.mode == Mode::kIncremental && same_identifier(present.back(), config_.cursor_column)) {
        cursor_nullable_ = info.column_int64(1) == 0;
      }
    }
  } else {
    DXHUB_ASSIGN_OR_RETURN(auto probe, db_.prepare(config_.query));
    for (int c = 0; c < probe.column_count(); ++c) {
      const char* name = probe.column_name(c);
      present.emplace_back(name != nullptr ? name : "");
      for (size_t k = 0; k + 1 < present.size(); ++k) {
        if (same_identifier(present[k], present.back())) {
          return config_error("the configured query returns column " + present.back() +
                              " twice; give one an alias (AS ...)");
        }
      }
    }
  }
  // Columns empty: every column of the source, in its order (discover).
  if (columns_.empty()) {
    for (const auto& p : present) DXHUB_RETURN_IF_ERROR(check_identifier(p, "a source column name"));
    columns_ = present;
  }
  auto require = [&](const std::string& name, const char* role) -> Status {
    for (const auto& p : present) {
      if (same_identifier(p, name)) return Status::ok();
    }
    return config_error(source_name() + " has no column " + name + " (" + role + ")");
  };
  if (config_.mode == Mode::kIncremental) DXHUB_RETURN_IF_ERROR(require(config_.cursor_column, "cursor_column"));
  DXHUB_RETURN_IF_ERROR(require(config_.key_column, "key_column"));
  for (const auto& c : columns_) DXHUB_RETURN_IF_ERROR(require(c, "requested column"));
  if (config_.mode == Mode::kTriggers) {
    // A delete carries only its key: the key must be among the columns read.
    key_index_ = columns_.size();
    for (size_t k = 0; k < columns_.size(); ++k) {
      if (same_identifier(columns_[k], config_.key_column)) key_index_ = k;
    }
    if (key_index_ == columns_.size()) {
      return config_error(source_name() + ": mode triggers needs key_column " + config_.key_column +
                          " among the columns read (a delete carries only the key)");
    }
  }

  // Equality of cursor values is decided here as BINARY does; another
  // collation would make SQLite's groups differ from ours.
  if (config_.mode == Mode::kIncremental && !config_.table.empty() && !is_view_) {
    const char* collation = nullptr;
    if (sqlite3_table_column_metadata(db_.get(), "main", config_.table.c_str(), config_.cursor_column.c_str(),
                                      nullptr, &collation, nullptr, nullptr, nullptr) == SQLITE_OK &&
        collation != nullptr && strcasecmp(collation, "BINARY") != 0) {
      return config_error("table " + config_.table + " cursor_column " + config_.cursor_column + " uses collation " +
                          collation + "; only BINARY orders cursor values exactly");
    }
  }
  return Status::ok();
}

Status SqliteTableConnector::check_key_is_unique_not_null() {
  if (config_.trust_key) return Status::ok();  // repeats are found while reading
  if (!config_.query.empty()) {
    return config_error("the configured query: key_column " + config_.key_column +
                        " cannot be proven unique; set \"key_unique\": \"trust\" to read it anyway "
                        "(repeats are then reported)");
  }
  const std::string refused = "table " + config_.table + " key_column " + config_.key_column +
                              " must be unique and NOT NULL (INTEGER PRIMARY KEY, or NOT NULL with a single-column "
                              "UNIQUE index or PRIMARY KEY): ";
  DXHUB_ASSIGN_OR_RETURN(auto list, db_.prepare("SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND "
                                                "name = ?1"));
  DXHUB_RETURN_IF_ERROR(list.bind_text(1, config_.table));
  DXHUB_ASSIGN_OR_RETURN(bool listed, list.step());
  if (!listed) return config_error(refused + "table not found in main schema");
  if (list.column_text(0) != "table") return config_error(refused + "it is a " + std::string(list.column_text(0)) +
                                                          ", whose key cannot be proven unique (set \"key_unique\": \"trust\" to read it anyway)");
  const bool without_rowid = list.column_int64(1) != 0;

  DXHUB_ASSIGN_OR_RETURN(auto info, db_.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)"));
  DXHUB_RETURN_IF_ERROR(info.bind_text(1, config_.table));
  int pk_columns = 0;
  bool key_is_pk = false, key_not_null = false;
  std::string key_type;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, info.step());
    if (!row) break;
    if (info.column_int64(3) > 0) ++pk_columns;
    if (same_identifier(info.column_text(0), config_.key_column)) {
      key_type = info.column_text(1);
      key_not_null = info.column_int64(2) != 0;
      key_is_pk = info.column_int64(3) > 0;
    }
  }

  DXHUB_ASSIGN_OR_RETURN(auto indexes, db_.prepare("SELECT name, \"unique\", origin, partial FROM "
                                                   "pragma_index_list(?1)"));
  DXHUB_RETURN_IF_ERROR(indexes.bind_text(1, config_.table));
  bool unique_index = false, pk_index = false;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, indexes.step());
    if (!row) break;
    if (indexes.column_text(2) == "pk") pk_index = true;
    if (indexes.column_int64(1) == 0 || indexes.column_int64(3) != 0) continue;
    DXHUB_ASSIGN_OR_RETURN(auto cols, db_.prepare("SELECT cid, name FROM pragma_index_info(?1)"));
    DXHUB_RETURN_IF_ERROR(cols.bind_text(1, indexes.column_text(0)));
    int count = 0;
    bool on_key = false;
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool c, cols.step());
      if (!c) break;
      ++count;
      on_key = cols.column_int64(0) >= 0 && same_identifier(cols.column_text(1), config_.key_column);
    }
    if (count == 1 && on_key) unique_index = true;
  }
  // A rowid alias: the single INTEGER PRIMARY KEY of a rowid table (not
  // "INTEGER PRIMARY KEY DESC", which gets an index and allows NULL).
  if (!without_rowid && key_is_pk && pk_columns == 1 && same_identifier(key_type, "INTEGER") && !pk_index) {
    return Status::ok();
  }
  if (!unique_index) return config_error(refused + "no single-column UNIQUE index or PRIMARY KEY on it");
  if (!key_not_null) return config_error(refused + "it may hold NULL (declare it NOT NULL)");
  return Status::ok();
}

Status SqliteTableConnector::check_cursor_values_match_format() {
  if (config_.settle_seconds == 0) return Status::ok();
  const std::string t = source_sql();
  const std::string c = cursor_sql();
  // Index range probes: numbers sort before '' and TEXT before x''.
  const bool want_text = config_.cursor_format == CursorFormat::kDatetime;
  const std::string sql = want_text ? "SELECT EXISTS(SELECT 1 FROM " + t + " WHERE " + c + " < '') OR EXISTS(SELECT 1 FROM " +
                                          t + " WHERE " + c + " >= x'')"
                                    : "SELECT EXISTS(SELECT 1 FROM " + t + " WHERE " + c + " >= '')";
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (row && stmt.column_int64(0) != 0) {
    return config_error(source_name() + " cursor_column " + config_.cursor_column + " holds " +
                        (want_text ? "non-TEXT" : "TEXT or BLOB") + " values, which settle_seconds with cursor_format " +
                        (want_text ? "datetime" : "epoch_*") + " cannot order against the clock");
  }
  return Status::ok();
}

Status SqliteTableConnector::load_cursor(const nlohmann::json& cursor) {
  if (cursor.is_null()) {
    if (!cursor_nullable_) nulls_done_ = true;
    return Status::ok();
  }
  opened_with_cursor_ = true;
  const std::string what = "invalid cursor for table " + config_.table + ": ";
  if (!cursor.is_object()) return config_error(what + "expected an object, got " + dump_safe(cursor));
  TypedValue value;
  if (auto v = cursor.find("v"); v != cursor.end()) {
    if (*v != 2) return config_error(what + "unknown version " + dump_safe(*v));
    auto value_it = cursor.find("value");
    auto boundary_it = cursor.find("boundary");
    auto nulls_it = cursor.find("nulls");
    if (value_it == cursor.end() || boundary_it == cursor.end() || nulls_it == cursor.end()) {
      return config_error(what + "expected {\"v\":2, \"value\", \"boundary\", \"nulls\"}, got " + dump_safe(cursor));
    }
    if (!parse_typed(*value_it, value)) return config_error(what + "unsupported value " + dump_safe(*value_it));
    // (sqlite_table's message quotes what stood there instead of the array.)
    auto load_sent = [&](SentSet& set, const nlohmann::json& array) -> Status {
      if (!array.is_array()) {
        set.clear();
        return config_error(what + "expected an array of [key, digest], got " + dump_safe(array));
      }
      return set.load(array, what);
    };
    DXHUB_RETURN_IF_ERROR(load_sent(boundary_old_, *boundary_it));
    DXHUB_RETURN_IF_ERROR(load_sent(nulls_old_, *nulls_it));
  } else {
    // The first form, {"value": V, "key": K}: resume at V with nothing known
    // sent there, so the rows at V (and NULL-cursor rows) go once more.
    if (!cursor.contains("value") || !cursor.contains("key")) {
      return config_error(what + "expected {\"v\":2, ...} or {\"value\": ..., \"key\": ...}, got " + dump_safe(cursor));
    }
    if (!parse_typed(cursor["value"], value)) return config_error(what + "unsupported value " + dump_safe(cursor["value"]));
  }
  if (value.type == FieldValue::Type::kReal && std::isnan(value.d)) {
    return config_error(what + "NaN is not a value SQLite stores (it stores NULL)");
  }
  if (value.type != FieldValue::Type::kNull) {
    has_boundary_ = true;
    old_active_ = true;
    boundary_value_.type = value.type;
    boundary_value_.i = value.i;
    boundary_value_.d = value.d;
    boundary_value_.s = value.s;
  }
  if (!cursor_nullable_) nulls_done_ = true;
  return Status::ok();
}

Status SqliteTableConnector::prepare_queries() {
  const bool by_cursor = config_.mode == Mode::kIncremental;
  const std::string cur = by_cursor ? cursor_sql() : std::string();
  std::string key = sqlite_quote_identifier(config_.key_column);
  if (config_.table.empty() || is_view_) key += " COLLATE BINARY";  // our key equality is bytewise
  std::string select = "SELECT ";
  for (const auto& c : columns_) select += sqlite_quote_identifier(c) + ", ";
  // Every row: the selected columns, then cursor (NULL without one) and key.
  select += (by_cursor ? sqlite_quote_identifier(config_.cursor_column) : std::string("NULL")) + ", " +
            sqlite_quote_identifier(config_.key_column) + " FROM " + source_sql();
  // A trusted key may repeat: resume at the position (>=), skipping the rows
  // of the run already handled, instead of after it.
  const std::string after = config_.trust_key ? " >= " : " > ";
  auto prepare = [&](SqliteStmt& stmt, const std::string& sql) -> Status {
    auto prepared = db_.prepare(sql);
    if (!prepared) {
      // The names were checked; what does not compile is the configured query.
      if (!config_.query.empty()) {
        return config_error("sqlite_table config \"query\" cannot be read as a subquery: " +
                            prepared.status().message());
      }
      return prepared.status();
    }
    stmt = std::move(prepared).value();
    if (sqlite3_stmt_readonly(stmt.get()) == 0) {
      return config_error(source_name() + " is not read-only as the connector reads it");
    }
    // The query is pasted into ours: it must not end our statement early.
    if (!config_.query.empty()) {
      const char* sql_text = sqlite3_sql(stmt.get());
      if (sql_text == nullptr || std::strlen(sql_text) != sql.size()) {
        return config_error("sqlite_table config \"query\" must be a single statement");
      }
    }
    return Status::ok();
  };
  if (by_cursor) {
    const std::string order = " ORDER BY " + cur + ", " + key;
    const std::string bound = config_.settle_seconds > 0 ? " AND " + cur + " <= ?3" : "";
    DXHUB_RETURN_IF_ERROR(prepare(nulls_first_, select + " WHERE " + cur + " IS NULL ORDER BY " + key));
    DXHUB_RETURN_IF_ERROR(
        prepare(nulls_after_, select + " WHERE " + cur + " IS NULL AND " + key + after + "?2 ORDER BY " + key));
    DXHUB_RETURN_IF_ERROR(prepare(main_start_, select + " WHERE " + cur + " IS NOT NULL" + bound + order));
    DXHUB_RETURN_IF_ERROR(prepare(main_ge_, select + " WHERE " + cur + " >= ?1" + bound + order));
    const std::string keyset = select + " WHERE (" + cur + ", " + key + ")" + after + "(?1, ?2)" + bound + order;
    DXHUB_RETURN_IF_ERROR(prepare(main_after_, keyset));
    DXHUB_RETURN_IF_ERROR(check_index_use(keyset, "cursor_column " + config_.cursor_column + " and key_column " +
                                                      config_.key_column));
  } else {
    DXHUB_RETURN_IF_ERROR(prepare(full_first_, select + " ORDER BY " + key));
    const std::string keyset = select + " WHERE " + key + after + "?2 ORDER BY " + key;
    DXHUB_RETURN_IF_ERROR(prepare(full_after_, keyset));
    DXHUB_RETURN_IF_ERROR(check_index_use(keyset, "key_column " + config_.key_column));
  }
  return Status::ok();
}

Status SqliteTableConnector::check_index_use(const std::string& sql, const std::string& what) {
  // Every chunk runs this statement: a sort or a plain scan means every
  // chunk reads the whole source.
  DXHUB_ASSIGN_OR_RETURN(auto plan, db_.prepare("EXPLAIN QUERY PLAN " + sql));
  bool sorts = false;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, plan.step());
    if (!row) break;
    const std::string_view detail = plan.column_text(3);
    if (detail.find("TEMP B-TREE") != std::string_view::npos) sorts = true;
    if (detail.substr(0, 5) == "SCAN " && detail.find("INDEX") == std::string_view::npos &&
        detail.find("CONSTANT") == std::string_view::npos) {
      sorts = true;
    }
  }
  if (sorts) {
    advisories_.push_back(source_name() + ": no index serves " + what +
                          ", so every read scans and sorts the whole source (an index on them avoids it)");
  }
  return Status::ok();
}

Status SqliteTableConnector::check_repeats_now() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT EXISTS(SELECT 1 FROM " + source_sql() + " GROUP BY " +
                                                sqlite_quote_identifier(config_.key_column) +
                                                " HAVING count(*) > 1)"));
  Expected<bool> row = stmt.step();
  if (!row) return source_failure(row.status());
  if (*row && stmt.column_int64(0) != 0) note_repeat();
  return Status::ok();
}

void SqliteTableConnector::note_repeat() { repeat_seen_ = true; }

std::vector<std::string> SqliteTableConnector::advisories() const {
  std::vector<std::string> out = advisories_;
  if (repeat_seen_) {
    out.push_back(source_name() + ": key_column " + config_.key_column +
                  " repeats (several rows share one key; the province keeps the last one read per key)");
  }
  return out;
}

// ---- reading ----

namespace {
Status bind_owned(SqliteStmt& stmt, int index, FieldValue::Type type, int64_t i, double d, const std::string& s) {
  switch (type) {
    case FieldValue::Type::kInt: return stmt.bind_int64(index, i);
    case FieldValue::Type::kReal: return stmt.bind_double(index, d);
    // Static: the position buffers do not change while the statement runs
    // (chunks are copied out first, positions updated after the reset).
    case FieldValue::Type::kText: return stmt.bind_text_static(index, s);
    case FieldValue::Type::kBlob: return stmt.bind_blob_static(index, s);
    default: return stmt.bind_null(index);
  }
}

void assign(auto& owned, const FieldValue& v) {
  owned.type = v.type;
  owned.i = v.i;
  owned.d = v.d;
  owned.s.assign(v.s);
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Status SqliteTableConnector::source_failure(const Status& cause) const {
  return Status(StatusCode::kSource, "reading " + source_name() + " of " + config_.database + ": " + cause.message());
}

int64_t SqliteTableConnector::now_ms() const {
  if (config_.now_ms) return *config_.now_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status SqliteTableConnector::bind_bound(SqliteStmt& stmt) {
  if (config_.settle_seconds == 0) return Status::ok();
  Bound b = settle_bound(config_, now_ms());
  if (b.is_text) return stmt.bind_text(3, b.text);
  return stmt.bind_int64(3, b.i);
}

uint64_t SqliteTableConnector::row_digest(const FieldValue* row, size_t count) {
  // Every selected column plus cursor and key.
  return dxhub::row_digest(row, count, digest_buf_);
}

// ---- chunks ----

void SqliteTableConnector::Chunk::start(size_t width, size_t max_rows) {
  width_ = width;
  rows_ = 0;
  bytes_.clear();
  // Sized for the whole chunk up front: one allocation when a larger chunk
  // is first asked for, none per row.
  if (values_.size() < width * max_rows) {
    values_.resize(width * max_rows);
    offsets_.resize(width * max_rows);
  }
}

void SqliteTableConnector::Chunk::append_row(const SqliteStmt& stmt) {
  FieldValue* out = values_.data() + rows_ * width_;
  size_t* offsets = offsets_.data() + rows_ * width_;
  for (size_t c = 0; c < width_; ++c) {
    const ColumnValue v = column_value(stmt, static_cast<int>(c));
    out[c] = FieldValue{v.type, v.i, v.d, {}};
    if (v.type == FieldValue::Type::kText || v.type == FieldValue::Type::kBlob) {
      // Bytes go to the arena, NUL-terminated; the view is made in finish()
      // because the arena may still move.
      offsets[c] = bytes_.size();
      bytes_.append(v.s);
      bytes_.push_back('\0');
      out[c].i = static_cast<int64_t>(v.s.size());
    }
  }
  ++rows_;
}

void SqliteTableConnector::Chunk::finish() {
  for (size_t k = 0; k < rows_ * width_; ++k) {
    FieldValue& v = values_[k];
    if (v.type == FieldValue::Type::kText || v.type == FieldValue::Type::kBlob) {
      v.s = std::string_view(bytes_.data() + offsets_[k], static_cast<size_t>(v.i));
      v.i = 0;
    }
  }
}

Status SqliteTableConnector::fill_chunk(SqliteStmt& stmt, size_t max_rows, bool& exhausted) {
  exhausted = false;
  chunk_.start(static_cast<size_t>(stmt.column_count()), max_rows);
  Status result;
  while (chunk_.rows() < max_rows) {
    Expected<bool> row = stmt.step();
    if (!row) {
      result = source_failure(row.status());
      break;
    }
    if (!*row) {
      exhausted = true;
      break;
    }
    chunk_.append_row(stmt);
  }
  // The read transaction ends here, before any row reaches the sink.
  Status reset = stmt.reset();
  if (!result.is_ok()) return result;
  if (!reset.is_ok()) return source_failure(reset);
  chunk_.finish();
  return Status::ok();
}

size_t SqliteTableConnector::chunk_limit(size_t wanted) const {
  size_t n = std::min(wanted, config_.chunk_rows);
  // Paced reads come in chunks of a fifth of a second, so the rate holds
  // within each second and not only on average.
  if (config_.rows_per_second > 0) {
    n = std::min(n, std::max<size_t>(1, static_cast<size_t>(config_.rows_per_second / 5)));
  }
  return n;
}

void SqliteTableConnector::pace(size_t rows) {
  if (config_.rows_per_second <= 0) return;
  const int64_t now = steady_ns();
  if (pace_next_ns_ > now) std::this_thread::sleep_for(std::chrono::nanoseconds(pace_next_ns_ - now));
  // The next chunk may start once these rows are paid for at the rate; idle
  // time between reads is not saved up for a burst.
  pace_next_ns_ = std::max(pace_next_ns_, now) +
                  static_cast<int64_t>(rows) * 1'000'000'000 / config_.rows_per_second;
}

// ---- passes ----

Status SqliteTableConnector::bind_pass(Pass pass, SqliteStmt*& stmt) {
  switch (pass) {
    case Pass::kNulls:
      stmt = null_has_pos_ ? &nulls_after_ : &nulls_first_;
      if (null_has_pos_) {
        DXHUB_RETURN_IF_ERROR(
            bind_owned(*stmt, 2, null_pos_key_.type, null_pos_key_.i, null_pos_key_.d, null_pos_key_.s));
      }
      return Status::ok();
    case Pass::kMain:
      stmt = &main_start_;
      if (main_has_pos_) {
        stmt = &main_after_;
        DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 1, pos_value_.type, pos_value_.i, pos_value_.d, pos_value_.s));
        DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 2, pos_key_.type, pos_key_.i, pos_key_.d, pos_key_.s));
      } else if (has_boundary_) {
        stmt = &main_ge_;
        DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 1, boundary_value_.type, boundary_value_.i, boundary_value_.d,
                                         boundary_value_.s));
      }
      return bind_bound(*stmt);
    case Pass::kFull:
      stmt = full_has_pos_ ? &full_after_ : &full_first_;
      if (full_has_pos_) {
        DXHUB_RETURN_IF_ERROR(
            bind_owned(*stmt, 2, full_pos_key_.type, full_pos_key_.i, full_pos_key_.d, full_pos_key_.s));
      }
      return Status::ok();
    case Pass::kChanges: break;
  }
  return internal_error("no statement for this pass");
}

bool SqliteTableConnector::skip_handled_run_row(uint64_t digest) {
  // Each row of the run handled before this chunk matches one row here.
  for (size_t k = 0; k < run_prior_; ++k) {
    if (run_used_[k] == 0 && run_digests_[k] == digest) {
      run_used_[k] = 1;
      return true;
    }
  }
  return false;
}

Expected<size_t> SqliteTableConnector::read_pass(Pass pass, size_t limit, RowSink& sink, bool& exhausted) {
  exhausted = false;
  const size_t ncols = columns_.size();
  const bool null_pass = pass == Pass::kNulls;
  const bool full_pass = pass == Pass::kFull;
  SentSet& old = null_pass ? nulls_old_ : boundary_old_;
  SentSet& fresh = null_pass ? nulls_new_ : boundary_new_;
  OwnedValue& pos_key = null_pass ? null_pos_key_ : (full_pass ? full_pos_key_ : pos_key_);
  bool& has_pos = null_pass ? null_has_pos_ : (full_pass ? full_has_pos_ : main_has_pos_);
  size_t delivered = 0;
  while (delivered < limit) {
    SqliteStmt* stmt = nullptr;
    DXHUB_RETURN_IF_ERROR(bind_pass(pass, stmt));
    const size_t want = chunk_limit(limit - delivered);
    // A trusted key's run at the position comes again first: read that
    // much more, so that every chunk makes progress.
    run_prior_ = config_.trust_key && has_pos ? run_digests_.size() : 0;
    run_used_.assign(run_prior_, 0);
    pace(want);
    bool chunk_exhausted = false;
    DXHUB_RETURN_IF_ERROR(fill_chunk(*stmt, want + run_prior_, chunk_exhausted));
    for (size_t r = 0; r < chunk_.rows(); ++r) {
      if (delivered == limit) {
        chunk_exhausted = false;  // rows left in the chunk: read again next time
        break;
      }
      const FieldValue* row = chunk_.row(r);
      const FieldValue& cur = row[ncols];
      const FieldValue& key = row[ncols + 1];
      if (key.type == FieldValue::Type::kNull) {
        return Status(StatusCode::kSource, source_name() + ": key_column " + config_.key_column +
                                               " holds NULL, so rows cannot be told apart");
      }
      // Full refresh needs no digest unless the key may repeat.
      const uint64_t digest = full_pass && !config_.trust_key ? 0 : row_digest(row, ncols + 2);
      bool at_pos = false;
      if (config_.trust_key) {
        // Rows with one (cursor, key) come together: two in one statement
        // run are a repeat; a run cut by a boundary comes again whole and
        // its handled rows are skipped by digest.
        if (r > 0) {
          const FieldValue* prev = chunk_.row(r - 1);
          if ((full_pass || sqlite_equal(prev[ncols], cur)) && sqlite_equal(prev[ncols + 1], key)) note_repeat();
        }
        at_pos = has_pos && sqlite_equal(pos_key, key) && (full_pass || null_pass || sqlite_equal(pos_value_, cur));
        if (at_pos) {
          if (skip_handled_run_row(digest)) continue;
          note_repeat();  // another row at the position of one handled
        }
      }
      if (full_pass) {
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{row, ncols}));
        ++delivered;
      } else {
        // Decide first; change the position only once the sink took the row.
        const bool new_group = !null_pass && (!has_boundary_ || !sqlite_equal(cur, boundary_value_));
        int64_t found = -1;
        if (null_pass || (!new_group && old_active_)) {
          found = old.find(key.type, key.i, key.d, key.s, key_hash(key.type, key.i, key.d, key.s), digest);
        }
        // Sent before in this very form, and not matched to another row yet
        // (two identical rows under a trusted key are two entries).
        const bool already_sent = found >= 0 && !old.consumed(static_cast<size_t>(found)) &&
                                  old.digest(static_cast<size_t>(found)) == digest;
        if (!already_sent) {
          DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{row, ncols}));
          ++delivered;
        }
        // The row is handled (delivered, or sent before in this very form).
        if (new_group) {
          assign(boundary_value_, cur);
          has_boundary_ = true;
          boundary_new_.clear();
          old_active_ = false;
        }
        if (found >= 0) old.consume(static_cast<size_t>(found));
        fresh.append(key.type, key.i, key.d, key.s, 0, digest);  // never looked up: no key hash needed
        if (!null_pass) assign(pos_value_, cur);
      }
      if (config_.trust_key) {
        if (!at_pos) {
          run_digests_.clear();
          run_prior_ = 0;
        }
        run_digests_.push_back(digest);
      }
      assign(pos_key, key);
      has_pos = true;
      touched_ = true;
    }
    if (chunk_exhausted) {
      exhausted = true;
      break;
    }
  }
  return delivered;
}

Expected<size_t> SqliteTableConnector::read(size_t max_rows, RowSink& sink) {
  size_t limit = max_rows;
  if (config_.fetch_rows != 0 && config_.fetch_rows < limit) limit = config_.fetch_rows;
  if (limit == 0) return size_t{0};
  if (config_.mode == Mode::kTriggers) return read_triggers(limit, sink);
  bool exhausted = false;
  if (config_.mode == Mode::kFullRefresh) return read_pass(Pass::kFull, limit, sink, exhausted);

  size_t n = 0;
  if (!nulls_done_) {
    DXHUB_ASSIGN_OR_RETURN(n, read_pass(Pass::kNulls, limit, sink, exhausted));
    if (!exhausted) return n;
    // Every NULL-cursor row was visited: the rest of the old set is gone.
    nulls_done_ = true;
    nulls_old_.clear();
    run_digests_.clear();  // a run never spans the two passes
    run_prior_ = 0;
    if (n == limit) return n;
  }
  DXHUB_ASSIGN_OR_RETURN(size_t main_rows, read_pass(Pass::kMain, limit - n, sink, exhausted));
  return n + main_rows;
}

nlohmann::json SqliteTableConnector::cursor() const {
  if (config_.mode == Mode::kFullRefresh) return nullptr;  // every run reads the whole source
  if (config_.mode == Mode::kTriggers) return trigger_cursor();
  if (!opened_with_cursor_ && !touched_) return nullptr;
  nlohmann::json value = has_boundary_ ? typed_json(boundary_value_.type, boundary_value_.i, boundary_value_.d,
                                                    boundary_value_.s)
                                       : nlohmann::json(nullptr);
  return boundary_cursor_json(std::move(value), boundary_new_, old_active_ ? &boundary_old_ : nullptr, nulls_new_,
                              nulls_done_ ? nullptr : &nulls_old_);
}

}  // namespace dxhub
