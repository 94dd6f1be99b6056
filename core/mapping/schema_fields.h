// What the mapping needs to know about each top-level field of a record
// schema: its position, target type (logical types included, which avro-c
// does not keep, so they come from the schema's JSON), nullability, enum
// symbols and default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/avro/schema.h"
#include "core/common/status.h"

namespace dxhub::mapping {

enum class TargetType : uint8_t {
  kString, kBytes, kInt, kLong, kFloat, kDouble, kBoolean, kEnum,
  kDate,             // int, logicalType date: days since 1970-01-01
  kTimestampMillis,  // long, logicalType timestamp-millis: UTC epoch ms
  kTimestampMicros,  // long, logicalType timestamp-micros: UTC epoch us
  kDecimal,          // bytes or fixed, logicalType decimal: two's-complement unscaled value
};

// The largest decimal precision the mapping supports (the unscaled value
// must fit in 128 bits).
inline constexpr int kMaxDecimalPrecision = 38;
// The largest fixed size a decimal may have (ConvertedValue's buffer).
inline constexpr int kMaxDecimalFixedSize = 32;

const char* target_type_name(TargetType type);

// A field default, reduced to what the value API can set.
struct FieldDefault {
  bool is_null = false;
  int64_t integer = 0;    // int, long, date, timestamps, boolean (0/1), enum symbol index
  double real = 0;        // float, double
  std::string text;       // string, bytes
};

struct SchemaField {
  std::string name;
  int index = 0;
  TargetType type = TargetType::kString;
  bool nullable = false;  // a two-branch union with "null"
  int null_branch = -1;
  int value_branch = -1;
  std::vector<std::string> symbols;    // enum symbols, in order
  int precision = 0;                   // kDecimal: 1..kMaxDecimalPrecision
  int scale = 0;                       // kDecimal: 0..precision
  int fixed_size = 0;                  // kDecimal on fixed: its size; 0 on bytes
  std::optional<FieldDefault> default_value;
};

// Describes the fields of a record schema. Anything the mapping cannot fill
// exactly is kConfig naming the field and the construct: arrays, maps,
// records, plain fixed, unions other than ["null", T], and every logical
// type but date (int), timestamp-millis/-micros (long) and decimal (bytes,
// fixed) -- e.g. time-millis, time-micros, local-timestamp-*, uuid,
// duration; also a logicalType written on the field instead of its type,
// and a default the mapping cannot reproduce (a decimal default, a bytes
// default with a character above U+00FF).
Expected<std::vector<SchemaField>> describe_record_fields(const avro::Schema& schema);

}  // namespace dxhub::mapping
