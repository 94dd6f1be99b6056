#include "core/mapping/schema_fields.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

namespace dxhub::mapping {

namespace {

using nlohmann::json;

avro_schema_t resolve_link(avro_schema_t s) {
  while (s != nullptr && is_avro_link(s)) s = avro_schema_link_target(s);
  return s;
}

// Named types (record, enum, fixed) by full name, so that a field typed by
// reference ("type": "Money") finds the logicalType of its definition.
using NamedTypes = std::unordered_map<std::string, const json*>;

std::string full_name(const json& object, const std::string& enclosing_namespace) {
  const std::string name = object.value("name", "");
  if (name.find('.') != std::string::npos) return name;
  std::string space = enclosing_namespace;
  if (const auto it = object.find("namespace"); it != object.end() && it->is_string()) space = it->get<std::string>();
  return space.empty() ? name : space + "." + name;
}

void collect_named_types(const json& type, const std::string& enclosing_namespace, NamedTypes& out) {
  if (type.is_array()) {
    for (const json& branch : type) collect_named_types(branch, enclosing_namespace, out);
    return;
  }
  if (!type.is_object()) return;
  std::string space = enclosing_namespace;
  if (type.contains("name") && type["name"].is_string()) {
    const std::string name = full_name(type, enclosing_namespace);
    out.emplace(name, &type);
    const size_t dot = name.rfind('.');
    space = dot == std::string::npos ? "" : name.substr(0, dot);
  }
  if (const auto it = type.find("fields"); it != type.end() && it->is_array()) {
    for (const json& f : *it) {
      if (f.is_object() && f.contains("type")) collect_named_types(f["type"], space, out);
    }
  }
  for (const char* key : {"items", "values"}) {
    if (const auto it = type.find(key); it != type.end()) collect_named_types(*it, space, out);
  }
}

// The JSON of a field's value type: the non-null branch of a union, a
// named reference resolved to its definition.
const json& value_type_json(const json& type, const NamedTypes& named, const std::string& space) {
  if (type.is_array()) {
    for (const json& branch : type) {
      if (!(branch.is_string() && branch.get_ref<const std::string&>() == "null")) {
        return value_type_json(branch, named, space);
      }
    }
  }
  if (type.is_string()) {
    const std::string& name = type.get_ref<const std::string&>();
    auto it = named.find(name);
    if (it == named.end() && !space.empty()) it = named.find(space + "." + name);
    if (it != named.end()) return *it->second;
  }
  return type;
}

const char* avro_type_name(avro_schema_t s) {
  switch (avro_typeof(s)) {
    case AVRO_STRING: return "string";
    case AVRO_BYTES: return "bytes";
    case AVRO_INT32: return "int";
    case AVRO_INT64: return "long";
    case AVRO_FLOAT: return "float";
    case AVRO_DOUBLE: return "double";
    case AVRO_BOOLEAN: return "boolean";
    case AVRO_NULL: return "null";
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    case AVRO_MAP: return "map";
    case AVRO_ARRAY: return "array";
    case AVRO_UNION: return "union";
    default: return "this type";
  }
}

// The most decimal digits a two's-complement value of `size` bytes always
// holds (the Avro specification's bound for decimal on fixed).
int max_precision_of_fixed(int size) {
  if (size >= 17) return kMaxDecimalPrecision + 2;  // 2^135 > 10^40
  __extension__ using uint128 = unsigned __int128;
  uint128 largest = (uint128{1} << (8 * size - 1)) - 1;
  int digits = 0;
  for (; largest > 0; largest /= 10) ++digits;
  return digits - 1;
}

Status read_decimal(const json& type, avro_schema_t s, SchemaField& field, const std::string& where) {
  const auto int_attribute = [&](const char* key, int& out, bool required) -> Status {
    const auto it = type.find(key);
    if (it == type.end()) return required ? config_error(where + ": decimal needs \"" + key + "\"") : Status::ok();
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1000) {
      return config_error(where + ": decimal \"" + key + "\" must be a small non-negative integer");
    }
    out = it->get<int>();
    return Status::ok();
  };
  DXHUB_RETURN_IF_ERROR(int_attribute("precision", field.precision, true));
  DXHUB_RETURN_IF_ERROR(int_attribute("scale", field.scale, false));
  if (field.precision < 1) return config_error(where + ": decimal precision must be at least 1");
  if (field.precision > kMaxDecimalPrecision) {
    return config_error(where + ": decimal precision " + std::to_string(field.precision) + " is above " +
                        std::to_string(kMaxDecimalPrecision) + ", which the mapping supports");
  }
  if (field.scale > field.precision) return config_error(where + ": decimal scale is greater than its precision");
  if (is_avro_fixed(s)) {
    const int64_t size = avro_schema_fixed_size(s);
    if (size < 1 || size > kMaxDecimalFixedSize) {
      return config_error(where + ": decimal on fixed of size " + std::to_string(size) + " (the mapping supports 1 to " +
                          std::to_string(kMaxDecimalFixedSize) + ")");
    }
    field.fixed_size = static_cast<int>(size);
    if (field.precision > max_precision_of_fixed(field.fixed_size)) {
      return config_error(where + ": decimal precision " + std::to_string(field.precision) +
                          " does not fit in fixed of size " + std::to_string(size));
    }
  }
  return Status::ok();
}

Expected<TargetType> target_type_of(avro_schema_t s, const json& type, SchemaField& field, const std::string& where) {
  std::string logical;
  if (type.is_object()) {
    if (const auto it = type.find("logicalType"); it != type.end()) {
      if (!it->is_string()) return config_error(where + ": logicalType must be a string");
      logical = it->get<std::string>();
    }
  }
  const auto unsupported = [&]() -> Status {
    if (logical.empty()) {
      return config_error(where + ": the mapping cannot fill " + avro_type_name(s) +
                          " fields (only primitives, enums, decimal and [\"null\", T] unions)");
    }
    return config_error(where + ": logicalType " + logical + " on " + avro_type_name(s) +
                        " is not supported (the mapping supports date on int, timestamp-millis and "
                        "timestamp-micros on long, decimal on bytes or fixed)");
  };
  const auto plain = [&](TargetType t) -> Expected<TargetType> {
    if (!logical.empty()) return unsupported();
    return t;
  };
  switch (avro_typeof(s)) {
    case AVRO_STRING: return plain(TargetType::kString);
    case AVRO_BYTES:
    case AVRO_FIXED:
      if (logical == "decimal") {
        DXHUB_RETURN_IF_ERROR(read_decimal(type, s, field, where));
        return TargetType::kDecimal;
      }
      if (is_avro_fixed(s)) return unsupported();
      return plain(TargetType::kBytes);
    case AVRO_INT32:
      if (logical == "date") return TargetType::kDate;
      return plain(TargetType::kInt);
    case AVRO_INT64:
      if (logical == "timestamp-millis") return TargetType::kTimestampMillis;
      if (logical == "timestamp-micros") return TargetType::kTimestampMicros;
      return plain(TargetType::kLong);
    case AVRO_FLOAT: return plain(TargetType::kFloat);
    case AVRO_DOUBLE: return plain(TargetType::kDouble);
    case AVRO_BOOLEAN: return plain(TargetType::kBoolean);
    case AVRO_ENUM: return plain(TargetType::kEnum);
    default: return unsupported();
  }
}

// An Avro bytes default: a JSON string whose code points U+0000..U+00FF
// are the bytes. false when a character is above U+00FF.
bool bytes_of_default(const std::string& utf8, std::string& out) {
  out.clear();
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F)));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

Expected<FieldDefault> default_of(const json& value, const SchemaField& field, const std::string& where) {
  FieldDefault out;
  auto bad = [&] {
    return config_error(where + ": default " + value.dump(-1, ' ', false, json::error_handler_t::replace) +
                        " does not fit the type");
  };
  // Avro: a union's default belongs to its first branch.
  if (field.nullable && field.null_branch == 0) {
    if (!value.is_null()) return bad();
    out.is_null = true;
    return out;
  }
  switch (field.type) {
    case TargetType::kString:
      if (!value.is_string()) return bad();
      out.text = value.get<std::string>();
      return out;
    case TargetType::kBytes:
      if (!value.is_string()) return bad();
      if (!bytes_of_default(value.get_ref<const std::string&>(), out.text)) {
        return config_error(where + ": a bytes default may only hold characters U+0000 to U+00FF");
      }
      return out;
    case TargetType::kDecimal:
      return config_error(where + ": a default on a decimal field is not supported (only null)");
    case TargetType::kInt:
    case TargetType::kDate:
      if (!value.is_number_integer() || value.get<int64_t>() < INT32_MIN || value.get<int64_t>() > INT32_MAX)
        return bad();
      out.integer = value.get<int64_t>();
      return out;
    case TargetType::kLong:
    case TargetType::kTimestampMillis:
    case TargetType::kTimestampMicros:
      if (!value.is_number_integer()) return bad();
      if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return bad();
      out.integer = value.get<int64_t>();
      return out;
    case TargetType::kFloat:
    case TargetType::kDouble:
      if (!value.is_number()) return bad();
      out.real = value.get<double>();
      return out;
    case TargetType::kBoolean:
      if (!value.is_boolean()) return bad();
      out.integer = value.get<bool>() ? 1 : 0;
      return out;
    case TargetType::kEnum:
      if (value.is_string()) {
        for (size_t i = 0; i < field.symbols.size(); ++i) {
          if (field.symbols[i] == value.get_ref<const std::string&>()) {
            out.integer = static_cast<int64_t>(i);
            return out;
          }
        }
      }
      return bad();
  }
  return bad();
}

}  // namespace

const char* target_type_name(TargetType type) {
  switch (type) {
    case TargetType::kString: return "string";
    case TargetType::kBytes: return "bytes";
    case TargetType::kInt: return "int";
    case TargetType::kLong: return "long";
    case TargetType::kFloat: return "float";
    case TargetType::kDouble: return "double";
    case TargetType::kBoolean: return "boolean";
    case TargetType::kEnum: return "enum";
    case TargetType::kDate: return "date";
    case TargetType::kTimestampMillis: return "timestamp-millis";
    case TargetType::kTimestampMicros: return "timestamp-micros";
    case TargetType::kDecimal: return "decimal";
  }
  return "?";
}

Expected<std::vector<SchemaField>> describe_record_fields(const avro::Schema& schema) {
  avro_schema_t record = schema.get();
  if (record == nullptr || !is_avro_record(record)) return config_error("the schema is not a record");
  const json doc = json::parse(schema.json(), nullptr, /*allow_exceptions=*/false);
  const json* json_fields = nullptr;
  if (doc.is_object()) {
    const auto it = doc.find("fields");
    if (it != doc.end() && it->is_array()) json_fields = &*it;
  }
  const size_t count = avro_schema_record_size(record);
  if (json_fields == nullptr || json_fields->size() != count) {
    return config_error("schema " + schema.full_name() + ": its JSON and the parsed record disagree");
  }

  NamedTypes named;
  collect_named_types(doc, "", named);
  const std::string record_name = schema.full_name();
  const size_t dot = record_name.rfind('.');
  const std::string space = dot == std::string::npos ? "" : record_name.substr(0, dot);

  std::vector<SchemaField> fields;
  for (size_t i = 0; i < count; ++i) {
    SchemaField field;
    field.index = static_cast<int>(i);
    field.name = avro_schema_record_field_name(record, field.index);
    const std::string where = "schema " + schema.full_name() + ": field " + field.name;
    const json& field_json = (*json_fields)[i];
    if (!field_json.is_object() || !field_json.contains("type")) return config_error(where + ": malformed JSON");
    if (field_json.contains("logicalType")) {
      // Avro ignores it there, so the field would silently be its plain type.
      return config_error(where + ": logicalType is written on the field; it belongs inside \"type\"");
    }
    avro_schema_t type = resolve_link(avro_schema_record_field_get_by_index(record, field.index));
    if (is_avro_union(type)) {
      if (avro_schema_union_size(type) != 2) return config_error(where + ": only [\"null\", T] unions are supported");
      for (int b = 0; b < 2; ++b) {
        if (is_avro_null(resolve_link(avro_schema_union_branch(type, b)))) field.null_branch = b;
      }
      if (field.null_branch < 0) return config_error(where + ": only [\"null\", T] unions are supported");
      field.nullable = true;
      field.value_branch = 1 - field.null_branch;
      type = resolve_link(avro_schema_union_branch(type, field.value_branch));
    }
    DXHUB_ASSIGN_OR_RETURN(field.type,
                           target_type_of(type, value_type_json(field_json["type"], named, space), field, where));
    if (field.type == TargetType::kEnum) {
      const int n = avro_schema_enum_number_of_symbols(type);
      for (int s = 0; s < n; ++s) field.symbols.emplace_back(avro_schema_enum_get(type, s));
    }
    if (const auto it = field_json.find("default"); it != field_json.end()) {
      DXHUB_ASSIGN_OR_RETURN(field.default_value, default_of(*it, field, where));
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

}  // namespace dxhub::mapping
