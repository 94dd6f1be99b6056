// libxml2, wrapped once and hardened: every XML the hub reads from outside
// (SOAP responses, XML APIs, XML files) is parsed here, and libxml2's errors
// become Status here and nowhere else.
//
// Hardening (an agency feed is not trusted):
//  * No network (XML_PARSE_NONET) and no external loads at all: while a
//    parse of ours runs on a thread, libxml2's external entity loader refuses
//    every URL on that thread (file://, http://, relative paths).
//  * No DTD processing: an external DTD reference (<!DOCTYPE x SYSTEM ...>)
//    is refused, any entity declaration (general or parameter, internal or
//    external) is refused, so no entity is ever expanded: billion laughs and
//    quadratic blowup stop at their first <!ENTITY>. XML_PARSE_NOENT,
//    DTDLOAD, DTDATTR, DTDVALID, XINCLUDE and HUGE are never set; the five
//    predefined entities and character references work as usual.
//  * XInclude: never processed, and an element in the XInclude namespace is
//    refused (so nobody mistakes an unprocessed include for data).
//  * Limits: the document's size (checked before parsing) and the element
//    depth (counted while parsing; libxml2's own cap is 256). libxml2's
//    per-text-node limit (10 MB without XML_PARSE_HUGE) stays in force.
//  * Errors never reach stderr: a structured error handler is installed per
//    parse and per XPath evaluation, and the messages kept drop the bytes
//    libxml2 quotes (an encoding error names the offending bytes).
// Refusals are kData errors whose message says why and quotes no content.
#pragma once

#include <libxml/tree.h>
#include <nlohmann/json.hpp>
#include <libxml/xpath.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::xml {

struct ParseLimits {
  size_t max_document_bytes = size_t{64} << 20;
  int max_depth = 128;  // element nesting, 1..256
  // Overrides the document's declared encoding ("GBK", "GB18030"); empty =
  // as declared (or UTF-8 / UTF-16 by BOM).
  std::string encoding;
};
// Validates limits taken from config (`where` names the setting's owner).
Status check_limits(const ParseLimits& limits, std::string_view where);

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

// Parses `bytes` (not necessarily NUL-terminated) into a tree. Refused or
// malformed input: kData "XML refused: <reason>" / "malformed XML: ...".
Expected<DocPtr> parse(std::string_view bytes, const ParseLimits& limits);

// prefix -> namespace URI, as declared in config.
using Namespaces = std::map<std::string, std::string>;
// Reads {"prefix": "uri", ...}; kConfig naming `key` when malformed.
Expected<Namespaces> namespaces_from_json(const nlohmann::json& value, std::string_view key);

struct CompFree {
  void operator()(xmlXPathCompExpr* expr) const { xmlXPathFreeCompExpr(expr); }
};
struct ObjFree {
  void operator()(xmlXPathObject* obj) const { xmlXPathFreeObject(obj); }
};
using XPathResult = std::unique_ptr<xmlXPathObject, ObjFree>;

// An XPath expression compiled once (from config), evaluated on many nodes.
class XPath {
 public:
  // kConfig naming `setting` when the expression does not compile.
  static Expected<XPath> compile(const std::string& expression, std::string_view setting);
  const std::string& text() const { return text_; }
  xmlXPathCompExpr* get() const { return compiled_.get(); }

 private:
  std::string text_;
  std::unique_ptr<xmlXPathCompExpr, CompFree> compiled_;
};

// Evaluates XPaths over one document with the config's namespace prefixes.
class XPathContext {
 public:
  static Expected<XPathContext> create(xmlDoc* doc, const Namespaces& namespaces);
  // Evaluates with `node` as the context node (the document when null).
  // An expression that fails to evaluate (undefined prefix, wrong type) is
  // kConfig naming the expression.
  Expected<XPathResult> eval(const XPath& xpath, xmlNode* node);
  // The result as a number (count(), number(), a node's text); NaN when none.
  Expected<double> number(const XPath& xpath, xmlNode* node);

 private:
  struct CtxFree {
    void operator()(xmlXPathContext* ctx) const { xmlXPathFreeContext(ctx); }
  };
  std::unique_ptr<xmlXPathContext, CtxFree> ctx_;
  std::unique_ptr<std::string> last_error_ = std::make_unique<std::string>();
};

// Node-set size and members, null-safe.
size_t node_count(const xmlXPathObject* result);
xmlNode* node_at(const xmlXPathObject* result, size_t index);

// Appends the text content of `node` (element: all descendant text and
// CDATA; attribute: its value; text: itself) to `out`, without allocating
// beyond `out`'s growth.
void append_text(const xmlNode* node, std::string& out);
// Element children only (skipping text, comments, PIs).
xmlNode* first_element_child(xmlNode* node);
xmlNode* next_element_sibling(xmlNode* node);
std::string_view local_name(const xmlNode* node);
// True when the element is marked xsi:nil="true" (or "1").
bool is_nil(const xmlNode* node);

}  // namespace dxhub::xml
