// The delivery worker against a scripted province on 127.0.0.1: permanent
// refusals are counted across runs and quarantine the batch, auth refusals
// and transient failures never do, a corrupt spool body is never sent.
#include "core/engine/delivery_worker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/protocol/signing.h"
#include "core/state/state_store.h"
#include "tests/delivery/loopback_http_server.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using testing::LoopbackHttpServer;
using testing::ScriptedResponse;

ScriptedResponse respond(int status, const nlohmann::json& body) {
  return {ScriptedResponse::Action::kRespond, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          {}};
}
ScriptedResponse schema_ok() { return respond(200, {{"code", 0}, {"message", "ok"}, {"data", {{"fingerprint", "fp"}}}}); }
ScriptedResponse refused(int status, const std::string& code, const std::string& message) {
  return respond(status, {{"code", code}, {"message", message}});
}
// A receipt as the province signs it (the test's app secret is "secret").
ScriptedResponse receipt(const std::string& batch_id, int64_t records, const std::string& digest, int64_t epoch,
                         int64_t sequence) {
  protocol::ReceiptFields r{"r-" + batch_id, batch_id, "households", epoch,          sequence, records, 0, 0,
                            digest,          "fp",     "2026-12-01T00:00:00Z"};
  return respond(200, {{"code", 0},
                       {"message", "ok"},
                       {"data",
                        {{"receipt_id", r.receipt_id},
                         {"batch_id", r.batch_id},
                         {"resource", r.resource},
                         {"epoch", r.epoch},
                         {"sequence", r.sequence},
                         {"records_accepted", r.records_accepted},
                         {"duplicate_keys", r.duplicate_keys},
                         {"deleted", r.deleted},
                         {"digest", r.digest},
                         {"fingerprint", r.fingerprint},
                         {"received_at", r.received_at},
                         {"signature", protocol::sign(protocol::SignatureMethod::kHmacSha256, "secret",
                                                      protocol::receipt_string_to_sign(r))}}}});
}

class DeliveryWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dxhub_delivery_worker_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(server_.listening());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string db() const { return (dir_ / "state.db").string(); }

  StateStore store() {
    auto s = StateStore::open(db());
    EXPECT_TRUE(s) << s.status().to_string();
    return std::move(s).value();
  }

  // Spools a batch whose stored digest is right (or, corrupt = true, wrong).
  void spool(StateStore& s, const std::string& id, int64_t sequence, bool corrupt = false) {
    bodies_[id] = "body of " + id;
    NewBatch b{id, "households", sequence, 2, "null", "fp",
               protocol::sha256_hex(corrupt ? "something else" : bodies_[id]), bodies_[id]};
    ASSERT_TRUE(s.spool_batch(b, {{"after", sequence}}).is_ok());
  }
  std::string digest(const std::string& id) { return protocol::sha256_hex(bodies_[id]); }
  int64_t epoch() {
    auto e = store().epoch();
    EXPECT_TRUE(e) << e.status().to_string();
    return e ? *e : 0;
  }

  // One run's delivery with nothing more being spooled.
  Status run_delivery(int quarantine_after, int64_t* delivered = nullptr, int64_t* quarantined = nullptr) {
    ProvinceConfig pc;
    pc.base_url = server_.base_url();
    pc.app_key = "k";
    pc.app_secret = "secret";
    pc.max_attempts = 1;
    pc.connect_timeout_ms = 2000;
    pc.request_timeout_ms = 5000;
    DeliveryWorker worker(pc, DeliveryTarget{"households", "户", R"({"type":"record","name":"H","fields":[]})", "id",
                                             db(), quarantine_after, true, nullptr, nullptr});
    worker.start();
    worker.finish();
    if (delivered != nullptr) *delivered = worker.batches_delivered();
    if (quarantined != nullptr) *quarantined = worker.batches_quarantined();
    return worker.status();
  }

  size_t uploads() const {
    size_t n = 0;
    for (const auto& r : server_.requests()) n += r.target.ends_with("/batches") ? 1 : 0;
    return n;
  }

  fs::path dir_;
  LoopbackHttpServer server_;
  std::map<std::string, std::string> bodies_;
};

TEST_F(DeliveryWorkerTest, RefusedBatchIsQuarantinedAfterItsRefusalsAndLaterBatchesFlow) {
  {
    StateStore s = store();
    spool(s, "b1", 1);
    spool(s, "b2", 2);
  }
  // Run 1: refused once; the run stops there (order matters), b2 waits.
  server_.push(schema_ok());
  server_.push(refused(400, "BAD_BATCH", "not an Avro container"));
  Status first = run_delivery(2);
  EXPECT_EQ(first.code(), StatusCode::kRejected);
  EXPECT_NE(first.message().find("refusal 1 of 2"), std::string::npos) << first.message();
  EXPECT_EQ(uploads(), 1u);
  EXPECT_EQ(store().pending_batches("", 0)->size(), 2u);

  // Run 2: refused again -> quarantined; b2 is delivered in the same run.
  server_.push(schema_ok());
  server_.push(refused(400, "BAD_BATCH", "not an Avro container"));
  server_.push(receipt("b2", 2, digest("b2"), epoch(), 2));
  int64_t delivered = 0, quarantined = 0;
  Status second = run_delivery(2, &delivered, &quarantined);
  EXPECT_EQ(second.code(), StatusCode::kRejected);  // the run says a batch was quarantined
  EXPECT_NE(second.message().find("quarantined"), std::string::npos) << second.message();
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(quarantined, 1);
  StateStore s = store();
  EXPECT_TRUE(s.pending_batches("", 0)->empty());
  auto listed = s.list_batches("");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].batch_id, "b1");
  EXPECT_TRUE((*listed)[0].quarantined);
  EXPECT_EQ((*listed)[0].refusals, 2);
  EXPECT_NE((*listed)[0].reason.find("BAD_BATCH"), std::string::npos);
  EXPECT_EQ(s.receipt_summary()->at(0).batches, 1);
}

TEST_F(DeliveryWorkerTest, AuthRefusalsNeverCountTowardsQuarantine) {
  {
    StateStore s = store();
    spool(s, "b1", 1);
  }
  for (int run = 0; run < 3; ++run) {
    server_.push(schema_ok());
    server_.push(refused(run == 1 ? 403 : 401, run == 2 ? "UNKNOWN_APP_KEY" : "BAD_SIGNATURE", "signature"));
    Status status = run_delivery(1);
    EXPECT_EQ(status.code(), StatusCode::kRejected);
    EXPECT_TRUE(is_auth_refusal(status)) << status.message();
  }
  auto pending = store().pending_batches("", 0);
  ASSERT_EQ(pending->size(), 1u);  // still spooled: a wrong secret quarantines nothing
  EXPECT_EQ((*pending)[0].refusals, 0);
  EXPECT_EQ((*pending)[0].attempts, 3);
}

TEST_F(DeliveryWorkerTest, TransientFailuresStopTheRunAndNeverQuarantine) {
  {
    StateStore s = store();
    spool(s, "b1", 1);
    spool(s, "b2", 2);
  }
  for (int run = 0; run < 3; ++run) {
    server_.push(schema_ok());
    server_.push(refused(503, "UNAVAILABLE", "maintenance"));
    EXPECT_EQ(run_delivery(1).code(), StatusCode::kUnavailable);
  }
  EXPECT_EQ(uploads(), 3u);  // b2 was never tried out of order
  auto pending = store().pending_batches("", 0);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].refusals, 0);
  EXPECT_TRUE(store().quarantine_summary()->empty());
}

TEST_F(DeliveryWorkerTest, CorruptSpoolBodyIsQuarantinedAtOnceAndNeverSent) {
  {
    StateStore s = store();
    spool(s, "b1", 1, /*corrupt=*/true);
    spool(s, "b2", 2);
  }
  server_.push(schema_ok());
  server_.push(receipt("b2", 2, digest("b2"), epoch(), 2));
  int64_t delivered = 0;
  Status status = run_delivery(3, &delivered);
  EXPECT_EQ(status.code(), StatusCode::kRejected);
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(uploads(), 1u);  // only b2 went out
  auto q = store().quarantine_summary();
  ASSERT_EQ(q->size(), 1u);
  ASSERT_EQ((*q)[0].reasons.size(), 1u);
  EXPECT_NE((*q)[0].reasons[0].first.find("corrupt spool body"), std::string::npos);
}

// A run with nothing spooled (a fast poll that found no change) sends the
// province nothing at all, not even the schema registration.
TEST_F(DeliveryWorkerTest, NothingSpooledMeansNoRequest) {
  (void)store();
  Status status = run_delivery(3);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(server_.requests().size(), 0u);
  // With a batch the schema goes first, then the batch.
  {
    StateStore s = store();
    spool(s, "b1", 1);
  }
  server_.push(schema_ok());
  server_.push(receipt("b1", 2, digest("b1"), epoch(), 1));
  int64_t delivered = 0;
  EXPECT_TRUE(run_delivery(3, &delivered).is_ok());
  EXPECT_EQ(delivered, 1);
  ASSERT_EQ(server_.requests().size(), 2u);
  EXPECT_TRUE(server_.requests()[0].target.ends_with("/schemas")) << server_.requests()[0].target;
}

// The province's message cut inside a UTF-8 character ends up in the
// state's last_error; nothing throws on the way.
TEST_F(DeliveryWorkerTest, RefusalTextWithInvalidUtf8IsKept) {
  {
    StateStore s = store();
    spool(s, "b1", 1);
  }
  server_.push(schema_ok());
  ScriptedResponse cut{ScriptedResponse::Action::kRespond, 400,
                       std::string(R"({"code":"BAD_BATCH","message":"字段)") + "\xe5\xad" + R"("})", {}};
  server_.push(cut);
  Status status = run_delivery(3);
  EXPECT_EQ(status.code(), StatusCode::kRejected) << status.to_string();
  auto pending = store().pending_batches("", 0);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].refusals, 1);
}

TEST(IsAuthRefusal, OnlyHttp401And403Rejections) {
  EXPECT_TRUE(is_auth_refusal(rejected_error("upload: POST /x: HTTP 401 BAD_SIGNATURE: no")));
  EXPECT_TRUE(is_auth_refusal(rejected_error("upload: POST /x: HTTP 403 FORBIDDEN: no")));
  EXPECT_FALSE(is_auth_refusal(rejected_error("upload: POST /x: HTTP 400 BAD_BATCH: no")));
  EXPECT_FALSE(is_auth_refusal(unavailable_error("upload: POST /x: HTTP 401 odd")));
}

}  // namespace
}  // namespace dxhub
