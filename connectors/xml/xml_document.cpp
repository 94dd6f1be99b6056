#include "connectors/xml/xml_document.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xpathInternals.h>

#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/common/utf8.h"

namespace dxhub::xml {

namespace {

constexpr const char* kXIncludeNs = "http://www.w3.org/2001/XInclude";
constexpr const char* kXIncludeOldNs = "http://www.w3.org/2003/XInclude";
constexpr const char* kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";
constexpr int kLibxmlMaxDepth = 256;  // xmlParserMaxDepth without XML_PARSE_HUGE

// Set while one of our parses runs on this thread: the external entity
// loader then refuses everything (it is process-wide; other users of
// libxml2 in the process keep the default loader's behaviour).
thread_local bool t_in_guarded_parse = false;
xmlExternalEntityLoader g_default_loader = nullptr;

xmlParserInputPtr refusing_loader(const char* url, const char* id, xmlParserCtxtPtr ctxt) {
  if (t_in_guarded_parse) return nullptr;
  return g_default_loader != nullptr ? g_default_loader(url, id, ctxt) : nullptr;
}

// Swallows errors outside a parse (XPath compilation, encoding setup) so
// that nothing libxml2 says reaches stderr; the callers report through Status.
void silent_generic(void*, const char*, ...) {}
void keep_structured(void* user, xmlErrorPtr error) {
  if (user == nullptr || error == nullptr) return;
  auto* out = static_cast<std::string*>(user);
  if (out->empty() && error->message != nullptr) *out = error->message;
}

// Once per process: parser globals and the guarded loader.
void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    g_default_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(refusing_loader);
  });
}

// libxml2's handlers are per thread: silence them on the calling thread for
// the scope, and restore what was there.
class QuietErrors {
 public:
  explicit QuietErrors(std::string* sink) : QuietErrors(sink, keep_structured) {}
  QuietErrors(void* user, xmlStructuredErrorFunc handler) {
    saved_generic_ = xmlGenericError;
    saved_generic_ctx_ = xmlGenericErrorContext;
    saved_structured_ = xmlStructuredError;
    saved_structured_ctx_ = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(nullptr, silent_generic);
    xmlSetStructuredErrorFunc(user, handler);
  }
  ~QuietErrors() {
    xmlSetGenericErrorFunc(saved_generic_ctx_, saved_generic_);
    xmlSetStructuredErrorFunc(saved_structured_ctx_, saved_structured_);
  }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  xmlGenericErrorFunc saved_generic_;
  void* saved_generic_ctx_;
  xmlStructuredErrorFunc saved_structured_;
  void* saved_structured_ctx_;
};

// libxml2 messages may end with the offending bytes ("Bytes: 0xA1 0x20"):
// keep the words, drop the bytes and line breaks.
std::string clean_message(const char* message) {
  std::string text = message != nullptr ? message : "unknown error";
  for (const char* marker : {"Bytes:", "bytes 0x", ", bytes"}) {
    auto at = text.find(marker);
    if (at != std::string::npos) text.erase(at);
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.pop_back();
  return printable_utf8(text, 300);  // names quoted by libxml2 stay valid UTF-8 in messages
}

// Per-parse state, reached from the SAX hooks through ctxt->_private.
struct ParseGuard {
  int depth = 0;
  int max_depth = 0;
  std::string refusal;      // our own reason, set by a hook that stopped the parse
  std::string first_error;  // libxml2's first error, cleaned
  int error_line = 0;
  int error_column = 0;
  startElementNsSAX2Func start_element = nullptr;
  endElementNsSAX2Func end_element = nullptr;
};

ParseGuard* guard_of(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  return static_cast<ParseGuard*>(ctxt->_private);
}

void refuse(void* ctx, std::string reason) {
  ParseGuard* guard = guard_of(ctx);
  if (guard->refusal.empty()) guard->refusal = std::move(reason);
  xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
}

void on_internal_subset(void* ctx, const xmlChar*, const xmlChar* external_id, const xmlChar* system_id) {
  if (external_id != nullptr || system_id != nullptr) {
    refuse(ctx, "external DTD reference (DTDs are never loaded)");
  }
  // A DOCTYPE without an external ID is allowed; its entity declarations are not.
}

void on_entity_decl(void* ctx, const xmlChar*, int type, const xmlChar*, const xmlChar*, xmlChar*) {
  const bool external = type == XML_EXTERNAL_GENERAL_PARSED_ENTITY ||
                        type == XML_EXTERNAL_GENERAL_UNPARSED_ENTITY || type == XML_EXTERNAL_PARAMETER_ENTITY;
  refuse(ctx, external ? "external entity declaration (entities are never expanded or loaded)"
                       : "entity declaration (entities are never expanded: entity expansion limit is 0)");
}

void on_unparsed_entity_decl(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*, const xmlChar*) {
  refuse(ctx, "external entity declaration (entities are never expanded or loaded)");
}

// Called after every DOCTYPE, with null IDs when there is no external subset.
void on_external_subset(void* ctx, const xmlChar*, const xmlChar* external_id, const xmlChar* system_id) {
  if (external_id != nullptr || system_id != nullptr) refuse(ctx, "external DTD reference (DTDs are never loaded)");
}

void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri,
                      int nb_namespaces, const xmlChar** namespaces, int nb_attributes, int nb_defaulted,
                      const xmlChar** attributes) {
  ParseGuard* guard = guard_of(ctx);
  if (++guard->depth > guard->max_depth) {
    return refuse(ctx, "elements nested deeper than max_depth " + std::to_string(guard->max_depth));
  }
  if (uri != nullptr && (std::strcmp(reinterpret_cast<const char*>(uri), kXIncludeNs) == 0 ||
                         std::strcmp(reinterpret_cast<const char*>(uri), kXIncludeOldNs) == 0)) {
    return refuse(ctx, "XInclude element (XInclude is never processed)");
  }
  guard->start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                       attributes);
}

void on_end_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri) {
  ParseGuard* guard = guard_of(ctx);
  --guard->depth;
  guard->end_element(ctx, localname, prefix, uri);
}

void on_parse_error(void* user, xmlErrorPtr error) {
  if (user == nullptr || error == nullptr) return;
  ParseGuard* guard = guard_of(user);
  if (guard == nullptr || error->level == XML_ERR_WARNING || !guard->first_error.empty()) return;
  guard->first_error = clean_message(error->message);
  guard->error_line = error->line;
  guard->error_column = error->int2;
}

struct CtxtFree {
  void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};

class GuardedParseScope {
 public:
  GuardedParseScope() { t_in_guarded_parse = true; }
  ~GuardedParseScope() { t_in_guarded_parse = false; }
  GuardedParseScope(const GuardedParseScope&) = delete;
  GuardedParseScope& operator=(const GuardedParseScope&) = delete;
};

}  // namespace

Status check_limits(const ParseLimits& limits, std::string_view where) {
  const std::string prefix = std::string(where);
  if (limits.max_document_bytes == 0 || limits.max_document_bytes > static_cast<size_t>(INT_MAX)) {
    return config_error(prefix + ": max_document_bytes must be in 1.." + std::to_string(INT_MAX));
  }
  if (limits.max_depth < 1 || limits.max_depth > kLibxmlMaxDepth) {
    return config_error(prefix + ": max_depth must be in 1.." + std::to_string(kLibxmlMaxDepth));
  }
  if (!limits.encoding.empty()) {
    xmlCharEncodingHandlerPtr handler = nullptr;
    {
      std::string ignored;
      QuietErrors quiet(&ignored);
      init_once();
      handler = xmlFindCharEncodingHandler(limits.encoding.c_str());
    }
    if (handler == nullptr) return config_error(prefix + ": encoding \"" + limits.encoding + "\" is not known");
    xmlCharEncCloseFunc(handler);
  }
  return Status::ok();
}

Expected<DocPtr> parse(std::string_view bytes, const ParseLimits& limits) {
  init_once();
  if (bytes.size() > limits.max_document_bytes || bytes.size() > static_cast<size_t>(INT_MAX)) {
    return data_error("XML refused: document of " + std::to_string(bytes.size()) +
                      " bytes is larger than max_document_bytes " + std::to_string(limits.max_document_bytes));
  }
  if (bytes.empty()) return data_error("malformed XML: empty document");

  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt;
  {
    std::string ignored;
    QuietErrors quiet_setup(&ignored);
    ctxt.reset(xmlNewParserCtxt());
  }
  if (!ctxt || ctxt->sax == nullptr) return internal_error("xmlNewParserCtxt: out of memory");
  // Errors raised through the thread's global channel land in the same place.
  QuietErrors quiet(ctxt.get(), on_parse_error);

  ParseGuard guard;
  guard.max_depth = limits.max_depth;
  xmlSAXHandler* sax = ctxt->sax;
  guard.start_element = sax->startElementNs;
  guard.end_element = sax->endElementNs;
  sax->startElementNs = on_start_element;
  sax->endElementNs = on_end_element;
  sax->internalSubset = on_internal_subset;
  sax->externalSubset = on_external_subset;
  sax->entityDecl = on_entity_decl;
  sax->unparsedEntityDecl = on_unparsed_entity_decl;
  sax->serror = on_parse_error;
  sax->error = nullptr;
  sax->warning = nullptr;
  sax->fatalError = nullptr;
  ctxt->_private = &guard;
  if (guard.start_element == nullptr || guard.end_element == nullptr) {
    return internal_error("libxml2: SAX2 element handlers missing");
  }

  // Never: NOENT (substitution), DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE, RECOVER.
  const int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT | XML_PARSE_NOWARNING;
  const char* encoding = limits.encoding.empty() ? nullptr : limits.encoding.c_str();
  xmlDoc* raw = nullptr;
  {
    GuardedParseScope scope;
    raw = xmlCtxtReadMemory(ctxt.get(), bytes.data(), static_cast<int>(bytes.size()), nullptr, encoding, options);
  }
  DocPtr doc(raw);
  if (!guard.refusal.empty()) return data_error("XML refused: " + guard.refusal);
  if (!doc || !ctxt->wellFormed) {
    std::string message = !guard.first_error.empty() ? guard.first_error : std::string("not well-formed");
    if (guard.error_line > 0) {
      message += " (line " + std::to_string(guard.error_line) + " column " + std::to_string(guard.error_column) + ")";
    }
    return data_error("malformed XML: " + message);
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) return data_error("malformed XML: no root element");
  return doc;
}

Expected<Namespaces> namespaces_from_json(const nlohmann::json& value, std::string_view key) {
  Namespaces out;
  if (value.is_null()) return out;
  if (!value.is_object()) return config_error(std::string(key) + ": must be an object {\"prefix\": \"uri\"}");
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& prefix = it.key();
    bool valid = !prefix.empty() && prefix.find(':') == std::string::npos;
    for (char c : prefix) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) valid = false;
    }
    if (!valid) return config_error(std::string(key) + ": \"" + prefix + "\" is not a namespace prefix");
    if (!it.value().is_string() || it.value().get<std::string>().empty()) {
      return config_error(std::string(key) + "." + prefix + ": must be a non-empty namespace URI");
    }
    out[prefix] = it.value().get<std::string>();
  }
  return out;
}

Expected<XPath> XPath::compile(const std::string& expression, std::string_view setting) {
  init_once();
  if (expression.empty()) return config_error(std::string(setting) + ": empty XPath");
  std::string error;
  QuietErrors quiet(&error);
  XPath xpath;
  xpath.text_ = expression;
  xpath.compiled_.reset(xmlXPathCompile(reinterpret_cast<const xmlChar*>(expression.c_str())));
  if (!xpath.compiled_) {
    return config_error(std::string(setting) + ": XPath \"" + expression + "\" does not compile" +
                        (error.empty() ? std::string() : ": " + clean_message(error.c_str())));
  }
  return xpath;
}

Expected<XPathContext> XPathContext::create(xmlDoc* doc, const Namespaces& namespaces) {
  init_once();
  XPathContext context;
  context.ctx_.reset(xmlXPathNewContext(doc));
  if (!context.ctx_) return internal_error("xmlXPathNewContext: out of memory");
  context.ctx_->error = keep_structured;
  context.ctx_->userData = context.last_error_.get();
  for (const auto& [prefix, uri] : namespaces) {
    if (xmlXPathRegisterNs(context.ctx_.get(), reinterpret_cast<const xmlChar*>(prefix.c_str()),
                           reinterpret_cast<const xmlChar*>(uri.c_str())) != 0) {
      return internal_error("xmlXPathRegisterNs failed for prefix " + prefix);
    }
  }
  return context;
}

Expected<XPathResult> XPathContext::eval(const XPath& xpath, xmlNode* node) {
  last_error_->clear();
  QuietErrors quiet(last_error_.get());
  ctx_->node = node != nullptr ? node : reinterpret_cast<xmlNode*>(ctx_->doc);
  XPathResult result(xmlXPathCompiledEval(xpath.get(), ctx_.get()));
  if (!result) {
    return config_error("XPath \"" + xpath.text() + "\" cannot be evaluated" +
                        (last_error_->empty() ? std::string() : ": " + clean_message(last_error_->c_str())));
  }
  return result;
}

Expected<double> XPathContext::number(const XPath& xpath, xmlNode* node) {
  DXHUB_ASSIGN_OR_RETURN(XPathResult result, eval(xpath, node));
  if (result->type == XPATH_NODESET && node_count(result.get()) == 0) return std::nan("");
  return xmlXPathCastToNumber(result.get());
}

size_t node_count(const xmlXPathObject* result) {
  if (result == nullptr || result->type != XPATH_NODESET || result->nodesetval == nullptr) return 0;
  return static_cast<size_t>(result->nodesetval->nodeNr);
}

xmlNode* node_at(const xmlXPathObject* result, size_t index) {
  return index < node_count(result) ? result->nodesetval->nodeTab[index] : nullptr;
}

void append_text(const xmlNode* node, std::string& out) {
  if (node == nullptr) return;
  switch (node->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      if (node->content != nullptr) out.append(reinterpret_cast<const char*>(node->content));
      return;
    case XML_ELEMENT_NODE:
    case XML_ATTRIBUTE_NODE:
    case XML_DOCUMENT_NODE:
      for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE || child->type == XML_ELEMENT_NODE) {
          append_text(child, out);
        }
      }
      return;
    default:
      return;
  }
}

xmlNode* first_element_child(xmlNode* node) {
  if (node == nullptr) return nullptr;
  for (xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) return child;
  }
  return nullptr;
}

xmlNode* next_element_sibling(xmlNode* node) {
  for (xmlNode* next = node != nullptr ? node->next : nullptr; next != nullptr; next = next->next) {
    if (next->type == XML_ELEMENT_NODE) return next;
  }
  return nullptr;
}

std::string_view local_name(const xmlNode* node) {
  if (node == nullptr || node->name == nullptr) return {};
  return reinterpret_cast<const char*>(node->name);
}

bool is_nil(const xmlNode* node) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE) return false;
  for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
    if (attr->ns == nullptr || attr->ns->href == nullptr) continue;
    if (std::strcmp(reinterpret_cast<const char*>(attr->name), "nil") != 0) continue;
    if (std::strcmp(reinterpret_cast<const char*>(attr->ns->href), kXsiNs) != 0) continue;
    const xmlNode* value = attr->children;
    if (value == nullptr || value->content == nullptr) return false;
    std::string_view text(reinterpret_cast<const char*>(value->content));
    return text == "true" || text == "1";
  }
  return false;
}

}  // namespace dxhub::xml
