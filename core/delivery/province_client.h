// The hub's client for the provincial platform's HTTP API: signed requests
// (core/protocol/signing.h), retries with backoff for transient failures, and
// receipt checks. One client per thread; it keeps one curl easy handle so
// consecutive requests reuse the connection (keep-alive).
//
// Retries: kUnavailable answers (network errors, timeouts, 408/429/5xx, a 2xx
// that is not the success envelope) are retried up to max_attempts times,
// each with a fresh timestamp and nonce, waiting backoff_initial_ms doubled
// per retry (with jitter, at most backoff_max_ms) or the Retry-After the
// province sent (at most retry_after_max_ms), whichever is longer. kRejected
// (other 4xx, receipt mismatch) is returned at once.
//
// The app secret only ever reaches the HMAC; it is never logged and never
// part of a Status message.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/delivery/curl_handle.h"
#include "core/delivery/response_status.h"
#include "core/protocol/signing.h"

namespace dxhub {

struct ProvinceConfig {
  std::string base_url;    // "http://127.0.0.1:8750" (a path prefix is allowed and signed)
  std::string app_key;
  std::string app_secret;  // never logged, never in error text
  protocol::SignatureMethod method = protocol::SignatureMethod::kHmacSha256;
  long connect_timeout_ms = 5000;
  long request_timeout_ms = 60000;  // whole request, per attempt
  int max_attempts = 4;             // per request, inside one run
  long backoff_initial_ms = 200;    // doubles each retry, with jitter, capped
  long backoff_max_ms = 5000;
  long retry_after_max_ms = 30000;  // cap on the province's Retry-After
};

// One spooled batch as it goes out; views into the caller's outbox entry.
struct BatchToSend {
  std::string_view resource;
  std::string_view batch_id;
  int64_t epoch = 0;     // of the hub's state file: orders batches across a state reset
  int64_t sequence = 0;  // per resource, within the epoch
  int64_t record_count = 0;
  std::string_view digest;       // lowercase hex SHA-256 of body
  std::string_view fingerprint;  // of the schema the records were written with
  std::string_view body;         // the Avro object container file
  // Tombstones in the batch: record_count for a delete batch (metadata
  // dxhub.operation "delete"), 0 for upserts; the receipt's `deleted` must match.
  int64_t deletes = 0;
};

// A receipt whose province signature verified and whose every field matches
// the batch sent.
struct Receipt {
  protocol::ReceiptFields fields;
  std::string raw_json;  // the envelope's "data", as stored in the state's receipts table
};

class ProvinceClient {
 public:
  explicit ProvinceClient(ProvinceConfig config);
  ProvinceClient(ProvinceClient&&) noexcept = default;
  ProvinceClient& operator=(ProvinceClient&&) noexcept = default;

  // POST /api/v1/resources/{resource}/schemas
  //   {"schema": <schema_json parsed>, "primary_key": ..., "name_zh": ...}
  // Returns the fingerprint the province computed (data.fingerprint).
  Expected<std::string> register_schema(const std::string& resource, const std::string& schema_json,
                                        const std::string& primary_key, const std::string& name_zh);

  // POST /api/v1/resources/{resource}/batches with the Avro container body
  // (Content-Type application/avro; X-Dxhub-Batch-Id, -Epoch and -Seq, all
  // three signed). The receipt's province signature (HMAC with the AppSecret
  // over every receipt field) must verify, and it must name this batch id,
  // resource, epoch, sequence, fingerprint, record count, deletes and digest;
  // otherwise kRejected ("receipt mismatch ..." / "receipt signature ...").
  Expected<Receipt> upload_batch(const BatchToSend& batch);

  // Signed GET of `path_and_query` (e.g. "/api/v1/resources/x/stats");
  // returns the envelope's "data".
  Expected<nlohmann::json> get(const std::string& path_and_query);

  // Requests sent so far, attempts included (for run statistics and tests).
  int64_t attempts_made() const { return attempts_made_; }

 private:
  struct Request {
    const char* method = "GET";
    std::string path;  // below base_url, starting with '/'
    std::string_view body;
    const char* content_type = nullptr;
    // Upload identity, sent as the X-Dxhub-Batch-* headers and signed.
    std::string batch_id;
    std::string batch_epoch;
    std::string batch_sequence;
    // Lowercase hex SHA-256 of body when the caller already has it (the
    // outbox stores it); reused as the content digest under HMAC-SHA256.
    std::string_view body_sha256;
  };

  Expected<nlohmann::json> send_with_retries(const Request& request);
  delivery::ResponseVerdict send_once(const Request& request, const std::string& body_digest_hex);
  long backoff_ms(int failed_attempts, long retry_after_ms);

  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static size_t on_header(char* data, size_t size, size_t count, void* self);

  ProvinceConfig config_;
  std::string base_path_;  // path part of base_url, without a trailing '/'
  Status init_status_;     // a failed curl init is reported by every call
  curl::EasyHandle handle_;
  delivery::HttpResponse response_;  // reused between requests
  bool response_too_large_ = false;
  std::vector<char> error_buffer_;
  std::mt19937_64 jitter_;
  int64_t attempts_made_ = 0;
};

}  // namespace dxhub
