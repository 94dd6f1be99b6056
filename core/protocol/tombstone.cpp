#include "core/protocol/tombstone.h"

#include <nlohmann/json.hpp>

namespace dxhub::protocol {

namespace {

// Avro's zig-zag varint, as the OCF writer encodes longs.
void append_long(std::string& out, int64_t v) {
  uint64_t n = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (n & ~uint64_t{0x7F}) {
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

// The key field's type without a null branch.
nlohmann::ordered_json key_type(const nlohmann::ordered_json& type) {
  if (!type.is_array()) return type;
  for (const auto& branch : type) {
    if (!(branch.is_string() && branch.get<std::string>() == "null")) return branch;
  }
  return type;
}

}  // namespace

Expected<std::string> tombstone_schema_json(std::string_view resource_schema_json, const std::string& primary_key) {
  auto schema = nlohmann::ordered_json::parse(resource_schema_json, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded() || !schema.is_object() || schema.value("type", "") != "record" ||
      !schema.contains("name") || !schema["name"].is_string() || !schema.contains("fields") ||
      !schema["fields"].is_array()) {
    return config_error("tombstone schema: the resource schema is not a named record");
  }
  const nlohmann::ordered_json* key_field = nullptr;
  for (const auto& field : schema["fields"]) {
    if (field.is_object() && field.value("name", "") == primary_key && field.contains("type")) key_field = &field;
  }
  if (key_field == nullptr) {
    return config_error("tombstone schema: the resource schema has no field " + primary_key);
  }
  std::string name = schema["name"].get<std::string>();
  std::string full_name = name;
  nlohmann::ordered_json tombstone = nlohmann::ordered_json::object();
  tombstone["type"] = "record";
  tombstone["name"] = name + "_tombstone";
  if (schema.contains("namespace") && schema["namespace"].is_string()) {
    tombstone["namespace"] = schema["namespace"];
    full_name = schema["namespace"].get<std::string>() + "." + name;
  }
  tombstone["doc"] = "dxhub tombstone of " + full_name;
  tombstone["fields"] = nlohmann::ordered_json::array(
      {{{"name", primary_key}, {"type", key_type((*key_field)["type"])}},
       {{"name", kTombstoneOpField},
        {"type", {{"type", "enum"}, {"name", "dxhub_operation"}, {"symbols", {"DELETE"}}}}},
       {{"name", kTombstoneSourceTimeField}, {"type", {{"type", "long"}, {"logicalType", "timestamp-millis"}}}}});
  return tombstone.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_tombstone_schema(std::string_view schema_json, const std::string& primary_key) {
  auto schema = nlohmann::json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded() || !schema.is_object() || !schema.contains("fields")) return false;
  const auto& fields = schema["fields"];
  if (!fields.is_array() || fields.size() != 3) return false;
  auto name_of = [](const nlohmann::json& f) { return f.is_object() ? f.value("name", "") : std::string(); };
  if (name_of(fields[0]) != primary_key || name_of(fields[1]) != kTombstoneOpField ||
      name_of(fields[2]) != kTombstoneSourceTimeField) {
    return false;
  }
  const auto& op = fields[1].value("type", nlohmann::json());
  if (!op.is_object() || op.value("type", "") != "enum" || op.value("symbols", nlohmann::json()) != nlohmann::json{"DELETE"})
    return false;
  const auto& time = fields[2].value("type", nlohmann::json());
  return time.is_object() && time.value("type", "") == "long" && time.value("logicalType", "") == "timestamp-millis";
}

void append_tombstone_record(std::string_view key_bytes, int64_t source_time_ms, std::string& out) {
  out.append(key_bytes);
  out.push_back('\0');  // enum index 0: DELETE
  append_long(out, source_time_ms);
}

}  // namespace dxhub::protocol
