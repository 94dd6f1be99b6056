// The push endpoint in-process on 127.0.0.1 with a real state file: signed
// posts are answered only once durable, refused whole when anything is
// wrong, repeats are harmless, posts are group-committed and cut into
// micro-batches by size or latency. Every wait is bounded.
#include "core/ingest/ingest_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/avro/avro_c_reader.h"
#include "core/avro/ocf_writer.h"
#include "core/engine/staged_batches.h"
#include "core/ingest/post_decoder.h"
#include "core/state/state_store.h"
#include "tests/ingest/ingest_records.h"
#include "tests/ingest/signed_post.h"

namespace dxhub {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kResource = "household_population";
constexpr const char* kTarget = "/api/v1/ingest/household_population";

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dxhub_ingest_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    secret_ = protocol::random_hex(32);
    other_secret_ = protocol::random_hex(32);
    ::setenv("DXHUB_TEST_INGEST_SECRET", secret_.c_str(), 1);
    ::setenv("DXHUB_TEST_INGEST_OTHER", other_secret_.c_str(), 1);
  }
  void TearDown() override {
    if (service_) service_->stop();
    service_.reset();
    fs::remove_all(dir_);
  }

  std::string state_db() const { return (dir_ / "state.db").string(); }

  void start(int64_t linger_ms, int64_t batch_rows, json extra = json::object()) {
    json ingest = {{"listen", "127.0.0.1:0"},
                   {"linger_ms", linger_ms},
                   {"batch_rows", batch_rows},
                   {"app_keys",
                    {{{"app_key", "gaj-push"}, {"plugin", "public_security"}, {"secret_env", "DXHUB_TEST_INGEST_SECRET"}},
                     {{"app_key", "fgj-push"}, {"plugin", "housing"}, {"secret_env", "DXHUB_TEST_INGEST_OTHER"}}}}};
    for (auto& [k, v] : extra.items()) ingest[k] = v;
    json doc = {{"state_db", state_db()},
                {"province", {{"url", "http://127.0.0.1:1"}, {"app_key", "k"}, {"app_secret_env", "DXHUB_TEST_INGEST_SECRET"}}},
                {"sync", {{"codec", "deflate"}}},
                {"ingest", ingest},
                {"plugins", json::array()}};
    auto config = hub_config_from_json(doc, dir_.string(), "test.json");
    ASSERT_TRUE(config) << config.status().to_string();
    ASSERT_TRUE(load_ingest_secrets("test.json", config->ingest).is_ok());
    ResourceSpec spec;
    spec.plugin = "public_security";
    spec.resource_id = kResource;
    spec.connector = kPushConnectorKind;
    spec.schema_path = testing::household_schema_path();
    spec.mapping_path = testing::household_mapping_path();
    auto created = IngestService::create(*config, {spec}, [this](const std::string& resource) {
      std::lock_guard lock(mu_);
      spooled_.push_back(resource);
    });
    ASSERT_TRUE(created) << created.status().to_string();
    service_ = std::move(*created);
    ASSERT_TRUE(service_->start().is_ok());
  }

  testing::PostAnswer post(const json& records, const std::string& post_id = "", const std::string& app_key = "gaj-push") {
    testing::SignedPost p;
    p.port = service_->port();
    p.target = std::string(kTarget) + (post_id.empty() ? "" : "?post_id=" + post_id);
    p.body = json{{"records", records}}.dump();
    p.app_key = app_key;
    p.secret = app_key == "gaj-push" ? secret_ : other_secret_;
    return send_signed_post(p);
  }

  static json people(int64_t first, int64_t count) {
    json out = json::array();
    for (int64_t i = first; i < first + count; ++i) out.push_back(testing::person(i));
    return out;
  }

  StateStore store() {
    auto s = StateStore::open(state_db());
    EXPECT_TRUE(s) << s.status().to_string();
    return std::move(*s);
  }

  int64_t staged_records() {
    auto summary = store().staged_summary();
    EXPECT_TRUE(summary);
    int64_t n = 0;
    for (const auto& s : *summary) n += s.records;
    return n;
  }

  std::vector<OutboxEntry> outbox() {
    auto pending = store().pending_batches(kResource, 0);
    EXPECT_TRUE(pending);
    return pending ? *pending : std::vector<OutboxEntry>{};
  }

  bool wait_for_batches(size_t count, int timeout_ms = 10000) {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
      if (outbox().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static int64_t records_in(const std::string& body) {
    int64_t n = 0;
    auto decoded = avro::read_ocf_with_avro_c(body, [&](avro_value_t*) {
      ++n;
      return Status::ok();
    });
    EXPECT_TRUE(decoded) << decoded.status().to_string();
    return n;
  }

  double metric(const std::string& series) {
    const std::string text = "\n" + service_->prometheus_text();
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::atof(text.c_str() + at + 1 + series.size() + 1);
  }

  fs::path dir_;
  std::string secret_, other_secret_;
  std::unique_ptr<IngestService> service_;
  std::mutex mu_;
  std::vector<std::string> spooled_;
};

TEST_F(IngestServiceTest, APostIsDurableWhenAnsweredAndBatchedAfterTheLinger) {
  start(/*linger_ms=*/150, /*batch_rows=*/1000);
  auto answer = post(people(0, 3), "p-1");
  ASSERT_EQ(answer.status, 200) << answer.body;
  json data = answer.json()["data"];
  EXPECT_EQ(data["accepted"], 3);
  EXPECT_EQ(data["duplicate"], false);
  EXPECT_EQ(data["post_id"], "p-1");
  // Durable before the answer: staged (or already batched) in the state file.
  EXPECT_EQ(staged_records() + (outbox().empty() ? 0 : outbox()[0].record_count), 3);
  ASSERT_TRUE(wait_for_batches(1)) << "no batch after the linger";
  auto batches = outbox();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].record_count, 3);
  EXPECT_EQ(records_in(batches[0].body), 3);  // avro-c reads what was spooled
  EXPECT_EQ(staged_records(), 0);
  std::lock_guard lock(mu_);
  ASSERT_EQ(spooled_.size(), 1u);
  EXPECT_EQ(spooled_[0], kResource);
}

TEST_F(IngestServiceTest, ABatchClosesBySizeBeforeTheLingerAndStopSpoolsTheRest) {
  start(/*linger_ms=*/60000, /*batch_rows=*/5);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post(people(i * 2, 2)).status, 200);
  ASSERT_TRUE(wait_for_batches(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto batches = outbox();
  ASSERT_EQ(batches.size(), 1u);  // 2 + 2 posts fit 5 records; the third waits for the linger
  EXPECT_EQ(batches[0].record_count, 4);
  EXPECT_EQ(staged_records(), 2);
  service_->stop();
  batches = outbox();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].record_count, 2);
  EXPECT_EQ(batches[1].sequence, batches[0].sequence + 1);
  EXPECT_EQ(staged_records(), 0);
}

TEST_F(IngestServiceTest, PostsLeftStagedByAnEarlierRunAreBatchedAtStart) {
  {
    // As if a daemon was killed after answering: staged, never batched.
    auto decoder = PostDecoder::load(testing::household_schema_path(), testing::household_mapping_path());
    ASSERT_TRUE(decoder);
    DecodedPost decoded;
    ASSERT_TRUE((*decoder)->decode(PostFormat::kJson, people(0, 4).dump(), 100, decoded).is_ok());
    StateStore s = store();
    NewPost p;
    p.resource = kResource;
    p.app_key = "gaj-push";
    p.record_count = decoded.record_count;
    p.records = decoded.records;
    p.received_at_ms = protocol::now_ms();
    std::vector<NewPost> posts = {p};
    ASSERT_TRUE(s.stage_posts(posts));
  }
  start(/*linger_ms=*/60000, /*batch_rows=*/1000);
  ASSERT_TRUE(wait_for_batches(1, 3000));
  EXPECT_EQ(outbox()[0].record_count, 4);
}

TEST_F(IngestServiceTest, ARepeatedPostIsAnsweredButStoredOnce) {
  start(/*linger_ms=*/60000, /*batch_rows=*/1000);
  json records = people(0, 2);
  ASSERT_EQ(post(records, "again").status, 200);
  auto repeat = post(records, "again");
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(repeat.json()["data"]["duplicate"], true);
  EXPECT_EQ(repeat.json()["data"]["accepted"], 2);
  EXPECT_EQ(staged_records(), 2);
  auto conflict = post(people(5, 1), "again");
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(conflict.json()["code"], "POST_ID_REUSED");
  EXPECT_EQ(staged_records(), 2);
  EXPECT_EQ(metric("dxhub_ingest_posts_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(metric("dxhub_ingest_posts_total{outcome=\"accepted\"}"), 1);
}

TEST_F(IngestServiceTest, EveryBadPostIsRefusedWholeWithItsReason) {
  start(/*linger_ms=*/60000, /*batch_rows=*/1000, {{"max_records_per_post", 5}});
  json bad = people(0, 3);
  bad[1]["csrq"] = "yesterday";
  auto invalid = post(bad);
  ASSERT_EQ(invalid.status, 422) << invalid.body;
  EXPECT_EQ(invalid.json()["code"], "INVALID_RECORDS");
  EXPECT_EQ(invalid.json()["data"]["invalid"], 1);
  EXPECT_EQ(invalid.json()["data"]["errors"][0]["index"], 1);
  EXPECT_EQ(post(people(0, 6)).status, 413);
  EXPECT_EQ(post(json::array()).status, 400);
  EXPECT_EQ(post(people(0, 1), "bad%2Fid").status, 400);
  EXPECT_EQ(post(people(0, 1), "", "fgj-push").status, 403);  // the housing bureau's key, public security's resource

  testing::SignedPost p;
  p.port = service_->port();
  p.target = kTarget;
  p.body = json{{"records", people(0, 1)}}.dump();
  p.app_key = "gaj-push";
  p.secret = "not-the-secret";
  EXPECT_EQ(send_signed_post(p).status, 401);
  p.secret = secret_;
  p.edit_headers = [](std::vector<std::string>& lines) {
    for (auto& l : lines) {
      if (l.rfind("X-Dxhub-Content-Digest", 0) == 0) l.back() = l.back() == '0' ? '1' : '0';
    }
  };
  EXPECT_EQ(send_signed_post(p).status, 401);  // the digest is signed
  p.edit_headers = nullptr;
  p.content_type = "text/plain";
  EXPECT_EQ(send_signed_post(p).status, 415);
  p.content_type = "application/json";
  p.body = "{\"records\": [";
  EXPECT_EQ(send_signed_post(p).status, 400);
  p.target = "/api/v1/ingest/no_such_resource";
  EXPECT_EQ(send_signed_post(p).status, 404);
  p.target = "/api/v1/resources";
  EXPECT_EQ(send_signed_post(p).status, 404);

  // A body changed after signing.
  p.target = kTarget;
  p.body = json{{"records", people(0, 1)}}.dump();
  const std::string signed_body = p.body;
  p.edit_headers = nullptr;
  auto tampered = p;
  tampered.body = json{{"records", people(1, 1)}}.dump();
  tampered.edit_headers = [&](std::vector<std::string>& lines) {
    // Sign the original body, send another.
    const std::string digest = protocol::body_digest(protocol::SignatureMethod::kHmacSha256, signed_body);
    for (auto& l : lines) {
      if (l.rfind("X-Dxhub-Content-Digest", 0) == 0) l = "X-Dxhub-Content-Digest: " + digest;
    }
  };
  auto answer = send_signed_post(tampered);
  EXPECT_TRUE(answer.status == 400 || answer.status == 401) << answer.status;

  EXPECT_EQ(staged_records(), 0);  // nothing of any of them
  EXPECT_TRUE(outbox().empty());
}

TEST_F(IngestServiceTest, ConcurrentPostsAreGroupCommitted) {
  start(/*linger_ms=*/50, /*batch_rows=*/100000);
  constexpr int kThreads = 8;
  constexpr int kPostsEach = 25;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPostsEach; ++i) {
        if (post(people(t * 1000 + i, 1), "t" + std::to_string(t) + "-" + std::to_string(i)).status == 200) ++accepted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), kThreads * kPostsEach);
  const double commits = metric("dxhub_ingest_commits_total");
  EXPECT_GT(commits, 0);
  EXPECT_LT(commits, kThreads * kPostsEach);  // several posts per transaction
  service_->stop();
  int64_t total = 0;
  for (const auto& b : outbox()) total += b.record_count;
  EXPECT_EQ(total, kThreads * kPostsEach);
}

TEST_F(IngestServiceTest, AFullBacklogIsRefusedWithRetryAfter) {
  start(/*linger_ms=*/60000, /*batch_rows=*/1000, {{"max_staged_records", 3}});
  ASSERT_EQ(post(people(0, 3)).status, 200);
  auto full = post(people(3, 1));
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(full.json()["code"], "BACKLOG_FULL");
  EXPECT_EQ(full.retry_after, "5");
  EXPECT_EQ(staged_records(), 3);
}

TEST_F(IngestServiceTest, AnAvroFilePostIsAccepted) {
  start(/*linger_ms=*/60000, /*batch_rows=*/1000);
  auto decoder = PostDecoder::load(testing::household_schema_path(), testing::household_mapping_path());
  ASSERT_TRUE(decoder);
  DecodedPost mapped;
  ASSERT_TRUE((*decoder)->decode(PostFormat::kJson, people(0, 3).dump(), 100, mapped).is_ok());
  avro::OcfWriter writer((*decoder)->schema(), avro::Codec::kSnappy);
  ASSERT_TRUE(writer.begin({}).is_ok());
  ASSERT_TRUE(for_each_staged_record(mapped.records, [&](std::string_view r) { return writer.append_encoded(r); })
                  .is_ok());
  testing::SignedPost p;
  ASSERT_TRUE(writer.finish(p.body).is_ok());
  p.port = service_->port();
  p.target = std::string(kTarget) + "?post_id=ocf-1";
  p.content_type = "avro/binary";
  p.app_key = "gaj-push";
  p.secret = secret_;
  auto answer = send_signed_post(p);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.json()["data"]["accepted"], 3);
  EXPECT_EQ(staged_records(), 3);
}

}  // namespace
}  // namespace dxhub
