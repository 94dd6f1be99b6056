#include "core/ingest/ingest_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/http/api_error.h"
#include "core/http/request_parts.h"
#include "core/protocol/signing.h"

namespace dxhub {

namespace {

namespace beast_http = boost::beast::http;

std::map<std::string, http::AppCredential> credentials_of(const IngestSettings& settings) {
  std::map<std::string, http::AppCredential> credentials;
  for (const IngestAppKey& key : settings.app_keys) credentials[key.app_key].secret = key.secret;
  return credentials;
}

constexpr unsigned kRetryAfterSeconds = 5;

}  // namespace

IngestHandler::IngestHandler(const IngestSettings& settings, std::map<std::string, IngestResource> resources,
                             IngestWriter& writer, IngestCounters& counters)
    : settings_(settings),
      resources_(std::move(resources)),
      writer_(writer),
      counters_(counters),
      auth_(credentials_of(settings)) {}

http::ApiResponse IngestHandler::refuse(unsigned status, const char* code, std::string message,
                                        unsigned retry_after_s) const {
  counters_.post_answered(code);
  http::ApiResponse response = http::error_response({status, code, std::move(message)});
  response.retry_after_s = retry_after_s;
  return response;
}

bool IngestHandler::allowed(const std::string& app_key, const std::string& resource) const {
  const auto& plugin = resources_.at(resource).plugin;
  for (const IngestAppKey& key : settings_.app_keys) {
    if (key.app_key != app_key) continue;
    if (key.plugin != plugin) return false;
    return key.resources.empty() || std::find(key.resources.begin(), key.resources.end(), resource) != key.resources.end();
  }
  return false;
}

std::optional<http::ApiResponse> IngestHandler::route(const http::HttpRequest& header, Route& out) const {
  const http::SplitTarget target = http::split_target(header);
  const std::string_view prefix = kPathPrefix;
  if (!target.path.starts_with(prefix)) {
    return refuse(404, "NOT_FOUND", "the push endpoint serves POST /api/v1/ingest/{resource} only");
  }
  if (header.method() != beast_http::verb::post) {
    http::ApiResponse refusal = refuse(405, "METHOD_NOT_ALLOWED", "POST only");
    refusal.allow = "POST";
    return refusal;
  }
  out.resource = std::string(target.path.substr(prefix.size()));
  if (!http::is_plain_id(out.resource, 64, "_") || resources_.count(out.resource) == 0) {
    return refuse(404, "UNKNOWN_RESOURCE", "no push resource '" + std::string(target.path.substr(prefix.size(), 64)) +
                                               "' at this hub (a resource takes pushes when its source is \"push\")");
  }
  auto params = http::parse_query(target.query);
  if (!params) return refuse(400, "BAD_REQUEST", "malformed query string");
  for (const auto& [name, value] : *params) {
    if (name != "post_id") return refuse(400, "BAD_REQUEST", "unknown query parameter '" + name.substr(0, 64) + "' (post_id only)");
    if (!http::is_plain_id(value, 128, "._:-")) {
      return refuse(400, "BAD_POST_ID", "post_id must be 1 to 128 letters, digits, '.', '_', ':' or '-'");
    }
    out.post_id = value;
  }
  const std::string_view content_type = http::header_value(header, "Content-Type");
  auto format = post_format_for(content_type);
  if (!format) {
    return refuse(415, "UNSUPPORTED_MEDIA_TYPE",
                  "Content-Type must be application/json or avro/binary (an Avro object container file)");
  }
  out.format = *format;
  return std::nullopt;
}

http::HeaderVerdict IngestHandler::on_header(const http::HttpRequest& header) {
  http::HeaderVerdict verdict;
  try {
    Route route_found;
    if (auto refusal = route(header, route_found)) {
      verdict.refusal = std::move(refusal);
      return verdict;
    }
    if (!accepting_) {
      verdict.refusal = refuse(503, "STOPPING", "the hub is stopping; repeat the post shortly", kRetryAfterSeconds);
      return verdict;
    }
    const http::SignedHeaders signed_headers = http::signed_headers_of(header);
    std::string_view method(header.method_string().data(), header.method_string().size());
    http::RequestAuthenticator::VerifiedHeader verified;
    if (auto refusal = auth_.verify_header(method, http::split_target(header).target, signed_headers,
                                           protocol::now_ms(), verified)) {
      counters_.post_answered(refusal->code);
      verdict.refusal = http::error_response(*refusal);
      return verdict;
    }
    verdict.app_key = verified.app_key;
    if (!allowed(verified.app_key, route_found.resource)) {
      verdict.refusal = refuse(403, "RESOURCE_NOT_ALLOWED",
                               "app key " + verified.app_key + " may not post resource " + route_found.resource);
      return verdict;
    }
    if (writer_.waiting_records(route_found.resource) >= settings_.max_staged_records) {
      verdict.refusal = refuse(503, "BACKLOG_FULL",
                               "resource " + route_found.resource + " holds ingest.max_staged_records (" +
                                   std::to_string(settings_.max_staged_records) +
                                   ") undelivered records; repeat the post later",
                               kRetryAfterSeconds);
      return verdict;
    }
    verdict.verified = std::move(verified);
  } catch (const std::exception& e) {
    spdlog::error("ingest: {}", e.what());
    verdict.refusal = refuse(500, "INTERNAL", "internal error");
  }
  return verdict;
}

http::HandledRequest IngestHandler::handle(const http::HttpRequest&, const http::HeaderVerdict& verdict) {
  // The server calls handle_async; this is its synchronous default's target.
  http::HandledRequest handled;
  handled.app_key = verdict.app_key;
  handled.response = refuse(500, "INTERNAL", "internal error: synchronous handling is not supported");
  return handled;
}

void IngestHandler::handle_async(const http::HttpRequest& request, const http::HeaderVerdict& verdict,
                                 Completion done) {
  http::HandledRequest handled;
  handled.app_key = verdict.app_key;
  auto answer_now = [&](http::ApiResponse response) {
    handled.response = std::move(response);
    done(std::move(handled));
  };
  try {
    const int64_t received_at = protocol::now_ms();
    Route found;
    if (auto refusal = route(request, found)) return answer_now(std::move(*refusal));
    if (!verdict.verified) return answer_now(refuse(500, "INTERNAL", "internal error: unauthenticated body phase"));
    if (auto refusal = http::RequestAuthenticator::verify_body(*verdict.verified, request.body())) {
      counters_.post_answered(refusal->code);
      return answer_now(http::error_response(*refusal));
    }
    DecodedPost decoded;
    Status shape = resources_.at(found.resource).decoder->decode(found.format, request.body(),
                                                                 settings_.max_records_per_post, decoded);
    if (!shape.is_ok()) {
      if (shape.code() != StatusCode::kData) {
        spdlog::error("ingest: resource {}: {}", found.resource, shape.message());
        return answer_now(refuse(500, "INTERNAL", "internal error"));
      }
      if (shape.message().starts_with("more than ingest.")) return answer_now(refuse(413, "TOO_MANY_RECORDS", shape.message()));
      return answer_now(refuse(400, "BAD_BODY", shape.message()));
    }
    if (decoded.invalid > 0) {
      counters_.post_answered("INVALID_RECORDS");
      nlohmann::json errors = nlohmann::json::array();
      for (const RecordError& e : decoded.errors) errors.push_back({{"index", e.index}, {"reason", e.reason}});
      const int64_t total = decoded.record_count + decoded.invalid;
      nlohmann::ordered_json envelope;
      envelope["code"] = "INVALID_RECORDS";
      envelope["message"] = std::to_string(decoded.invalid) + " of " + std::to_string(total) +
                            " records are invalid; nothing of this post was stored";
      envelope["data"] = {{"records", total}, {"invalid", decoded.invalid}, {"errors", std::move(errors)}};
      http::ApiResponse response;
      response.http_status = 422;
      response.body = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      // Logged as a count: a reason names fields, a value never reaches the log.
      spdlog::warn("ingest: resource {}: post from {} refused: {} of {} records invalid (first: record {})",
                   found.resource, verdict.app_key, decoded.invalid, total,
                   decoded.errors.empty() ? 0 : decoded.errors.front().index);
      return answer_now(std::move(response));
    }
    if (decoded.record_count == 0) return answer_now(refuse(400, "EMPTY_POST", "the post holds no records"));

    IngestWriter::QueuedPost queued;
    queued.post.resource = found.resource;
    queued.post.app_key = verdict.app_key;
    queued.post.post_id = found.post_id;
    queued.post.digest = protocol::sha256_hex(request.body());
    queued.post.record_count = decoded.record_count;
    queued.post.received_at_ms = received_at;
    queued.records = std::move(decoded.records);
    const std::string resource = found.resource;
    const std::string post_id = found.post_id;
    queued.done = [this, done, resource, post_id, app_key = verdict.app_key](Expected<StagedPostResult> result) {
      http::HandledRequest answered;
      answered.app_key = app_key;
      if (!result) {
        answered.response = refuse(503, "NOT_STORED", "the post was not stored (" + result.status().message() +
                                                          "); repeat it", kRetryAfterSeconds);
      } else if (result->outcome == PostOutcome::kConflict) {
        answered.response = refuse(409, "POST_ID_REUSED", "post_id " + post_id +
                                                              " was accepted before for another body: use a new "
                                                              "post_id for new records");
      } else {
        const bool duplicate = result->outcome == PostOutcome::kDuplicate;
        counters_.post_answered(duplicate ? "duplicate" : "accepted");
        if (!duplicate) counters_.records_accepted(resource, result->record_count);
        answered.response = http::ok_response({{"resource", resource},
                                               {"accepted", result->record_count},
                                               {"staged_id", result->staged_id},
                                               {"post_id", post_id},
                                               {"duplicate", duplicate}});
      }
      done(std::move(answered));
    };
    if (!writer_.submit(std::move(queued))) {
      return answer_now(refuse(503, "STOPPING", "the hub is stopping; repeat the post shortly", kRetryAfterSeconds));
    }
  } catch (const std::exception& e) {
    spdlog::error("ingest: {}", e.what());
    answer_now(refuse(500, "INTERNAL", "internal error"));
  }
}

}  // namespace dxhub
