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

#include "core/common/row.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"

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

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF): exactly what
// nlohmann::json accepts when dumping strictly.
inline bool valid_utf8(std::string_view s) {
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

inline std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

inline bool from_hex(std::string_view hex, std::string& out) {
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

inline std::string digest_hex(uint64_t d) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d));
  return buf;
}

// The typed JSON form of one SQLite value; never holds invalid UTF-8.
inline nlohmann::json typed_json(FieldValue::Type type, int64_t i, double d, std::string_view s) {
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

inline bool parse_typed(const nlohmann::json& j, TypedValue& out) {
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

inline uint64_t key_hash(FieldValue::Type type, int64_t i, double d, std::string_view bytes) {
  const auto seed = static_cast<XXH64_hash_t>(type);
  switch (type) {
    case FieldValue::Type::kInt: return XXH3_64bits_withSeed(&i, sizeof i, seed);
    case FieldValue::Type::kReal: return XXH3_64bits_withSeed(&d, sizeof d, seed);
    default: return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
  }
}

inline bool same_key(FieldValue::Type ta, int64_t ia, double da, std::string_view sa, FieldValue::Type tb, int64_t ib,
              double db, std::string_view sb) {
  if (ta != tb) return false;
  switch (ta) {
    case FieldValue::Type::kInt: return ia == ib;
    case FieldValue::Type::kReal: return std::memcmp(&da, &db, sizeof da) == 0;
    default: return sa == sb;
  }
}

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
