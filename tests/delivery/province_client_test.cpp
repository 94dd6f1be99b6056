#include "core/delivery/province_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "core/protocol/signing.h"
#include "tests/delivery/loopback_http_server.h"

namespace dxhub {
namespace {

using testing::LoopbackHttpServer;
using testing::RecordedRequest;
using testing::ScriptedResponse;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "S3cr3t-app-secret-never-shown";

long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

ProvinceConfig test_config(const std::string& base_url) {
  ProvinceConfig c;
  c.base_url = base_url;
  c.app_key = "daye-hub";
  c.app_secret = kSecret;
  c.connect_timeout_ms = 1000;
  c.request_timeout_ms = 3000;
  c.max_attempts = 3;
  c.backoff_initial_ms = 5;  // fast tests
  c.backoff_max_ms = 20;
  c.retry_after_max_ms = 2000;
  return c;
}

constexpr int64_t kEpoch = 1764547200000;
constexpr const char* kFingerprint = "fp";

// A receipt as the province signs it (HMAC-SHA256 with the shared secret
// over every field); `tamper` changes the data after signing.
nlohmann::json signed_receipt_data(const std::string& batch_id, int64_t records, const std::string& digest,
                                   int64_t sequence = 1, const std::string& secret = kSecret) {
  protocol::ReceiptFields r;
  r.receipt_id = "rcpt-1";
  r.batch_id = batch_id;
  r.resource = "households";
  r.epoch = kEpoch;
  r.sequence = sequence;
  r.records_accepted = records;
  r.duplicate_keys = 0;
  r.digest = digest;
  r.fingerprint = kFingerprint;
  r.received_at = "2026-01-01T00:00:00Z";
  return {{"receipt_id", r.receipt_id},   {"batch_id", r.batch_id},
          {"resource", r.resource},       {"epoch", r.epoch},
          {"sequence", r.sequence},       {"records_accepted", r.records_accepted},
          {"duplicate_keys", r.duplicate_keys}, {"deleted", r.deleted}, {"digest", r.digest},
          {"fingerprint", r.fingerprint}, {"received_at", r.received_at},
          {"signature_method", "HMAC-SHA256"},
          {"signature", protocol::sign(protocol::SignatureMethod::kHmacSha256, secret,
                                       protocol::receipt_string_to_sign(r))}};
}

std::string envelope(const nlohmann::json& data) {
  return nlohmann::json{{"code", 0}, {"message", "ok"}, {"data", data}}.dump();
}

std::string receipt_json(const std::string& batch_id, int64_t records, const std::string& digest,
                         int64_t sequence = 1) {
  return envelope(signed_receipt_data(batch_id, records, digest, sequence));
}

ScriptedResponse ok_receipt(const std::string& batch_id, int64_t records, const std::string& digest,
                            int64_t sequence = 1) {
  return {ScriptedResponse::Action::kRespond, 200, receipt_json(batch_id, records, digest, sequence), {}};
}

Expected<Receipt> upload(ProvinceClient& client, const std::string& batch_id, int64_t sequence,
                         const std::string& body, int64_t records, const std::string& digest) {
  return client.upload_batch(
      BatchToSend{"households", batch_id, kEpoch, sequence, records, digest, kFingerprint, body});
}

ScriptedResponse error_response(int status, const std::string& code, const std::string& message,
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {ScriptedResponse::Action::kRespond, status,
          nlohmann::json{{"code", code}, {"message", message}}.dump(), std::move(headers)};
}

// What the province does: recompute the signature from what arrived.
void expect_valid_signature(const RecordedRequest& r, protocol::SignatureMethod method) {
  using namespace protocol;
  EXPECT_EQ(r.header("x-dxhub-appkey"), "daye-hub");
  EXPECT_EQ(r.header("x-dxhub-signature-method"), signature_method_name(method));
  std::string digest = body_digest(method, r.body);
  EXPECT_EQ(r.header("x-dxhub-content-digest"), digest);
  std::string ts = r.header("x-dxhub-timestamp");
  ASSERT_FALSE(ts.empty());
  int64_t timestamp = std::stoll(ts);
  EXPECT_LT(std::llabs(timestamp - now_ms()), kReplayWindowMs);
  std::string nonce = r.header("x-dxhub-nonce");
  EXPECT_GE(nonce.size(), 16u);
  std::string batch_id = r.header("x-dxhub-batch-id");
  std::string batch_epoch = r.header("x-dxhub-batch-epoch");
  std::string batch_seq = r.header("x-dxhub-batch-seq");
  std::string expected = sign(method, kSecret,
                              string_to_sign(r.method, r.target, timestamp, nonce, digest,
                                             SignedBatch{batch_id, batch_epoch, batch_seq}));
  EXPECT_TRUE(equal_constant_time(r.header("x-dxhub-signature"), expected))
      << "signature did not validate for " << r.method << " " << r.target;
}

class ProvinceClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.listening()); }
  LoopbackHttpServer server_;
  // sizeof - 1: the embedded NUL counts, the terminating one does not.
  static constexpr char kBody[] = "Obj\x01 avro container bytes \x00\xff";
  const std::string body_ = std::string(kBody, sizeof kBody - 1);
  const std::string digest_ = protocol::sha256_hex(body_);
};

TEST_F(ProvinceClientTest, UploadIsSignedAndReceiptReturned) {
  server_.push(ok_receipt("b-1", 12, digest_, 7));
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b-1", 7, body_, 12, digest_);
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  EXPECT_EQ(receipt->fields.receipt_id, "rcpt-1");
  EXPECT_EQ(receipt->fields.sequence, 7);
  EXPECT_EQ(receipt->fields.records_accepted, 12);
  EXPECT_EQ(receipt->fields.received_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(nlohmann::json::parse(receipt->raw_json)["receipt_id"], "rcpt-1");

  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/resources/households/batches");
  EXPECT_EQ(r.body, body_);
  EXPECT_EQ(r.header("content-type"), "application/avro");
  EXPECT_EQ(r.header("x-dxhub-batch-id"), "b-1");
  EXPECT_EQ(r.header("x-dxhub-batch-seq"), "7");
  EXPECT_EQ(r.header("x-dxhub-batch-epoch"), std::to_string(kEpoch));
  EXPECT_TRUE(r.header("expect").empty());
  expect_valid_signature(r, protocol::SignatureMethod::kHmacSha256);
}

TEST_F(ProvinceClientTest, Sm3AndBaseUrlPrefixAreSigned) {
  server_.push({ScriptedResponse::Action::kRespond, 200, R"({"code":0,"message":"ok","data":{"n":3}})", {}});
  ProvinceConfig config = test_config(server_.base_url() + "/gateway/");
  config.method = protocol::SignatureMethod::kHmacSm3;
  ProvinceClient client(config);
  auto data = client.get("/api/v1/resources/households/stats?from=1");
  ASSERT_TRUE(data) << data.status().to_string();
  EXPECT_EQ((*data)["n"], 3);
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/gateway/api/v1/resources/households/stats?from=1");
  EXPECT_TRUE(requests[0].body.empty());
  expect_valid_signature(requests[0], protocol::SignatureMethod::kHmacSm3);
}

TEST_F(ProvinceClientTest, RegisterSchemaSendsJsonAndReturnsFingerprint) {
  server_.push({ScriptedResponse::Action::kRespond, 201,
                R"({"code":0,"message":"ok","data":{"fingerprint":"ab12"}})", {}});
  ProvinceClient client(test_config(server_.base_url()));
  auto fp = client.register_schema("households", R"({"type":"record","name":"H","fields":[]})", "id", "户籍人口");
  ASSERT_TRUE(fp) << fp.status().to_string();
  EXPECT_EQ(*fp, "ab12");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/api/v1/resources/households/schemas");
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  auto sent = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(sent["schema"]["name"], "H");  // an object, not a string
  EXPECT_EQ(sent["primary_key"], "id");
  EXPECT_EQ(sent["name_zh"], "户籍人口");
  expect_valid_signature(requests[0], protocol::SignatureMethod::kHmacSha256);

  auto bad = client.register_schema("households", "{not json", "id", "x");
  EXPECT_EQ(bad.status().code(), StatusCode::kConfig);
  auto bad_name = client.register_schema("../etc", "{}", "id", "x");
  EXPECT_EQ(bad_name.status().code(), StatusCode::kConfig);
  EXPECT_EQ(server_.requests().size(), 1u);  // neither was sent
}

TEST_F(ProvinceClientTest, RetriesServerErrorsThenSucceedsOnOneConnection) {
  server_.push(error_response(500, "INTERNAL", "db locked"));
  server_.push(error_response(503, "BUSY", "try later"));
  server_.push(ok_receipt("b-2", 12, digest_));
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b-2", 1, body_, 12, digest_);
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(client.attempts_made(), 3);
  std::set<std::string> nonces;
  for (const auto& r : requests) {
    expect_valid_signature(r, protocol::SignatureMethod::kHmacSha256);
    nonces.insert(r.header("x-dxhub-nonce"));
  }
  EXPECT_EQ(nonces.size(), 3u);  // a fresh nonce per attempt
  EXPECT_EQ(server_.connections_accepted(), 1);  // keep-alive across attempts
}

TEST_F(ProvinceClientTest, GivesUpAfterMaxAttemptsWithLastError) {
  for (int i = 0; i < 3; ++i) server_.push(error_response(502, "BAD_GATEWAY", "upstream " + std::to_string(i)));
  server_.push(ok_receipt("b", 12, digest_));  // never reached
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b", 1, body_, 12, digest_);
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(receipt.status().message().find("upstream 2"), std::string::npos) << receipt.status().message();
  EXPECT_NE(receipt.status().message().find("after 3 attempts"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(ProvinceClientTest, TooManyRequestsHonoursRetryAfter) {
  server_.push(error_response(429, "RATE_LIMITED", "slow down", {{"Retry-After", "1"}}));
  server_.push(ok_receipt("b-3", 12, digest_));
  ProvinceClient client(test_config(server_.base_url()));
  auto start = Clock::now();
  auto receipt = upload(client, "b-3", 1, body_, 12, digest_);
  long waited = elapsed_ms(start);
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  EXPECT_GE(waited, 950);  // the 20 ms backoff alone would be far shorter
  EXPECT_LT(waited, 60000);  // generous: only catches a hang
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(ProvinceClientTest, RetryAfterIsCapped) {
  server_.push(error_response(429, "RATE_LIMITED", "slow down", {{"Retry-After", "3600"}}));
  server_.push(ok_receipt("b-4", 12, digest_));
  ProvinceConfig config = test_config(server_.base_url());
  config.retry_after_max_ms = 200;
  ProvinceClient client(config);
  auto start = Clock::now();
  auto receipt = upload(client, "b-4", 1, body_, 12, digest_);
  long waited = elapsed_ms(start);
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  EXPECT_GE(waited, 190);
  EXPECT_LT(waited, 60000);  // generous: only catches a hang
}

TEST_F(ProvinceClientTest, ClientErrorIsNotRetriedAndSurfacesProvinceCode) {
  server_.push(error_response(400, "SCHEMA_MISMATCH", "fingerprint fp is not registered"));
  server_.push(ok_receipt("b-5", 12, digest_));  // must not be consumed
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b-5", 1, body_, 12, digest_);
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kRejected);
  const std::string& m = receipt.status().message();
  EXPECT_NE(m.find("HTTP 400"), std::string::npos) << m;
  EXPECT_NE(m.find("SCHEMA_MISMATCH"), std::string::npos) << m;
  EXPECT_NE(m.find("fingerprint fp is not registered"), std::string::npos) << m;
  EXPECT_NE(m.find("b-5"), std::string::npos) << m;
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(ProvinceClientTest, ConnectionRefusedIsUnavailableAfterMaxAttempts) {
  ProvinceClient client(test_config("http://127.0.0.1:" + std::to_string(testing::unused_loopback_port())));
  auto start = Clock::now();
  auto receipt = upload(client, "b-6", 1, body_, 12, digest_);
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kUnavailable) << receipt.status().to_string();
  EXPECT_EQ(client.attempts_made(), 3);
  EXPECT_LT(elapsed_ms(start), 60000);  // generous: only catches a hang
}

TEST_F(ProvinceClientTest, SilentServerTimesOutWithinRequestTimeout) {
  server_.push({ScriptedResponse::Action::kHang, 0, "", {}});
  server_.push({ScriptedResponse::Action::kHang, 0, "", {}});
  ProvinceConfig config = test_config(server_.base_url());
  config.request_timeout_ms = 300;
  config.max_attempts = 2;
  ProvinceClient client(config);
  auto start = Clock::now();
  auto receipt = upload(client, "b-7", 1, body_, 12, digest_);
  long waited = elapsed_ms(start);
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(receipt.status().message().find("imeout"), std::string::npos) << receipt.status().message();
  EXPECT_GE(waited, 2 * 300 - 50);
  EXPECT_LT(waited, 60000);  // generous: only catches a hang
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(ProvinceClientTest, DroppedAndTruncatedAnswersAreRetried) {
  server_.push({ScriptedResponse::Action::kClose, 0, "", {}});
  server_.push({ScriptedResponse::Action::kPartial, 200, receipt_json("b-8", 12, digest_), {}});
  server_.push(ok_receipt("b-8", 12, digest_));
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b-8", 1, body_, 12, digest_);
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(ProvinceClientTest, NonEnvelopeSuccessIsRetriedAsUnavailable) {
  server_.push({ScriptedResponse::Action::kRespond, 200, "<html>proxy says hi</html>", {}});
  server_.push({ScriptedResponse::Action::kRespond, 200, "<html>proxy says hi</html>", {}});
  server_.push({ScriptedResponse::Action::kRespond, 200, "<html>proxy says hi</html>", {}});
  ProvinceClient client(test_config(server_.base_url()));
  auto receipt = upload(client, "b-9", 1, body_, 12, digest_);
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(receipt.status().message().find("proxy says hi"), std::string::npos) << receipt.status().message();
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(ProvinceClientTest, ReceiptMismatchIsRejectedWithoutRetry) {
  ProvinceClient client(test_config(server_.base_url()));
  // Each receipt is properly signed by the province but names something
  // other than what was sent: every field is checked.
  struct Case {
    const char* field;
    nlohmann::json value;
  };
  std::vector<Case> cases = {{"batch_id", "other-batch"},  {"resource", "other_resource"},
                             {"epoch", kEpoch + 1},        {"sequence", 2},
                             {"records_accepted", 11},     {"digest", std::string(64, '0')},
                             {"fingerprint", "fp-other"},  {"duplicate_keys", 13},
                             {"deleted", 1}};
  size_t sent = 0;
  for (const Case& c : cases) {
    nlohmann::json data = signed_receipt_data("b-10", 12, digest_);
    data[c.field] = c.value;
    // Re-sign the changed receipt as a (misbehaving) province would.
    protocol::ReceiptFields f;
    f.receipt_id = data["receipt_id"];
    f.batch_id = data["batch_id"];
    f.resource = data["resource"];
    f.epoch = data["epoch"];
    f.sequence = data["sequence"];
    f.records_accepted = data["records_accepted"];
    f.duplicate_keys = data["duplicate_keys"];
    f.deleted = data["deleted"];
    f.digest = data["digest"];
    f.fingerprint = data["fingerprint"];
    f.received_at = data["received_at"];
    data["signature"] = protocol::sign(protocol::SignatureMethod::kHmacSha256, kSecret,
                                       protocol::receipt_string_to_sign(f));
    server_.push({ScriptedResponse::Action::kRespond, 200, envelope(data), {}});
    auto receipt = upload(client, "b-10", 1, body_, 12, digest_);
    ++sent;
    ASSERT_FALSE(receipt) << c.field;
    EXPECT_EQ(receipt.status().code(), StatusCode::kRejected);
    EXPECT_NE(receipt.status().message().find(c.field), std::string::npos) << receipt.status().message();
    EXPECT_EQ(server_.requests().size(), sent);
  }
}

TEST_F(ProvinceClientTest, ReceiptWithoutValidProvinceSignatureIsRejected) {
  ProvinceClient client(test_config(server_.base_url()));
  std::vector<nlohmann::json> forged;
  // Any 200 that echoes id, count and digest, unsigned.
  nlohmann::json unsigned_receipt = signed_receipt_data("b-11", 12, digest_);
  unsigned_receipt.erase("signature");
  forged.push_back(unsigned_receipt);
  // Signed with another secret.
  forged.push_back(signed_receipt_data("b-11", 12, digest_, 1, "not-the-shared-secret"));
  // A genuine receipt with one field altered after signing (each field in turn).
  for (const char* field : {"receipt_id", "received_at", "duplicate_keys", "deleted"}) {
    nlohmann::json altered = signed_receipt_data("b-11", 12, digest_);
    if (altered[field].is_string()) {
      altered[field] = altered[field].get<std::string>() + "x";
    } else {
      altered[field] = altered[field].get<int64_t>() + 1;
    }
    forged.push_back(altered);
  }
  for (const nlohmann::json& data : forged) {
    server_.push({ScriptedResponse::Action::kRespond, 200, envelope(data), {}});
    auto receipt = upload(client, "b-11", 1, body_, 12, digest_);
    ASSERT_FALSE(receipt) << data.dump();
    EXPECT_EQ(receipt.status().code(), StatusCode::kRejected);
    EXPECT_NE(receipt.status().message().find("receipt signature"), std::string::npos) << receipt.status().message();
  }
  server_.push(ok_receipt("b-11", 12, digest_));
  EXPECT_TRUE(upload(client, "b-11", 1, body_, 12, digest_));  // the genuine one passes
}

TEST_F(ProvinceClientTest, LargeBodyIsSentIntact) {
  std::string big(10 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 7);
  std::string digest = protocol::sha256_hex(big);
  server_.push(ok_receipt("big", 50000, digest));
  ProvinceClient client(test_config(server_.base_url()));
  auto start = Clock::now();
  auto receipt = upload(client, "big", 1, big, 50000, digest);
  std::cout << "[ measure  ] 10 MiB upload over loopback: " << elapsed_ms(start) << " ms\n";
  ASSERT_TRUE(receipt) << receipt.status().to_string();
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].body == big);
  expect_valid_signature(requests[0], protocol::SignatureMethod::kHmacSha256);
}

// Every failure path, then: the secret is in no Status text and was never
// sent over the wire (only the HMAC made with it).
TEST_F(ProvinceClientTest, SecretNeverAppearsInErrorsOrRequests) {
  std::vector<Status> statuses;
  ProvinceClient client(test_config(server_.base_url()));
  server_.push(error_response(401, "BAD_SIGNATURE", "signature does not match"));
  statuses.push_back(upload(client, "s1", 1, body_, 12, digest_).status());
  for (int i = 0; i < 3; ++i) server_.push(error_response(500, "OOPS", "internal"));
  statuses.push_back(upload(client, "s2", 1, body_, 12, digest_).status());
  server_.push(ok_receipt("s3", 1, digest_));
  statuses.push_back(upload(client, "s3", 1, body_, 12, digest_).status());
  server_.push(error_response(404, "NO_SUCH_RESOURCE", "unknown"));
  statuses.push_back(client.get("/api/v1/resources/nope").status());
  server_.push({ScriptedResponse::Action::kHang, 0, "", {}});
  ProvinceConfig quick = test_config(server_.base_url());
  quick.request_timeout_ms = 200;
  quick.max_attempts = 1;
  ProvinceClient quick_client(quick);
  statuses.push_back(upload(quick_client, "s4", 1, body_, 12, digest_).status());
  ProvinceConfig refused = test_config("http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()));
  statuses.push_back(ProvinceClient(refused).register_schema("households", "{}", "id", "x").status());

  for (const Status& s : statuses) {
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.to_string().find(kSecret), std::string::npos) << s.to_string();
  }
  for (const RecordedRequest& r : server_.requests()) {
    EXPECT_EQ(r.body.find(kSecret), std::string::npos);
    for (const auto& [name, value] : r.headers) EXPECT_EQ(value.find(kSecret), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace dxhub
