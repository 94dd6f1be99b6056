#include "core/avro/canonical_form.h"

#include <array>
#include <set>

#include <nlohmann/json.hpp>

namespace dxhub::avro {
namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kCrc64Empty = 0xc15d213aa4d7a795ULL;

constexpr std::array<uint64_t, 256> make_crc64_table() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t fp = i;
    for (int j = 0; j < 8; ++j) fp = (fp >> 1) ^ (kCrc64Empty & (0 - (fp & 1)));
    table[i] = fp;
  }
  return table;
}
constexpr std::array<uint64_t, 256> kCrc64Table = make_crc64_table();

bool is_primitive(const std::string& name) {
  static const std::set<std::string> kPrimitives = {"null", "boolean", "int",   "long",
                                                    "float", "double", "bytes", "string"};
  return kPrimitives.count(name) != 0;
}

// Walks the schema tree once, emitting canonical JSON; remembers which named
// types were already written so later uses become bare full names.
class Canonicalizer {
 public:
  Expected<Json> convert(const Json& schema, const std::string& enclosing_ns, int depth) {
    if (depth > kMaxDepth) return config_error("schema nests deeper than 100 levels");
    if (schema.is_string()) return reference(schema.get<std::string>(), enclosing_ns);
    if (schema.is_array()) {
      Json branches = Json::array();
      for (const Json& branch : schema) {
        DXHUB_ASSIGN_OR_RETURN(Json converted, convert(branch, enclosing_ns, depth + 1));
        branches.push_back(std::move(converted));
      }
      return branches;
    }
    if (!schema.is_object()) return config_error("schema element is neither string, array nor object");
    auto type_it = schema.find("type");
    if (type_it == schema.end()) return config_error("schema object has no \"type\"");
    if (!type_it->is_string()) return convert(*type_it, enclosing_ns, depth + 1);
    const std::string type = type_it->get<std::string>();
    if (is_primitive(type)) return Json(type);
    if (type == "record" || type == "error" || type == "enum" || type == "fixed")
      return named(schema, type, enclosing_ns, depth);
    if (type == "array") return container(schema, "items", enclosing_ns, depth);
    if (type == "map") return container(schema, "values", enclosing_ns, depth);
    return reference(type, enclosing_ns);
  }

 private:
  static constexpr int kMaxDepth = 100;

  static std::string qualify(const std::string& name, const std::string& ns) {
    if (name.find('.') != std::string::npos || ns.empty()) return name;
    return ns + "." + name;
  }

  Expected<Json> reference(const std::string& name, const std::string& ns) {
    if (is_primitive(name)) return Json(name);
    std::string full = qualify(name, ns);
    if (defined_.count(full)) return Json(full);
    if (defined_.count(name)) return Json(name);  // a type in the null namespace
    return config_error("schema refers to undefined type \"" + name + "\"");
  }

  Expected<Json> container(const Json& schema, const char* key, const std::string& ns,
                           int depth) {
    auto it = schema.find(key);
    if (it == schema.end())
      return config_error(std::string("\"") + schema["type"].get<std::string>() +
                          "\" schema has no \"" + key + "\"");
    DXHUB_ASSIGN_OR_RETURN(Json inner, convert(*it, ns, depth + 1));
    Json out = Json::object();
    out["type"] = schema["type"];
    out[key] = std::move(inner);
    return out;
  }

  Expected<Json> named(const Json& schema, const std::string& type, const std::string& ns,
                       int depth) {
    auto name_it = schema.find("name");
    if (name_it == schema.end() || !name_it->is_string())
      return config_error("\"" + type + "\" schema has no string \"name\"");
    std::string name = name_it->get<std::string>();
    std::string space = ns;
    auto ns_it = schema.find("namespace");
    if (ns_it != schema.end() && ns_it->is_string()) space = ns_it->get<std::string>();
    std::string full = qualify(name, space);
    // A dotted name carries its own namespace, which nested types inherit.
    std::string own_ns;
    if (auto dot = full.rfind('.'); dot != std::string::npos) own_ns = full.substr(0, dot);
    if (!defined_.insert(full).second) return config_error("type \"" + full + "\" is defined twice");

    Json out = Json::object();
    out["name"] = full;
    out["type"] = type;
    if (type == "record" || type == "error") {
      auto fields_it = schema.find("fields");
      if (fields_it == schema.end() || !fields_it->is_array())
        return config_error("record \"" + full + "\" has no \"fields\" array");
      Json fields = Json::array();
      for (const Json& field : *fields_it) {
        if (!field.is_object() || !field.contains("name") || !field["name"].is_string() ||
            !field.contains("type"))
          return config_error("record \"" + full + "\" has a field without name or type");
        DXHUB_ASSIGN_OR_RETURN(Json field_type, convert(field["type"], own_ns, depth + 1));
        Json out_field = Json::object();
        out_field["name"] = field["name"];
        out_field["type"] = std::move(field_type);
        fields.push_back(std::move(out_field));
      }
      out["fields"] = std::move(fields);
    } else if (type == "enum") {
      auto symbols_it = schema.find("symbols");
      if (symbols_it == schema.end() || !symbols_it->is_array())
        return config_error("enum \"" + full + "\" has no \"symbols\" array");
      out["symbols"] = *symbols_it;
    } else {  // fixed
      auto size_it = schema.find("size");
      if (size_it == schema.end() || !size_it->is_number_integer())
        return config_error("fixed \"" + full + "\" has no integer \"size\"");
      out["size"] = size_it->get<int64_t>();
    }
    return out;
  }

  std::set<std::string> defined_;
};

}  // namespace

Expected<std::string> parsing_canonical_form(std::string_view schema_json) {
  Json parsed = Json::parse(schema_json.begin(), schema_json.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return config_error("schema is not valid JSON");
  Canonicalizer canonicalizer;
  DXHUB_ASSIGN_OR_RETURN(Json canonical, canonicalizer.convert(parsed, "", 0));
  // dump(-1) writes no whitespace and UTF-8 as is (control characters escaped).
  return canonical.dump(-1, ' ', false, Json::error_handler_t::replace);
}

uint64_t crc64_avro(std::string_view bytes) {
  uint64_t fp = kCrc64Empty;
  for (unsigned char byte : bytes) fp = (fp >> 8) ^ kCrc64Table[(fp ^ byte) & 0xff];
  return fp;
}

}  // namespace dxhub::avro
