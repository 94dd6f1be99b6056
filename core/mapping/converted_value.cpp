#include "core/mapping/converted_value.h"

#include <bit>

#include "core/avro/ocf_writer.h"

namespace dxhub::mapping {

namespace {

// IEEE 754 bits, least significant byte first, whatever the host order.
template <typename Bits>
void append_little_endian(std::string& out, Bits bits) {
  char buf[sizeof(Bits)];
  for (size_t i = 0; i < sizeof(Bits); ++i) buf[i] = static_cast<char>(bits >> (8 * i));
  out.append(buf, sizeof(Bits));
}

}  // namespace

int set_avro_value(const ConvertedValue& value, avro_value_t* target) {
  using Kind = ConvertedValue::Kind;
  switch (value.kind) {
    case Kind::kNull: return avro_value_set_null(target);
    case Kind::kInt: return avro_value_set_int(target, static_cast<int32_t>(value.integer));
    case Kind::kLong: return avro_value_set_long(target, value.integer);
    case Kind::kFloat: return avro_value_set_float(target, value.single);
    case Kind::kDouble: return avro_value_set_double(target, value.real);
    case Kind::kBoolean: return avro_value_set_boolean(target, static_cast<int>(value.integer));
    case Kind::kEnum: return avro_value_set_enum(target, static_cast<int>(value.integer));
    case Kind::kString:
      // len counts the NUL, which ConvertedValue guarantees follows the text.
      if (value.text.empty()) return avro_value_set_string_len(target, "", 1);
      return avro_value_set_string_len(target, value.text.data(), value.text.size() + 1);
    case Kind::kBytes:
      // avro-c copies the bytes; its API is not const-correct.
      return avro_value_set_bytes(target, const_cast<char*>(value.text.data()), value.text.size());
    case Kind::kFixed:
      return avro_value_set_fixed(target, const_cast<char*>(value.text.data()), value.text.size());
  }
  return 22;  // EINVAL, as avro-c reports a wrong type
}

void append_avro_binary(const ConvertedValue& value, std::string& out) {
  using Kind = ConvertedValue::Kind;
  switch (value.kind) {
    case Kind::kNull: return;  // null encodes as nothing
    case Kind::kInt:
    case Kind::kLong:
    case Kind::kEnum: avro::append_avro_long(out, value.integer); return;
    case Kind::kFloat: append_little_endian(out, std::bit_cast<uint32_t>(value.single)); return;
    case Kind::kDouble: append_little_endian(out, std::bit_cast<uint64_t>(value.real)); return;
    case Kind::kBoolean: out.push_back(value.integer != 0 ? '\x01' : '\x00'); return;
    case Kind::kString:
    case Kind::kBytes:
      avro::append_avro_long(out, static_cast<int64_t>(value.text.size()));
      out.append(value.text.data(), value.text.size());
      return;
    case Kind::kFixed: out.append(value.text.data(), value.text.size()); return;
  }
}

}  // namespace dxhub::mapping
