// Records out of an XML tree, configured: an XPath selecting the record
// elements and, per column, a path relative to the record. Shared by the
// soap_xml connector (one tree per page) and the XML file format.
//
// Settings read from the owner's config object:
//   namespaces     {"prefix": "uri"} for the XPaths (default none)
//   records_xpath  XPath of the record elements (required)
//   fields         {"column": "relative path"} (default: every column is
//                  the record's child element of that local name, in any
//                  namespace, else its attribute of that name)
// A relative path is one of: `name` or `prefix:name` (first child element,
// walked directly: no XPath machinery, no allocation), `@name` (attribute),
// `.` (the record's own text), or any other XPath (evaluated per record;
// first node's text, or the string value of a number/string/boolean).
// A missing element or an element with xsi:nil="true" is NULL; an empty
// element is an empty string. Every value is text (the mapping types it).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "connectors/xml/xml_document.h"
#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub::xml {

class RecordExtractor {
 public:
  // Takes namespaces, records_xpath and fields from `config` (the caller
  // has checked for unknown keys). `columns` empty: discovered from the
  // first record (discover_columns). `extra` are columns always extracted
  // after the requested ones (key, cursor), not in columns().
  static Expected<RecordExtractor> create(const nlohmann::json& config, const std::vector<std::string>& columns,
                                          const std::vector<std::string>& extra, std::string_view owner);
  bool needs_discovery() const { return columns_.empty() && !discovered_; }
  // Columns = the element children of `record` (local names, first
  // occurrence order); the extra columns are resolved again against them.
  void discover_columns(xmlNode* record);

  const std::vector<std::string>& columns() const { return columns_; }
  const Namespaces& namespaces() const { return namespaces_; }
  const XPath& records_xpath() const { return records_; }

  // Fills values() (columns, then extras) from `record`. Non-elements are
  // kData "record is not an element".
  Status extract(XPathContext& context, xmlNode* record);
  const std::vector<FieldValue>& values() const { return values_; }
  // Index in values() of the i-th extra column.
  size_t extra_index(size_t i) const { return columns_.size() + i; }

 private:
  struct FieldPath {
    enum class Kind { kChild, kAttribute, kSelf, kXPath } kind = Kind::kChild;
    std::string name;          // local name (child, attribute)
    std::string ns_uri;        // child: required namespace; empty = any
    bool any_ns = true;
    bool attribute_fallback = false;  // default paths: child, else attribute
    std::vector<XPath> xpath;  // kXPath: exactly one
  };
  static Expected<FieldPath> parse_path(const std::string& path, const Namespaces& namespaces,
                                        const std::string& setting, bool is_default);
  Status resolve_paths();
  bool fill(XPathContext& context, xmlNode* record, const FieldPath& path, std::string& out, Status& error);

  Namespaces namespaces_;
  XPath records_;
  nlohmann::json fields_config_;
  std::vector<std::string> columns_;
  std::vector<std::string> extra_;
  std::vector<FieldPath> paths_;       // columns, then extras
  std::vector<std::string> buffers_;  // one per value, reused
  std::vector<FieldValue> values_;
  std::string owner_;
  bool discovered_ = false;
};

// The record serialised, for BadInput.raw (bad input only: allocates).
std::string dump_node(xmlNode* node);

}  // namespace dxhub::xml
