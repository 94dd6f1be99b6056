// The hub's real delivery client (ProvinceClient, with its retries) against
// the mock province with injected faults: every batch must arrive exactly
// once, with exact content, under each fault alone and under all at once --
// a lost response followed by a retry of the same batch id is answered with
// the stored receipt, never stored twice. Also the admin endpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>

#include "core/delivery/province_client.h"
#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "tests/province/avro_c_files.h"
#include "tests/province/test_client.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using testing::HttpResult;
using testing::Signing;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

constexpr const char* kResource = "household_person";
const std::string kBase = std::string("/api/v1/resources/") + kResource;

struct SentBatch {
  std::string id;
  int64_t sequence = 0;
  std::string bytes;
  int64_t records = 0;
};

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("faults_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void start(const FaultSettings& faults, uint64_t seed = 7) {
    ProvinceConfig config;
    config.db_path = (dir_ / "province.db").string();
    config.credentials[testing::kTestAppKey].secret = testing::kTestSecret;
    config.faults = faults;
    config.fault_seed = seed;
    server_ = std::make_unique<ProvinceServer>(std::move(config));
    Status s = server_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  dxhub::ProvinceClient make_client() {
    dxhub::ProvinceConfig c;
    c.base_url = "http://127.0.0.1:" + std::to_string(server_->port());
    c.app_key = testing::kTestAppKey;
    c.app_secret = testing::kTestSecret;
    c.connect_timeout_ms = 2000;
    c.request_timeout_ms = 10000;
    c.max_attempts = 30;
    c.backoff_initial_ms = 2;
    c.backoff_max_ms = 20;
    c.retry_after_max_ms = 2000;
    return dxhub::ProvinceClient(c);
  }

  std::vector<SentBatch> make_batches(int count, int records_each) {
    std::vector<SentBatch> batches;
    for (int b = 0; b < count; ++b) {
      std::vector<testing::Person> people;
      for (int i = 0; i < records_each; ++i) {
        testing::Person p;
        int n = b * records_each + i;
        p.id = "p" + std::to_string(100000 + n);
        p.name = "居民" + std::to_string(n);
        p.age = 20 + n % 60;
        people.push_back(std::move(p));
      }
      SentBatch s;
      s.id = "batch-" + std::to_string(b);
      s.sequence = b + 1;
      s.records = records_each;
      s.bytes = testing::write_people_file(dir_ / (s.id + ".avro"), "snappy", people);
      batches.push_back(std::move(s));
    }
    return batches;
  }

  // Delivers every batch through the hub's client and checks what the
  // province holds once the faults are switched off. Returns the attempts made.
  int64_t deliver_and_check(int batch_count) {
    const int kRecordsEach = 40;
    auto batches = make_batches(batch_count, kRecordsEach);
    auto client = make_client();
    auto fingerprint = client.register_schema(kResource, testing::person_schema_json(), "id", "户籍人口");
    EXPECT_TRUE(fingerprint) << fingerprint.status().to_string();
    for (const SentBatch& b : batches) {
      const std::string digest = protocol::sha256_hex(b.bytes);
      auto receipt = client.upload_batch(BatchToSend{kResource, b.id, 1, b.sequence, b.records, digest,
                                                     fingerprint ? std::string_view(*fingerprint) : "", b.bytes});
      EXPECT_TRUE(receipt) << b.id << ": " << receipt.status().to_string();
      if (receipt) {
        EXPECT_EQ(receipt->fields.records_accepted, b.records);
      }
    }

    server_->set_faults({});
    TestClient check(server_->port());
    auto summary = check.get(kBase);
    EXPECT_TRUE(summary.ok()) << describe(summary);
    const int64_t total = static_cast<int64_t>(batch_count) * kRecordsEach;
    EXPECT_EQ(summary.json["data"]["records"], total) << describe(summary);
    EXPECT_EQ(summary.json["data"]["rows_received"], total) << "a batch was stored twice: " << describe(summary);
    EXPECT_EQ(summary.json["data"]["batches"], batch_count) << describe(summary);
    auto listed = check.get(kBase + "/batches");
    std::multiset<std::string> ids;
    for (const auto& r : listed.json["data"]["batches"]) ids.insert(r.value("batch_id", ""));
    for (const SentBatch& b : batches) EXPECT_EQ(ids.count(b.id), 1u) << b.id;
    // Exact content: a record from the middle of the last batch.
    auto record = check.get(kBase + "/records?key=p" + std::to_string(100000 + total - kRecordsEach / 2));
    EXPECT_TRUE(record.ok()) << describe(record);
    EXPECT_EQ(record.json["data"]["records"][0]["name"], "居民" + std::to_string(total - kRecordsEach / 2));
    return client.attempts_made();
  }

  fs::path dir_;
  std::unique_ptr<ProvinceServer> server_;
};

constexpr int kBatches = 12;
constexpr int64_t kRequests = kBatches + 1;  // the schema, then the batches

TEST_F(FaultInjectionTest, NoFaultsIsOneAttemptPerRequest) {
  start({});
  EXPECT_EQ(deliver_and_check(kBatches), kRequests);
}

TEST_F(FaultInjectionTest, ServerErrorsAreRetried) {
  FaultSettings f;
  f.error_5xx = 0.3;
  start(f);
  int64_t attempts = deliver_and_check(kBatches);
  EXPECT_GT(attempts, kRequests);
  std::printf("[ measure  ] 5xx 0.3: %lld attempts for %lld requests\n", static_cast<long long>(attempts),
              static_cast<long long>(kRequests));
}

TEST_F(FaultInjectionTest, RateLimitsAreRetriedAfterRetryAfter) {
  FaultSettings f;
  f.rate_limit_429 = 0.3;
  f.retry_after_s = 1;
  start(f);
  auto before = Clock::now();
  int64_t attempts = deliver_and_check(6);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - before).count();
  EXPECT_GT(attempts, 7);
  // Each 429 made the client wait its Retry-After of 1 s.
  EXPECT_GE(seconds, attempts - 7 - 1);
  std::printf("[ measure  ] 429 0.3: %lld attempts for 7 requests, %lld s\n", static_cast<long long>(attempts),
              static_cast<long long>(seconds));
}

TEST_F(FaultInjectionTest, LatencyDelaysButLosesNothing) {
  FaultSettings f;
  f.latency_ms = 30;
  start(f);
  auto before = Clock::now();
  EXPECT_EQ(deliver_and_check(kBatches), kRequests);
  EXPECT_GE(Clock::now() - before, std::chrono::milliseconds(30 * kRequests));
}

TEST_F(FaultInjectionTest, DroppedConnectionsAreRetried) {
  FaultSettings f;
  f.drop = 0.3;
  start(f);
  int64_t attempts = deliver_and_check(kBatches);
  EXPECT_GT(attempts, kRequests);
  std::printf("[ measure  ] drop 0.3: %lld attempts for %lld requests\n", static_cast<long long>(attempts),
              static_cast<long long>(kRequests));
}

TEST_F(FaultInjectionTest, LostResponsesAreRetriedAndAnsweredWithTheStoredReceipt) {
  FaultSettings f;
  f.lose_response = 0.4;
  start(f);
  int64_t attempts = deliver_and_check(kBatches);
  EXPECT_GT(attempts, kRequests);
  std::printf("[ measure  ] lose_response 0.4: %lld attempts for %lld requests\n", static_cast<long long>(attempts),
              static_cast<long long>(kRequests));
}

TEST_F(FaultInjectionTest, AllFaultsAtOnce) {
  FaultSettings f;
  f.error_5xx = 0.15;
  f.rate_limit_429 = 0.1;
  f.retry_after_s = 1;
  f.latency_ms = 10;
  f.drop = 0.15;
  f.lose_response = 0.15;
  start(f, 11);
  int64_t attempts = deliver_and_check(kBatches);
  EXPECT_GT(attempts, kRequests);
  std::printf("[ measure  ] all faults: %lld attempts for %lld requests\n", static_cast<long long>(attempts),
              static_cast<long long>(kRequests));
}

TEST_F(FaultInjectionTest, AdminEndpointSwitchesFaultsAndIsNeverFaulted) {
  start({});
  TestClient admin(server_->port());
  auto r = admin.get("/api/v1/admin/faults");
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["error_5xx"], 0.0);

  r = admin.post_json("/api/v1/admin/faults", {{"error_5xx", 1}, {"latency_ms", 5}});
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["error_5xx"], 1.0);
  EXPECT_EQ(r.json["data"]["latency_ms"], 5);
  EXPECT_EQ(r.json["data"]["drop"], 0.0);  // missing keys are 0
  EXPECT_DOUBLE_EQ(server_->faults().error_5xx, 1.0);

  // Every resource request fails now; health and admin never do.
  TestClient client(server_->port());
  r = client.get(kBase);
  EXPECT_EQ(r.status, 503u) << describe(r);
  EXPECT_EQ(r.json["code"], "INJECTED_FAULT");
  r = client.request(http::verb::get, "/healthz");
  EXPECT_TRUE(r.ok()) << describe(r);
  r = admin.get("/api/v1/admin/faults");
  EXPECT_TRUE(r.ok()) << describe(r);

  r = admin.post_json("/api/v1/admin/faults", {{"rate_limit_429", 1}, {"retry_after_s", 7}});
  ASSERT_TRUE(r.ok()) << describe(r);
  r = client.get(kBase);
  EXPECT_EQ(r.status, 429u) << describe(r);
  EXPECT_EQ(r.headers["Retry-After"], "7");

  r = admin.post_json("/api/v1/admin/faults", {{"drop", 1}});
  ASSERT_TRUE(r.ok()) << describe(r);
  {
    TestClient dropped(server_->port());
    r = dropped.get(kBase);
    EXPECT_EQ(r.status, 0u) << "no answer expected: " << describe(r);
  }

  // Handled, answer lost: the schema is registered although nobody heard so.
  r = admin.post_json("/api/v1/admin/faults", {{"lose_response", 1}});
  ASSERT_TRUE(r.ok()) << describe(r);
  {
    TestClient lost(server_->port());
    r = lost.post_json(kBase + "/schemas",
                       {{"schema", nlohmann::json::parse(testing::person_schema_json())}, {"primary_key", "id"}});
    EXPECT_EQ(r.status, 0u) << describe(r);
  }
  r = admin.post_json("/api/v1/admin/faults", nlohmann::json::object());
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_FALSE(server_->faults().any());
  TestClient after(server_->port());
  r = after.get(kBase);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["schemas"].size(), 1u) << describe(r);

  // Refusals: bad values, unknown keys, not JSON, unsigned.
  Signing signing;
  for (const char* bad : {R"({"drop":2})", R"({"error_5xx":-1})", R"({"dorp":0.1})", R"({"latency_ms":"5"})"}) {
    r = admin.request(http::verb::post, "/api/v1/admin/faults", bad, {{"Content-Type", "application/json"}},
                      &signing);
    EXPECT_EQ(r.status, 400u) << bad << " " << describe(r);
    EXPECT_EQ(r.json["code"], "INVALID_FAULTS") << bad;
  }
  r = admin.request(http::verb::post, "/api/v1/admin/faults", "not json", {}, &signing);
  EXPECT_EQ(r.status, 400u) << describe(r);
  r = admin.request(http::verb::post, "/api/v1/admin/faults", R"({"drop":1})");
  EXPECT_EQ(r.status, 401u) << describe(r);
  EXPECT_FALSE(server_->faults().any());
}

TEST_F(FaultInjectionTest, SameSeedGivesTheSameFaultSequence) {
  FaultSettings f;
  f.error_5xx = 0.5;
  start(f, 123);
  auto pattern = [&] {
    TestClient client(server_->port());
    std::string seen;
    for (int i = 0; i < 32; ++i) seen += client.get(kBase).status == 503 ? 'x' : '.';
    return seen;
  };
  std::string first = pattern();
  server_->reseed_faults(123);
  EXPECT_EQ(pattern(), first);
  EXPECT_NE(first.find('x'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

}  // namespace
}  // namespace dxhub::province
