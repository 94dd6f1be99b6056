#include "connectors/sqlite_table/sqlite_table_connector.h"

#include <strings.h>
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <utility>

namespace dxhub {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
std::string dump_safe(const nlohmann::json& j) { return j.dump(-1, ' ', false, kReplace); }

Expected<std::string> required_string(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return config_error(std::string("sqlite_table config needs a non-empty string \"") + key + "\"");
  }
  return it->get<std::string>();
}

bool same_identifier(std::string_view a, std::string_view b) {
  // SQLite identifiers are case-insensitive (ASCII).
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF): exactly what
// nlohmann::json accepts when dumping strictly.
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t k = 2; k <= n; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += n + 1;
  }
  return true;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t k = 0; k < hex.size(); k += 2) {
    int a = nibble(hex[k]), b = nibble(hex[k + 1]);
    if (a < 0 || b < 0) return false;
    out.push_back(static_cast<char>(a * 16 + b));
  }
  return true;
}

std::string digest_hex(uint64_t d) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d));
  return buf;
}

// The typed JSON form of one SQLite value; never holds invalid UTF-8.
nlohmann::json typed_json(FieldValue::Type type, int64_t i, double d, std::string_view s) {
  switch (type) {
    case FieldValue::Type::kInt: return i;
    case FieldValue::Type::kReal:
      if (std::isfinite(d)) return d;
      return nlohmann::json{{"real", std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf")}};
    case FieldValue::Type::kText:
      if (valid_utf8(s)) return std::string(s);
      return nlohmann::json{{"hex", to_hex(s)}};
    case FieldValue::Type::kBlob: return nlohmann::json{{"blob", to_hex(s)}};
    default: return nullptr;
  }
}

struct TypedValue {
  FieldValue::Type type = FieldValue::Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

bool parse_typed(const nlohmann::json& j, TypedValue& out) {
  out = TypedValue{};
  if (j.is_null()) return true;
  if (j.is_number_unsigned()) {
    if (j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out.type = FieldValue::Type::kInt;
    out.i = static_cast<int64_t>(j.get<uint64_t>());
    return true;
  }
  if (j.is_number_integer()) {
    out.type = FieldValue::Type::kInt;
    out.i = j.get<int64_t>();
    return true;
  }
  if (j.is_number_float()) {
    out.type = FieldValue::Type::kReal;
    out.d = j.get<double>();
    return true;
  }
  if (j.is_string()) {
    out.type = FieldValue::Type::kText;
    out.s = j.get<std::string>();
    return true;
  }
  if (j.is_object() && j.size() == 1) {
    const auto first = j.begin();  // (not items(): its proxy would be a dangling temporary)
    const std::string& name = first.key();
    const nlohmann::json& v = first.value();
    if (!v.is_string()) return false;
    const auto& text = v.get_ref<const std::string&>();
    if (name == "real") {
      out.type = FieldValue::Type::kReal;
      if (text == "inf") out.d = std::numeric_limits<double>::infinity();
      else if (text == "-inf") out.d = -std::numeric_limits<double>::infinity();
      else if (text == "nan") out.d = std::numeric_limits<double>::quiet_NaN();
      else return false;
      return true;
    }
    if (name == "hex" || name == "blob") {
      out.type = name == "hex" ? FieldValue::Type::kText : FieldValue::Type::kBlob;
      return from_hex(text, out.s);
    }
  }
  return false;
}

FieldValue::Type sqlite_type(int t) {
  switch (t) {
    case SQLITE_INTEGER: return FieldValue::Type::kInt;
    case SQLITE_FLOAT: return FieldValue::Type::kReal;
    case SQLITE_TEXT: return FieldValue::Type::kText;
    case SQLITE_BLOB: return FieldValue::Type::kBlob;
    default: return FieldValue::Type::kNull;
  }
}

// One column of the current row as a typed value (borrowed bytes).
struct ColumnValue {
  FieldValue::Type type;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};

ColumnValue column_value(const SqliteStmt& stmt, int col) {
  ColumnValue v{sqlite_type(stmt.column_type(col)), 0, 0, {}};
  switch (v.type) {
    case FieldValue::Type::kInt: v.i = stmt.column_int64(col); break;
    case FieldValue::Type::kReal: v.d = stmt.column_double(col); break;
    case FieldValue::Type::kText: v.s = stmt.column_text(col); break;
    case FieldValue::Type::kBlob: v.s = stmt.column_blob(col); break;
    default: break;
  }
  return v;
}

// An integer and a real are equal in SQLite when they are the same number.
bool int_equals_real(int64_t i, double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
  return static_cast<double>(i) == d && static_cast<int64_t>(d) == i;
}

// Equality as SQLite's BINARY comparison sees it.
template <typename A, typename B>
bool sqlite_equal(const A& a, const B& b) {
  using T = FieldValue::Type;
  if (a.type == T::kInt && b.type == T::kInt) return a.i == b.i;
  if (a.type == T::kReal && b.type == T::kReal) return a.d == b.d;
  if (a.type == T::kInt && b.type == T::kReal) return int_equals_real(a.i, b.d);
  if (a.type == T::kReal && b.type == T::kInt) return int_equals_real(b.i, a.d);
  if (a.type != b.type) return false;
  if (a.type == T::kText || a.type == T::kBlob) return std::string_view(a.s) == std::string_view(b.s);
  return false;
}

uint64_t key_hash(FieldValue::Type type, int64_t i, double d, std::string_view bytes) {
  const auto seed = static_cast<XXH64_hash_t>(type);
  switch (type) {
    case FieldValue::Type::kInt: return XXH3_64bits_withSeed(&i, sizeof i, seed);
    case FieldValue::Type::kReal: return XXH3_64bits_withSeed(&d, sizeof d, seed);
    default: return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
  }
}

bool same_key(FieldValue::Type ta, int64_t ia, double da, std::string_view sa, FieldValue::Type tb, int64_t ib,
              double db, std::string_view sb) {
  if (ta != tb) return false;
  switch (ta) {
    case FieldValue::Type::kInt: return ia == ib;
    case FieldValue::Type::kReal: return std::memcmp(&da, &db, sizeof da) == 0;
    default: return sa == sb;
  }
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Expected<int32_t> parse_utc_offset(const std::string& s) {
  // [+-]HH:MM
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
    return config_error("sqlite_table config \"source_utc_offset\" must look like +08:00, got " + dump_safe(s));
  }
  auto digit = [&](size_t k) { return s[k] >= '0' && s[k] <= '9' ? s[k] - '0' : -1; };
  int h1 = digit(1), h2 = digit(2), m1 = digit(4), m2 = digit(5);
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 || h1 * 10 + h2 > 14 || m1 * 10 + m2 > 59) {
    return config_error("sqlite_table config \"source_utc_offset\" must look like +08:00, got " + dump_safe(s));
  }
  int32_t seconds = (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60;
  return s[0] == '-' ? -seconds : seconds;
}

}  // namespace

// ---- SentSet ----

void SqliteTableConnector::SentSet::clear() {
  entries_.clear();
  key_bytes_.clear();
  slots_.clear();
}

void SqliteTableConnector::SentSet::reserve(size_t entries, size_t key_bytes) {
  entries_.reserve(entries);
  key_bytes_.reserve(key_bytes);
}

void SqliteTableConnector::SentSet::append(FieldValue::Type type, int64_t i, double d, std::string_view bytes,
                                           uint64_t hash, uint64_t digest) {
  Entry e{hash, digest, i, d, static_cast<uint32_t>(key_bytes_.size()), static_cast<uint32_t>(bytes.size()), type,
          false};
  key_bytes_.append(bytes);
  entries_.push_back(e);
}

void SqliteTableConnector::SentSet::build_index() {
  size_t capacity = 16;
  while (capacity < entries_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  for (size_t k = 0; k < entries_.size(); ++k) {
    size_t slot = entries_[k].key_hash & (capacity - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    slots_[slot] = static_cast<uint32_t>(k + 1);
  }
}

int64_t SqliteTableConnector::SentSet::find(FieldValue::Type type, int64_t i, double d, std::string_view bytes,
                                            uint64_t hash) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (e.key_hash == hash &&
        same_key(e.type, e.i, e.d, std::string_view(key_bytes_).substr(e.offset, e.length), type, i, d, bytes)) {
      return static_cast<int64_t>(slots_[slot] - 1);
    }
  }
  return -1;
}

void SqliteTableConnector::SentSet::to_json(nlohmann::json& array, bool only_unconsumed) const {
  for (const Entry& e : entries_) {
    if (only_unconsumed && e.consumed) continue;
    array.push_back(nlohmann::json::array(
        {typed_json(e.type, e.i, e.d, std::string_view(key_bytes_).substr(e.offset, e.length)), digest_hex(e.digest)}));
  }
}

Status SqliteTableConnector::SentSet::load(const nlohmann::json& array, const std::string& what) {
  clear();
  if (!array.is_array()) return config_error(what + "expected an array of [key, digest], got " + dump_safe(array));
  TypedValue key;
  for (const auto& item : array) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_string() || !parse_typed(item[0], key) ||
        key.type == FieldValue::Type::kNull) {
      return config_error(what + "bad [key, digest] entry " + dump_safe(item));
    }
    const auto& hex = item[1].get_ref<const std::string&>();
    std::string raw;
    if (hex.size() != 16 || !from_hex(hex, raw)) return config_error(what + "bad digest in " + dump_safe(item));
    uint64_t digest = 0;
    for (unsigned char b : raw) digest = (digest << 8) | b;
    append(key.type, key.i, key.d, key.s, key_hash(key.type, key.i, key.d, key.s), digest);
  }
  build_index();
  return Status::ok();
}

// ---- config ----

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
  if (c.settle_seconds > 0 && c.cursor_format == CursorFormat::kOpaque) {
    return config_error("sqlite_table config for table " + c.table +
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

SqliteTableConnector::SqliteTableConnector(Config config, std::vector<std::string> columns, SqliteDb db)
    : config_(std::move(config)), columns_(std::move(columns)), db_(std::move(db)), values_(columns_.size() + 2) {
  // Warm capacity so that ordinary tie groups and rows never allocate.
  boundary_new_.reserve(1024, 16 * 1024);
  nulls_new_.reserve(64, 1024);
  digest_buf_.reserve(4096);
}

Expected<std::unique_ptr<SqliteTableConnector>> SqliteTableConnector::open(const nlohmann::json& config,
                                                                          const std::vector<std::string>& columns,
                                                                          const nlohmann::json& cursor) {
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(c.database, SqliteDb::Mode::kReadOnly, StatusCode::kSource));
  // Read-only twice over: the open flags, and the connection refuses writes.
  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA query_only = ON"));
  std::unique_ptr<SqliteTableConnector> conn(new SqliteTableConnector(std::move(c), columns, std::move(db)));
  DXHUB_RETURN_IF_ERROR(conn->check_columns());
  DXHUB_RETURN_IF_ERROR(conn->check_key_is_unique_not_null());
  DXHUB_RETURN_IF_ERROR(conn->check_cursor_values_match_format());
  DXHUB_RETURN_IF_ERROR(conn->load_cursor(cursor));
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
    if (same_identifier(present.back(), config_.cursor_column)) cursor_nullable_ = info.column_int64(3) == 0;
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

  // Equality of cursor values is decided here as BINARY does; another
  // collation would make SQLite's groups differ from ours.
  const char* collation = nullptr;
  if (sqlite3_table_column_metadata(db_.get(), "main", config_.table.c_str(), config_.cursor_column.c_str(), nullptr,
                                    &collation, nullptr, nullptr, nullptr) == SQLITE_OK &&
      collation != nullptr && strcasecmp(collation, "BINARY") != 0) {
    return config_error("table " + config_.table + " cursor_column " + config_.cursor_column + " uses collation " +
                        collation + "; only BINARY orders cursor values exactly");
  }
  return Status::ok();
}

Status SqliteTableConnector::check_key_is_unique_not_null() {
  const std::string refused = "table " + config_.table + " key_column " + config_.key_column +
                              " must be unique and NOT NULL (INTEGER PRIMARY KEY, or NOT NULL with a single-column "
                              "UNIQUE index or PRIMARY KEY): ";
  DXHUB_ASSIGN_OR_RETURN(auto list, db_.prepare("SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND "
                                                "name = ?1"));
  DXHUB_RETURN_IF_ERROR(list.bind_text(1, config_.table));
  DXHUB_ASSIGN_OR_RETURN(bool listed, list.step());
  if (!listed) return config_error(refused + "table not found in main schema");
  if (list.column_text(0) != "table") return config_error(refused + "it is a " + std::string(list.column_text(0)) +
                                                          ", whose key cannot be proven unique");
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
  const std::string t = sqlite_quote_identifier(config_.table);
  const std::string c = sqlite_quote_identifier(config_.cursor_column);
  // Index range probes: numbers sort before '' and TEXT before x''.
  const bool want_text = config_.cursor_format == CursorFormat::kDatetime;
  const std::string sql = want_text ? "SELECT EXISTS(SELECT 1 FROM " + t + " WHERE " + c + " < '') OR EXISTS(SELECT 1 FROM " +
                                          t + " WHERE " + c + " >= x'')"
                                    : "SELECT EXISTS(SELECT 1 FROM " + t + " WHERE " + c + " >= '')";
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (row && stmt.column_int64(0) != 0) {
    return config_error("table " + config_.table + " cursor_column " + config_.cursor_column + " holds " +
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
    DXHUB_RETURN_IF_ERROR(boundary_old_.load(*boundary_it, what));
    DXHUB_RETURN_IF_ERROR(nulls_old_.load(*nulls_it, what));
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
  const std::string cur = sqlite_quote_identifier(config_.cursor_column);
  const std::string key = sqlite_quote_identifier(config_.key_column);
  std::string select = "SELECT ";
  for (const auto& c : columns_) select += sqlite_quote_identifier(c) + ", ";
  select += cur + ", " + key + " FROM " + sqlite_quote_identifier(config_.table);
  const std::string order = " ORDER BY " + cur + ", " + key;
  const std::string bound = config_.settle_seconds > 0 ? " AND " + cur + " <= ?3" : "";
  DXHUB_ASSIGN_OR_RETURN(nulls_first_, db_.prepare(select + " WHERE " + cur + " IS NULL ORDER BY " + key));
  DXHUB_ASSIGN_OR_RETURN(nulls_after_,
                         db_.prepare(select + " WHERE " + cur + " IS NULL AND " + key + " > ?2 ORDER BY " + key));
  DXHUB_ASSIGN_OR_RETURN(main_start_, db_.prepare(select + " WHERE " + cur + " IS NOT NULL" + bound + order));
  DXHUB_ASSIGN_OR_RETURN(main_ge_, db_.prepare(select + " WHERE " + cur + " >= ?1" + bound + order));
  DXHUB_ASSIGN_OR_RETURN(main_after_,
                         db_.prepare(select + " WHERE (" + cur + ", " + key + ") > (?1, ?2)" + bound + order));
  return Status::ok();
}

// ---- reading ----

namespace {
Status bind_owned(SqliteStmt& stmt, int index, FieldValue::Type type, int64_t i, double d, const std::string& s) {
  switch (type) {
    case FieldValue::Type::kInt: return stmt.bind_int64(index, i);
    case FieldValue::Type::kReal: return stmt.bind_double(index, d);
    // Copied: the position buffers change while the statement steps.
    case FieldValue::Type::kText: return stmt.bind_text(index, s);
    case FieldValue::Type::kBlob: return stmt.bind_blob(index, s.data(), s.size());
    default: return stmt.bind_null(index);
  }
}
}  // namespace

Status SqliteTableConnector::source_failure(const Status& cause) const {
  return Status(StatusCode::kSource, "reading table " + config_.table + " of " + config_.database + ": " +
                                         cause.message());
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

uint64_t SqliteTableConnector::row_digest() {
  // Every selected column plus cursor and key, each as type, length, bytes,
  // laid out in one reused buffer and hashed once.
  size_t size = 0;
  for (const FieldValue& v : values_) size += 1 + 8 + v.s.size();
  if (digest_buf_.size() < size) digest_buf_.resize(size);
  char* out = digest_buf_.data();
  for (const FieldValue& v : values_) {
    *out++ = static_cast<char>(v.type);
    switch (v.type) {
      case FieldValue::Type::kInt: std::memcpy(out, &v.i, 8); out += 8; break;
      case FieldValue::Type::kReal: std::memcpy(out, &v.d, 8); out += 8; break;
      case FieldValue::Type::kText:
      case FieldValue::Type::kBlob: {
        const uint64_t len = v.s.size();
        std::memcpy(out, &len, 8);
        if (len != 0) std::memcpy(out + 8, v.s.data(), len);
        out += 8 + len;
        break;
      }
      default: break;
    }
  }
  return XXH3_64bits(digest_buf_.data(), static_cast<size_t>(out - digest_buf_.data()));
}

Expected<size_t> SqliteTableConnector::read_pass(SqliteStmt& stmt, bool null_pass, size_t limit, RowSink& sink,
                                                 bool& exhausted) {
  exhausted = false;
  const int ncols = static_cast<int>(columns_.size());
  SentSet& old = null_pass ? nulls_old_ : boundary_old_;
  SentSet& fresh = null_pass ? nulls_new_ : boundary_new_;
  size_t delivered = 0;
  Status result;
  while (delivered < limit) {
    Expected<bool> row = stmt.step();
    if (!row) {
      result = source_failure(row.status());
      break;
    }
    if (!*row) {
      exhausted = true;
      break;
    }
    // Each column fetched once: the selected ones, then cursor and key.
    for (int c = 0; c < ncols + 2; ++c) {
      const ColumnValue v = column_value(stmt, c);
      values_[static_cast<size_t>(c)] = FieldValue{v.type, v.i, v.d, v.s};
    }
    const FieldValue& cur = values_[static_cast<size_t>(ncols)];
    const FieldValue& key = values_[static_cast<size_t>(ncols) + 1];
    if (key.type == FieldValue::Type::kNull) {
      result = Status(StatusCode::kSource, "table " + config_.table + ": key_column " + config_.key_column +
                                               " holds NULL, so rows cannot be told apart");
      break;
    }
    // Decide first; change the position only once the sink took the row.
    const bool new_group = !null_pass && (!has_boundary_ || !sqlite_equal(cur, boundary_value_));
    const uint64_t digest = row_digest();
    int64_t found = -1;
    if (null_pass || (!new_group && old_active_)) {
      found = old.find(key.type, key.i, key.d, key.s, key_hash(key.type, key.i, key.d, key.s));
    }
    const bool already_sent = found >= 0 && old.digest(static_cast<size_t>(found)) == digest;
    if (!already_sent) {
      result = sink.on_row(RowView{values_.data(), static_cast<size_t>(ncols)});
      if (!result.is_ok()) break;
    }
    // The row is handled (delivered, or sent before in this very form).
    if (new_group) {
      boundary_value_.type = cur.type;
      boundary_value_.i = cur.i;
      boundary_value_.d = cur.d;
      boundary_value_.s.assign(cur.s);
      has_boundary_ = true;
      boundary_new_.clear();
      old_active_ = false;
    }
    if (found >= 0) old.consume(static_cast<size_t>(found));
    fresh.append(key.type, key.i, key.d, key.s, 0, digest);  // never looked up: no key hash needed
    OwnedValue& pos_key = null_pass ? null_pos_key_ : pos_key_;
    pos_key.type = key.type;
    pos_key.i = key.i;
    pos_key.d = key.d;
    pos_key.s.assign(key.s);
    if (null_pass) {
      null_has_pos_ = true;
    } else {
      pos_value_.type = cur.type;
      pos_value_.i = cur.i;
      pos_value_.d = cur.d;
      pos_value_.s.assign(cur.s);
      main_has_pos_ = true;
    }
    touched_ = true;
    if (!already_sent) ++delivered;
  }
  Status reset = stmt.reset();
  if (!result.is_ok()) return result;
  if (!reset.is_ok()) return source_failure(reset);
  return delivered;
}

Expected<size_t> SqliteTableConnector::read(size_t max_rows, RowSink& sink) {
  size_t limit = max_rows;
  if (config_.fetch_rows != 0 && config_.fetch_rows < limit) limit = config_.fetch_rows;
  if (limit == 0) return size_t{0};

  size_t n = 0;
  bool exhausted = false;
  if (!nulls_done_) {
    SqliteStmt& stmt = null_has_pos_ ? nulls_after_ : nulls_first_;
    if (null_has_pos_) {
      DXHUB_RETURN_IF_ERROR(bind_owned(stmt, 2, null_pos_key_.type, null_pos_key_.i, null_pos_key_.d,
                                       null_pos_key_.s));
    }
    DXHUB_ASSIGN_OR_RETURN(n, read_pass(stmt, true, limit, sink, exhausted));
    if (!exhausted) return n;
    // Every NULL-cursor row was visited: the rest of the old set is gone.
    nulls_done_ = true;
    nulls_old_.clear();
    if (n == limit) return n;
  }
  SqliteStmt* stmt = &main_start_;
  if (main_has_pos_) {
    stmt = &main_after_;
    DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 1, pos_value_.type, pos_value_.i, pos_value_.d, pos_value_.s));
    DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 2, pos_key_.type, pos_key_.i, pos_key_.d, pos_key_.s));
  } else if (has_boundary_) {
    stmt = &main_ge_;
    DXHUB_RETURN_IF_ERROR(bind_owned(*stmt, 1, boundary_value_.type, boundary_value_.i, boundary_value_.d,
                                     boundary_value_.s));
  }
  DXHUB_RETURN_IF_ERROR(bind_bound(*stmt));
  DXHUB_ASSIGN_OR_RETURN(size_t main_rows, read_pass(*stmt, false, limit - n, sink, exhausted));
  return n + main_rows;
}

nlohmann::json SqliteTableConnector::cursor() const {
  if (!opened_with_cursor_ && !touched_) return nullptr;
  nlohmann::json boundary = nlohmann::json::array();
  boundary_new_.to_json(boundary, false);
  if (old_active_) boundary_old_.to_json(boundary, true);
  nlohmann::json nulls = nlohmann::json::array();
  nulls_new_.to_json(nulls, false);
  if (!nulls_done_) nulls_old_.to_json(nulls, true);
  nlohmann::json value = has_boundary_ ? typed_json(boundary_value_.type, boundary_value_.i, boundary_value_.d,
                                                    boundary_value_.s)
                                       : nlohmann::json(nullptr);
  return nlohmann::json{{"v", 2}, {"value", std::move(value)}, {"boundary", std::move(boundary)},
                        {"nulls", std::move(nulls)}};
}

}  // namespace dxhub
