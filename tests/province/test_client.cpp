#include "tests/province/test_client.h"

#include <gtest/gtest.h>

namespace dxhub::province::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

TestClient::TestClient(uint16_t port, std::chrono::milliseconds timeout) : stream_(ioc_), timeout_(timeout) {
  net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  auto ec = run([&](auto done) { stream_.async_connect(endpoint, done); });
  EXPECT_FALSE(ec) << "connect: " << ec.message();
}

template <typename Op>
beast::error_code TestClient::run(Op&& op) {
  beast::error_code result = net::error::would_block;
  stream_.expires_after(timeout_);
  op([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

HttpResult TestClient::request(http::verb verb, const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers, const Signing* signing) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(true);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  if (signing != nullptr) {
    int64_t ts = signing->timestamp_ms.value_or(protocol::now_ms());
    std::string nonce = signing->nonce.value_or(protocol::random_hex());
    std::string digest = protocol::body_digest(signing->method, signing->tamper_digest ? body + "x" : body);
    auto header_value = [&](const char* name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
    // The batch headers as sent, unless a test signs other values to tamper.
    std::string batch_id = signing->signed_batch_id.value_or(header_value(protocol::kHeaderBatchId));
    std::string batch_epoch = signing->signed_batch_epoch.value_or(header_value(protocol::kHeaderBatchEpoch));
    std::string batch_seq = signing->signed_batch_seq.value_or(header_value(protocol::kHeaderBatchSeq));
    std::string to_sign = protocol::string_to_sign(std::string(http::to_string(verb)), target, ts, nonce, digest,
                                                   protocol::SignedBatch{batch_id, batch_epoch, batch_seq});
    std::string signature = protocol::sign(signing->method, signing->secret, to_sign);
    if (signing->tamper_signature) signature[0] = signature[0] == '0' ? '1' : '0';
    std::map<std::string, std::string> auth = {
        {protocol::kHeaderAppKey, signing->app_key},
        {protocol::kHeaderTimestamp, std::to_string(ts)},
        {protocol::kHeaderNonce, nonce},
        {protocol::kHeaderSignatureMethod, protocol::signature_method_name(signing->method)},
        {protocol::kHeaderContentDigest, digest},
        {protocol::kHeaderSignature, signature}};
    for (const auto& [name, value] : auth) {
      if (name != signing->omit_header) req.set(name, value);
    }
  }

  HttpResult result;
  auto ec = run([&](auto done) { http::async_write(stream_, req, done); });
  if (ec) {
    result.body = "write failed: " + ec.message();
    return result;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  ec = run([&](auto done) { http::async_read(stream_, buffer_, parser, done); });
  if (ec) {
    result.body = "read failed: " + ec.message();
    return result;
  }
  auto& res = parser.get();
  result.status = res.result_int();
  result.body = res.body();
  for (const auto& field : res) result.headers[std::string(field.name_string())] = std::string(field.value());
  result.json = nlohmann::json::parse(result.body, nullptr, false);
  if (!res.keep_alive()) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }
  return result;
}

std::string TestClient::raw_exchange(const std::string& bytes) {
  if (!send_raw(bytes)) return {};
  return read_until_close();
}

bool TestClient::send_raw(const std::string& bytes) {
  return !run([&](auto done) { net::async_write(stream_, net::buffer(bytes), done); });
}

std::string TestClient::read_until_close() {
  beast::error_code ec;
  std::string answer;
  char chunk[4096];
  for (int i = 0; i < 1000; ++i) {
    size_t got = 0;
    ec = run([&](auto done) {
      stream_.async_read_some(net::buffer(chunk), [&got, done](beast::error_code e, size_t n) mutable {
        got = n;
        done(e);
      });
    });
    answer.append(chunk, got);
    if (ec) break;
  }
  return answer;
}

HttpResult TestClient::get(const std::string& target, const Signing& signing) {
  return request(http::verb::get, target, {}, {}, &signing);
}

HttpResult TestClient::post_json(const std::string& target, const nlohmann::json& body, const Signing& signing) {
  return request(http::verb::post, target, body.dump(), {{"Content-Type", "application/json"}}, &signing);
}

HttpResult TestClient::post_batch(const std::string& resource, const std::string& batch_id, int64_t sequence,
                                  const std::string& avro_bytes, const Signing& signing,
                                  const std::string& content_type) {
  return request(http::verb::post, "/api/v1/resources/" + resource + "/batches", avro_bytes,
                 {{"Content-Type", content_type},
                  {protocol::kHeaderBatchId, batch_id},
                  {protocol::kHeaderBatchEpoch, std::to_string(signing.batch_epoch)},
                  {protocol::kHeaderBatchSeq, std::to_string(sequence)}},
                 &signing);
}

std::string describe(const HttpResult& r) { return "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 500); }

}  // namespace dxhub::province::testing
