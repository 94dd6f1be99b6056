// Helpers shared by the sqlite_table connector's files: typed SQLite values
// and their JSON forms, comparisons as SQLite makes them, config checks.
// Internal to connectors/sqlite_table.
#pragma once

#include <sqlite3.h>
#include <strings.h>
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "connectors/common/typed_cursor_value.h"
#include "core/common/row.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"
#include "core/common/utf8.h"

namespace dxhub::sqlite_table_internal {


inline constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
inline std::string dump_safe(const nlohmann::json& j) { return j.dump(-1, ' ', false, kReplace); }

inline Expected<std::string> required_string(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return config_error(std::string("sqlite_table config needs a non-empty string \"") + key + "\"");
  }
  return it->get<std::string>();
}

inline bool same_identifier(std::string_view a, std::string_view b) {
  // SQLite identifiers are case-insensitive (ASCII).
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The typed cursor values and key helpers, shared with odbc_table.
using typed_cursor::parse_typed;
using typed_cursor::typed_json;
using typed_cursor::TypedValue;

inline FieldValue::Type sqlite_type(int t) {
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

inline ColumnValue column_value(const SqliteStmt& stmt, int col) {
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
inline bool int_equals_real(int64_t i, double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
  return static_cast<double>(i) == d && static_cast<int64_t>(d) == i;
}

// Equality as SQLite's BINARY comparison sees it.
template <typename A, typename B>
inline bool sqlite_equal(const A& a, const B& b) {
  using T = FieldValue::Type;
  if (a.type == T::kInt && b.type == T::kInt) return a.i == b.i;
  if (a.type == T::kReal && b.type == T::kReal) return a.d == b.d;
  if (a.type == T::kInt && b.type == T::kReal) return int_equals_real(a.i, b.d);
  if (a.type == T::kReal && b.type == T::kInt) return int_equals_real(b.i, a.d);
  if (a.type != b.type) return false;
  if (a.type == T::kText || a.type == T::kBlob) return std::string_view(a.s) == std::string_view(b.s);
  return false;
}

using typed_cursor::key_hash;

inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

inline Expected<int32_t> parse_utc_offset(const std::string& s) {
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


}  // namespace dxhub::sqlite_table_internal
