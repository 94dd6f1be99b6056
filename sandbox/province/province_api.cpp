#include "sandbox/province/province_api.h"

#include <charconv>
#include <exception>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/http/request_parts.h"
#include "core/protocol/signing.h"

namespace dxhub::province {

namespace http = boost::beast::http;
using dxhub::http::header_value;
using dxhub::http::parse_query;
using dxhub::http::signed_headers_of;
using dxhub::http::split_target;

namespace {

ApiResponse fail(unsigned status, std::string code, std::string message) {
  return error_response({status, std::move(code), std::move(message)});
}

ApiResponse internal_failure(const Status& status) {
  spdlog::error("province: {}", status.to_string());
  return fail(500, "INTERNAL", "internal error: " + status.message());
}

bool valid_resource(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool valid_batch_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The routes below /api/v1/resources/{resource}.
enum class Route { kResource, kSchemas, kBatches, kRecords, kManifest, kUnknown };

constexpr std::string_view kAdminFaultsPath = "/api/v1/admin/faults";

// Where a request goes, from its method and path alone (known from the header).
struct RouteMatch {
  enum class Kind { kHealth, kAdminFaults, kResources } kind = Kind::kResources;
  Route route = Route::kUnknown;
  std::string resource;
  std::optional<ApiResponse> refusal;  // 404 or 405
};

RouteMatch method_not_allowed(const char* allowed) {
  RouteMatch m;
  m.refusal = fail(405, "METHOD_NOT_ALLOWED", std::string("use ") + allowed);
  m.refusal->allow = allowed;
  return m;
}

RouteMatch match_route(const HttpRequest& request, bool admin_enabled) {
  std::string_view path = split_target(request).path;
  const bool is_get = request.method() == http::verb::get;
  const bool is_post = request.method() == http::verb::post;
  RouteMatch m;
  if (path == "/healthz") {
    if (!is_get) return method_not_allowed("GET");
    m.kind = RouteMatch::Kind::kHealth;
    return m;
  }
  if (path == kAdminFaultsPath && admin_enabled) {
    if (!is_get && !is_post) return method_not_allowed("GET, POST");
    m.kind = RouteMatch::Kind::kAdminFaults;
    return m;
  }

  constexpr std::string_view kPrefix = "/api/v1/resources/";
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    m.refusal = fail(404, "NOT_FOUND", "no such path: " + std::string(path));
    return m;
  }
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  m.resource = std::string(rest.substr(0, slash));
  std::string_view sub = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (sub.empty()) m.route = Route::kResource;
  else if (sub == "/schemas") m.route = Route::kSchemas;
  else if (sub == "/batches") m.route = Route::kBatches;
  else if (sub == "/records") m.route = Route::kRecords;
  else if (sub == "/manifest") m.route = Route::kManifest;
  if (m.route == Route::kUnknown || m.resource.empty()) {
    m.refusal = fail(404, "NOT_FOUND", "no such path: " + std::string(path));
    return m;
  }
  const char* allowed = m.route == Route::kSchemas ? "POST" : m.route == Route::kBatches ? "GET, POST" : "GET";
  bool method_ok =
      m.route == Route::kSchemas ? is_post : m.route == Route::kBatches ? (is_get || is_post) : is_get;
  if (!method_ok) return method_not_allowed(allowed);
  return m;
}

}  // namespace

HandledRequest ProvinceApi::handle(const HttpRequest& request) {
  HeaderVerdict verdict = on_header(request);
  return handle(request, verdict);
}

HeaderVerdict ProvinceApi::on_header(const HttpRequest& request) {
  HeaderVerdict verdict;
  try {
    RouteMatch match = match_route(request, faults_ != nullptr);
    if (match.refusal) {
      verdict.refusal = std::move(match.refusal);
      return verdict;
    }
    if (match.kind == RouteMatch::Kind::kHealth) return verdict;
    // Faults never touch the admin route, so a tester can always switch them off.
    verdict.faultable = match.kind == RouteMatch::Kind::kResources;

    SignedHeaders signed_headers = signed_headers_of(request);
    std::string_view method_name(request.method_string().data(), request.method_string().size());
    RequestAuthenticator::VerifiedHeader verified;
    if (auto refusal = auth_.verify_header(method_name, split_target(request).target, signed_headers,
                                           protocol::now_ms(), verified)) {
      verdict.refusal = error_response(*refusal);
      return verdict;
    }
    verdict.app_key = verified.app_key;
    verdict.verified = std::move(verified);
  } catch (const std::exception& e) {
    verdict.refusal = internal_failure(internal_error(e.what()));
  }
  return verdict;
}

HandledRequest ProvinceApi::handle(const HttpRequest& request, const HeaderVerdict& verdict) {
  HandledRequest handled;
  handled.app_key = verdict.app_key;
  try {
    if (verdict.refusal) {
      handled.response = *verdict.refusal;
      return handled;
    }
    RouteMatch match = match_route(request, faults_ != nullptr);
    if (match.refusal) {
      handled.response = std::move(*match.refusal);
      return handled;
    }
    if (match.kind == RouteMatch::Kind::kHealth) {
      handled.response = ok_response({{"status", "up"}});
      return handled;
    }
    if (!verdict.verified) {
      handled.response = internal_failure(internal_error("request reached its body phase unauthenticated"));
      return handled;
    }
    if (auto refusal = RequestAuthenticator::verify_body(*verdict.verified, request.body())) {
      handled.response = error_response(*refusal);
      return handled;
    }
    if (match.kind == RouteMatch::Kind::kAdminFaults) {
      handled.response = admin_faults(request);
      return handled;
    }

    const std::string& resource = match.resource;
    const bool is_post = request.method() == http::verb::post;
    // The caller's headers again (the same fields on_header verified).
    const SignedHeaders signed_headers = signed_headers_of(request);
    if (!valid_resource(resource)) {
      handled.response = fail(400, "INVALID_RESOURCE", "resource ids are 1-64 characters of [a-z0-9_]");
      return handled;
    }
    switch (match.route) {
      case Route::kSchemas: handled.response = register_schema(resource, request); break;
      case Route::kBatches:
        handled.response =
            is_post ? upload_batch(resource, request, signed_headers) : list_batches(resource, signed_headers);
        break;
      case Route::kRecords: handled.response = list_records(resource, split_target(request).query); break;
      case Route::kManifest: handled.response = list_manifest(resource, split_target(request).query); break;
      case Route::kResource: handled.response = describe_resource(resource); break;
      case Route::kUnknown: break;
    }
  } catch (const std::exception& e) {
    // Last line of defence (e.g. bad_alloc): a request never takes the server down.
    handled.response = internal_failure(internal_error(e.what()));
  }
  return handled;
}

ApiResponse ProvinceApi::admin_faults(const HttpRequest& request) {
  if (request.method() == http::verb::post) {
    auto body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return fail(400, "INVALID_JSON", "the body is not a JSON object");
    // "seed" (optional) restarts the fault sequence; it is not a setting.
    std::optional<uint64_t> seed;
    if (auto it = body.find("seed"); it != body.end()) {
      if (!it->is_number_unsigned()) return fail(400, "INVALID_FAULTS", "seed must be a non-negative integer");
      seed = it->get<uint64_t>();
      body.erase(it);
    }
    auto settings = FaultSettings::from_json(body);
    if (!settings) return fail(400, "INVALID_FAULTS", settings.status().message());
    if (seed) faults_->reseed(*seed);
    faults_->set(*settings);
    spdlog::info("province: fault injection set to {}", settings->to_json().dump());
  }
  return ok_response(faults_->settings().to_json());
}

ApiResponse ProvinceApi::register_schema(const std::string& resource, const HttpRequest& request) {
  // Ordered, so the stored schema text keeps the client's attribute order.
  auto body = nlohmann::ordered_json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return fail(400, "INVALID_JSON", "the body is not a JSON object");
  auto schema_it = body.find("schema");
  if (schema_it == body.end() || !(schema_it->is_object() || schema_it->is_string() || schema_it->is_array())) {
    return fail(400, "INVALID_SCHEMA", "\"schema\" must be a schema JSON object or its text");
  }
  auto key_it = body.find("primary_key");
  if (key_it == body.end() || !key_it->is_string() || key_it->get<std::string>().empty()) {
    return fail(400, "INVALID_PRIMARY_KEY", "\"primary_key\" must name a field");
  }
  std::string name_zh;
  if (auto it = body.find("name_zh"); it != body.end()) {
    if (!it->is_string()) return fail(400, "INVALID_JSON", "\"name_zh\" must be a string");
    name_zh = it->get<std::string>();
  }
  std::string schema_text = schema_it->is_string() ? schema_it->get<std::string>() : schema_it->dump();
  auto schema = avro::Schema::from_json(std::move(schema_text));
  if (!schema) return fail(400, "INVALID_SCHEMA", schema.status().message());
  std::string primary_key = key_it->get<std::string>();
  if (Status s = validate_primary_key(schema->get(), primary_key); !s.is_ok()) {
    return fail(400, "INVALID_PRIMARY_KEY", s.message());
  }
  auto registered = store_.register_schema(resource, *schema, primary_key, name_zh);
  if (!registered) return internal_failure(registered.status());
  if (registered->primary_key_conflict) {
    return fail(409, "SCHEMA_CONFLICT", "this schema is registered with primary key '" +
                                            registered->primary_key + "'");
  }
  return ok_response({{"resource", resource},
                      {"fingerprint", registered->fingerprint},
                      {"version", registered->version},
                      {"created", registered->created}});
}

nlohmann::json ProvinceApi::signed_receipt(const Receipt& receipt, const SignedHeaders& caller) {
  nlohmann::json json = receipt.to_json();
  json["signature_method"] = std::string(caller.signature_method);
  json["signature"] =
      auth_.sign_for(caller.app_key, caller.signature_method, protocol::receipt_string_to_sign(receipt));
  return json;
}

ApiResponse ProvinceApi::upload_batch(const std::string& resource, const HttpRequest& request,
                                      const SignedHeaders& caller) {
  std::string_view content_type = header_value(request, "Content-Type");
  if (content_type.substr(0, content_type.find(';')) != "application/avro") {
    return fail(415, "UNSUPPORTED_MEDIA_TYPE", "batches are application/avro");
  }
  std::string_view batch_id = header_value(request, protocol::kHeaderBatchId);
  if (!valid_batch_id(batch_id)) {
    return fail(400, "INVALID_BATCH_ID", std::string(protocol::kHeaderBatchId) + " must be 1-128 of [A-Za-z0-9_.-]");
  }
  auto sequence = parse_int64(header_value(request, protocol::kHeaderBatchSeq));
  if (!sequence || *sequence < 0) {
    return fail(400, "INVALID_BATCH_SEQ", std::string(protocol::kHeaderBatchSeq) + " must be a non-negative integer");
  }
  auto epoch = parse_int64(header_value(request, protocol::kHeaderBatchEpoch));
  if (!epoch || *epoch < 0) {
    return fail(400, "INVALID_BATCH_EPOCH",
                std::string(protocol::kHeaderBatchEpoch) + " must be a non-negative integer");
  }

  auto outcome = store_.ingest_batch({resource, batch_id, *epoch, *sequence, request.body()});
  if (!outcome) return internal_failure(outcome.status());
  switch (outcome->kind) {
    case IngestOutcome::Kind::kStored:
    case IngestOutcome::Kind::kDuplicate: return ok_response(signed_receipt(outcome->receipt, caller));
    case IngestOutcome::Kind::kBatchConflict: return fail(409, "BATCH_CONFLICT", outcome->detail);
    case IngestOutcome::Kind::kSchemaNotRegistered: return fail(409, "SCHEMA_NOT_REGISTERED", outcome->detail);
    case IngestOutcome::Kind::kInvalidAvro: return fail(400, "INVALID_AVRO", outcome->detail);
    case IngestOutcome::Kind::kIdentityMismatch: return fail(400, "BATCH_IDENTITY_MISMATCH", outcome->detail);
  }
  return internal_failure(internal_error("unhandled ingest outcome"));
}

ApiResponse ProvinceApi::list_batches(const std::string& resource, const SignedHeaders& caller) {
  auto receipts = store_.receipts(resource);
  if (!receipts) return internal_failure(receipts.status());
  nlohmann::json list = nlohmann::json::array();
  for (const Receipt& r : *receipts) list.push_back(signed_receipt(r, caller));
  return ok_response({{"resource", resource}, {"batches", std::move(list)}});
}

ApiResponse ProvinceApi::list_records(const std::string& resource, std::string_view query) {
  auto params = parse_query(query);
  if (!params) return fail(400, "INVALID_QUERY", "malformed query string");
  int64_t offset = 0;
  int64_t limit = 100;
  if (auto it = params->find("offset"); it != params->end()) {
    auto v = parse_int64(it->second);
    if (!v || *v < 0) return fail(400, "INVALID_QUERY", "offset must be a non-negative integer");
    offset = *v;
  }
  if (auto it = params->find("limit"); it != params->end()) {
    auto v = parse_int64(it->second);
    if (!v || *v < 1 || *v > kMaxRecordsLimit) {
      return fail(400, "INVALID_QUERY", "limit must be between 1 and " + std::to_string(kMaxRecordsLimit));
    }
    limit = *v;
  }
  auto key = params->find("key");
  const bool by_key = key != params->end();
  // deleted=1: the tombstones kept for deleted keys instead of the records.
  bool tombstones = false;
  if (auto it = params->find("deleted"); it != params->end()) {
    if (it->second != "0" && it->second != "1") return fail(400, "INVALID_QUERY", "deleted must be 0 or 1");
    tombstones = it->second == "1";
  }
  if (by_key && tombstones) return fail(400, "INVALID_QUERY", "key and deleted=1 do not combine");
  auto page = by_key ? store_.record_by_key(resource, key->second)
                     : store_.records(resource, offset, limit, tombstones);
  if (!page) return internal_failure(page.status());
  if (by_key && page->records.empty()) return fail(404, "RECORD_NOT_FOUND", "no current record with that key");
  nlohmann::json records = nlohmann::json::array();
  for (auto& r : page->records) records.push_back(std::move(r));
  return ok_response({{"resource", resource}, {"count", page->count}, {"records", std::move(records)}});
}

ApiResponse ProvinceApi::list_manifest(const std::string& resource, std::string_view query) {
  auto params = parse_query(query);
  if (!params) return fail(400, "INVALID_QUERY", "malformed query string");
  int64_t after_epoch = -1;  // before every stored batch (epochs and sequences are >= 0)
  int64_t after_sequence = -1;
  int64_t limit = kDefaultManifestLimit;
  for (const auto& [name, value] : *params) {
    if (name == "after") {
      size_t colon = value.find(':');
      auto epoch = colon == std::string::npos ? std::nullopt : parse_int64(std::string_view(value).substr(0, colon));
      auto sequence =
          colon == std::string::npos ? std::nullopt : parse_int64(std::string_view(value).substr(colon + 1));
      if (!epoch || !sequence || *epoch < 0 || *sequence < 0) {
        return fail(400, "INVALID_QUERY", "after must be EPOCH:SEQUENCE (non-negative integers)");
      }
      after_epoch = *epoch;
      after_sequence = *sequence;
    } else if (name == "limit") {
      auto v = parse_int64(value);
      if (!v || *v < 1 || *v > kMaxManifestLimit) {
        return fail(400, "INVALID_QUERY", "limit must be between 1 and " + std::to_string(kMaxManifestLimit));
      }
      limit = *v;
    } else {
      return fail(400, "INVALID_QUERY", "unknown parameter (the manifest takes after and limit)");
    }
  }
  auto page = store_.manifest(resource, after_epoch, after_sequence, limit);
  if (!page) return internal_failure(page.status());
  nlohmann::json batches = nlohmann::json::array();
  for (const ManifestEntry& e : page->batches) {
    batches.push_back({{"batch_id", e.batch_id},
                       {"epoch", e.epoch},
                       {"sequence", e.sequence},
                       {"records", e.records},
                       {"deleted", e.deleted},
                       {"digest", e.digest},
                       {"fingerprint", e.fingerprint},
                       {"received_at", e.received_at}});
  }
  nlohmann::json next_after = nullptr;
  if (page->next_after) {
    next_after = std::to_string(page->next_after->first) + ":" + std::to_string(page->next_after->second);
  }
  return ok_response({{"resource", resource}, {"batches", std::move(batches)}, {"next_after", std::move(next_after)}});
}

ApiResponse ProvinceApi::describe_resource(const std::string& resource) {
  auto summary = store_.summary(resource);
  if (!summary) return internal_failure(summary.status());
  if (!*summary) return fail(404, "RESOURCE_NOT_FOUND", "nothing registered or received for " + resource);
  nlohmann::json schemas = nlohmann::json::array();
  for (const SchemaInfo& s : (*summary)->schemas) {
    schemas.push_back({{"version", s.version}, {"fingerprint", s.fingerprint}, {"primary_key", s.primary_key}});
  }
  return ok_response({{"resource", resource},
                      {"records", (*summary)->records},
                      {"batches", (*summary)->batches},
                      {"rows_received", (*summary)->rows_received},
                      {"deletes_received", (*summary)->deletes_received},
                      {"tombstones", (*summary)->tombstones},
                      {"schemas", std::move(schemas)}});
}

}  // namespace dxhub::province
