#include "core/mapping/mapping_spec.h"

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

namespace dxhub::mapping {

namespace {

using json = nlohmann::ordered_json;  // keeps codes in file order

Status refuse_unknown_keys(const json& object, std::initializer_list<std::string_view> known,
                           const std::string& where) {
  for (const auto& item : object.items()) {
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || item.key() == k;
    if (!is_known) return config_error(where + ": unknown key '" + item.key() + "'");
  }
  return Status::ok();
}

// Reads object[key] as a string; absent is fine when !required.
Status read_string(const json& object, const char* key, bool required, const std::string& where,
                   std::string& out, bool* present = nullptr) {
  const auto it = object.find(key);
  if (present != nullptr) *present = it != object.end();
  if (it == object.end()) {
    return required ? config_error(where + ": missing \"" + key + "\"") : Status::ok();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return config_error(where + ": \"" + key + "\" must be a non-empty string");
  }
  out = it->get<std::string>();
  return Status::ok();
}

Expected<FieldMapping> parse_field(const json& item, const std::string& where) {
  if (!item.is_object()) return config_error(where + ": must be an object");
  DXHUB_RETURN_IF_ERROR(refuse_unknown_keys(item, {"field", "column", "format", "codes"}, where));
  FieldMapping field;
  DXHUB_RETURN_IF_ERROR(read_string(item, "field", true, where, field.field));
  const std::string named = where + " (field " + field.field + ")";
  DXHUB_RETURN_IF_ERROR(read_string(item, "column", true, named, field.column));
  bool has_format = false;
  std::string format;
  DXHUB_RETURN_IF_ERROR(read_string(item, "format", false, named, format, &has_format));
  if (has_format) field.format = std::move(format);
  if (const auto codes = item.find("codes"); codes != item.end()) {
    if (!codes->is_object() || codes->empty()) {
      return config_error(named + ": \"codes\" must be a non-empty object of code -> value");
    }
    for (const auto& code : codes->items()) {
      if (!code.value().is_string()) {
        return config_error(named + ": code '" + code.key() + "' must map to a string");
      }
      field.codes.emplace_back(code.key(), code.value().get<std::string>());
    }
  }
  return field;
}

}  // namespace

Expected<MappingSpec> parse_mapping_spec(std::string_view json_text, const std::string& origin) {
  const std::string where = "mapping " + origin;
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return config_error(where + ": not valid JSON");
  if (!doc.is_object()) return config_error(where + ": must be a JSON object");
  DXHUB_RETURN_IF_ERROR(refuse_unknown_keys(
      doc, {"resource", "schema", "primary_key", "source_timezone", "fields"}, where));

  MappingSpec spec;
  spec.origin = origin;
  DXHUB_RETURN_IF_ERROR(read_string(doc, "resource", true, where, spec.resource));
  DXHUB_RETURN_IF_ERROR(read_string(doc, "schema", true, where, spec.schema_file));
  DXHUB_RETURN_IF_ERROR(read_string(doc, "primary_key", true, where, spec.primary_key));
  bool has_timezone = false;
  std::string timezone;
  DXHUB_RETURN_IF_ERROR(read_string(doc, "source_timezone", false, where, timezone, &has_timezone));
  if (has_timezone) spec.source_timezone = std::move(timezone);

  const std::filesystem::path schema_path(spec.schema_file);
  spec.schema_path = schema_path.is_absolute()
                         ? schema_path.string()
                         : (std::filesystem::path(origin).parent_path() / schema_path).string();

  const auto fields = doc.find("fields");
  if (fields == doc.end() || !fields->is_array() || fields->empty()) {
    return config_error(where + ": \"fields\" must be a non-empty array");
  }
  for (size_t i = 0; i < fields->size(); ++i) {
    DXHUB_ASSIGN_OR_RETURN(FieldMapping field,
                           parse_field((*fields)[i], where + ": fields[" + std::to_string(i) + "]"));
    spec.fields.push_back(std::move(field));
  }
  return spec;
}

Expected<MappingSpec> load_mapping_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("mapping " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return config_error("mapping " + path + ": cannot read");
  return parse_mapping_spec(text.str(), path);
}

}  // namespace dxhub::mapping
