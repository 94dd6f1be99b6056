#include "connectors/odbc_table/odbc_table_connector.h"

#include <strings.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <thread>
#include <utility>

#include "connectors/common/row_digest.h"
#include "connectors/common/typed_cursor_value.h"
#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "core/common/utf8.h"

namespace dxhub {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
std::string dump_safe(const nlohmann::json& j) { return j.dump(-1, ' ', false, kReplace); }

const char* const kKnownKeys[] = {"connection_string", "dsn", "user", "password_env", "schema", "table", "query",
                                  "mode", "cursor_column", "key_column", "fetch_rows", "rows_per_second",
                                  "settle_seconds", "cursor_format", "source_utc_offset", "now_ms",
                                  "login_timeout_seconds", "query_timeout_seconds", "limit_clause"};

// The typed cursor values and key helpers, shared with sqlite_table.
using typed_cursor::key_hash;
using typed_cursor::parse_typed;
using typed_cursor::typed_json;
using typed_cursor::TypedValue;

template <typename A, typename B>
bool same_value(const A& a, const B& b) {
  using T = FieldValue::Type;
  if (a.type != b.type) return false;
  switch (a.type) {
    case T::kInt: return a.i == b.i;
    case T::kReal: return a.d == b.d;
    case T::kText:
    case T::kBlob: return std::string_view(a.s) == std::string_view(b.s);
    default: return false;
  }
}

Expected<int32_t> parse_utc_offset(const std::string& s) {
  const Status bad = config_error("odbc_table config \"source_utc_offset\" must look like +08:00");
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return bad;
  auto digit = [&](size_t k) { return s[k] >= '0' && s[k] <= '9' ? s[k] - '0' : -1; };
  int h1 = digit(1), h2 = digit(2), m1 = digit(4), m2 = digit(5);
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 || h1 * 10 + h2 > 14 || m1 * 10 + m2 > 59) return bad;
  int32_t seconds = (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60;
  return s[0] == '-' ? -seconds : seconds;
}

// Decodes one UTF-8 code point at s[at]; 0 length when invalid.
size_t utf8_code_point(std::string_view s, size_t at, uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[at]);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || at + n > s.size() || !is_valid_utf8(s.substr(at, n))) return 0;
  cp = c & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[at + k]) & 0x3F);
  return n;
}

bool cjk_ideograph(uint32_t cp) {
  return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x2FA1F);
}

// Case-insensitive (ASCII) ODBC connection-string key test: PWD=, PASSWORD=.
bool mentions_password(std::string_view cs) {
  size_t at = 0;
  while (at <= cs.size()) {
    size_t end = cs.find(';', at);
    if (end == std::string_view::npos) end = cs.size();
    std::string_view part = cs.substr(at, end - at);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = part.substr(0, eq);
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
      if ((key.size() == 3 && strncasecmp(key.data(), "PWD", 3) == 0) ||
          (key.size() == 8 && strncasecmp(key.data(), "PASSWORD", 8) == 0)) {
        return true;
      }
    }
    at = end + 1;
  }
  return false;
}

// An attribute value in braces, as ODBC escapes them ('}' doubled).
std::string braced(std::string_view value) {
  std::string out = "{";
  for (char ch : value) {
    out.push_back(ch);
    if (ch == '}') out.push_back('}');
  }
  out.push_back('}');
  return out;
}

bool is_datetime_type(SQLSMALLINT t) {
  return t == SQL_TYPE_DATE || t == SQL_TYPE_TIME || t == SQL_TYPE_TIMESTAMP || t == SQL_DATE || t == SQL_TIME ||
         t == SQL_TIMESTAMP;
}

bool is_character_type(SQLSMALLINT t) {
  return t == SQL_CHAR || t == SQL_VARCHAR || t == SQL_LONGVARCHAR || t == SQL_WCHAR || t == SQL_WVARCHAR ||
         t == SQL_WLONGVARCHAR;
}

}  // namespace

// ---- public helpers ----

FieldValue::Type odbc_value_kind(SQLSMALLINT sql_type) {
  switch (sql_type) {
    case SQL_BIT:
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT: return FieldValue::Type::kInt;
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE: return FieldValue::Type::kReal;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY: return FieldValue::Type::kBlob;
    default: return FieldValue::Type::kText;  // DECIMAL/NUMERIC digits, characters, date/time, GUID, intervals
  }
}

bool odbc_plain_identifier(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (size_t at = 0; at < name.size();) {
    const auto c = static_cast<unsigned char>(name[at]);
    if (c < 0x80) {
      const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
      const bool digit = c >= '0' && c <= '9';
      if (!letter && !(digit && at > 0)) return false;
      ++at;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = utf8_code_point(name, at, cp);
    if (n == 0 || !cjk_ideograph(cp)) return false;
    at += n;
  }
  return true;
}

Expected<std::string> odbc_quote_identifier(std::string_view name, std::string_view quote) {
  if (name.find('\0') != std::string_view::npos) return config_error("an identifier holds a NUL byte");
  if (quote.empty()) {
    if (!odbc_plain_identifier(name)) return config_error("the driver cannot quote identifiers; use plain names");
    return std::string(name);
  }
  std::string out(quote);
  for (size_t at = 0; at < name.size();) {
    if (name.compare(at, quote.size(), quote) == 0) {
      out.append(quote);
      out.append(quote);
      at += quote.size();
    } else {
      out.push_back(name[at++]);
    }
  }
  out.append(quote);
  return out;
}

// ---- config ----

Expected<OdbcTableConnector::Config> OdbcTableConnector::parse_config(const nlohmann::json& config) {
  if (!config.is_object()) return config_error("odbc_table config must be a JSON object");
  for (auto it = config.begin(); it != config.end(); ++it) {
    bool known = false;
    for (const char* k : kKnownKeys) known = known || it.key() == k;
    if (!known) return config_error("odbc_table config has unknown key " + dump_safe(it.key()));
  }
  Config c;
  auto string_key = [&](const char* key, std::string& out) -> Status {
    auto it = config.find(key);
    if (it == config.end()) return Status::ok();
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return config_error(std::string("odbc_table config \"") + key + "\" must be a non-empty string");
    }
    out = it->get<std::string>();
    return Status::ok();
  };
  auto int_key = [&](const char* key, int64_t lo, int64_t hi, int64_t& out) -> Status {
    auto it = config.find(key);
    if (it == config.end()) return Status::ok();
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
      return config_error(std::string("odbc_table config \"") + key + "\" must be an integer from " +
                          std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = it->get<int64_t>();
    return Status::ok();
  };
  DXHUB_RETURN_IF_ERROR(string_key("connection_string", c.connection_string));
  DXHUB_RETURN_IF_ERROR(string_key("dsn", c.dsn));
  DXHUB_RETURN_IF_ERROR(string_key("user", c.user));
  DXHUB_RETURN_IF_ERROR(string_key("password_env", c.password_env));
  DXHUB_RETURN_IF_ERROR(string_key("schema", c.schema));
  DXHUB_RETURN_IF_ERROR(string_key("table", c.table));
  DXHUB_RETURN_IF_ERROR(string_key("query", c.query));
  DXHUB_RETURN_IF_ERROR(string_key("cursor_column", c.cursor_column));
  DXHUB_RETURN_IF_ERROR(string_key("key_column", c.key_column));
  if (c.connection_string.empty() == c.dsn.empty()) {
    return config_error("odbc_table config needs exactly one of \"connection_string\" and \"dsn\"");
  }
  if (mentions_password(c.connection_string)) {
    return config_error("odbc_table config \"connection_string\" must not hold a password (PWD/PASSWORD): name an "
                        "environment variable in \"password_env\"");
  }
  if (c.connection_string.find('\0') != std::string::npos) {
    return config_error("odbc_table config \"connection_string\" holds a NUL byte");
  }
  if (!c.dsn.empty() && c.dsn.find_first_of(";{}=[]\0", 0, 7) != std::string::npos) {
    return config_error("odbc_table config \"dsn\" must be a plain DSN name");
  }
  if (c.user.find_first_of(std::string_view("\0", 1)) != std::string::npos) {
    return config_error("odbc_table config \"user\" holds a NUL byte");
  }
  if (!c.password_env.empty() && !odbc_plain_identifier(c.password_env)) {
    return config_error("odbc_table config \"password_env\" must name an environment variable");
  }
  if (c.table.empty() == c.query.empty()) {
    return config_error("odbc_table config needs exactly one of \"table\" and \"query\"");
  }
  if (!c.table.empty() && c.schema.empty()) {
    // "schema.table": split at the one dot (identifiers hold none).
    if (const size_t dot = c.table.find('.'); dot != std::string::npos) {
      c.schema = c.table.substr(0, dot);
      c.table = c.table.substr(dot + 1);
    }
  }
  if (!c.schema.empty() && !c.query.empty()) {
    return config_error("odbc_table config \"schema\" goes with \"table\", not with \"query\"");
  }
  struct Named {
    const char* key;
    const std::string* value;
  };
  for (const Named& n : {Named{"schema", &c.schema}, Named{"table", &c.table}, Named{"cursor_column", &c.cursor_column},
                         Named{"key_column", &c.key_column}}) {
    if (!n.value->empty() && !odbc_plain_identifier(*n.value)) {
      return config_error(std::string("odbc_table config \"") + n.key +
                          "\" must be a plain identifier (a letter, CJK ideograph or _, then letters, digits, _; "
                          "at most 128 bytes)");
    }
  }
  if (!c.query.empty()) {
    // A trailing ';' would end the derived table early.
    while (!c.query.empty() && (c.query.back() == ';' || std::isspace(static_cast<unsigned char>(c.query.back())))) {
      c.query.pop_back();
    }
    if (c.query.empty() || c.query.find('\0') != std::string::npos) {
      return config_error("odbc_table config \"query\" must be one SELECT");
    }
  }
  if (auto it = config.find("mode"); it != config.end()) {
    if (*it == "incremental") c.incremental = true;
    else if (*it == "full") c.incremental = false;
    else return config_error("odbc_table config \"mode\" must be \"incremental\" or \"full\"");
  }
  if (c.key_column.empty()) return config_error("odbc_table config needs \"key_column\"");
  if (c.incremental && c.cursor_column.empty()) {
    return config_error("odbc_table config needs \"cursor_column\" in mode incremental");
  }
  if (!c.incremental && !c.cursor_column.empty()) {
    return config_error("odbc_table config \"cursor_column\" has no use in mode full");
  }
  int64_t n = static_cast<int64_t>(c.fetch_rows);
  DXHUB_RETURN_IF_ERROR(int_key("fetch_rows", 1, 10'000'000, n));
  c.fetch_rows = static_cast<size_t>(n);
  if (auto it = config.find("rows_per_second"); it != config.end()) {
    if (!it->is_number() || it->get<double>() < 0 || !std::isfinite(it->get<double>())) {
      return config_error("odbc_table config \"rows_per_second\" must be a number >= 0");
    }
    c.rows_per_second = it->get<double>();
  }
  DXHUB_RETURN_IF_ERROR(int_key("settle_seconds", 0, 366LL * 86400, c.settle_seconds));
  if (auto it = config.find("cursor_format"); it != config.end()) {
    if (*it == "opaque") c.cursor_format = CursorFormat::kOpaque;
    else if (*it == "datetime") c.cursor_format = CursorFormat::kDatetime;
    else if (*it == "epoch_seconds") c.cursor_format = CursorFormat::kEpochSeconds;
    else if (*it == "epoch_millis") c.cursor_format = CursorFormat::kEpochMillis;
    else return config_error("odbc_table config \"cursor_format\" must be one of datetime, epoch_seconds, "
                             "epoch_millis, opaque");
  }
  if (auto it = config.find("source_utc_offset"); it != config.end()) {
    if (!it->is_string()) return config_error("odbc_table config \"source_utc_offset\" must be a string like +08:00");
    DXHUB_ASSIGN_OR_RETURN(c.source_utc_offset_seconds, parse_utc_offset(it->get<std::string>()));
  }
  if (auto it = config.find("now_ms"); it != config.end()) {
    if (!it->is_number_integer()) return config_error("odbc_table config \"now_ms\" must be an integer");
    c.now_ms = it->get<int64_t>();
  }
  int64_t login = c.login_timeout_seconds, query = c.query_timeout_seconds;
  DXHUB_RETURN_IF_ERROR(int_key("login_timeout_seconds", 0, 3600, login));
  DXHUB_RETURN_IF_ERROR(int_key("query_timeout_seconds", 0, 86400, query));
  c.login_timeout_seconds = static_cast<int>(login);
  c.query_timeout_seconds = static_cast<int>(query);
  if (auto it = config.find("limit_clause"); it != config.end()) {
    if (*it == "limit") c.limit_clause = LimitClause::kLimit;
    else if (*it == "fetch_first") c.limit_clause = LimitClause::kFetchFirst;
    else if (*it == "none") c.limit_clause = LimitClause::kNone;
    else return config_error("odbc_table config \"limit_clause\" must be one of limit, fetch_first, none");
  }
  if (c.settle_seconds > 0 && c.cursor_format == CursorFormat::kOpaque) {
    return config_error("odbc_table config \"settle_seconds\" needs a \"cursor_format\" (datetime, epoch_seconds or "
                        "epoch_millis)");
  }
  return c;
}

Expected<std::string> OdbcTableConnector::build_connection_string(const Config& config, std::string* secret) {
  std::string cs = config.dsn.empty() ? config.connection_string : "DSN=" + config.dsn;
  while (!cs.empty() && (cs.back() == ';' || cs.back() == ' ')) cs.pop_back();
  if (!config.user.empty()) cs += ";UID=" + braced(config.user);
  if (!config.password_env.empty()) {
    const char* value = std::getenv(config.password_env.c_str());
    if (value == nullptr) {
      return config_error("odbc_table config \"password_env\": environment variable " + config.password_env +
                          " is not set");
    }
    if (secret != nullptr) *secret = value;
    cs += ";PWD=" + braced(value);
  }
  return cs;
}

// ---- open ----

OdbcTableConnector::OdbcTableConnector(Config config, std::vector<std::string> columns)
    : config_(std::move(config)), columns_(std::move(columns)), params_(6) {
  boundary_new_.reserve(1024, 16 * 1024);
  nulls_new_.reserve(64, 1024);
  digest_buf_.reserve(4096);
}

std::string OdbcTableConnector::source_name() const {
  if (!config_.query.empty()) return "odbc_table query";
  return "odbc_table " + (config_.schema.empty() ? config_.table : config_.schema + "." + config_.table);
}

Status OdbcTableConnector::source_failure(const Status& cause) const {
  return Status(StatusCode::kSource, source_name() + ": " + cause.message());
}

Status OdbcTableConnector::connect() {
  auto db = odbc::Connection::connect(connection_string_, secret_, config_.login_timeout_seconds);
  if (!db) return source_failure(db.status());
  db_ = std::move(*db);
  auto stmt = db_.statement();
  if (!stmt) return source_failure(stmt.status());
  stmt_ = std::move(*stmt);
  if (config_.query_timeout_seconds > 0) {
    SQLSetStmtAttr(stmt_.get(), SQL_ATTR_QUERY_TIMEOUT,
                   reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(config_.query_timeout_seconds)), 0);
  }
  return Status::ok();
}

void OdbcTableConnector::disconnect() {
  stmt_ = odbc::Statement();
  db_ = odbc::Connection();
}

Expected<std::unique_ptr<OdbcTableConnector>> OdbcTableConnector::open(const nlohmann::json& config,
                                                                      const std::vector<std::string>& columns,
                                                                      const nlohmann::json& cursor,
                                                                      const ConnectorOpenOptions& options) {
  // Reads only: no side effects, no work files.
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  for (const auto& name : columns) {
    if (!odbc_plain_identifier(name)) {
      return config_error("odbc_table column names must be plain identifiers (a letter, CJK ideograph or _, then "
                          "letters, digits, _; at most 128 bytes)");
    }
  }
  std::unique_ptr<OdbcTableConnector> conn(new OdbcTableConnector(std::move(c), columns));
  DXHUB_ASSIGN_OR_RETURN(conn->connection_string_, build_connection_string(conn->config_, &conn->secret_));
  DXHUB_RETURN_IF_ERROR(conn->connect());
  DXHUB_RETURN_IF_ERROR(conn->discover_columns());
  DXHUB_RETURN_IF_ERROR(conn->build_queries());
  DXHUB_RETURN_IF_ERROR(conn->load_cursor(cursor));
  conn->find_advisories();
  // A full load (no cursor yet, or a full refresh) is counted when progress is shown.
  if (options.count_rows && (cursor.is_null() || !conn->config_.incremental)) conn->estimate_rows();
  return conn;
}

void OdbcTableConnector::estimate_rows() {
  auto stmt = db_.statement();
  if (!stmt) return;
  // A count is only worth a few seconds of the agency's database: past them it is abandoned.
  (void)SQLSetStmtAttr(stmt->get(), SQL_ATTR_QUERY_TIMEOUT, reinterpret_cast<SQLPOINTER>(SQLULEN{5}), 0);
  if (stmt->exec_direct("SELECT COUNT(*) FROM " + source_sql_).is_ok()) {
    auto row = stmt->fetch();
    if (row && *row) {
      SQLBIGINT count = 0;
      SQLLEN indicator = 0;
      const SQLRETURN rc = SQLGetData(stmt->get(), 1, SQL_C_SBIGINT, &count, 0, &indicator);
      if (odbc::succeeded(rc) && indicator != SQL_NULL_DATA && count >= 0) estimated_rows_ = static_cast<int64_t>(count);
    }
  }
  (void)stmt->close();
  // Autocommit is on; a driver that opened a transaction for the count ends it here.
  (void)db_.end_transaction();
}

Status OdbcTableConnector::discover_columns() {
  DXHUB_ASSIGN_OR_RETURN(quote_, db_.identifier_quote());
  if (!config_.table.empty()) {
    source_sql_.clear();
    if (!config_.schema.empty()) {
      DXHUB_ASSIGN_OR_RETURN(std::string schema, odbc_quote_identifier(config_.schema, quote_));
      source_sql_ = schema + ".";
    }
    DXHUB_ASSIGN_OR_RETURN(std::string table, odbc_quote_identifier(config_.table, quote_));
    source_sql_ += table;
  } else {
    source_sql_ = "(" + config_.query + ") dxhub_q";
  }
  // Describe every column without reading a row.
  Status run = stmt_.exec_direct("SELECT * FROM " + source_sql_ + " WHERE 1 = 0");
  if (!run.is_ok()) {
    (void)stmt_.close();
    return config_error(source_name() + ": cannot be read (check that it exists and that names are spelled as the "
                        "catalog stores them): " + run.message());
  }
  DXHUB_ASSIGN_OR_RETURN(SQLSMALLINT count, stmt_.result_columns());
  std::vector<ColumnPlan> present;
  for (SQLSMALLINT col = 1; col <= count; ++col) {
    SQLCHAR name[512] = {0};
    SQLSMALLINT name_length = 0, type = 0, digits = 0, nullable = SQL_NULLABLE_UNKNOWN;
    SQLULEN size = 0;
    const SQLRETURN rc = SQLDescribeCol(stmt_.get(), static_cast<SQLUSMALLINT>(col), name, sizeof name,
                                        &name_length, &type, &size, &digits, &nullable);
    if (!odbc::succeeded(rc)) {
      Status failed = stmt_.check(rc, "describing a column");
      (void)stmt_.close();
      return source_failure(failed);
    }
    ColumnPlan plan;
    plan.sql_name = reinterpret_cast<const char*>(name);
    plan.sql_type = type;
    plan.size = size;
    plan.digits = digits;
    plan.nullable = nullable != SQL_NO_NULLS;
    plan.kind = odbc_value_kind(type);
    present.push_back(std::move(plan));
  }
  DXHUB_RETURN_IF_ERROR(stmt_.close());
  if (present.empty()) return config_error(source_name() + ": has no columns");

  auto find = [&](const std::string& wanted, const char* role) -> Expected<ColumnPlan> {
    for (const auto& p : present) {
      if (p.sql_name == wanted) return p;
    }
    const ColumnPlan* folded = nullptr;
    int matches = 0;
    for (const auto& p : present) {
      if (p.sql_name.size() == wanted.size() && strncasecmp(p.sql_name.data(), wanted.data(), wanted.size()) == 0) {
        folded = &p;
        ++matches;
      }
    }
    if (matches == 1) return *folded;
    return config_error(source_name() + " has no column " + wanted + " (" + role + ")");
  };
  plans_.clear();
  if (columns_.empty()) {
    for (const auto& p : present) {
      columns_.push_back(p.sql_name);
      plans_.push_back(p);
    }
  } else {
    for (const auto& name : columns_) {
      DXHUB_ASSIGN_OR_RETURN(ColumnPlan p, find(name, "requested column"));
      plans_.push_back(std::move(p));
    }
  }
  if (config_.incremental) {
    DXHUB_ASSIGN_OR_RETURN(ColumnPlan cur, find(config_.cursor_column, "cursor_column"));
    cursor_nullable_ = cur.nullable;
    if (cur.kind == FieldValue::Type::kBlob) {
      return config_error(source_name() + " cursor_column " + config_.cursor_column + " is binary, which cannot order "
                          "changes");
    }
    if (config_.settle_seconds > 0) {
      const bool want_text = config_.cursor_format == CursorFormat::kDatetime;
      const bool fits = want_text ? (is_datetime_type(cur.sql_type) || is_character_type(cur.sql_type))
                                  : (cur.kind == FieldValue::Type::kInt || cur.kind == FieldValue::Type::kReal ||
                                     cur.sql_type == SQL_DECIMAL || cur.sql_type == SQL_NUMERIC);
      if (!fits) {
        return config_error(source_name() + " cursor_column " + config_.cursor_column + " is not of the type "
                            "cursor_format " + (want_text ? "datetime" : "epoch_*") + " needs");
      }
    }
    plans_.push_back(std::move(cur));
  }
  DXHUB_ASSIGN_OR_RETURN(ColumnPlan key, find(config_.key_column, "key_column"));
  plans_.push_back(std::move(key));
  for (size_t k = columns_.size(); k < plans_.size(); ++k) {
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (plans_[c].sql_name == plans_[k].sql_name) {
        plans_[k].same_as = static_cast<int32_t>(c);
        break;
      }
    }
  }
  width_ = plans_.size();
  key_index_ = width_ - 1;
  cursor_index_ = config_.incremental ? width_ - 2 : 0;
  return Status::ok();
}

Status OdbcTableConnector::build_queries() {
  std::string select = "SELECT ";
  for (size_t k = 0; k < plans_.size(); ++k) {
    DXHUB_ASSIGN_OR_RETURN(std::string q, odbc_quote_identifier(plans_[k].sql_name, quote_));
    if (k != 0) select += ", ";
    select += q;
  }
  select += " FROM " + source_sql_;
  DXHUB_ASSIGN_OR_RETURN(std::string key, odbc_quote_identifier(plans_[key_index_].sql_name, quote_));
  sql_full_first_ = select + " ORDER BY " + key;
  sql_full_after_ = select + " WHERE " + key + " > ? ORDER BY " + key;
  if (!config_.incremental) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(std::string cur, odbc_quote_identifier(plans_[cursor_index_].sql_name, quote_));
  const std::string order = " ORDER BY " + cur + ", " + key;
  const std::string bound = config_.settle_seconds > 0 ? " AND " + cur + " <= ?" : "";
  sql_nulls_first_ = select + " WHERE " + cur + " IS NULL ORDER BY " + key;
  sql_nulls_after_ = select + " WHERE " + cur + " IS NULL AND " + key + " > ? ORDER BY " + key;
  sql_main_start_ = select + " WHERE " + cur + " IS NOT NULL" + bound + order;
  sql_main_ge_ = select + " WHERE " + cur + " >= ?" + bound + order;
  // Expanded rather than a row value (c, k) > (?, ?): every dialect has it.
  // A range on the cursor (index-friendly), then the keyset test within it.
  sql_main_after_ = select + " WHERE " + cur + " >= ? AND (" + cur + " > ? OR " + key + " > ?)" + bound + order;
  return Status::ok();
}

Status OdbcTableConnector::load_cursor(const nlohmann::json& cursor) {
  if (!config_.incremental || cursor.is_null()) {
    if (!cursor_nullable_) nulls_done_ = true;
    return Status::ok();
  }
  opened_with_cursor_ = true;
  const std::string what = "invalid cursor for " + source_name() + ": ";
  if (!cursor.is_object()) return config_error(what + "expected an object");
  auto v = cursor.find("v");
  auto value_it = cursor.find("value");
  auto boundary_it = cursor.find("boundary");
  auto nulls_it = cursor.find("nulls");
  if (v == cursor.end() || *v != 2 || value_it == cursor.end() || boundary_it == cursor.end() ||
      nulls_it == cursor.end()) {
    return config_error(what + "expected {\"v\":2, \"value\", \"boundary\", \"nulls\"}");
  }
  TypedValue value;
  if (!parse_typed(*value_it, value)) return config_error(what + "unsupported value " + dump_safe(*value_it));
  if (value.type == FieldValue::Type::kReal && std::isnan(value.d)) return config_error(what + "NaN value");
  DXHUB_RETURN_IF_ERROR(boundary_old_.load(*boundary_it, what));
  DXHUB_RETURN_IF_ERROR(nulls_old_.load(*nulls_it, what));
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

void OdbcTableConnector::find_advisories() {
  const std::string name = source_name();
  const std::string& key_name = plans_[key_index_].sql_name;
  bool key_unique_index = false;
  if (!config_.table.empty()) {
    // Indexes as the catalog reports them: name -> (unique, columns by position).
    struct Index {
      bool unique = false;
      std::map<int, std::string> columns;
    };
    std::map<std::string, Index> indexes;
    auto stmt = db_.statement();
    if (stmt) {
      auto* schema = config_.schema.empty() ? nullptr : reinterpret_cast<SQLCHAR*>(config_.schema.data());
      const SQLRETURN rc =
          SQLStatistics(stmt->get(), nullptr, 0, schema, schema ? SQL_NTS : 0,
                        reinterpret_cast<SQLCHAR*>(config_.table.data()), SQL_NTS, SQL_INDEX_ALL, SQL_QUICK);
      if (odbc::succeeded(rc)) {
        while (true) {
          auto row = stmt->fetch();
          if (!row || !*row) break;
          SQLSMALLINT non_unique = 1, type = 0, position = 0;
          char index_name[256] = {0}, column[256] = {0};
          SQLLEN ind = 0;
          SQLGetData(stmt->get(), 4, SQL_C_SSHORT, &non_unique, 0, &ind);
          if (ind == SQL_NULL_DATA) non_unique = 1;
          SQLGetData(stmt->get(), 6, SQL_C_CHAR, index_name, sizeof index_name, &ind);
          SQLGetData(stmt->get(), 7, SQL_C_SSHORT, &type, 0, &ind);
          SQLGetData(stmt->get(), 8, SQL_C_SSHORT, &position, 0, &ind);
          SQLGetData(stmt->get(), 9, SQL_C_CHAR, column, sizeof column, &ind);
          if (type == SQL_TABLE_STAT) continue;
          Index& index = indexes[index_name];
          index.unique = non_unique == 0;
          index.columns[position] = column;
        }
      }
      (void)stmt->close();
    }
    auto leads = [&](const std::string& column) {
      for (const auto& [index_name, index] : indexes) {
        if (!index.columns.empty() && index.columns.begin()->second == column) return true;
      }
      return false;
    };
    for (const auto& [index_name, index] : indexes) {
      if (index.unique && index.columns.size() == 1 && index.columns.begin()->second == key_name) {
        key_unique_index = true;
      }
    }
    if (config_.incremental && !leads(plans_[cursor_index_].sql_name)) {
      advisories_.push_back(name + ": no index starts with cursor_column " + plans_[cursor_index_].sql_name +
                            "; every chunk scans the table (index (" + plans_[cursor_index_].sql_name + ", " +
                            key_name + "))");
    }
    if (!leads(key_name)) {
      advisories_.push_back(name + ": no index starts with key_column " + key_name +
                            "; the key's order and uniqueness are not backed by an index");
    }
  }
  if (!key_unique_index) {
    // A view, a query, or a table without a unique index on the key: look.
    auto key = odbc_quote_identifier(key_name, quote_);
    if (!key) return;
    const std::string limit = config_.limit_clause == LimitClause::kLimit        ? " LIMIT 1"
                              : config_.limit_clause == LimitClause::kFetchFirst ? " FETCH FIRST 1 ROWS ONLY"
                                                                                 : "";
    const std::string sql = "SELECT " + *key + " FROM " + source_sql_ + " WHERE " + *key + " IS NOT NULL GROUP BY " +
                            *key + " HAVING COUNT(*) > 1" + limit;
    if (stmt_.exec_direct(sql).is_ok()) {
      auto row = stmt_.fetch();
      if (row && *row) {
        advisories_.push_back(name + ": key_column " + key_name +
                              " repeats in the source; rows sharing a key can be skipped or overwritten");
      }
    }
    (void)stmt_.close();
  }
}

// ---- reading ----

int64_t OdbcTableConnector::now_ms() const {
  if (config_.now_ms) return *config_.now_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void OdbcTableConnector::pace(size_t& request) {
  if (config_.rows_per_second <= 0) return;
  // At most one second's worth per chunk, started no earlier than the rate allows.
  const auto per_chunk = static_cast<size_t>(std::max(1.0, std::floor(config_.rows_per_second)));
  if (request > per_chunk) request = per_chunk;
  const auto now = std::chrono::steady_clock::now();
  if (!paced_) {
    paced_ = true;
    pace_start_ = now;
    paced_rows_ = 0;
    return;
  }
  const auto due = pace_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(static_cast<double>(paced_rows_) /
                                                                   config_.rows_per_second));
  if (due > now) std::this_thread::sleep_until(due);
}

void OdbcTableConnector::bind_param(const ColumnPlan& column, const OwnedValue& value) {
  Param& p = params_[param_count_++];
  p.value.type = value.type;
  p.value.i = value.i;
  p.value.d = value.d;
  p.value.s.assign(value.s);
  p.column = &column;
}

Status OdbcTableConnector::bind_params() {
  for (size_t k = 0; k < param_count_; ++k) {
    Param& p = params_[k];
    const ColumnPlan& col = *p.column;
    SQLSMALLINT c_type = SQL_C_CHAR, sql_type = col.sql_type;
    SQLULEN size = col.size;
    SQLPOINTER data = nullptr;
    SQLLEN buffer = 0;
    switch (p.value.type) {
      case FieldValue::Type::kInt:
        c_type = SQL_C_SBIGINT;
        if (col.kind != FieldValue::Type::kInt && col.sql_type != SQL_DECIMAL && col.sql_type != SQL_NUMERIC) {
          sql_type = SQL_BIGINT;
        }
        data = &p.value.i;
        p.indicator = 0;
        break;
      case FieldValue::Type::kReal:
        c_type = SQL_C_DOUBLE;
        if (col.kind != FieldValue::Type::kReal) sql_type = SQL_DOUBLE;
        data = &p.value.d;
        p.indicator = 0;
        break;
      case FieldValue::Type::kBlob:
        c_type = SQL_C_BINARY;
        if (col.kind != FieldValue::Type::kBlob) sql_type = SQL_VARBINARY;
        data = p.value.s.data();
        buffer = static_cast<SQLLEN>(p.value.s.size());
        p.indicator = buffer;
        if (size < p.value.s.size()) size = p.value.s.size();
        break;
      default:  // text: the driver converts it to the column's type (a timestamp compares as one)
        if (col.kind != FieldValue::Type::kText) sql_type = SQL_VARCHAR;
        data = p.value.s.data();
        buffer = static_cast<SQLLEN>(p.value.s.size());
        p.indicator = buffer;
        if (size < p.value.s.size()) size = p.value.s.size();
        break;
    }
    if (size == 0) size = 1;
    const SQLRETURN rc = SQLBindParameter(stmt_.get(), static_cast<SQLUSMALLINT>(k + 1), SQL_PARAM_INPUT, c_type,
                                          sql_type, size, col.digits, data, buffer, &p.indicator);
    if (!odbc::succeeded(rc)) return stmt_.check(rc, "binding a parameter");
  }
  return Status::ok();
}

Status OdbcTableConnector::fetch_value(SQLUSMALLINT column, const ColumnPlan& plan, size_t slot, bool& bad) {
  FieldValue& v = chunk_values_[slot];
  v = FieldValue::null();
  chunk_spans_[slot] = {0, 0};
  SQLLEN ind = 0;
  SQLRETURN rc;
  switch (plan.kind) {
    case FieldValue::Type::kInt: {
      // As text, parsed strictly: some drivers (sqliteodbc) turn 'abc' or
      // 1.5 in an INTEGER column into 0 or 1 without a word.
      char digits[32];
      rc = SQLGetData(stmt_.get(), column, SQL_C_CHAR, digits, sizeof digits, &ind);
      if (rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO) {
        if (ind == SQL_NULL_DATA) return Status::ok();
        int64_t i = 0;
        const char* end = digits + std::strlen(digits);
        const auto parsed = std::from_chars(digits, end, i);
        if (rc != SQL_SUCCESS || ind <= 0 || parsed.ec != std::errc() || parsed.ptr != end) {
          bad = true;
          return Status::ok();
        }
        v = FieldValue::integer(i);
        return Status::ok();
      }
      const std::string state = stmt_.sqlstate();
      if (state.rfind("22", 0) == 0) {
        bad = true;
        return Status::ok();
      }
      return stmt_.check(rc, "reading a value");
    }
    case FieldValue::Type::kReal: {
      double d = 0;
      rc = SQLGetData(stmt_.get(), column, SQL_C_DOUBLE, &d, 0, &ind);
      if (rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO) {
        if (ind == SQL_NULL_DATA) return Status::ok();
        // With-info on a fixed-size value is lost digits.
        if (rc == SQL_SUCCESS_WITH_INFO) {
          bad = true;
          return Status::ok();
        }
        v = FieldValue::real(d);
        return Status::ok();
      }
      const std::string state = stmt_.sqlstate();
      if (state.rfind("22", 0) == 0) {  // data exception: this value, not the source
        bad = true;
        return Status::ok();
      }
      return stmt_.check(rc, "reading a value");
    }
    default: {
      const bool text = plan.kind != FieldValue::Type::kBlob;
      const SQLSMALLINT c_type = text ? SQL_C_CHAR : SQL_C_BINARY;
      const size_t nul = text ? 1 : 0;
      const size_t start = arena_used_;
      size_t next_part = 0;  // after a truncated part: what the rest needs
      for (;;) {
        // Ask for about the declared size per call: some drivers (sqliteodbc)
        // pad the whole buffer they are given, so a large one costs per value.
        const size_t want = next_part != 0 ? next_part : std::clamp<size_t>(plan.size + 1, 64, 4096);
        if (arena_.size() - arena_used_ < want) arena_.resize(std::max(arena_.size() * 2, arena_used_ + 65536));
        const auto capacity = static_cast<SQLLEN>(want);
        rc = SQLGetData(stmt_.get(), column, c_type, arena_.data() + arena_used_, capacity, &ind);
        if (rc == SQL_NO_DATA) break;  // the last part came with the previous call
        if (!odbc::succeeded(rc)) {
          const std::string state = stmt_.sqlstate();
          arena_used_ = start;
          if (state.rfind("22", 0) == 0) {
            bad = true;
            return Status::ok();
          }
          return stmt_.check(rc, "reading a value");
        }
        if (ind == SQL_NULL_DATA) {
          arena_used_ = start;
          return Status::ok();
        }
        const bool truncated = rc == SQL_SUCCESS_WITH_INFO &&
                               (ind == SQL_NO_TOTAL || ind > capacity - static_cast<SQLLEN>(nul));
        if (!truncated) {
          arena_used_ += static_cast<size_t>(ind);
          break;
        }
        arena_used_ += static_cast<size_t>(capacity) - nul;
        next_part = ind == SQL_NO_TOTAL ? 2 * static_cast<size_t>(capacity)
                                        : static_cast<size_t>(ind) - (static_cast<size_t>(capacity) - nul) + nul;
      }
      if (arena_used_ == arena_.size()) arena_.resize(arena_.size() * 2);
      arena_[arena_used_] = '\0';
      chunk_spans_[slot] = {start, arena_used_ - start};
      arena_used_ += 1;
      v.type = text ? FieldValue::Type::kText : FieldValue::Type::kBlob;
      return Status::ok();
    }
  }
}

Status OdbcTableConnector::fetch_chunk(Pass pass, size_t request, bool& exhausted) {
  exhausted = false;
  chunk_rows_ = 0;
  arena_used_ = 0;
  param_count_ = 0;
  const ColumnPlan& key_plan = plans_[key_index_];
  const std::string* base = nullptr;
  switch (pass) {
    case Pass::kFull:
      base = full_has_pos_ ? &sql_full_after_ : &sql_full_first_;
      if (full_has_pos_) bind_param(key_plan, full_pos_key_);
      break;
    case Pass::kNulls:
      base = null_has_pos_ ? &sql_nulls_after_ : &sql_nulls_first_;
      if (null_has_pos_) bind_param(key_plan, null_pos_key_);
      break;
    case Pass::kMain: {
      const ColumnPlan& cur_plan = plans_[cursor_index_];
      if (main_has_pos_) {
        base = &sql_main_after_;
        bind_param(cur_plan, pos_value_);
        bind_param(cur_plan, pos_value_);
        bind_param(key_plan, pos_key_);
      } else if (has_boundary_) {
        base = &sql_main_ge_;
        bind_param(cur_plan, boundary_value_);
      } else {
        base = &sql_main_start_;
      }
      if (config_.settle_seconds > 0) {
        SqliteTableConnector::Config settle;
        settle.settle_seconds = config_.settle_seconds;
        settle.cursor_format = static_cast<SqliteTableConnector::CursorFormat>(config_.cursor_format);
        settle.source_utc_offset_seconds = config_.source_utc_offset_seconds;
        const auto b = SqliteTableConnector::settle_bound(settle, now_ms());
        OwnedValue bound;
        bound.type = b.is_text ? FieldValue::Type::kText : FieldValue::Type::kInt;
        bound.i = b.i;
        bound.s = b.text;
        bind_param(cur_plan, bound);
      }
      break;
    }
  }
  sql_buf_.assign(*base);
  if (config_.limit_clause == LimitClause::kLimit) {
    sql_buf_ += " LIMIT " + std::to_string(request);
  } else if (config_.limit_clause == LimitClause::kFetchFirst) {
    sql_buf_ += " FETCH FIRST " + std::to_string(request) + " ROWS ONLY";
  }
  // SQL_ATTR_MAX_ROWS only without a clause: sqliteodbc, given it, keeps
  // SQLite's read lock after the statement is closed.
  if (config_.limit_clause == LimitClause::kNone) {
    SQLSetStmtAttr(stmt_.get(), SQL_ATTR_MAX_ROWS, reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(request)), 0);
  }

  const size_t cells = request * width_;
  if (chunk_values_.size() < cells) {
    chunk_values_.resize(cells);
    chunk_spans_.resize(cells);
  }
  if (chunk_bad_.size() < request) chunk_bad_.resize(request);

  Status result = bind_params();
  if (result.is_ok()) result = stmt_.exec_direct(sql_buf_);
  while (result.is_ok() && chunk_rows_ < request) {
    Expected<bool> row = stmt_.fetch();
    if (!row) {
      result = row.status();
      break;
    }
    if (!*row) {
      exhausted = true;
      break;
    }
    chunk_bad_[chunk_rows_] = -1;
    const size_t first = chunk_rows_ * width_;
    for (size_t c = 0; c < width_ && result.is_ok(); ++c) {
      if (const int32_t same = plans_[c].same_as; same >= 0) {
        chunk_values_[first + c] = chunk_values_[first + static_cast<size_t>(same)];
        chunk_spans_[first + c] = chunk_spans_[first + static_cast<size_t>(same)];
        // A bad cursor or key value stops the read, not just the row.
        if (chunk_bad_[chunk_rows_] == same) chunk_bad_[chunk_rows_] = static_cast<int32_t>(c);
        continue;
      }
      bool bad = false;
      result = fetch_value(static_cast<SQLUSMALLINT>(c + 1), plans_[c], first + c, bad);
      if (bad && chunk_bad_[chunk_rows_] < 0) chunk_bad_[chunk_rows_] = static_cast<int32_t>(c);
    }
    ++chunk_rows_;
  }
  // The result set (and with autocommit the read transaction) ends here,
  // before any row of the chunk reaches the sink.
  Status closed = stmt_.close();
  if (result.is_ok()) result = closed;
  if (result.is_ok()) result = db_.end_transaction();
  if (!result.is_ok()) {
    chunk_rows_ = 0;
    disconnect();  // the next read connects afresh
    return source_failure(result);
  }
  paced_rows_ += chunk_rows_;
  // The arena is complete: point the values into it.
  for (size_t k = 0; k < chunk_rows_ * width_; ++k) {
    FieldValue& v = chunk_values_[k];
    if (v.type == FieldValue::Type::kText || v.type == FieldValue::Type::kBlob) {
      v.s = std::string_view(arena_.data() + chunk_spans_[k].first, chunk_spans_[k].second);
    }
  }
  return Status::ok();
}

uint64_t OdbcTableConnector::row_digest(const FieldValue* row) const {
  return dxhub::row_digest(row, width_, digest_buf_);
}

namespace {
template <typename Owned>
void assign_owned(Owned& out, const FieldValue& v) {
  out.type = v.type;
  out.i = v.i;
  out.d = v.d;
  out.s.assign(v.s);
}
}  // namespace

Expected<size_t> OdbcTableConnector::deliver_chunk(Pass pass, RowSink& sink) {
  const size_t ncols = columns_.size();
  const std::string name = source_name();
  size_t delivered = 0;
  for (size_t r = 0; r < chunk_rows_; ++r) {
    const FieldValue* row = &chunk_values_[r * width_];
    const FieldValue& key = row[key_index_];
    const int32_t bad_column = chunk_bad_[r];
    if (bad_column >= 0 && static_cast<size_t>(bad_column) >= ncols) {
      return Status(StatusCode::kSource, name + ": a cursor_column or key_column value does not convert to its "
                                                "declared type, so rows cannot be ordered");
    }
    if (key.type == FieldValue::Type::kNull) {
      return Status(StatusCode::kSource, name + ": key_column " + config_.key_column +
                                             " holds NULL, so rows cannot be told apart");
    }
    if (pass == Pass::kFull) {
      if (bad_column >= 0) {
        const std::string reason = "column " + columns_[static_cast<size_t>(bad_column)] +
                                   ": value does not convert to the column's declared type";
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{name, reason, {}}));
      } else {
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{row, ncols}));
        ++delivered;
      }
      assign_owned(full_pos_key_, key);
      full_has_pos_ = true;
      continue;
    }
    const bool null_pass = pass == Pass::kNulls;
    const FieldValue& cur = row[cursor_index_];
    if (!null_pass && cur.type == FieldValue::Type::kNull) {  // selected as NOT NULL: it did not convert
      return Status(StatusCode::kSource, name + ": a cursor_column value does not convert to its declared type");
    }
    SentSet& old = null_pass ? nulls_old_ : boundary_old_;
    SentSet& fresh = null_pass ? nulls_new_ : boundary_new_;
    const bool new_group = !null_pass && (!has_boundary_ || !same_value(cur, boundary_value_));
    const uint64_t digest = row_digest(row);
    int64_t found = -1;
    if (null_pass || (!new_group && old_active_)) {
      found = old.find(key.type, key.i, key.d, key.s, key_hash(key.type, key.i, key.d, key.s));
    }
    const bool already_sent = found >= 0 && old.digest(static_cast<size_t>(found)) == digest;
    if (!already_sent) {
      if (bad_column >= 0) {
        const std::string reason = "column " + columns_[static_cast<size_t>(bad_column)] +
                                   ": value does not convert to the column's declared type";
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{name, reason, {}}));
      } else {
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{row, ncols}));
      }
    }
    if (new_group) {
      assign_owned(boundary_value_, cur);
      has_boundary_ = true;
      boundary_new_.clear();
      old_active_ = false;
    }
    if (found >= 0) old.consume(static_cast<size_t>(found));
    fresh.append(key.type, key.i, key.d, key.s, 0, digest);
    if (null_pass) {
      assign_owned(null_pos_key_, key);
      null_has_pos_ = true;
    } else {
      assign_owned(pos_key_, key);
      assign_owned(pos_value_, cur);
      main_has_pos_ = true;
    }
    touched_ = true;
    if (!already_sent && bad_column < 0) ++delivered;
  }
  return delivered;
}

Expected<size_t> OdbcTableConnector::read(size_t max_rows, RowSink& sink) {
  size_t limit = std::min(max_rows, config_.fetch_rows);
  if (limit == 0) return size_t{0};
  if (!db_.connected()) DXHUB_RETURN_IF_ERROR(connect());
  size_t delivered = 0;
  while (delivered < limit) {
    const Pass pass = !config_.incremental ? Pass::kFull : (!nulls_done_ ? Pass::kNulls : Pass::kMain);
    size_t request = limit - delivered;
    pace(request);
    bool exhausted = false;
    if (Status fetched = fetch_chunk(pass, request, exhausted); !fetched.is_ok()) {
      // Rows already handed out by this call stand (the cursor covers them);
      // the failure comes back with the next read.
      if (delivered > 0) return delivered;
      return fetched;
    }
    DXHUB_ASSIGN_OR_RETURN(size_t n, deliver_chunk(pass, sink));
    delivered += n;
    if (chunk_rows_ < request) exhausted = true;
    if (exhausted) {
      if (pass == Pass::kNulls) {
        nulls_done_ = true;  // every NULL-cursor row was visited: the rest of the old set is gone
        nulls_old_.clear();
        continue;
      }
      break;
    }
  }
  return delivered;
}

nlohmann::json OdbcTableConnector::cursor() const {
  if (!config_.incremental || (!opened_with_cursor_ && !touched_)) return nullptr;
  nlohmann::json value = has_boundary_ ? typed_json(boundary_value_.type, boundary_value_.i, boundary_value_.d,
                                                    boundary_value_.s)
                                       : nlohmann::json(nullptr);
  return boundary_cursor_json(std::move(value), boundary_new_, old_active_ ? &boundary_old_ : nullptr, nulls_new_,
                              nulls_done_ ? nullptr : &nulls_old_);
}

}  // namespace dxhub
