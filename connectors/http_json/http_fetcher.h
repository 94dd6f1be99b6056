// The HTTP side of the http_json connector: one reused libcurl handle
// (core/delivery/curl_handle.h), a per-source rate limit, retries with
// exponential backoff and jitter, and the three auth styles. It returns the
// body of a 2xx answer in a buffer it reuses for every page (padded for
// simdjson) and fails with kSource once the attempts are spent.
//
// Retried: transport errors (refused, reset, timeout, partial body), 5xx,
// 429 (waiting Retry-After, in seconds or as an HTTP-date, capped), and a
// 401 once after fetching a new bearer token. Other 4xx fail at once.
// Every request (token requests and retries included) waits for the rate
// limit. Never logs or quotes a secret, a header value or a body.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/delivery/curl_handle.h"

namespace dxhub::http_json {

enum class AuthStyle { kNone, kAppKey, kBearer, kBasic };

struct AuthConfig {
  AuthStyle style = AuthStyle::kNone;
  // app_key: X-App-Key, X-Timestamp (Unix ms), X-Nonce (32 hex) and
  // X-Signature = lowercase hex HMAC-SHA256(secret, METHOD "\n"
  // PATH_AND_QUERY "\n" TIMESTAMP "\n" NONCE "\n" hex SHA-256(body)).
  std::string app_key;
  std::string secret_env;  // the secret's environment variable (app_key)
  // bearer: POST token_url, form grant_type=client_credentials&client_id&client_secret.
  std::string token_url;
  std::string client_id_env;
  std::string client_secret_env;
  std::string token_path = "access_token";
  std::string expires_in_path = "expires_in";
  int64_t refresh_before_seconds = 5;
  // basic
  std::string username;
  std::string password_env;
};

struct FetchConfig {
  AuthConfig auth;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  double rate_limit_per_second = 0;                        // 0 = no limit
  int max_attempts = 5;
  int64_t backoff_initial_ms = 200;
  int64_t backoff_max_ms = 10'000;
  int64_t max_retry_after_seconds = 120;
  int64_t connect_timeout_ms = 10'000;
  int64_t timeout_ms = 60'000;
  uint64_t max_body_bytes = uint64_t{64} << 20;
};

// Counters, for tests and the bench.
struct FetchStats {
  uint64_t requests = 0;        // every HTTP request sent (token requests included)
  uint64_t token_requests = 0;  // of which to the token endpoint
  uint64_t retries = 0;
  uint64_t retry_after_waits = 0;  // 429s whose Retry-After was honoured
};

class HttpFetcher {
 public:
  // Reads the secrets from the environment (kConfig naming the variable
  // when unset) and prepares the handle.
  static Expected<HttpFetcher> create(FetchConfig config);

  // Sends one request (method "GET" or "POST"; body only for POST, sent as
  // application/json) and returns the 2xx body, valid until the next call.
  // The returned view's buffer has at least `padding` spare bytes of
  // capacity after it. `what` names the request in errors ("page 3").
  Expected<std::string_view> fetch(const std::string& method, const std::string& url, std::string_view body,
                                   const std::string& what, size_t padding);

  const FetchStats& stats() const { return stats_; }
  // The effective URL of the last answered request (after redirects).
  const std::string& last_url() const { return last_url_; }

 private:
  struct Answer {
    long status = 0;
    int64_t retry_after_ms = -1;  // -1: no usable Retry-After
  };

  explicit HttpFetcher(FetchConfig config);
  Status perform(const std::string& method, const std::string& url, std::string_view body,
                 const std::string& content_type, bool with_auth, Answer& answer);
  Status ensure_token(bool force);
  void wait_rate_limit();
  int64_t backoff_ms(int attempt);

  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static size_t on_header(char* data, size_t size, size_t count, void* self);

  FetchConfig config_;
  curl::EasyHandle handle_;
  std::string secret_;  // app_key secret, client secret or password
  std::string client_id_;
  std::string token_;
  std::chrono::steady_clock::time_point token_expires_{};
  bool have_token_ = false;
  std::string body_;  // the answer, reused
  bool body_too_large_ = false;
  int64_t retry_after_ms_ = -1;
  std::string last_url_;
  std::chrono::steady_clock::time_point next_request_{};
  std::mt19937_64 rng_;
  FetchStats stats_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

// Parses a Retry-After value: delay-seconds or an HTTP-date (RFC 9110);
// returns milliseconds from now (>= 0), or -1 when unusable.
int64_t parse_retry_after_ms(std::string_view value, int64_t now_unix_seconds);

}  // namespace dxhub::http_json
