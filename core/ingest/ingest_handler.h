// The push endpoint's routes, on core/http's hardened server:
//
//   POST /api/v1/ingest/{resource}[?post_id=ID]
//     signed like every province request (core/protocol/signing.h) with an
//     app key of ingest.app_keys, which names the agency (plugin) whose push
//     resources it may post; Content-Type application/json or avro/binary
//     (post_decoder.h). Answered once the post's records are durable in the
//     state's staging table -- or refused whole, nothing stored:
//       200 {"code":0,"data":{"resource","accepted","staged_id","post_id","duplicate"}}
//           duplicate = true: this post_id was accepted before with the same body
//       400 BAD_REQUEST / BAD_BODY / EMPTY_POST / BAD_POST_ID / DIGEST_MISMATCH
//       401 (the signature's refusals: AUTH_MISSING, BAD_SIGNATURE, NONCE_REUSED, ...)
//       403 RESOURCE_NOT_ALLOWED   404 UNKNOWN_RESOURCE   405 METHOD_NOT_ALLOWED
//       409 POST_ID_REUSED (the post_id came before with another body)
//       413 PAYLOAD_TOO_LARGE / TOO_MANY_RECORDS   415 UNSUPPORTED_MEDIA_TYPE
//       422 INVALID_RECORDS {"data":{"records","invalid","errors":[{"index","reason"}]}}
//       503 BACKLOG_FULL / STOPPING / NOT_STORED, with Retry-After: repeat the post
//     post_id (letters, digits, . _ : -, at most 128) makes a repeat after a
//     lost answer harmless for ingest.post_id_retention_hours.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "core/http/http_handler.h"
#include "core/http/request_auth.h"
#include "core/ingest/ingest_counters.h"
#include "core/ingest/ingest_settings.h"
#include "core/ingest/ingest_writer.h"
#include "core/ingest/post_decoder.h"

namespace dxhub {

struct IngestResource {
  std::string plugin;
  std::unique_ptr<PostDecoder> decoder;
};

class IngestHandler final : public http::HttpHandler {
 public:
  static constexpr const char* kPathPrefix = "/api/v1/ingest/";

  IngestHandler(const IngestSettings& settings, std::map<std::string, IngestResource> resources,
                IngestWriter& writer, IngestCounters& counters);

  // From now on posts are answered 503 STOPPING.
  void stop_accepting() { accepting_ = false; }

  http::HeaderVerdict on_header(const http::HttpRequest& header) override;
  http::HandledRequest handle(const http::HttpRequest& request, const http::HeaderVerdict& verdict) override;
  void handle_async(const http::HttpRequest& request, const http::HeaderVerdict& verdict, Completion done) override;

 private:
  struct Route {
    std::string resource;
    std::string post_id;
    PostFormat format = PostFormat::kJson;
  };
  // The route of an accepted header, or its refusal.
  std::optional<http::ApiResponse> route(const http::HttpRequest& header, Route& out) const;
  http::ApiResponse refuse(unsigned status, const char* code, std::string message, unsigned retry_after_s = 0) const;
  bool allowed(const std::string& app_key, const std::string& resource) const;

  IngestSettings settings_;
  std::map<std::string, IngestResource> resources_;
  IngestWriter& writer_;
  IngestCounters& counters_;
  http::RequestAuthenticator auth_;
  std::atomic<bool> accepting_{true};
};

}  // namespace dxhub
