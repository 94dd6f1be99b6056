// The client side of the hub's push-ingest endpoint:
//   POST {url}/api/v1/ingest/{resource}?post_id={post_id}, body {"records":[...]},
// signed as the province protocol signs (core/protocol/signing.h). Every
// attempt is signed afresh (timestamp, nonce); a retry sends the same
// post_id and body, so the hub accepts a post once however often it is
// sent. 429, 5xx and transport failures are retried with exponential
// backoff and jitter up to max_attempts, and so is a 401 NONCE_REUSED (the
// transport replayed one of our requests, see post()); other answers are final.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/delivery/curl_handle.h"

namespace dxhub::sample {

struct IngestClientOptions {
  std::string base_url;  // http://host:port, no path
  std::string app_key;
  std::string secret;  // never logged
  std::string resource = "household_population";
  int max_attempts = 20;
  std::chrono::milliseconds first_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  long connect_timeout_ms = 2000;
  long request_timeout_ms = 15000;
};

enum class PostOutcome {
  kAccepted,     // 200 code 0 (duplicate or not)
  kRefused,      // a final 4xx (or other non-retryable answer): refusal_code says which
  kUndelivered,  // max_attempts spent on retryable failures
};

struct PostResult {
  PostOutcome outcome = PostOutcome::kUndelivered;
  bool duplicate = false;      // the hub had this post_id already
  int64_t accepted = 0;        // data.accepted of the 200
  int attempts = 0;
  int64_t sent_at_ms = 0;      // the first attempt (unix ms)
  int64_t answered_at_ms = 0;  // the final answer (unix ms), 0 when undelivered
  unsigned http_status = 0;    // of the last answer, 0 for a transport failure
  std::string refusal_code;    // the envelope's code, or HTTP_<status> when it has none
  std::string last_error;      // why the last attempt failed (no record values)
};

// One keep-alive connection; not thread-safe: use one per thread.
class IngestClient {
 public:
  // kConfig for a resource or URL that cannot be sent.
  static Expected<IngestClient> create(IngestClientOptions options);

  IngestClient(IngestClient&&) = default;
  IngestClient& operator=(IngestClient&&) = default;

  // `post_id`: [A-Za-z0-9._-]{1,128}, sent in the query as is.
  PostResult post(const std::string& post_id, const std::string& body);

  // The path and query signed and sent for `post_id`.
  std::string target_for(std::string_view post_id) const;

 private:
  struct Answer {
    Status transport;  // ok when an HTTP answer came
    unsigned http_status = 0;
    std::string body;
  };

  IngestClient(IngestClientOptions options, curl::EasyHandle handle);
  Answer attempt(const std::string& target, const std::string& body);
  std::chrono::milliseconds backoff(int failed_attempts);
  static size_t on_body(char* data, size_t size, size_t count, void* self);

  IngestClientOptions options_;
  curl::EasyHandle handle_;
  std::string response_;
  std::vector<char> error_buffer_;
  std::minstd_rand jitter_;
};

// True when `text` is a valid post id or resource name: [A-Za-z0-9._-]{1,128}.
bool is_url_safe_token(std::string_view text);

}  // namespace dxhub::sample
