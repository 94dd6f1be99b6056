#include "connectors/common/typed_cursor_value.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/common/utf8.h"

namespace dxhub::typed_cursor {

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& out) {
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

std::string digest_hex(uint64_t digest) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(digest));
  return buf;
}

nlohmann::json typed_json(FieldValue::Type type, int64_t i, double d, std::string_view s) {
  switch (type) {
    case FieldValue::Type::kInt: return i;
    case FieldValue::Type::kReal:
      if (std::isfinite(d)) return d;
      return nlohmann::json{{"real", std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf")}};
    case FieldValue::Type::kText:
      if (is_valid_utf8(s)) return std::string(s);
      return nlohmann::json{{"hex", to_hex(s)}};
    case FieldValue::Type::kBlob: return nlohmann::json{{"blob", to_hex(s)}};
    default: return nullptr;
  }
}

bool parse_typed(const nlohmann::json& j, TypedValue& out) {
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

}  // namespace dxhub::typed_cursor
