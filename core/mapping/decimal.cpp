#include "core/mapping/decimal.h"

#include <charconv>
#include <cmath>

namespace dxhub::mapping {

namespace {

__extension__ using uint128 = unsigned __int128;

uint128 power_of_ten(int n) {
  uint128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// Two's complement of (negative ? -magnitude : magnitude), big-endian:
// minimal length for bytes (at least one byte), sign-extended for fixed.
// magnitude < 10^38 < 2^127, so it always fits in 16 bytes.
void encode_unscaled(uint128 magnitude, bool negative, const DecimalSpec& spec, char* out, size_t& length) {
  const uint128 bits = negative ? ~magnitude + 1 : magnitude;
  unsigned char be[16];
  for (int i = 0; i < 16; ++i) be[15 - i] = static_cast<unsigned char>(bits >> (8 * i));
  const unsigned char sign = negative && magnitude != 0 ? 0xFF : 0x00;
  size_t skip = 0;  // leading bytes that only repeat the sign
  while (skip < 15 && be[skip] == sign && ((be[skip + 1] & 0x80) != 0) == (sign == 0xFF)) ++skip;
  const size_t minimal = 16 - skip;
  if (spec.fixed_size == 0) {
    for (size_t i = 0; i < minimal; ++i) out[i] = static_cast<char>(be[skip + i]);
    length = minimal;
    return;
  }
  // The precision check at load guarantees minimal <= fixed_size.
  const size_t size = static_cast<size_t>(spec.fixed_size);
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>(i + minimal < size ? sign : be[skip + i + minimal - size]);
  }
  length = size;
}

}  // namespace

DecimalProblem decimal_from_text(std::string_view text, const DecimalSpec& spec, char* out, size_t& length) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const auto is_digit = [&](size_t k) { return k < text.size() && text[k] >= '0' && text[k] <= '9'; };
  if (!is_digit(i)) return DecimalProblem::kNotDecimal;

  // The unscaled digits are the integer digits and then exactly `scale`
  // fraction digits (padded with zeros); leading zeros do not count
  // against the precision.
  uint128 magnitude = 0;
  int significant = 0;
  bool too_many = false;
  const auto push_digit = [&](int d) {
    if (significant == 0 && d == 0) return;
    if (++significant > spec.precision) {
      too_many = true;  // keep scanning: the text may still be malformed
      return;
    }
    magnitude = magnitude * 10 + static_cast<unsigned>(d);
  };
  for (; is_digit(i); ++i) push_digit(text[i] - '0');
  int fraction_digits = 0;
  int round_digit = 0;  // the first digit past the scale
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!is_digit(i)) return DecimalProblem::kNotDecimal;
    for (; is_digit(i); ++i, ++fraction_digits) {
      if (fraction_digits < spec.scale) push_digit(text[i] - '0');
      else if (fraction_digits == spec.scale) round_digit = text[i] - '0';
    }
  }
  if (i != text.size()) return DecimalProblem::kNotDecimal;
  for (int k = fraction_digits; k < spec.scale; ++k) push_digit(0);
  if (too_many) return DecimalProblem::kExceedsPrecision;
  // Half away from zero: the first dropped digit decides (5 and above up).
  if (round_digit >= 5) {
    ++magnitude;
    if (magnitude >= power_of_ten(spec.precision)) return DecimalProblem::kExceedsPrecision;
  }
  encode_unscaled(magnitude, negative, spec, out, length);
  return DecimalProblem::kOk;
}

DecimalProblem decimal_from_integer(int64_t value, const DecimalSpec& spec, char* out, size_t& length) {
  const bool negative = value < 0;
  const uint64_t abs = negative ? ~static_cast<uint64_t>(value) + 1 : static_cast<uint64_t>(value);
  int digits = 0;
  for (uint64_t v = abs; v > 0; v /= 10) ++digits;
  if (abs != 0 && digits + spec.scale > spec.precision) return DecimalProblem::kExceedsPrecision;
  encode_unscaled(uint128{abs} * power_of_ten(abs == 0 ? 0 : spec.scale), negative, spec, out, length);
  return DecimalProblem::kOk;
}

DecimalProblem decimal_from_real(double value, const DecimalSpec& spec, char* out, size_t& length) {
  if (!std::isfinite(value)) return DecimalProblem::kNotFinite;
  // Fixed notation, shortest round trip: at most 309 integer digits
  // (1.8e308) or "0." and 324 fraction digits (5e-324).
  char text[400];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
  if (ec != std::errc()) return DecimalProblem::kNotDecimal;
  return decimal_from_text(std::string_view(text, static_cast<size_t>(end - text)), spec, out, length);
}

}  // namespace dxhub::mapping
