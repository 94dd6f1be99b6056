// One field value after the mapping has converted and validated it, before it
// is either set on an avro-c generic value (RecordMapper::map) or written as
// Avro binary (RecordMapper::encode). Keeping this step shared is what makes
// both paths produce the same records and the same errors.
#pragma once

#include <avro.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dxhub::mapping {

struct ConvertedValue {
  enum class Kind : uint8_t { kNull, kInt, kLong, kFloat, kDouble, kBoolean, kEnum, kString, kBytes, kFixed };

  ConvertedValue() = default;
  // `text` may point into `digits`: a copy would dangle.
  ConvertedValue(const ConvertedValue&) = delete;
  ConvertedValue& operator=(const ConvertedValue&) = delete;

  Kind kind = Kind::kNull;
  int64_t integer = 0;    // kInt, kLong, kBoolean (0/1), kEnum (symbol index)
  double real = 0;        // kDouble
  float single = 0;       // kFloat
  // kString: UTF-8 followed by a NUL (avro-c needs it); kBytes: raw bytes;
  // kFixed: exactly the fixed's size of raw bytes (no length prefix).
  // Points into the source row, the mapper's tables or `digits`.
  std::string_view text;
  char digits[40];        // numbers rendered as text (NUL-terminated), decimals' bytes
};

// Sets `value` on `target` (the union branch already selected); returns
// avro-c's error code, 0 on success.
int set_avro_value(const ConvertedValue& value, avro_value_t* target);

// Appends the Avro binary encoding of `value` (the union branch index, if
// any, is the caller's) to `out`.
void append_avro_binary(const ConvertedValue& value, std::string& out);

}  // namespace dxhub::mapping
