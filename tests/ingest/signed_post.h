// A signed POST to the push endpoint as an agency system sends it
// (core/protocol/signing.h), with hooks to tamper with it: the tests' own
// client, independent of the sample tool's.
#pragma once

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "core/delivery/curl_handle.h"
#include "core/protocol/signing.h"

namespace dxhub::testing {

struct PostAnswer {
  long status = 0;  // 0: no answer (connection failed)
  std::string body;
  std::string retry_after;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct SignedPost {
  uint16_t port = 0;
  std::string target;  // path and query, e.g. /api/v1/ingest/household_population?post_id=p1
  std::string body;
  std::string content_type = "application/json";
  std::string app_key;
  std::string secret;
  // Runs on the header lines before they are sent (tampering).
  std::function<void(std::vector<std::string>&)> edit_headers;
};

inline PostAnswer send_signed_post(const SignedPost& p) {
  PostAnswer answer;
  auto easy = curl::make_easy_handle();
  if (!easy) return answer;
  const int64_t ts = protocol::now_ms();
  const std::string nonce = protocol::random_hex();
  const auto method = protocol::SignatureMethod::kHmacSha256;
  const std::string digest = protocol::body_digest(method, p.body);
  const std::string signature =
      protocol::sign(method, p.secret, protocol::string_to_sign("POST", p.target, ts, nonce, digest));
  std::vector<std::string> lines = {"Content-Type: " + p.content_type,
                                    std::string(protocol::kHeaderAppKey) + ": " + p.app_key,
                                    std::string(protocol::kHeaderTimestamp) + ": " + std::to_string(ts),
                                    std::string(protocol::kHeaderNonce) + ": " + nonce,
                                    std::string(protocol::kHeaderSignatureMethod) + ": HMAC-SHA256",
                                    std::string(protocol::kHeaderContentDigest) + ": " + digest,
                                    std::string(protocol::kHeaderSignature) + ": " + signature,
                                    "Expect:"};
  if (p.edit_headers) p.edit_headers(lines);
  curl::HeaderList headers;
  for (const auto& line : lines) (void)headers.append(line);
  const std::string url = "http://127.0.0.1:" + std::to_string(p.port) + p.target;
  CURL* h = easy->get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, p.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(p.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
    std::string line(data, size * n);
    if (line.rfind("Retry-After:", 0) == 0 || line.rfind("retry-after:", 0) == 0) {
      std::string value = line.substr(12);
      value.erase(0, value.find_first_not_of(' '));
      value.erase(value.find_last_not_of("\r\n ") + 1);
      *static_cast<std::string*>(out) = value;
    }
    return size * n;
  });
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &answer.retry_after);
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace dxhub::testing
