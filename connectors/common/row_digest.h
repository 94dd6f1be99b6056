// The XXH3 digest of a row that a boundary set (boundary_set.h) keeps, so
// that a row re-read at the boundary is known unchanged. Stored in cursors:
// the layout must not change.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/common/row.h"

namespace dxhub {

// Every value as type, then 8 bytes of number or length + bytes, laid out
// in `buf` (reused: it only grows) and hashed once.
inline uint64_t row_digest(const FieldValue* row, size_t count, std::string& buf) {
  size_t size = 0;
  for (size_t c = 0; c < count; ++c) size += 1 + 8 + row[c].s.size();
  if (buf.size() < size) buf.resize(size);
  char* out = buf.data();
  for (size_t c = 0; c < count; ++c) {
    const FieldValue& v = row[c];
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
  return XXH3_64bits(buf.data(), static_cast<size_t>(out - buf.data()));
}

}  // namespace dxhub
