#include "connectors/soap_xml/soap_xml_connector.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "connectors/common/typed_cursor_value.h"
#include "connectors/xml/xml_document.h"
#include "connectors/xml/xml_records.h"
#include "core/common/utf8.h"
#include "core/delivery/curl_handle.h"

namespace dxhub {

namespace {

constexpr const char* kSoap11Ns = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* kSoap12Ns = "http://www.w3.org/2003/05/soap-envelope";

enum class Protocol { kSoap11, kSoap12, kXml };
enum class Paging { kNone, kPage, kOffset };
enum class Placeholder { kLiteral, kPage, kOffset, kPageSize, kUpdatedSince };

struct Segment {
  Placeholder kind = Placeholder::kLiteral;
  std::string text;
};

// A template split once at open into literals and placeholders.
Expected<std::vector<Segment>> parse_template(const std::string& text, const std::string& setting,
                                              std::set<Placeholder>& used) {
  std::vector<Segment> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find("{{", at);
    if (open == std::string::npos) {
      out.push_back({Placeholder::kLiteral, text.substr(at)});
      break;
    }
    if (open > at) out.push_back({Placeholder::kLiteral, text.substr(at, open - at)});
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) return config_error("soap_xml: " + setting + ": unterminated {{ placeholder");
    const std::string name = text.substr(open + 2, close - open - 2);
    Placeholder kind;
    if (name == "page") kind = Placeholder::kPage;
    else if (name == "offset") kind = Placeholder::kOffset;
    else if (name == "page_size") kind = Placeholder::kPageSize;
    else if (name == "updated_since") kind = Placeholder::kUpdatedSince;
    else return config_error("soap_xml: " + setting + ": unknown placeholder {{" + name + "}}");
    used.insert(kind);
    out.push_back({kind, {}});
    at = close + 2;
  }
  return out;
}

void append_url_escaped(std::string& out, std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
}

void append_xml_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
}

// Cursor values compare as integers when both are integers, else bytewise.
bool parse_integer(std::string_view s, long long& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

int compare_values(std::string_view a, std::string_view b) {
  long long x = 0, y = 0;
  if (parse_integer(a, x) && parse_integer(b, y)) return x < y ? -1 : (x > y ? 1 : 0);
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Service text for messages: bounded, one line, valid UTF-8 (never cut
// inside a character).
std::string one_line(std::string_view text, size_t max = 200) {
  std::string out = printable_utf8(text, max);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t start = out.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : out.substr(start);
}

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Settings {
  std::string url;
  Protocol protocol = Protocol::kSoap11;
  bool post = true;
  std::string soap_action;
  std::string body_template;
  bool has_body = false;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string key_column;
  std::string cursor_column;  // empty: full refresh
  std::string initial_since;
  bool ascending = true;
  Paging paging = Paging::kNone;
  int64_t first_page = 1;
  int64_t page_size = 100;
  std::string total_xpath;
  int64_t max_pages = 100000;
  int64_t timeout_ms = 30000;
  int64_t connect_timeout_ms = 10000;
  int64_t retries = 3;
  int64_t retry_backoff_ms = 500;
  xml::ParseLimits limits;
};

Status get_string(const nlohmann::json& config, const char* key, std::string& out, bool required = false) {
  if (!config.contains(key)) {
    return required ? config_error(std::string("soap_xml: ") + key + " is required") : Status::ok();
  }
  if (!config[key].is_string()) return config_error(std::string("soap_xml: ") + key + " must be a string");
  out = config[key].get<std::string>();
  if (required && out.empty()) return config_error(std::string("soap_xml: ") + key + " must not be empty");
  return Status::ok();
}

Status get_int(const nlohmann::json& config, const char* key, int64_t& out, int64_t min, int64_t max) {
  if (!config.contains(key)) return Status::ok();
  const auto& v = config[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return config_error(std::string("soap_xml: ") + key + " must be an integer in " + std::to_string(min) + ".." +
                        std::to_string(max));
  }
  out = v.get<int64_t>();
  return Status::ok();
}

Expected<Settings> parse_settings(const nlohmann::json& config) {
  static const std::set<std::string> kKnown = {
      "url",        "protocol",      "method",       "soap_action",      "body_template", "content_type",
      "headers",    "namespaces",    "records_xpath", "fields",          "key_column",    "cursor_column",
      "initial_since", "cursor_order", "paging",     "first_page",       "page_size",     "total_xpath",
      "max_pages",  "timeout_ms",    "connect_timeout_ms", "retries",    "retry_backoff_ms",
      "max_response_bytes", "max_depth"};
  if (!config.is_object()) return config_error("soap_xml: config must be an object");
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (!kKnown.count(it.key())) return config_error("soap_xml: unknown setting \"" + it.key() + "\"");
  }
  Settings s;
  DXHUB_RETURN_IF_ERROR(get_string(config, "url", s.url, true));
  if (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0) {
    return config_error("soap_xml: url must start with http:// or https://");
  }
  std::string protocol = "soap11";
  DXHUB_RETURN_IF_ERROR(get_string(config, "protocol", protocol));
  if (protocol == "soap11") s.protocol = Protocol::kSoap11;
  else if (protocol == "soap12") s.protocol = Protocol::kSoap12;
  else if (protocol == "xml") s.protocol = Protocol::kXml;
  else return config_error("soap_xml: protocol must be soap11, soap12 or xml");
  std::string method = s.protocol == Protocol::kXml ? "GET" : "POST";
  DXHUB_RETURN_IF_ERROR(get_string(config, "method", method));
  if (method != "GET" && method != "POST") return config_error("soap_xml: method must be GET or POST");
  if (s.protocol != Protocol::kXml && method != "POST") return config_error("soap_xml: method must be POST for SOAP");
  s.post = method == "POST";
  DXHUB_RETURN_IF_ERROR(get_string(config, "soap_action", s.soap_action));
  s.has_body = config.contains("body_template");
  DXHUB_RETURN_IF_ERROR(get_string(config, "body_template", s.body_template));
  if (s.protocol != Protocol::kXml && s.body_template.empty()) {
    return config_error("soap_xml: body_template (the SOAP envelope) is required for SOAP");
  }
  if (!s.post && s.has_body) return config_error("soap_xml: body_template needs method POST");
  s.content_type = "application/xml; charset=utf-8";
  DXHUB_RETURN_IF_ERROR(get_string(config, "content_type", s.content_type));
  if (config.contains("headers")) {
    if (!config["headers"].is_object()) return config_error("soap_xml: headers must be an object");
    for (auto it = config["headers"].begin(); it != config["headers"].end(); ++it) {
      if (!it.value().is_string() || it.key().empty() || it.key().find_first_of(":\r\n ") != std::string::npos ||
          it.value().get<std::string>().find_first_of("\r\n") != std::string::npos) {
        return config_error("soap_xml: headers." + it.key() + " must be a header name with a one-line string value");
      }
      s.headers.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  DXHUB_RETURN_IF_ERROR(get_string(config, "key_column", s.key_column, true));
  DXHUB_RETURN_IF_ERROR(get_string(config, "cursor_column", s.cursor_column));
  DXHUB_RETURN_IF_ERROR(get_string(config, "initial_since", s.initial_since));
  std::string order = "ascending";
  DXHUB_RETURN_IF_ERROR(get_string(config, "cursor_order", order));
  if (order != "ascending" && order != "none") return config_error("soap_xml: cursor_order must be ascending or none");
  s.ascending = order == "ascending";
  std::string paging = "none";
  DXHUB_RETURN_IF_ERROR(get_string(config, "paging", paging));
  if (paging == "none") s.paging = Paging::kNone;
  else if (paging == "page") s.paging = Paging::kPage;
  else if (paging == "offset") s.paging = Paging::kOffset;
  else return config_error("soap_xml: paging must be none, page or offset");
  DXHUB_RETURN_IF_ERROR(get_int(config, "first_page", s.first_page, 0, 1'000'000));
  DXHUB_RETURN_IF_ERROR(get_int(config, "page_size", s.page_size, 1, 100'000));
  DXHUB_RETURN_IF_ERROR(get_string(config, "total_xpath", s.total_xpath));
  DXHUB_RETURN_IF_ERROR(get_int(config, "max_pages", s.max_pages, 1, 100'000'000));
  DXHUB_RETURN_IF_ERROR(get_int(config, "timeout_ms", s.timeout_ms, 1, 3'600'000));
  DXHUB_RETURN_IF_ERROR(get_int(config, "connect_timeout_ms", s.connect_timeout_ms, 1, 600'000));
  DXHUB_RETURN_IF_ERROR(get_int(config, "retries", s.retries, 0, 10));
  DXHUB_RETURN_IF_ERROR(get_int(config, "retry_backoff_ms", s.retry_backoff_ms, 0, 60'000));
  int64_t max_bytes = static_cast<int64_t>(s.limits.max_document_bytes);
  DXHUB_RETURN_IF_ERROR(get_int(config, "max_response_bytes", max_bytes, 1, INT32_MAX));
  s.limits.max_document_bytes = static_cast<size_t>(max_bytes);
  int64_t depth = s.limits.max_depth;
  DXHUB_RETURN_IF_ERROR(get_int(config, "max_depth", depth, 1, 256));
  s.limits.max_depth = static_cast<int>(depth);
  DXHUB_RETURN_IF_ERROR(xml::check_limits(s.limits, "soap_xml"));
  return s;
}

class SoapXmlConnectorImpl final : public Connector {
 public:
  SoapXmlConnectorImpl(Settings settings, xml::RecordExtractor extractor, std::string name)
      : s_(std::move(settings)), extractor_(std::move(extractor)), name_(std::move(name)) {
    ref_.reserve(64);
  }

  Status init(const nlohmann::json& cursor) {
    std::set<Placeholder> used;
    DXHUB_ASSIGN_OR_RETURN(url_template_, parse_template(s_.url, "url", used));
    DXHUB_ASSIGN_OR_RETURN(body_template_, parse_template(s_.body_template, "body_template", used));
    if (s_.paging == Paging::kPage && !used.count(Placeholder::kPage)) {
      return config_error("soap_xml: paging \"page\" needs a {{page}} placeholder in url or body_template");
    }
    if (s_.paging == Paging::kOffset && !used.count(Placeholder::kOffset)) {
      return config_error("soap_xml: paging \"offset\" needs an {{offset}} placeholder in url or body_template");
    }
    if (s_.paging != Paging::kPage && used.count(Placeholder::kPage)) {
      return config_error("soap_xml: {{page}} is used but paging is not \"page\"");
    }
    if (s_.paging != Paging::kOffset && used.count(Placeholder::kOffset)) {
      return config_error("soap_xml: {{offset}} is used but paging is not \"offset\"");
    }
    const bool incremental = !s_.cursor_column.empty();
    if (incremental && !used.count(Placeholder::kUpdatedSince)) {
      return config_error("soap_xml: cursor_column needs an {{updated_since}} placeholder in url or body_template");
    }
    if (!incremental && used.count(Placeholder::kUpdatedSince)) {
      return config_error("soap_xml: {{updated_since}} is used but no cursor_column is set");
    }
    if (!s_.total_xpath.empty()) {
      DXHUB_ASSIGN_OR_RETURN(auto total, xml::XPath::compile(s_.total_xpath, "soap_xml: total_xpath"));
      total_xpath_.emplace(std::move(total));
    }
    DXHUB_RETURN_IF_ERROR(load_cursor(cursor));
    since_ = has_start_ ? start_value_ : s_.initial_since;
    DXHUB_ASSIGN_OR_RETURN(easy_, curl::make_easy_handle());
    next_page_ = s_.first_page;
    if (extractor_.needs_discovery()) {
      DXHUB_RETURN_IF_ERROR(fetch_next_page());
      if (xml::node_count(records_.get()) > 0) extractor_.discover_columns(xml::node_at(records_.get(), 0));
    }
    return Status::ok();
  }

  const std::vector<std::string>& columns() const override { return extractor_.columns(); }

  Expected<size_t> read(size_t max_rows, RowSink& sink) override {
    size_t handed = 0;
    while (handed < max_rows) {
      if (!page_loaded_) {
        if (exhausted_) break;
        DXHUB_RETURN_IF_ERROR(fetch_next_page());
      }
      const size_t count = xml::node_count(records_.get());
      if (count == 0) {
        finish_run();
        break;
      }
      while (handed < max_rows && record_index_ < count) {
        xmlNode* record = xml::node_at(records_.get(), record_index_++);
        DXHUB_ASSIGN_OR_RETURN(bool counted, handle_record(record, sink));
        if (counted) ++handed;
      }
      if (record_index_ >= count) end_of_page(count);
    }
    return handed;
  }

  nlohmann::json cursor() const override {
    if (s_.cursor_column.empty()) return nullptr;
    const bool advanced = has_cur_ && (s_.ascending || run_complete_);
    if (!advanced) return original_cursor_;
    nlohmann::json boundary = nlohmann::json::array();
    if (has_start_ && cur_value_ == start_value_) {
      for (const auto& [key, digest] : old_set_) boundary.push_back({key, typed_cursor::digest_hex(digest)});
    }
    for (const auto& entry : new_set_) {
      boundary.push_back({new_keys_.substr(entry.offset, entry.length), typed_cursor::digest_hex(entry.digest)});
    }
    return nlohmann::json{{"v", 1}, {"value", cur_value_}, {"boundary", std::move(boundary)}};
  }

 private:
  struct NewEntry {
    uint32_t offset;
    uint32_t length;
    uint64_t digest;
  };

  Status load_cursor(const nlohmann::json& cursor) {
    original_cursor_ = cursor;
    if (cursor.is_null()) return Status::ok();
    if (s_.cursor_column.empty()) return Status::ok();  // full refresh keeps no position
    if (!cursor.is_object() || cursor.value("v", 0) != 1 || !cursor.contains("value") || !cursor["value"].is_string() ||
        !cursor.contains("boundary") || !cursor["boundary"].is_array()) {
      return config_error("soap_xml: cursor is not {\"v\":1,\"value\":...,\"boundary\":[...]}");
    }
    start_value_ = cursor["value"].get<std::string>();
    has_start_ = true;
    for (const auto& entry : cursor["boundary"]) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_string() ||
          entry[1].get<std::string>().size() != 16) {
        return config_error("soap_xml: cursor boundary entries must be [key, 16 hex digits]");
      }
      uint64_t digest = 0;
      try {
        digest = std::stoull(entry[1].get<std::string>(), nullptr, 16);
      } catch (...) {
        return config_error("soap_xml: cursor boundary digest is not hex");
      }
      old_set_[entry[0].get<std::string>()] = digest;
    }
    return Status::ok();
  }

  void render(const std::vector<Segment>& segments, bool url, std::string& out) {
    out.clear();
    char number[32];
    for (const auto& segment : segments) {
      std::string_view value;
      switch (segment.kind) {
        case Placeholder::kLiteral: out += segment.text; continue;
        case Placeholder::kPage:
          value = std::string_view(number, std::snprintf(number, sizeof number, "%lld", static_cast<long long>(next_page_)));
          break;
        case Placeholder::kOffset:
          value = std::string_view(number, std::snprintf(number, sizeof number, "%lld", static_cast<long long>(offset_)));
          break;
        case Placeholder::kPageSize:
          value = std::string_view(number, std::snprintf(number, sizeof number, "%lld", static_cast<long long>(s_.page_size)));
          break;
        case Placeholder::kUpdatedSince: value = since_; break;
      }
      if (url) append_url_escaped(out, value);
      else append_xml_escaped(out, value);
    }
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<SoapXmlConnectorImpl*>(user);
    const size_t bytes = size * count;
    if (self->body_.size() + bytes > self->s_.limits.max_document_bytes) {
      self->oversized_ = true;
      return 0;
    }
    self->body_.append(data, bytes);
    return bytes;
  }

  // One HTTP exchange. Fills status_, content_type_, body_.
  Status perform() {
    CURL* h = easy_.get();
    body_.clear();
    oversized_ = false;
    error_buffer_[0] = '\0';
    render(url_template_, true, url_);
    curl::HeaderList headers;
    if (s_.protocol == Protocol::kSoap11) {
      DXHUB_RETURN_IF_ERROR(headers.append("Content-Type: text/xml; charset=utf-8"));
      DXHUB_RETURN_IF_ERROR(headers.append("SOAPAction: \"" + s_.soap_action + "\""));
      DXHUB_RETURN_IF_ERROR(headers.append("Accept: text/xml"));
    } else if (s_.protocol == Protocol::kSoap12) {
      std::string type = "Content-Type: application/soap+xml; charset=utf-8";
      if (!s_.soap_action.empty()) type += "; action=\"" + s_.soap_action + "\"";
      DXHUB_RETURN_IF_ERROR(headers.append(type));
      DXHUB_RETURN_IF_ERROR(headers.append("Accept: application/soap+xml"));
    } else {
      if (s_.post) DXHUB_RETURN_IF_ERROR(headers.append("Content-Type: " + s_.content_type));
      DXHUB_RETURN_IF_ERROR(headers.append("Accept: application/xml, text/xml"));
    }
    DXHUB_RETURN_IF_ERROR(headers.append("Expect:"));  // no 100-continue round trip
    for (const auto& [name, value] : s_.headers) DXHUB_RETURN_IF_ERROR(headers.append(name + ": " + value));

    curl_easy_reset(h);
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_URL, url_.c_str()), "URL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L), "FOLLOWLOCATION"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(s_.timeout_ms)), "TIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s_.connect_timeout_ms)), "CONNECTTIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_), "ERRORBUFFER"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body), "WRITEFUNCTION"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEDATA, this), "WRITEDATA"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING"));
    if (s_.post) {
      render(body_template_, false, request_body_);
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_POST, 1L), "POST"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_POSTFIELDS, request_body_.c_str()), "POSTFIELDS"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(
          curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body_.size())), "POSTFIELDSIZE"));
    }
    CURLcode code = curl_easy_perform(h);
    if (oversized_) {
      return source_error("response larger than max_response_bytes " + std::to_string(s_.limits.max_document_bytes));
    }
    DXHUB_RETURN_IF_ERROR(curl::transport_status(code, error_buffer_));
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    status_ = status;
    char* type = nullptr;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
    content_type_ = type != nullptr ? type : "";
    return Status::ok();
  }

  // SOAP fault in a parsed response, as a message; empty when none.
  std::string soap_fault(xmlDoc* doc) const {
    xmlNode* envelope = xmlDocGetRootElement(doc);
    if (envelope == nullptr || envelope->ns == nullptr || xml::local_name(envelope) != "Envelope") return {};
    const std::string_view ns(reinterpret_cast<const char*>(envelope->ns->href));
    if (ns != kSoap11Ns && ns != kSoap12Ns) return {};
    xmlNode* body = nullptr;
    for (xmlNode* c = xml::first_element_child(envelope); c; c = xml::next_element_sibling(c)) {
      if (xml::local_name(c) == "Body") body = c;
    }
    xmlNode* fault = xml::first_element_child(body);
    if (fault == nullptr || xml::local_name(fault) != "Fault") return {};
    std::string code, reason;
    for (xmlNode* c = xml::first_element_child(fault); c; c = xml::next_element_sibling(c)) {
      const auto name = xml::local_name(c);
      if (name == "faultcode" && code.empty()) xml::append_text(c, code);
      if (name == "faultstring" && reason.empty()) xml::append_text(c, reason);
      if (name == "Code" && code.empty()) {
        for (xmlNode* v = xml::first_element_child(c); v; v = xml::next_element_sibling(v)) {
          if (xml::local_name(v) == "Value") xml::append_text(v, code);
        }
      }
      if (name == "Reason" && reason.empty()) {
        xmlNode* text = xml::first_element_child(c);
        if (text != nullptr) xml::append_text(text, reason);
      }
    }
    return "SOAP fault: code " + (code.empty() ? std::string("(none)") : one_line(code, 100)) + ", reason \"" +
           one_line(reason) + "\"";
  }

  // One page, with retries. On success doc_, context_, records_ are set.
  Status fetch_next_page() {
    ++pages_fetched_;
    if (pages_fetched_ > s_.max_pages) {
      return source_error(where() + "more than max_pages " + std::to_string(s_.max_pages) + " pages in one run");
    }
    Status last;
    std::minstd_rand jitter(static_cast<unsigned>(pages_fetched_ * 7919 + 17));
    for (int64_t attempt = 0; attempt <= s_.retries; ++attempt) {
      if (attempt > 0) {
        double backoff = static_cast<double>(s_.retry_backoff_ms) * std::pow(2.0, static_cast<double>(attempt - 1));
        backoff = std::min(backoff, 30000.0) * (0.75 + 0.5 * static_cast<double>(jitter() % 1000) / 1000.0);
        std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(backoff)));
      }
      last = fetch_attempt();
      if (last.is_ok()) {
        page_loaded_ = true;
        record_index_ = 0;
        return Status::ok();
      }
      if (!last.retryable()) break;
    }
    if (last.retryable()) {
      return source_error(where() + "page " + std::to_string(pages_fetched_) + ": unavailable after " +
                          std::to_string(s_.retries + 1) + " attempts: " + last.message());
    }
    if (last.code() == StatusCode::kConfig) return last.with_context(where() + "page " + std::to_string(pages_fetched_));
    return source_error(where() + "page " + std::to_string(pages_fetched_) + ": " + last.message());
  }

  // kUnavailable = worth another attempt.
  Status fetch_attempt() {
    records_.reset();
    context_.reset();
    doc_.reset();
    DXHUB_RETURN_IF_ERROR(perform());
    const bool html = content_type_.find("html") != std::string::npos;
    std::optional<xml::DocPtr> parsed;
    Status parse_error;
    if (!html) {
      auto doc = xml::parse(body_, s_.limits);
      if (doc) parsed.emplace(std::move(*doc));
      else parse_error = doc.status();
    }
    if (parsed) {
      std::string fault = soap_fault(parsed->get());
      if (!fault.empty()) return source_error(fault + " (HTTP " + std::to_string(status_) + ")");
    }
    if (status_ >= 500 || status_ == 429 || status_ == 408) {
      return unavailable_error("HTTP " + std::to_string(status_));
    }
    if (status_ < 200 || status_ >= 300) return source_error("HTTP " + std::to_string(status_));
    if (html) return unavailable_error("response is text/html, not XML");
    if (!parsed) {
      // Refusals are the document's nature; malformed bodies may be a cut transfer.
      if (parse_error.message().rfind("XML refused", 0) == 0) return source_error(parse_error.message());
      return unavailable_error(parse_error.message());
    }
    if (s_.protocol != Protocol::kXml) {
      xmlNode* root = xmlDocGetRootElement(parsed->get());
      if (root->ns == nullptr || xml::local_name(root) != "Envelope") {
        return source_error("response is not a SOAP envelope");
      }
      const std::string_view ns(reinterpret_cast<const char*>(root->ns->href));
      if (ns != (s_.protocol == Protocol::kSoap11 ? kSoap11Ns : kSoap12Ns)) {
        return source_error("response is a SOAP envelope of the other SOAP version");
      }
    }
    doc_ = std::move(*parsed);
    auto context = xml::XPathContext::create(doc_.get(), extractor_.namespaces());
    if (!context) return context.status();
    context_.emplace(std::move(*context));
    auto records = context_->eval(extractor_.records_xpath(), nullptr);
    if (!records) return config_error("records_xpath: " + records.status().message());
    records_ = std::move(*records);
    if (total_xpath_) {
      auto total = context_->number(*total_xpath_, nullptr);
      if (!total) return config_error("total_xpath: " + total.status().message());
      if (std::isnan(*total) || *total < 0) return source_error("total_xpath gives no count in this page");
      total_ = static_cast<int64_t>(*total);
    }
    return Status::ok();
  }

  std::string where() const { return "soap_xml " + name_ + ": "; }

  void end_of_page(size_t count) {
    page_loaded_ = false;
    records_seen_ += static_cast<int64_t>(count);
    offset_ += static_cast<int64_t>(count);
    ++next_page_;
    if (s_.paging == Paging::kNone || (total_xpath_ && records_seen_ >= total_)) finish_run();
  }

  void finish_run() {
    page_loaded_ = false;
    exhausted_ = true;
    run_complete_ = true;
  }

  uint64_t digest_values(const std::vector<FieldValue>& values) {
    digest_buf_.clear();
    for (const auto& v : values) {
      digest_buf_ += v.is_null() ? '\0' : '\1';
      const auto len = static_cast<uint32_t>(v.s.size());
      digest_buf_.append(reinterpret_cast<const char*>(&len), sizeof len);
      digest_buf_.append(v.s.data() != nullptr ? v.s.data() : "", v.s.size());
    }
    return XXH3_64bits(digest_buf_.data(), digest_buf_.size());
  }

  // Returns whether the record counts as handed out (row or bad input).
  Expected<bool> handle_record(xmlNode* record, RowSink& sink) {
    ref_.clear();
    ref_ += "page ";
    ref_ += std::to_string(pages_fetched_);
    ref_ += " record ";
    ref_ += std::to_string(record_index_);
    Status extracted = extractor_.extract(*context_, record);
    if (extracted.code() == StatusCode::kConfig) return extracted.with_context(where());
    if (!extracted.is_ok()) return bad(record, extracted.message(), sink);
    const auto& values = extractor_.values();
    const FieldValue& key = values[extractor_.extra_index(0)];
    if (key.is_null() || key.s.empty()) return bad(record, "record has no value for key column " + s_.key_column, sink);
    if (!s_.cursor_column.empty()) {
      const FieldValue& cursor = values[extractor_.extra_index(1)];
      if (cursor.is_null() || cursor.s.empty()) {
        return bad(record, "record has no value for cursor column " + s_.cursor_column, sink);
      }
      if (has_start_) {
        const int vs_start = compare_values(cursor.s, start_value_);
        if (vs_start < 0) return false;  // below the boundary: delivered by an earlier run
        if (vs_start == 0) {
          auto it = old_set_.find(key.s);
          if (it != old_set_.end() && it->second == digest_values(values)) return false;  // sent already
        }
      }
      if (has_cur_) {
        const int vs_cur = compare_values(cursor.s, cur_value_);
        if (vs_cur < 0 && s_.ascending) {
          return source_error(where() + ref_ + ": records are not in ascending " + s_.cursor_column +
                              " order (set cursor_order \"none\" for such a service)");
        }
        if (vs_cur > 0) {
          cur_value_.assign(cursor.s);
          new_set_.clear();
          new_keys_.clear();
        }
      } else {
        cur_value_.assign(cursor.s);
        has_cur_ = true;
      }
      if (compare_values(cursor.s, cur_value_) == 0) {
        new_set_.push_back({static_cast<uint32_t>(new_keys_.size()), static_cast<uint32_t>(key.s.size()), digest_values(values)});
        new_keys_.append(key.s);
      }
    }
    DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(values.data(), extractor_.columns().size(), ref_)));
    return true;
  }

  Expected<bool> bad(xmlNode* record, const std::string& reason, RowSink& sink) {
    std::string raw = xml::dump_node(record);
    DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, reason, raw}));
    return true;
  }

  Settings s_;
  xml::RecordExtractor extractor_;
  std::string name_;
  std::vector<Segment> url_template_;
  std::vector<Segment> body_template_;
  std::optional<xml::XPath> total_xpath_;
  curl::EasyHandle easy_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::string url_, request_body_, body_, content_type_;
  long status_ = 0;
  bool oversized_ = false;

  // Page state.
  xml::DocPtr doc_;
  std::optional<xml::XPathContext> context_;
  xml::XPathResult records_;
  bool page_loaded_ = false;
  bool exhausted_ = false;
  bool run_complete_ = false;
  size_t record_index_ = 0;
  int64_t pages_fetched_ = 0;
  int64_t next_page_ = 1;
  int64_t offset_ = 0;
  int64_t records_seen_ = 0;
  int64_t total_ = 0;
  std::string since_;
  std::string ref_;

  // Cursor state.
  nlohmann::json original_cursor_;
  bool has_start_ = false;
  std::string start_value_;
  std::unordered_map<std::string, uint64_t, TransparentHash, std::equal_to<>> old_set_;
  bool has_cur_ = false;
  std::string cur_value_;
  std::vector<NewEntry> new_set_;
  std::string new_keys_;
  std::string digest_buf_;
};

}  // namespace

Expected<std::unique_ptr<Connector>> SoapXmlOpen::open(const nlohmann::json& config,
                                                       const std::vector<std::string>& columns,
                                                       const nlohmann::json& cursor,
                                                       const ConnectorOpenOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(Settings settings, parse_settings(config));
  std::vector<std::string> extra = {settings.key_column};
  if (!settings.cursor_column.empty()) extra.push_back(settings.cursor_column);
  DXHUB_ASSIGN_OR_RETURN(auto extractor, xml::RecordExtractor::create(config, columns, extra, "soap_xml"));
  std::string name = options.resource_id.empty() ? std::string("source") : options.resource_id;
  auto connector = std::make_unique<SoapXmlConnectorImpl>(std::move(settings), std::move(extractor), std::move(name));
  DXHUB_RETURN_IF_ERROR(connector->init(cursor));
  return std::unique_ptr<Connector>(std::move(connector));
}

}  // namespace dxhub
