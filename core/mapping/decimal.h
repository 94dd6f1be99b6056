// Exact conversion of source numbers to Avro decimal (logicalType decimal on
// bytes or fixed): the unscaled value unscaled = value * 10^scale as a
// two's-complement big-endian integer. Allocation-free: runs per row.
//
// Source forms:
//   text    optional '+' or '-', one or more digits, optionally '.' and one
//           or more digits; nothing else (no exponent, no spaces, no
//           thousands separators).
//   integer exact.
//   real    the shortest decimal text that reads back as the same double
//           (std::to_chars), then as text; NaN and infinities are refused.
// More fractional digits than the scale are rounded half away from zero
// (四舍五入: 2.345 -> 2.35, -2.345 -> -2.35 at scale 2). A value whose
// unscaled magnitude needs more than `precision` digits is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dxhub::mapping {

struct DecimalSpec {
  int precision = 1;   // 1..38
  int scale = 0;       // 0..precision
  int fixed_size = 0;  // 0: bytes (minimal length); else fixed, sign-extended to this size
};

enum class DecimalProblem : uint8_t {
  kOk,
  kNotDecimal,          // text not of the accepted form
  kExceedsPrecision,    // more digits than the precision allows
  kNotFinite,           // NaN or an infinity
};

// Writes the encoded unscaled value into out[0..*length) (out must hold at
// least 32 bytes, or fixed_size); on a problem nothing useful is written.
DecimalProblem decimal_from_text(std::string_view text, const DecimalSpec& spec, char* out, size_t& length);
DecimalProblem decimal_from_integer(int64_t value, const DecimalSpec& spec, char* out, size_t& length);
DecimalProblem decimal_from_real(double value, const DecimalSpec& spec, char* out, size_t& length);

}  // namespace dxhub::mapping
