// One JSON value (simdjson DOM) as a source value, the same way wherever
// JSON records become rows (JSON lines files, pushed posts): strings as text
// (simdjson keeps them NUL-terminated in its own buffer, as FieldValue
// requires), integers as integers (beyond int64: real), other numbers as
// reals, booleans as 0/1, null as null. Objects and arrays are the caller's
// business: false.
#pragma once

#include <simdjson.h>

#include "core/common/row.h"

namespace dxhub {

inline bool json_scalar_value(simdjson::dom::element v, FieldValue& out) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::STRING: out = FieldValue::text(v.get_string().value_unsafe()); return true;
    case T::INT64: out = FieldValue::integer(v.get_int64().value_unsafe()); return true;
    case T::UINT64: out = FieldValue::real(static_cast<double>(v.get_uint64().value_unsafe())); return true;
    case T::DOUBLE: out = FieldValue::real(v.get_double().value_unsafe()); return true;
    case T::BOOL: out = FieldValue::integer(v.get_bool().value_unsafe() ? 1 : 0); return true;
    case T::NULL_VALUE: out = FieldValue::null(); return true;
    default: return false;
  }
}

}  // namespace dxhub
