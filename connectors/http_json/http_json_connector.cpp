#include "connectors/http_json/http_json_connector.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <utility>

#include "connectors/common/row_digest.h"
#include "connectors/common/typed_cursor_value.h"

namespace dxhub {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
std::string dump_safe(const nlohmann::json& j) { return j.dump(-1, ' ', false, kReplace); }

Status bad_key(const std::string& key, const std::string& why) {
  return config_error("http_json config \"" + key + "\" " + why);
}

Status refuse_unknown(const nlohmann::json& object, const std::string& prefix, std::initializer_list<const char*> known) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return config_error("http_json config: unknown key \"" + prefix + it.key() + "\"");
  }
  return Status::ok();
}

Status get_string(const nlohmann::json& obj, const char* key, const std::string& prefix, std::string& out,
                  bool required = false, bool allow_empty = false) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return bad_key(prefix + key, "is required (a non-empty string)");
    return Status::ok();
  }
  if (!it->is_string() || (!allow_empty && it->get_ref<const std::string&>().empty())) {
    return bad_key(prefix + key, "must be a non-empty string");
  }
  out = it->get<std::string>();
  return Status::ok();
}

Status get_int(const nlohmann::json& obj, const char* key, const std::string& prefix, int64_t& out, int64_t lo,
               int64_t hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::ok();
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return bad_key(prefix + key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  out = it->get<int64_t>();
  return Status::ok();
}

std::vector<std::string> split_path(std::string_view p) {
  if (p.rfind("$.", 0) == 0) p.remove_prefix(2);
  else if (p == "$") p = {};
  std::vector<std::string> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t dot = p.find('.', start);
    if (dot == std::string_view::npos) dot = p.size();
    out.emplace_back(p.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

bool valid_path(std::string_view p) {
  if (p.rfind("$.", 0) == 0) p.remove_prefix(2);
  else if (p == "$") return true;
  if (p.empty()) return true;
  if (p.front() == '.' || p.back() == '.') return false;
  return p.find("..") == std::string_view::npos;
}

std::string format_number(double d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

const char* type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64: return "an integer";
    case T::DOUBLE: return "a number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    default: return "null";
  }
}

// a < b, for cursor values: numbers compare numerically, text by bytes, numbers before text.
int compare_values(FieldValue::Type ta, int64_t ia, double da, std::string_view sa, FieldValue::Type tb, int64_t ib,
                   double db, std::string_view sb) {
  const bool na = ta == FieldValue::Type::kInt || ta == FieldValue::Type::kReal;
  const bool nb = tb == FieldValue::Type::kInt || tb == FieldValue::Type::kReal;
  if (na && nb) {
    if (ta == FieldValue::Type::kInt && tb == FieldValue::Type::kInt) return ia < ib ? -1 : (ia > ib ? 1 : 0);
    const double x = ta == FieldValue::Type::kInt ? static_cast<double>(ia) : da;
    const double y = tb == FieldValue::Type::kInt ? static_cast<double>(ib) : db;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (na != nb) return na ? -1 : 1;
  const int c = sa.compare(sb);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

using typed_cursor::digest_hex;

// Key bytes of a typed key: integers as 8 bytes, reals as 8 bytes, text as is.
void key_bytes(const FieldValue& v, std::string& out) {
  out.clear();
  if (v.type == FieldValue::Type::kInt) out.append(reinterpret_cast<const char*>(&v.i), sizeof v.i);
  else if (v.type == FieldValue::Type::kReal) out.append(reinterpret_cast<const char*>(&v.d), sizeof v.d);
  else out.append(v.s);
}

nlohmann::json key_json(FieldValue::Type type, std::string_view bytes) {
  if (type == FieldValue::Type::kInt && bytes.size() == 8) {
    int64_t i;
    std::memcpy(&i, bytes.data(), 8);
    return i;
  }
  if (type == FieldValue::Type::kReal && bytes.size() == 8) {
    double d;
    std::memcpy(&d, bytes.data(), 8);
    return d;
  }
  return std::string(bytes);
}

}  // namespace

// ---- SentSet ----

void HttpJsonConnector::SentSet::clear() {
  entries_.clear();
  key_bytes_.clear();
  slots_.clear();
}

void HttpJsonConnector::SentSet::append(FieldValue::Type type, std::string_view bytes, uint64_t digest) {
  const uint64_t hash = XXH3_64bits_withSeed(bytes.data(), bytes.size(), static_cast<XXH64_hash_t>(type));
  entries_.push_back(Entry{hash, digest, static_cast<uint32_t>(key_bytes_.size()), static_cast<uint32_t>(bytes.size()),
                           type, false});
  key_bytes_.append(bytes);
}

void HttpJsonConnector::SentSet::build_index() {
  size_t capacity = 16;
  while (capacity < entries_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  for (size_t k = 0; k < entries_.size(); ++k) {
    size_t slot = entries_[k].hash & (capacity - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    slots_[slot] = static_cast<uint32_t>(k + 1);
  }
}

int64_t HttpJsonConnector::SentSet::find(FieldValue::Type type, std::string_view bytes) const {
  if (slots_.empty()) return -1;
  const uint64_t hash = XXH3_64bits_withSeed(bytes.data(), bytes.size(), static_cast<XXH64_hash_t>(type));
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (e.hash == hash && e.type == type && std::string_view(key_bytes_).substr(e.offset, e.length) == bytes) {
      return static_cast<int64_t>(slots_[slot] - 1);
    }
  }
  return -1;
}

void HttpJsonConnector::SentSet::to_json(nlohmann::json& array, bool only_unconsumed) const {
  for (const Entry& e : entries_) {
    if (only_unconsumed && e.consumed) continue;
    array.push_back(nlohmann::json::array(
        {key_json(e.type, std::string_view(key_bytes_).substr(e.offset, e.length)), digest_hex(e.digest)}));
  }
}

Status HttpJsonConnector::SentSet::load(const nlohmann::json& array) {
  clear();
  if (!array.is_array()) return config_error("invalid http_json cursor: \"boundary\" must be an array");
  std::string bytes;
  for (const auto& item : array) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_string() || item[1].get_ref<const std::string&>().size() != 16 ||
        !(item[0].is_string() || item[0].is_number())) {
      return config_error("invalid http_json cursor: bad [key, digest] entry");
    }
    uint64_t digest = 0;
    for (char c : item[1].get_ref<const std::string&>()) {
      int n = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (n < 0) return config_error("invalid http_json cursor: bad digest");
      digest = (digest << 4) | static_cast<uint64_t>(n);
    }
    FieldValue v;
    if (item[0].is_string()) {
      v = FieldValue::text(item[0].get_ref<const std::string&>());
    } else if (item[0].is_number_integer() &&
               !(item[0].is_number_unsigned() &&
                 item[0].get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      v = FieldValue::integer(item[0].get<int64_t>());
    } else {
      v = FieldValue::real(item[0].get<double>());
    }
    key_bytes(v, bytes);
    append(v.type, bytes, digest);
  }
  build_index();
  return Status::ok();
}

// ---- config ----

Expected<HttpJsonConnector::Config> HttpJsonConnector::parse_config(const nlohmann::json& j) {
  if (!j.is_object()) return config_error("http_json config must be a JSON object");
  DXHUB_RETURN_IF_ERROR(refuse_unknown(
      j, "", {"url", "method", "query", "body", "headers", "paging", "records_path", "fields", "field_types",
              "cursor_field", "key_field", "initial_since", "auth", "rate_limit_per_second", "max_attempts",
              "backoff_initial_ms", "backoff_max_ms", "max_retry_after_seconds", "connect_timeout_ms", "timeout_ms",
              "max_page_bytes", "max_pages", "max_bad_pages"}));
  Config c;
  DXHUB_RETURN_IF_ERROR(get_string(j, "url", "", c.url, true));
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return bad_key("url", "must start with http:// or https://");
  }
  DXHUB_RETURN_IF_ERROR(get_string(j, "method", "", c.method));
  if (c.method != "GET" && c.method != "POST") return bad_key("method", "must be GET or POST");
  if (auto it = j.find("query"); it != j.end()) {
    if (!it->is_object()) return bad_key("query", "must be an object of name: template");
    for (auto q = it->begin(); q != it->end(); ++q) {
      if (q->is_string()) c.query.emplace_back(q.key(), q->get<std::string>());
      else if (q->is_number_integer()) c.query.emplace_back(q.key(), std::to_string(q->get<int64_t>()));
      else return bad_key("query." + q.key(), "must be a string or an integer");
    }
  }
  if (auto it = j.find("body"); it != j.end()) {
    if (c.method != "POST") return bad_key("body", "needs method POST");
    c.body = *it;
  }
  if (auto it = j.find("headers"); it != j.end()) {
    if (!it->is_object()) return bad_key("headers", "must be an object of name: value");
    for (auto h = it->begin(); h != it->end(); ++h) {
      if (!h->is_string() || h.key().empty() || h.key().find_first_of(":\r\n ") != std::string::npos ||
          h->get_ref<const std::string&>().find_first_of("\r\n") != std::string::npos) {
        return bad_key("headers." + h.key(), "must be a header name with a one-line string value");
      }
      c.fetch.headers.emplace_back(h.key(), h->get<std::string>());
    }
  }
  if (auto it = j.find("paging"); it != j.end()) {
    if (!it->is_object()) return bad_key("paging", "must be an object");
    const nlohmann::json& p = *it;
    DXHUB_RETURN_IF_ERROR(refuse_unknown(p, "paging.", {"style", "page_size", "first_page", "token_path", "link_path",
                                                        "total_path"}));
    std::string style = "none";
    DXHUB_RETURN_IF_ERROR(get_string(p, "style", "paging.", style));
    if (style == "none") c.paging = Paging::kNone;
    else if (style == "page") c.paging = Paging::kPage;
    else if (style == "offset") c.paging = Paging::kOffset;
    else if (style == "token") c.paging = Paging::kToken;
    else if (style == "link") c.paging = Paging::kLink;
    else return bad_key("paging.style", "must be one of none, page, offset, token, link");
    DXHUB_RETURN_IF_ERROR(get_int(p, "page_size", "paging.", c.page_size, 1, 1'000'000));
    DXHUB_RETURN_IF_ERROR(get_int(p, "first_page", "paging.", c.first_page, 0, 1'000'000));
    DXHUB_RETURN_IF_ERROR(get_string(p, "token_path", "paging.", c.token_path));
    DXHUB_RETURN_IF_ERROR(get_string(p, "link_path", "paging.", c.link_path));
    DXHUB_RETURN_IF_ERROR(get_string(p, "total_path", "paging.", c.total_path));
    if (c.paging == Paging::kToken && c.token_path.empty()) return bad_key("paging.token_path", "is required for style token");
    if (c.paging == Paging::kLink && c.link_path.empty()) return bad_key("paging.link_path", "is required for style link");
  }
  DXHUB_RETURN_IF_ERROR(get_string(j, "records_path", "", c.records_path, false, true));
  for (const auto* path : {&c.records_path, &c.token_path, &c.link_path, &c.total_path}) {
    if (!valid_path(*path)) return bad_key("records_path / paging paths", "must be dotted names like data.items");
  }
  if (auto it = j.find("fields"); it != j.end()) {
    if (!it->is_object()) return bad_key("fields", "must be an object of column: path");
    for (auto f = it->begin(); f != it->end(); ++f) {
      if (!f->is_string() || f->get_ref<const std::string&>().empty() || !valid_path(f->get_ref<const std::string&>())) {
        return bad_key("fields." + f.key(), "must be a dotted path");
      }
      c.fields.emplace_back(f.key(), f->get<std::string>());
    }
  }
  if (auto it = j.find("field_types"); it != j.end()) {
    if (!it->is_object()) return bad_key("field_types", "must be an object of column: type");
    for (auto f = it->begin(); f != it->end(); ++f) {
      const std::string t = f->is_string() ? f->get<std::string>() : "";
      FieldType ft;
      if (t == "any") ft = FieldType::kAny;
      else if (t == "string") ft = FieldType::kString;
      else if (t == "integer") ft = FieldType::kInteger;
      else if (t == "number") ft = FieldType::kNumber;
      else if (t == "boolean") ft = FieldType::kBoolean;
      else return bad_key("field_types." + f.key(), "must be one of any, string, integer, number, boolean");
      c.field_types.emplace_back(f.key(), ft);
    }
  }
  DXHUB_RETURN_IF_ERROR(get_string(j, "cursor_field", "", c.cursor_field));
  DXHUB_RETURN_IF_ERROR(get_string(j, "key_field", "", c.key_field));
  if (!c.cursor_field.empty() && c.key_field.empty()) return bad_key("key_field", "is required with cursor_field");
  if (auto it = j.find("initial_since"); it != j.end()) {
    if (!it->is_string()) return bad_key("initial_since", "must be a string");
    if (c.cursor_field.empty()) return bad_key("initial_since", "needs cursor_field");
    c.initial_since = it->get<std::string>();
  }
  DXHUB_RETURN_IF_ERROR(get_int(j, "max_pages", "", c.max_pages, 1, std::numeric_limits<int64_t>::max()));
  DXHUB_RETURN_IF_ERROR(get_int(j, "max_bad_pages", "", c.max_bad_pages, 1, 1'000'000));

  http_json::FetchConfig& f = c.fetch;
  if (auto it = j.find("rate_limit_per_second"); it != j.end()) {
    if (!it->is_number() || !(it->get<double>() >= 0) || it->get<double>() > 100'000) {
      return bad_key("rate_limit_per_second", "must be a number from 0 (no limit) to 100000");
    }
    f.rate_limit_per_second = it->get<double>();
  }
  int64_t attempts = f.max_attempts;
  DXHUB_RETURN_IF_ERROR(get_int(j, "max_attempts", "", attempts, 1, 100));
  f.max_attempts = static_cast<int>(attempts);
  DXHUB_RETURN_IF_ERROR(get_int(j, "backoff_initial_ms", "", f.backoff_initial_ms, 0, 600'000));
  DXHUB_RETURN_IF_ERROR(get_int(j, "backoff_max_ms", "", f.backoff_max_ms, 0, 3'600'000));
  DXHUB_RETURN_IF_ERROR(get_int(j, "max_retry_after_seconds", "", f.max_retry_after_seconds, 0, 86'400));
  DXHUB_RETURN_IF_ERROR(get_int(j, "connect_timeout_ms", "", f.connect_timeout_ms, 1, 3'600'000));
  DXHUB_RETURN_IF_ERROR(get_int(j, "timeout_ms", "", f.timeout_ms, 1, 86'400'000));
  int64_t max_bytes = static_cast<int64_t>(f.max_body_bytes);
  DXHUB_RETURN_IF_ERROR(get_int(j, "max_page_bytes", "", max_bytes, 1024, int64_t{4} << 30));
  f.max_body_bytes = static_cast<uint64_t>(max_bytes);

  if (auto it = j.find("auth"); it != j.end()) {
    if (!it->is_object()) return bad_key("auth", "must be an object");
    const nlohmann::json& a = *it;
    std::string type = "none";
    DXHUB_RETURN_IF_ERROR(get_string(a, "type", "auth.", type));
    http_json::AuthConfig& ac = f.auth;
    if (type == "none") {
      DXHUB_RETURN_IF_ERROR(refuse_unknown(a, "auth.", {"type"}));
    } else if (type == "app_key") {
      ac.style = http_json::AuthStyle::kAppKey;
      DXHUB_RETURN_IF_ERROR(refuse_unknown(a, "auth.", {"type", "app_key", "secret_env"}));
      DXHUB_RETURN_IF_ERROR(get_string(a, "app_key", "auth.", ac.app_key, true));
      DXHUB_RETURN_IF_ERROR(get_string(a, "secret_env", "auth.", ac.secret_env, true));
    } else if (type == "bearer") {
      ac.style = http_json::AuthStyle::kBearer;
      DXHUB_RETURN_IF_ERROR(refuse_unknown(a, "auth.", {"type", "token_url", "client_id_env", "client_secret_env",
                                                        "token_path", "expires_in_path", "refresh_before_seconds"}));
      DXHUB_RETURN_IF_ERROR(get_string(a, "token_url", "auth.", ac.token_url, true));
      DXHUB_RETURN_IF_ERROR(get_string(a, "client_id_env", "auth.", ac.client_id_env, true));
      DXHUB_RETURN_IF_ERROR(get_string(a, "client_secret_env", "auth.", ac.client_secret_env, true));
      DXHUB_RETURN_IF_ERROR(get_string(a, "token_path", "auth.", ac.token_path));
      DXHUB_RETURN_IF_ERROR(get_string(a, "expires_in_path", "auth.", ac.expires_in_path));
      DXHUB_RETURN_IF_ERROR(get_int(a, "refresh_before_seconds", "auth.", ac.refresh_before_seconds, 0, 86'400));
    } else if (type == "basic") {
      ac.style = http_json::AuthStyle::kBasic;
      DXHUB_RETURN_IF_ERROR(refuse_unknown(a, "auth.", {"type", "username", "password_env"}));
      DXHUB_RETURN_IF_ERROR(get_string(a, "username", "auth.", ac.username, true));
      DXHUB_RETURN_IF_ERROR(get_string(a, "password_env", "auth.", ac.password_env, true));
    } else {
      return bad_key("auth.type", "must be one of none, app_key, bearer, basic");
    }
  }
  return c;
}

// ---- open ----

HttpJsonConnector::HttpJsonConnector(Config config, http_json::HttpFetcher fetcher, std::string resource)
    : config_(std::move(config)), fetcher_(std::move(fetcher)), resource_(std::move(resource)) {}

Expected<std::unique_ptr<HttpJsonConnector>> HttpJsonConnector::open(const nlohmann::json& config,
                                                                     const std::vector<std::string>& columns,
                                                                     const nlohmann::json& cursor,
                                                                     const ConnectorOpenOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  DXHUB_ASSIGN_OR_RETURN(auto fetcher, http_json::HttpFetcher::create(c.fetch));
  std::unique_ptr<HttpJsonConnector> conn(
      new HttpJsonConnector(std::move(c), std::move(fetcher), options.resource_id.empty() ? "http_json" : options.resource_id));
  conn->incremental_ = !conn->config_.cursor_field.empty();
  conn->next_page_number_ = conn->config_.first_page;
  DXHUB_RETURN_IF_ERROR(conn->load_cursor(cursor));
  // The page paths first: discover reads a page.
  conn->records_path_.segments = split_path(conn->config_.records_path);
  conn->token_path_.segments = split_path(conn->config_.token_path);
  conn->link_path_.segments = split_path(conn->config_.link_path);
  conn->total_path_.segments = split_path(conn->config_.total_path);
  conn->columns_ = columns;
  if (conn->columns_.empty()) DXHUB_RETURN_IF_ERROR(conn->discover_columns());
  DXHUB_RETURN_IF_ERROR(conn->prepare_paths());
  return conn;
}

Status HttpJsonConnector::load_cursor(const nlohmann::json& cursor) {
  if (cursor.is_null()) {
    if (config_.initial_since) {
      has_since_ = true;
      since_text_ = *config_.initial_since;
    }
    return Status::ok();
  }
  if (!incremental_) return config_error("http_json: a cursor was given but no cursor_field is configured");
  opened_with_cursor_ = true;
  if (!cursor.is_object() || cursor.value("v", 0) != 1 || !cursor.contains("value") || !cursor.contains("boundary")) {
    return config_error("invalid http_json cursor: expected {\"v\":1, \"value\", \"boundary\"}");
  }
  const nlohmann::json& v = cursor["value"];
  if (v.is_string()) {
    boundary_value_.type = FieldValue::Type::kText;
    boundary_value_.s = v.get<std::string>();
    since_text_ = boundary_value_.s;
  } else if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(
                                                                                        std::numeric_limits<int64_t>::max()))) {
    boundary_value_.type = FieldValue::Type::kInt;
    boundary_value_.i = v.get<int64_t>();
    since_text_ = std::to_string(boundary_value_.i);
  } else if (v.is_number()) {
    boundary_value_.type = FieldValue::Type::kReal;
    boundary_value_.d = v.get<double>();
    since_text_ = format_number(boundary_value_.d);
  } else if (v.is_null()) {
    if (config_.initial_since) {
      has_since_ = true;
      since_text_ = *config_.initial_since;
    }
    return boundary_old_.load(cursor["boundary"]);
  } else {
    return config_error("invalid http_json cursor: \"value\" must be a string, a number or null");
  }
  has_since_ = true;
  has_boundary_ = true;
  old_active_ = true;
  return boundary_old_.load(cursor["boundary"]);
}

Status HttpJsonConnector::prepare_paths() {
  auto make = [](const std::string& p) {
    Path path;
    std::string_view w = p;
    if (w.rfind("$.", 0) == 0) w.remove_prefix(2);
    path.whole = std::string(w);
    if (path.whole.find('.') != std::string::npos) path.segments = split_path(p);
    return path;
  };
  std::set<std::string> seen;
  for (const std::string& col : columns_) {
    if (!seen.insert(col).second) return config_error("http_json: column " + col + " is listed twice");
    std::string p = col;
    for (const auto& [name, path] : config_.fields) {
      if (name == col) p = path;
    }
    paths_.push_back(make(p));
    FieldType t = FieldType::kAny;
    for (const auto& [name, ft] : config_.field_types) {
      if (name == col) t = ft;
    }
    types_.push_back(t);
  }
  for (const auto& [name, path] : config_.fields) {
    if (!seen.count(name)) return bad_key("fields." + name, "names a column that is not read");
  }
  for (const auto& [name, ft] : config_.field_types) {
    if (!seen.count(name)) return bad_key("field_types." + name, "names a column that is not read");
  }
  if (incremental_) {
    paths_.push_back(make(config_.cursor_field));
    types_.push_back(FieldType::kAny);
    paths_.push_back(make(config_.key_field));
    types_.push_back(FieldType::kAny);
  }
  values_.resize(paths_.size());
  seen_.assign(paths_.size(), 0);
  same_key_next_.assign(paths_.size(), -1);
  for (size_t c = 0; c < paths_.size(); ++c) {
    for (size_t d = c + 1; d < paths_.size(); ++d) {
      if (paths_[d].whole == paths_[c].whole) {
        same_key_next_[c] = static_cast<int32_t>(d);
        break;
      }
    }
  }
  return Status::ok();
}

Status HttpJsonConnector::discover_columns() {
  // The first page is fetched now and kept for the first read().
  Status s = load_next_page(nullptr);
  if (!s.is_ok()) return s;
  if (!have_page_) return source_error(resource_ + ": cannot discover columns: the first page is not usable");
  if (it_ == end_) return source_error(resource_ + ": cannot discover columns: the first page has no records");
  simdjson::dom::object first;
  if ((*it_).get_object().get(first) != simdjson::SUCCESS) {
    return source_error(resource_ + ": cannot discover columns: the first record is not an object");
  }
  for (auto field : first) columns_.emplace_back(field.key);
  return Status::ok();
}

// ---- requests ----

std::optional<std::string> HttpJsonConnector::placeholder(std::string_view name) const {
  if (name == "page") return std::to_string(next_page_number_);
  if (name == "offset") return std::to_string(offset_);
  if (name == "limit") return std::to_string(config_.page_size);
  if (name == "cursor_token") {
    if (has_token_) return token_;
    return std::nullopt;
  }
  if (name == "updated_since") {
    if (has_since_) return since_text_;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string HttpJsonConnector::render(const std::string& templ, bool& missing) const {
  std::string out;
  size_t pos = 0;
  while (pos < templ.size()) {
    const size_t open = templ.find('{', pos);
    if (open == std::string::npos) break;
    const size_t close = templ.find('}', open);
    if (close == std::string::npos) break;
    const std::string_view name(templ.data() + open + 1, close - open - 1);
    static constexpr std::string_view kNames[] = {"page", "offset", "limit", "cursor_token", "updated_since"};
    bool known = false;
    for (auto n : kNames) known = known || n == name;
    out.append(templ, pos, open - pos);
    if (known) {
      auto v = placeholder(name);
      if (v) out += *v;
      else missing = true;
    } else {
      out.append(templ, open, close - open + 1);
    }
    pos = close + 1;
  }
  out.append(templ, pos, std::string::npos);
  return out;
}

std::string HttpJsonConnector::build_url() const {
  if (config_.paging == Paging::kLink && !next_url_.empty()) return next_url_;
  std::string url = config_.url;
  bool first = url.find('?') == std::string::npos;
  CURL* escaper = curl_easy_init();
  for (const auto& [name, templ] : config_.query) {
    bool missing = false;
    const std::string value = render(templ, missing);
    if (missing) continue;  // e.g. {cursor_token} on the first page
    char* n = curl_easy_escape(escaper, name.data(), static_cast<int>(name.size()));
    char* v = curl_easy_escape(escaper, value.data(), static_cast<int>(value.size()));
    url += first ? '?' : '&';
    first = false;
    url += n != nullptr ? n : "";
    url += '=';
    url += v != nullptr ? v : "";
    curl_free(n);
    curl_free(v);
  }
  if (escaper != nullptr) curl_easy_cleanup(escaper);
  return url;
}

std::string HttpJsonConnector::build_body() const {
  if (config_.method != "POST") return {};
  if (config_.body.is_null()) return "{}";
  // Strings that are exactly one placeholder become typed values (numbers;
  // null when it has no value); placeholders inside longer strings are text.
  std::function<nlohmann::json(const nlohmann::json&)> walk = [&](const nlohmann::json& node) -> nlohmann::json {
    if (node.is_object()) {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) out[it.key()] = walk(*it);
      return out;
    }
    if (node.is_array()) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(walk(item));
      return out;
    }
    if (!node.is_string()) return node;
    const auto& s = node.get_ref<const std::string&>();
    if (s == "{page}") return next_page_number_;
    if (s == "{offset}") return offset_;
    if (s == "{limit}") return config_.page_size;
    if (s == "{cursor_token}" || s == "{updated_since}") {
      auto v = placeholder(std::string_view(s).substr(1, s.size() - 2));
      return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    }
    bool missing = false;
    return render(s, missing);
  };
  return dump_safe(walk(config_.body));
}

std::string HttpJsonConnector::source_ref_page() const { return "page " + std::to_string(pages_); }

Status HttpJsonConnector::page_is_bad(RowSink* sink, std::string_view reason, std::string_view raw) {
  const std::string ref = source_ref_page();
  const bool next_known = config_.paging == Paging::kPage || config_.paging == Paging::kOffset;
  if (!next_known || sink == nullptr) {
    return source_error(resource_ + ": " + ref + ": " + std::string(reason) +
                        (next_known ? "" : "; the next page cannot be known, so the read stops here"));
  }
  if (++bad_pages_in_row_ >= config_.max_bad_pages) {
    return source_error(resource_ + ": " + ref + ": " + std::string(reason) + " (" +
                        std::to_string(bad_pages_in_row_) + " bad pages in a row)");
  }
  DXHUB_RETURN_IF_ERROR(sink->on_bad_input(BadInput{ref, reason, raw}));
  // Skip it: the next page by number, or by offset as if it had been full.
  if (config_.paging == Paging::kPage) ++next_page_number_;
  else offset_ += config_.page_size;
  return Status::ok();
}

namespace {
simdjson::error_code walk(simdjson::dom::element root, const std::vector<std::string>& segments,
                          simdjson::dom::element& out) {
  simdjson::dom::element node = root;
  for (const std::string& seg : segments) {
    simdjson::dom::object obj;
    if (auto e = node.get_object().get(obj); e != simdjson::SUCCESS) return simdjson::NO_SUCH_FIELD;
    if (auto e = obj.at_key(seg).get(node); e != simdjson::SUCCESS) return e;
  }
  out = node;
  return simdjson::SUCCESS;
}
}  // namespace

Status HttpJsonConnector::load_next_page(RowSink* sink) {
  have_page_ = false;
  if (static_cast<int64_t>(pages_) >= config_.max_pages) {
    return source_error(resource_ + ": more than max_pages (" + std::to_string(config_.max_pages) + ") pages");
  }
  const std::string url = build_url();
  const std::string body = build_body();
  ++pages_;
  const std::string what = resource_ + ": " + source_ref_page();
  DXHUB_ASSIGN_OR_RETURN(std::string_view page, fetcher_.fetch(config_.method, url, body, what, simdjson::SIMDJSON_PADDING));
  simdjson::dom::element root;
  if (auto e = parser_.parse(page.data(), page.size(), false).get(root); e != simdjson::SUCCESS) {
    return page_is_bad(sink, "page is not valid JSON (an error page or a truncated body)", page);
  }
  simdjson::dom::element records;
  if (walk(root, records_path_.segments, records) != simdjson::SUCCESS) {
    return page_is_bad(sink, "records_path not found in the page", page);
  }
  simdjson::dom::array array;
  if (records.get_array().get(array) != simdjson::SUCCESS) {
    return page_is_bad(sink, "records_path is not an array", page);
  }
  bad_pages_in_row_ = 0;
  const int64_t count = static_cast<int64_t>(array.size());
  records_seen_ += count;
  last_page_ = count == 0;
  switch (config_.paging) {
    case Paging::kNone: last_page_ = true; break;
    case Paging::kPage: ++next_page_number_; break;
    case Paging::kOffset: offset_ += count; break;
    case Paging::kToken:
    case Paging::kLink: {
      simdjson::dom::element next;
      std::string_view text;
      const bool found = walk(root, config_.paging == Paging::kToken ? token_path_.segments : link_path_.segments,
                              next) == simdjson::SUCCESS &&
                         next.get_string().get(text) == simdjson::SUCCESS && !text.empty();
      if (!found) {
        last_page_ = true;
      } else if (config_.paging == Paging::kToken) {
        token_.assign(text);
        has_token_ = true;
      } else {
        // Relative links resolve against the URL this page came from.
        std::string resolved;
        CURLU* u = curl_url();
        if (u != nullptr && curl_url_set(u, CURLUPART_URL, fetcher_.last_url().c_str(), 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, std::string(text).c_str(), 0) == CURLUE_OK) {
          char* full = nullptr;
          if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && full != nullptr) resolved = full;
          curl_free(full);
        }
        if (u != nullptr) curl_url_cleanup(u);
        if (resolved.empty()) {
          return source_error(resource_ + ": " + source_ref_page() + ": the next link is not a URL");
        }
        next_url_ = std::move(resolved);
      }
      break;
    }
  }
  if (!config_.total_path.empty()) {
    simdjson::dom::element total;
    int64_t n = 0;
    if (walk(root, total_path_.segments, total) == simdjson::SUCCESS && total.get_int64().get(n) == simdjson::SUCCESS &&
        records_seen_ >= n) {
      last_page_ = true;
    }
  }
  it_ = array.begin();
  end_ = array.end();
  record_index_ = 0;
  have_page_ = true;
  return Status::ok();
}

// ---- records ----

bool HttpJsonConnector::convert(simdjson::dom::element v, size_t c) {
  FieldValue& out = values_[c];
  const FieldType want = types_[c];
  using T = simdjson::dom::element_type;
  const T t = v.type();
  switch (t) {
    case T::NULL_VALUE: out = FieldValue::null(); return true;
    case T::STRING: {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) s = {};
      out = FieldValue::text(s);
      if (want != FieldType::kAny && want != FieldType::kString) break;
      return true;
    }
    case T::INT64: {
      int64_t i = 0;
      if (v.get_int64().get(i) != simdjson::SUCCESS) i = {};
      out = FieldValue::integer(i);
      if (want == FieldType::kString || want == FieldType::kBoolean) break;
      return true;
    }
    case T::UINT64: {
      uint64_t u = 0;
      if (v.get_uint64().get(u) != simdjson::SUCCESS) u = {};
      out = FieldValue::real(static_cast<double>(u));
      if (want == FieldType::kString || want == FieldType::kBoolean) break;
      return true;
    }
    case T::DOUBLE: {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS) d = {};
      out = FieldValue::real(d);
      if (want != FieldType::kAny && want != FieldType::kNumber) break;
      return true;
    }
    case T::BOOL: {
      bool b = false;
      if (v.get_bool().get(b) != simdjson::SUCCESS) b = {};
      out = FieldValue::integer(b ? 1 : 0);
      if (want != FieldType::kAny && want != FieldType::kBoolean) break;
      return true;
    }
    default: break;  // object, array
  }
  // Wrong type: the reason names the column and the JSON type, never the value.
  ref_buf_.assign("field ");
  ref_buf_ += c < columns_.size() ? columns_[c] : (c == columns_.size() ? config_.cursor_field : config_.key_field);
  ref_buf_ += " is ";
  ref_buf_ += type_name(t);
  if (want != FieldType::kAny) {
    static constexpr const char* kWant[] = {"", "string", "integer", "number", "boolean"};
    ref_buf_ += ", field_types says ";
    ref_buf_ += kWant[static_cast<int>(want)];
  }
  return false;
}

std::string_view HttpJsonConnector::extract(simdjson::dom::element record) {
  simdjson::dom::object obj;
  if (record.get_object().get(obj) != simdjson::SUCCESS) return "record is not a JSON object";
  // One pass over the record's keys. Records of one API have their keys in
  // one order, so the k-th key is first compared with the k-th key of the
  // record before (one comparison per key); a miss searches the columns and
  // remembers the answer for position k. (Faster than a lookup per column:
  // see the bench.)
  if (++generation_ == 0) {
    std::fill(seen_.begin(), seen_.end(), 0);
    generation_ = 1;
  }
  size_t k = 0;
  for (auto field : obj) {
    int32_t col;
    if (k < position_keys_.size() && position_keys_[k] == field.key) {
      col = position_columns_[k];
    } else {
      col = -1;
      for (size_t c = 0; c < paths_.size(); ++c) {
        if (paths_[c].whole == field.key) {
          col = static_cast<int32_t>(c);
          break;
        }
      }
      if (k >= position_keys_.size()) {
        position_keys_.resize(k + 1);
        position_columns_.resize(k + 1);
      }
      position_keys_[k].assign(field.key);
      position_columns_[k] = col;
    }
    ++k;
    // Every column reading this key (a cursor or key field may also be a column).
    for (; col >= 0; col = same_key_next_[static_cast<size_t>(col)]) {
      if (seen_[static_cast<size_t>(col)] == generation_) continue;  // a repeated key: the first one counts
      seen_[static_cast<size_t>(col)] = generation_;
      if (!convert(field.value, static_cast<size_t>(col))) return ref_buf_;
    }
  }
  for (size_t c = 0; c < paths_.size(); ++c) {
    if (seen_[c] == generation_) continue;
    simdjson::dom::element v;
    if (!paths_[c].segments.empty() && walk(record, paths_[c].segments, v) == simdjson::SUCCESS) {
      if (!convert(v, c)) return ref_buf_;
    } else {
      values_[c] = FieldValue::null();
    }
  }
  return {};
}

uint64_t HttpJsonConnector::row_digest() { return dxhub::row_digest(values_.data(), values_.size(), digest_buf_); }

Expected<size_t> HttpJsonConnector::read(size_t max_rows, RowSink& sink) {
  size_t delivered = 0;
  const size_t ncols = columns_.size();
  std::string bad_reason;
  std::string bad_raw;
  while (delivered < max_rows) {
    if (!have_page_) {
      if (done_) break;
      DXHUB_RETURN_IF_ERROR(load_next_page(&sink));
      continue;
    }
    if (it_ == end_) {
      have_page_ = false;
      if (last_page_) done_ = true;
      continue;
    }
    const simdjson::dom::element record = *it_;
    ++it_;
    ++record_index_;
    const std::string_view reason = extract(record);
    if (!reason.empty()) {
      bad_reason.assign(reason);
      bad_raw = simdjson::minify(record);  // bad input only: may allocate
      ref_buf_ = source_ref_page() + " record " + std::to_string(record_index_);
      DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_buf_, bad_reason, bad_raw}));
      continue;
    }
    if (!incremental_) {
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{values_.data(), ncols}));
      ++delivered;
      continue;
    }
    const FieldValue& cur = values_[ncols];
    const FieldValue& key = values_[ncols + 1];
    if (key.is_null()) {
      bad_reason = "key_field " + config_.key_field + " is missing or null";
      bad_raw = simdjson::minify(record);
      ref_buf_ = source_ref_page() + " record " + std::to_string(record_index_);
      DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_buf_, bad_reason, bad_raw}));
      continue;
    }
    if (cur.is_null()) {
      // No value to resume from: delivered, the boundary does not move.
      saw_null_cursor_ = true;
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{values_.data(), ncols}));
      ++delivered;
      touched_ = true;
      continue;
    }
    int cmp = 1;
    if (has_boundary_) {
      cmp = compare_values(cur.type, cur.i, cur.d, cur.s, boundary_value_.type, boundary_value_.i, boundary_value_.d,
                           boundary_value_.s);
    }
    const uint64_t digest = row_digest();
    key_bytes(key, key_buf_);
    int64_t found = -1;
    if (cmp == 0 && old_active_) found = boundary_old_.find(key.type, key_buf_);
    const bool already_sent = found >= 0 && boundary_old_.digest(static_cast<size_t>(found)) == digest;
    if (!already_sent) {
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{values_.data(), ncols}));
      ++delivered;
    }
    touched_ = true;
    if (cmp < 0) {
      // Out of order: sent, but the boundary stays at the greater value.
      saw_disorder_ = true;
      continue;
    }
    if (cmp > 0) {
      boundary_value_.type = cur.type;
      boundary_value_.i = cur.i;
      boundary_value_.d = cur.d;
      boundary_value_.s.assign(cur.s);
      has_boundary_ = true;
      boundary_new_.clear();
      old_active_ = false;
    }
    if (found >= 0) boundary_old_.consume(static_cast<size_t>(found));
    boundary_new_.append(key.type, key_buf_, digest);
  }
  return delivered;
}

nlohmann::json HttpJsonConnector::cursor() const {
  if (!incremental_) return nullptr;
  if (!opened_with_cursor_ && !has_boundary_) return nullptr;
  nlohmann::json boundary = nlohmann::json::array();
  boundary_new_.to_json(boundary, false);
  if (old_active_) boundary_old_.to_json(boundary, true);
  nlohmann::json value = nullptr;
  if (has_boundary_) {
    switch (boundary_value_.type) {
      case FieldValue::Type::kInt: value = boundary_value_.i; break;
      case FieldValue::Type::kReal: value = boundary_value_.d; break;
      default: value = boundary_value_.s; break;
    }
  }
  return nlohmann::json{{"v", 1}, {"value", std::move(value)}, {"boundary", std::move(boundary)}};
}

std::vector<std::string> HttpJsonConnector::advisories() const {
  std::vector<std::string> out;
  if (saw_null_cursor_) {
    out.push_back(resource_ + ": records without a value in cursor_field " + config_.cursor_field +
                  " were read; they are sent again only when the API returns them again");
  }
  if (saw_disorder_) {
    out.push_back(resource_ + ": records came out of ascending " + config_.cursor_field +
                  " order; a run stopped midway may then miss records (the API must sort by the cursor)");
  }
  if (incremental_ && (config_.paging == Paging::kPage || config_.paging == Paging::kOffset)) {
    out.push_back(resource_ + ": incremental reading with page/offset paging can skip a record that moves "
                  "during a run; token or link paging does not");
  }
  return out;
}

}  // namespace dxhub
