// The typed JSON form of a source value in a table connector's cursor
// (sqlite_table, odbc_table): an integer, a finite real, a UTF-8 string as
// themselves; {"real":"inf"|"-inf"|"nan"}, {"hex":..} for text that is not
// valid UTF-8, {"blob":..} for bytes. The form is stored in cursors: it must
// not change. Also the key hash and key identity of the boundary sets.
#pragma once

#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/common/row.h"

namespace dxhub::typed_cursor {

// Lower-case hex of bytes.
std::string to_hex(std::string_view bytes);
// Hex (either case, even length) to bytes; false on anything else.
bool from_hex(std::string_view hex, std::string& out);
// A 64-bit digest as 16 lower-case hex digits.
std::string digest_hex(uint64_t digest);

// The typed JSON form of one value; never holds invalid UTF-8.
nlohmann::json typed_json(FieldValue::Type type, int64_t i, double d, std::string_view s);

// A value read back from its typed JSON form (owns its bytes).
struct TypedValue {
  FieldValue::Type type = FieldValue::Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

// typed_json's inverse; false when j is none of its forms.
bool parse_typed(const nlohmann::json& j, TypedValue& out);

// Hash of a key value, seeded by its type (boundary set lookups).
inline uint64_t key_hash(FieldValue::Type type, int64_t i, double d, std::string_view bytes) {
  const auto seed = static_cast<XXH64_hash_t>(type);
  switch (type) {
    case FieldValue::Type::kInt: return XXH3_64bits_withSeed(&i, sizeof i, seed);
    case FieldValue::Type::kReal: return XXH3_64bits_withSeed(&d, sizeof d, seed);
    default: return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
  }
}

// Key identity: same type and the same bits (a real by its bytes, so that
// NaN finds itself and -0 is not 0).
inline bool same_key(FieldValue::Type ta, int64_t ia, double da, std::string_view sa, FieldValue::Type tb, int64_t ib,
                     double db, std::string_view sb) {
  if (ta != tb) return false;
  switch (ta) {
    case FieldValue::Type::kInt: return ia == ib;
    case FieldValue::Type::kReal: return std::memcmp(&da, &db, sizeof da) == 0;
    default: return sa == sb;
  }
}

}  // namespace dxhub::typed_cursor
