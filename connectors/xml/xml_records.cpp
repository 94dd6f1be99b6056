#include "connectors/xml/xml_records.h"

#include <libxml/xpathInternals.h>

#include <cctype>
#include <cstring>
#include <set>

namespace dxhub::xml {

namespace {

bool is_name(std::string_view text) {
  if (text.empty()) return false;
  const unsigned char first = static_cast<unsigned char>(text[0]);
  if (!(std::isalpha(first) || first == '_' || first >= 0x80)) return false;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || u == '_' || u == '-' || u == '.' || u >= 0x80)) return false;
  }
  return true;
}

bool same(const xmlChar* a, std::string_view b) {
  if (a == nullptr) return b.empty();
  return std::string_view(reinterpret_cast<const char*>(a)) == b;
}

}  // namespace

Expected<RecordExtractor::FieldPath> RecordExtractor::parse_path(const std::string& path,
                                                                 const Namespaces& namespaces,
                                                                 const std::string& setting, bool is_default) {
  FieldPath out;
  if (path == ".") {
    out.kind = FieldPath::Kind::kSelf;
    return out;
  }
  if (path.size() > 1 && path[0] == '@' && is_name(std::string_view(path).substr(1))) {
    out.kind = FieldPath::Kind::kAttribute;
    out.name = path.substr(1);
    return out;
  }
  const auto colon = path.find(':');
  if (colon == std::string::npos && is_name(path)) {
    out.kind = FieldPath::Kind::kChild;
    out.name = path;
    out.attribute_fallback = is_default;
    return out;
  }
  if (colon != std::string::npos && is_name(path.substr(0, colon)) && is_name(path.substr(colon + 1))) {
    auto ns = namespaces.find(path.substr(0, colon));
    if (ns == namespaces.end()) {
      return config_error(setting + ": prefix \"" + path.substr(0, colon) + "\" is not declared in namespaces");
    }
    out.kind = FieldPath::Kind::kChild;
    out.name = path.substr(colon + 1);
    out.ns_uri = ns->second;
    out.any_ns = false;
    return out;
  }
  DXHUB_ASSIGN_OR_RETURN(XPath compiled, XPath::compile(path, setting));
  out.kind = FieldPath::Kind::kXPath;
  out.xpath.push_back(std::move(compiled));
  return out;
}

Expected<RecordExtractor> RecordExtractor::create(const nlohmann::json& config,
                                                  const std::vector<std::string>& columns,
                                                  const std::vector<std::string>& extra, std::string_view owner) {
  RecordExtractor out;
  out.owner_ = std::string(owner);
  const nlohmann::json null_json;
  DXHUB_ASSIGN_OR_RETURN(out.namespaces_,
                         namespaces_from_json(config.contains("namespaces") ? config["namespaces"] : null_json,
                                              out.owner_ + ": namespaces"));
  if (!config.contains("records_xpath") || !config["records_xpath"].is_string()) {
    return config_error(out.owner_ + ": records_xpath is required (an XPath string)");
  }
  DXHUB_ASSIGN_OR_RETURN(out.records_,
                         XPath::compile(config["records_xpath"].get<std::string>(), out.owner_ + ": records_xpath"));
  if (config.contains("fields")) {
    const auto& fields = config["fields"];
    if (!fields.is_object()) return config_error(out.owner_ + ": fields must be an object {\"column\": \"path\"}");
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (!it.value().is_string() || it.value().get<std::string>().empty()) {
        return config_error(out.owner_ + ": fields." + it.key() + " must be a non-empty path");
      }
    }
    out.fields_config_ = fields;
  }
  std::set<std::string> seen;
  for (const auto& column : columns) {
    if (column.empty() || !seen.insert(column).second) {
      return config_error(out.owner_ + ": column \"" + column + "\" is empty or repeated");
    }
  }
  out.columns_ = columns;
  out.extra_ = extra;
  DXHUB_RETURN_IF_ERROR(out.resolve_paths());
  return out;
}

Status RecordExtractor::resolve_paths() {
  paths_.clear();
  std::vector<std::string> all = columns_;
  all.insert(all.end(), extra_.begin(), extra_.end());
  for (const auto& column : all) {
    const bool configured = fields_config_.is_object() && fields_config_.contains(column);
    const std::string path = configured ? fields_config_[column].get<std::string>() : column;
    auto parsed = parse_path(path, namespaces_, owner_ + ": fields." + column, !configured);
    if (!parsed) {
      if (configured) return parsed.status();
      return config_error(owner_ + ": column \"" + column + "\" is no XML name; give it a path in fields");
    }
    paths_.push_back(std::move(*parsed));
  }
  buffers_.assign(all.size(), std::string());
  for (auto& buffer : buffers_) buffer.reserve(64);
  values_.assign(all.size(), FieldValue::null());
  return Status::ok();
}

void RecordExtractor::discover_columns(xmlNode* record) {
  discovered_ = true;
  std::set<std::string> seen;
  for (xmlNode* child = first_element_child(record); child != nullptr; child = next_element_sibling(child)) {
    std::string name(local_name(child));
    if (seen.insert(name).second) columns_.push_back(std::move(name));
  }
  (void)resolve_paths();  // discovered names are XML names: always resolve
}

bool RecordExtractor::fill(XPathContext& context, xmlNode* record, const FieldPath& path, std::string& out,
                           Status& error) {
  out.clear();
  switch (path.kind) {
    case FieldPath::Kind::kSelf:
      append_text(record, out);
      return true;
    case FieldPath::Kind::kAttribute: {
      for (xmlAttr* attr = record->properties; attr != nullptr; attr = attr->next) {
        if (same(attr->name, path.name)) {
          append_text(reinterpret_cast<xmlNode*>(attr), out);
          return true;
        }
      }
      return false;
    }
    case FieldPath::Kind::kChild: {
      for (xmlNode* child = first_element_child(record); child != nullptr; child = next_element_sibling(child)) {
        if (!same(child->name, path.name)) continue;
        if (!path.any_ns && (child->ns == nullptr || !same(child->ns->href, path.ns_uri))) continue;
        if (is_nil(child)) return false;
        append_text(child, out);
        return true;
      }
      if (path.attribute_fallback) {
        for (xmlAttr* attr = record->properties; attr != nullptr; attr = attr->next) {
          if (same(attr->name, path.name)) {
            append_text(reinterpret_cast<xmlNode*>(attr), out);
            return true;
          }
        }
      }
      return false;
    }
    case FieldPath::Kind::kXPath: {
      auto result = context.eval(path.xpath[0], record);
      if (!result) {
        error = result.status();
        return false;
      }
      xmlXPathObject* object = result->get();
      if (object->type == XPATH_NODESET) {
        xmlNode* node = node_at(object, 0);
        if (node == nullptr || is_nil(node)) return false;
        append_text(node, out);
        return true;
      }
      xmlChar* text = xmlXPathCastToString(object);
      if (text == nullptr) return false;
      out.append(reinterpret_cast<const char*>(text));
      xmlFree(text);
      return true;
    }
  }
  return false;
}

Status RecordExtractor::extract(XPathContext& context, xmlNode* record) {
  if (record == nullptr || record->type != XML_ELEMENT_NODE) return data_error("record is not an element");
  for (size_t i = 0; i < paths_.size(); ++i) {
    Status error;
    const bool present = fill(context, record, paths_[i], buffers_[i], error);
    if (!error.is_ok()) return error;
    values_[i] = present ? FieldValue::text(buffers_[i]) : FieldValue::null();
  }
  return Status::ok();
}

std::string dump_node(xmlNode* node) {
  std::string out;
  if (node == nullptr) return out;
  xmlBufferPtr buffer = xmlBufferCreate();
  if (buffer == nullptr) return out;
  if (xmlNodeDump(buffer, node->doc, node, 0, 0) >= 0) {
    out.assign(reinterpret_cast<const char*>(xmlBufferContent(buffer)), static_cast<size_t>(xmlBufferLength(buffer)));
  }
  xmlBufferFree(buffer);
  return out;
}

}  // namespace dxhub::xml
