#include "core/mapping/schema_fields.h"

#include <nlohmann/json.hpp>

namespace dxhub::mapping {

namespace {

using nlohmann::json;

avro_schema_t resolve_link(avro_schema_t s) {
  while (s != nullptr && is_avro_link(s)) s = avro_schema_link_target(s);
  return s;
}

// The logicalType written on a field's type (or on the non-null branch of
// its union), or "" when there is none.
std::string logical_type_of(const json& type) {
  if (type.is_object()) {
    const auto it = type.find("logicalType");
    return it != type.end() && it->is_string() ? it->get<std::string>() : std::string();
  }
  if (type.is_array()) {
    for (const json& branch : type) {
      std::string logical = logical_type_of(branch);
      if (!logical.empty()) return logical;
    }
  }
  return {};
}

Expected<TargetType> target_type_of(avro_schema_t s, const std::string& logical, const std::string& where) {
  switch (avro_typeof(s)) {
    case AVRO_STRING: return TargetType::kString;
    case AVRO_BYTES: return TargetType::kBytes;
    case AVRO_INT32: return logical == "date" ? TargetType::kDate : TargetType::kInt;
    case AVRO_INT64:
      if (logical == "timestamp-millis") return TargetType::kTimestampMillis;
      if (logical == "timestamp-micros") return TargetType::kTimestampMicros;
      return TargetType::kLong;
    case AVRO_FLOAT: return TargetType::kFloat;
    case AVRO_DOUBLE: return TargetType::kDouble;
    case AVRO_BOOLEAN: return TargetType::kBoolean;
    case AVRO_ENUM: return TargetType::kEnum;
    default: return config_error(where + ": the mapping cannot fill this type (only primitives, enums and "
                                         "[\"null\", T] unions)");
  }
}

Expected<FieldDefault> default_of(const json& value, const SchemaField& field, const std::string& where) {
  FieldDefault out;
  auto bad = [&] { return config_error(where + ": default " + value.dump() + " does not fit the type"); };
  // Avro: a union's default belongs to its first branch.
  if (field.nullable && field.null_branch == 0) {
    if (!value.is_null()) return bad();
    out.is_null = true;
    return out;
  }
  switch (field.type) {
    case TargetType::kString:
    case TargetType::kBytes:
      if (!value.is_string()) return bad();
      out.text = value.get<std::string>();
      return out;
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

  std::vector<SchemaField> fields;
  for (size_t i = 0; i < count; ++i) {
    SchemaField field;
    field.index = static_cast<int>(i);
    field.name = avro_schema_record_field_name(record, field.index);
    const std::string where = "schema " + schema.full_name() + ": field " + field.name;
    const json& field_json = (*json_fields)[i];
    if (!field_json.is_object() || !field_json.contains("type")) return config_error(where + ": malformed JSON");
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
    DXHUB_ASSIGN_OR_RETURN(field.type, target_type_of(type, logical_type_of(field_json["type"]), where));
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
