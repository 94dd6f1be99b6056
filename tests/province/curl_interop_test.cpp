// The hub talks to the province through libcurl: check the server against
// it -- keep-alive reuse, "Expect: 100-continue" on large bodies (curl waits
// up to a second for the 100 when the server ignores it), and a 413 sent
// before the body.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "tests/province/avro_c_files.h"
#include "tests/province/test_client.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct CurlResult {
  long status = 0;
  std::string body;
  long new_connections = 0;
  double seconds = 0;
};

CurlResult signed_post(CURL* curl, uint16_t port, const std::string& target, const std::string& body,
                       const std::string& batch_id) {
  auto method = protocol::SignatureMethod::kHmacSm3;
  int64_t ts = protocol::now_ms();
  std::string nonce = protocol::random_hex();
  std::string digest = protocol::body_digest(method, body);
  std::string signature = protocol::sign(method, testing::kTestSecret,
                                         protocol::string_to_sign("POST", target, ts, nonce, digest,
                                                                  protocol::SignedBatch{batch_id, "1", "1"}));
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add = [&headers](const std::string& line) { headers.reset(curl_slist_append(headers.release(), line.c_str())); };
  add("Content-Type: application/avro");
  add(std::string(protocol::kHeaderAppKey) + ": " + testing::kTestAppKey);
  add(std::string(protocol::kHeaderTimestamp) + ": " + std::to_string(ts));
  add(std::string(protocol::kHeaderNonce) + ": " + nonce);
  add(std::string(protocol::kHeaderSignatureMethod) + ": " + protocol::signature_method_name(method));
  add(std::string(protocol::kHeaderContentDigest) + ": " + digest);
  add(std::string(protocol::kHeaderSignature) + ": " + signature);
  add(std::string(protocol::kHeaderBatchId) + ": " + batch_id);
  add(std::string(protocol::kHeaderBatchSeq) + ": 1");
  add(std::string(protocol::kHeaderBatchEpoch) + ": 1");

  CurlResult result;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + target;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Were the server to ignore Expect: 100-continue, curl would wait this
  // long before sending the body: far beyond any slowness of a busy machine.
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &result.new_connections);
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &result.seconds);
  return result;
}

class CurlInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("province_curl_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  void start(uint64_t max_body) {
    ProvinceConfig config;
    config.db_path = (dir_ / "p.db").string();
    config.credentials[testing::kTestAppKey].secret = testing::kTestSecret;
    config.max_body_bytes = max_body;
    server_ = std::make_unique<ProvinceServer>(config);
    ASSERT_TRUE(server_->start().is_ok());
    testing::TestClient client(server_->port());
    auto r = client.post_json("/api/v1/resources/people/schemas",
                              {{"schema", testing::person_schema_json()}, {"primary_key", "id"}});
    ASSERT_TRUE(r.ok()) << testing::describe(r);
  }
  std::string big_file() {
    std::vector<testing::Person> people;
    for (int i = 0; i < 60000; ++i) {
      people.push_back({"id" + std::to_string(i), "居民" + std::to_string(i), i % 90, std::nullopt, {}});
    }
    return testing::write_people_file(dir_ / "big.avro", "null", people);
  }

  fs::path dir_;
  std::unique_ptr<ProvinceServer> server_;
};

TEST_F(CurlInteropTest, LargeUploadsUseContinueAndReuseTheConnection) {
  start(uint64_t{256} << 20);
  std::string body = big_file();
  ASSERT_GT(body.size(), size_t{1} << 20);  // large enough for curl to send Expect: 100-continue
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  ASSERT_TRUE(curl);
  auto first = signed_post(curl.get(), server_->port(), "/api/v1/resources/people/batches", body, "big-1");
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(nlohmann::json::parse(first.body)["data"]["records_accepted"], 60000);
  EXPECT_LT(first.seconds, 19.0) << "curl seems to have waited for a 100 Continue";
  auto second = signed_post(curl.get(), server_->port(), "/api/v1/resources/people/batches", body, "big-1");
  EXPECT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.new_connections, 0) << "the keep-alive connection was not reused";
}

TEST_F(CurlInteropTest, TooLargeBodyIsRefusedBeforeItIsSent) {
  start(64 * 1024);
  std::string body = big_file();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  ASSERT_TRUE(curl);
  auto r = signed_post(curl.get(), server_->port(), "/api/v1/resources/people/batches", body, "big-1");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "PAYLOAD_TOO_LARGE");
}

}  // namespace
}  // namespace dxhub::province
