// A tiny signed HTTP client for the province tests: one keep-alive
// connection to 127.0.0.1, every operation bounded by a timeout.
#pragma once

#include <utility>  // before Boost 1.74: asio/awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/protocol/signing.h"

namespace dxhub::province::testing {

inline constexpr const char* kTestAppKey = "daye-test";
inline constexpr const char* kTestSecret = "s3cret-for-tests";

struct Signing {
  std::string app_key = kTestAppKey;
  std::string secret = kTestSecret;
  protocol::SignatureMethod method = protocol::SignatureMethod::kHmacSha256;
  std::optional<int64_t> timestamp_ms;  // default: now
  std::optional<std::string> nonce;     // default: random
  bool tamper_signature = false;
  bool tamper_digest = false;  // a digest of other content, correctly signed
  std::string omit_header;     // leave this header out
  int64_t batch_epoch = 1;     // X-Dxhub-Batch-Epoch of post_batch
  // Sign these instead of the batch headers sent (a tampered header).
  std::optional<std::string> signed_batch_id;
  std::optional<std::string> signed_batch_epoch;
  std::optional<std::string> signed_batch_seq;
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
  nlohmann::json json;  // parsed body (discarded when not JSON)
  std::map<std::string, std::string> headers;
  bool ok() const { return status == 200 && json.is_object() && json.value("code", -1) == 0; }
  std::string code() const { return json.is_object() && json.contains("code") ? json["code"].dump() : ""; }
};

class TestClient {
 public:
  explicit TestClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Unsigned when `signing` is null.
  HttpResult request(boost::beast::http::verb verb, const std::string& target, const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {}, const Signing* signing = nullptr);
  HttpResult get(const std::string& target, const Signing& signing = {});
  HttpResult post_json(const std::string& target, const nlohmann::json& body, const Signing& signing = {});
  HttpResult post_batch(const std::string& resource, const std::string& batch_id, int64_t sequence,
                        const std::string& avro_bytes, const Signing& signing = {},
                        const std::string& content_type = "application/avro");

  // Sends raw bytes and returns everything the server answers until it
  // closes the connection (or the timeout).
  std::string raw_exchange(const std::string& bytes);
  bool send_raw(const std::string& bytes);
  std::string read_until_close();

  // True while the server keeps the connection open.
  bool connected() const { return stream_.socket().is_open(); }

 private:
  template <typename Op>
  boost::beast::error_code run(Op&& op);

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
};

// "HTTP 409 {...}" for assertion messages.
std::string describe(const HttpResult& r);

}  // namespace dxhub::province::testing
