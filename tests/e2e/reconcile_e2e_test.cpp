// `dxhub reconcile` end to end: the real binary after a real sync of the
// public_security plugin into the mock province on 127.0.0.1, then the
// province's own SQLite file tampered with (a batch lost, a digest or count
// changed, a sequence stored twice), the province down, and a receipt lost
// in transit (the province's lose_response fault).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/http/fault_injector.h"
#include "sandbox/sample/household_generator.h"
#include "tests/e2e/e2e_fixture.h"

namespace dxhub {
namespace {

using nlohmann::json;

constexpr const char* kResource = "household_population";

class ReconcileEndToEnd : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    source_ = (dir_ / "public_security.db").string();
    sample::HouseholdOptions gen;
    gen.rows = 2000;
    ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
    start_province();
  }

  std::string write_config() {
    json cfg = hub_config({{{"name", "public_security"},
                            {"path", testing::plugin_library("public_security")},
                            {"settings", {{"household_db", source_}}}}});
    cfg["sync"]["batch_rows"] = 500;  // 2000 rows: four batches
    return write_config_file(cfg);
  }

  // Syncs and checks that a reconcile right after it is clean.
  std::string synced_config() {
    std::string config = write_config();
    json run = sync_json(config);
    EXPECT_EQ(run["totals"]["rows_delivered"], 2000) << run.dump();
    auto clean = reconcile(config);
    EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
    EXPECT_NE(clean.out.find("reconcile: 1 resources, 4 batches compared, 0 gaps, 0 duplicates, 0 mismatches, 0 "
                             "unknown at the hub; exit 0"),
              std::string::npos)
        << clean.out << clean.err;
    return config;
  }

  testing::ProcessResult reconcile(const std::string& config, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-c", config, "reconcile"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = dxhub(args);
    // Batch ids and sequences only: never a row's values.
    EXPECT_EQ(r.out.find(first_id_card()), std::string::npos) << r.out;
    return r;
  }

  std::string first_id_card() {
    if (id_card_.empty()) {
      auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadOnly);
      EXPECT_TRUE(db);
      auto stmt = db->prepare("SELECT gmsfhm FROM household_population ORDER BY id LIMIT 1");
      EXPECT_TRUE(stmt && *stmt->step());
      id_card_ = std::string(stmt->column_text(0));
    }
    return id_card_;
  }

  // The province's database, opened beside the running province (WAL).
  SqliteDb province_db() {
    auto db = SqliteDb::open((dir_ / "province.db").string(), SqliteDb::Mode::kReadWrite);
    EXPECT_TRUE(db) << db.status().to_string();
    return std::move(db).value();
  }

  // batch_id and "epoch:sequence" of the province's second stored batch.
  std::pair<std::string, std::string> second_batch(SqliteDb& db) {
    auto stmt = db.prepare("SELECT batch_id, epoch, sequence FROM batches ORDER BY epoch, sequence LIMIT 1 OFFSET 1");
    EXPECT_TRUE(stmt);
    auto row = stmt->step();
    EXPECT_TRUE(row && *row);
    return {std::string(stmt->column_text(0)),
            std::to_string(stmt->column_int64(1)) + ":" + std::to_string(stmt->column_int64(2))};
  }

  std::string source_;
  std::string id_card_;
};

TEST_F(ReconcileEndToEnd, CleanAfterASyncWithTheCountsInJson) {
  std::string config = synced_config();
  auto r = reconcile(config, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_TRUE(j["findings"].empty()) << r.out;
  ASSERT_EQ(j["resources"].size(), 1u);
  EXPECT_EQ(j["resources"][0]["resource"], kResource);
  EXPECT_EQ(j["resources"][0]["hub_batches"], 4);
  EXPECT_EQ(j["resources"][0]["province_batches"], 4);
  EXPECT_EQ(j["totals"]["compared"], 4);
  // -r names the resource explicitly; a resource the hub never synced has nothing on either side.
  auto named = reconcile(config, {"-r", kResource, "-r", "nothing_here"});
  EXPECT_EQ(named.exit_code, 0) << named.out << named.err;
  EXPECT_NE(named.out.find("reconcile: 2 resources, 4 batches compared"), std::string::npos) << named.out;
}

TEST_F(ReconcileEndToEnd, ABatchTheProvinceLostIsAGap) {
  std::string config = synced_config();
  SqliteDb db = province_db();
  auto [batch_id, position] = second_batch(db);
  auto erase = db.prepare("DELETE FROM batches WHERE batch_id = ?1");
  ASSERT_TRUE(erase && erase->bind_text(1, batch_id).is_ok() && erase->run().is_ok());

  auto r = reconcile(config);
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  EXPECT_NE(r.out.find("gap       household_population: batch " + batch_id + " (sequence " + position +
                       "): acknowledged to the hub (500 records) but missing from the province's manifest"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 gaps, 0 duplicates, 0 mismatches, 0 unknown at the hub; exit 7"), std::string::npos)
      << r.out;
}

TEST_F(ReconcileEndToEnd, AnotherDigestOrCountAtTheProvinceIsAMismatch) {
  std::string config = synced_config();
  SqliteDb db = province_db();
  auto [batch_id, position] = second_batch(db);
  auto digest = db.prepare("UPDATE batches SET digest = ?2 WHERE batch_id = ?1");
  ASSERT_TRUE(digest && digest->bind_text(1, batch_id).is_ok() &&
              digest->bind_text(2, std::string(64, 'a')).is_ok() && digest->run().is_ok());
  auto r = reconcile(config);
  EXPECT_EQ(r.exit_code, 9) << r.out << r.err;
  EXPECT_NE(r.out.find("mismatch  household_population: batch " + batch_id + " (sequence " + position +
                       "): digest hub "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(", province " + std::string(64, 'a')), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 gaps, 0 duplicates, 1 mismatches"), std::string::npos) << r.out;

  // A record count changed on another batch: both mismatches are listed.
  auto [first_id, first_position] = [&] {
    auto stmt = db.prepare("SELECT batch_id, epoch, sequence FROM batches ORDER BY epoch, sequence LIMIT 1");
    EXPECT_TRUE(stmt && *stmt->step());
    return std::make_pair(std::string(stmt->column_text(0)),
                          std::to_string(stmt->column_int64(1)) + ":" + std::to_string(stmt->column_int64(2)));
  }();
  auto count = db.prepare("UPDATE batches SET records_accepted = records_accepted - 1 WHERE batch_id = ?1");
  ASSERT_TRUE(count && count->bind_text(1, first_id).is_ok() && count->run().is_ok());
  r = reconcile(config);
  EXPECT_EQ(r.exit_code, 9) << r.out << r.err;
  EXPECT_NE(r.out.find("mismatch  household_population: batch " + first_id + " (sequence " + first_position +
                       "): record count hub 500, province 499"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0 gaps, 0 duplicates, 2 mismatches"), std::string::npos) << r.out;
}

TEST_F(ReconcileEndToEnd, ASequenceStoredTwiceIsADuplicate) {
  std::string config = synced_config();
  SqliteDb db = province_db();
  auto [batch_id, position] = second_batch(db);
  // A second batch id under the same (epoch, sequence), as a province bug or a second hub might store it.
  auto forge = db.prepare(
      "INSERT INTO batches (batch_id, receipt_id, resource, sequence, records_accepted, digest, fingerprint, codec, "
      "received_at, body, applied, epoch, duplicate_keys, deleted) SELECT 'forged-' || batch_id, receipt_id || "
      "'-forged', resource, sequence, records_accepted, digest, fingerprint, codec, received_at, body, 1, epoch, "
      "duplicate_keys, deleted FROM batches WHERE batch_id = ?1");
  ASSERT_TRUE(forge && forge->bind_text(1, batch_id).is_ok() && forge->run().is_ok());

  auto r = reconcile(config);
  EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
  const std::string forged = "forged-" + batch_id;
  const std::string both = batch_id < forged ? batch_id + ", " + forged : forged + ", " + batch_id;
  EXPECT_NE(r.out.find("duplicate household_population: sequence " + position +
                       ": the province holds 2 batches under it: " + both),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("unknown   household_population: batch forged-" + batch_id + " (sequence " + position +
                       "): at the province (500 records), unknown at the hub: not sent by this hub"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("5 batches compared, 0 gaps, 1 duplicates, 0 mismatches, 1 unknown at the hub; exit 8"),
            std::string::npos)
      << r.out;

  // With a gap as well, both are listed and the higher code (8) wins.
  auto erase = db.prepare("DELETE FROM batches WHERE batch_id = (SELECT batch_id FROM batches ORDER BY epoch DESC, "
                          "sequence DESC LIMIT 1)");
  ASSERT_TRUE(erase && erase->run().is_ok());
  r = reconcile(config);
  EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
  EXPECT_NE(r.out.find("1 gaps, 1 duplicates"), std::string::npos) << r.out;
}

TEST_F(ReconcileEndToEnd, AProvinceThatIsDownOrRefusesIsExit4AndConfigErrorsAreExit2) {
  std::string config = synced_config();
  stop_province();
  auto down = reconcile(config);
  EXPECT_EQ(down.exit_code, 4) << down.out << down.err;
  EXPECT_NE(down.out.find("error     household_population: province: "), std::string::npos) << down.out;

  start_province();  // a new port: the config's is dead; a wrong secret is refused
  json cfg = json::parse(std::ifstream(config));
  cfg["province"]["url"] = "http://127.0.0.1:" + std::to_string(port_);
  std::string moved = write_config_file(cfg, "moved.json");
  cfg["province"]["app_secret_env"] = "DXHUB_WRONG_SECRET_FOR_RECONCILE";
  std::string wrong = write_config_file(cfg, "wrong-secret.json");
  auto refused = dxhub({"-c", wrong, "reconcile"}, {{"DXHUB_WRONG_SECRET_FOR_RECONCILE", "not-the-secret"}});
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("401"), std::string::npos) << refused.out;

  cfg["province"]["app_secret_env"] = "DXHUB_UNSET_SECRET_FOR_RECONCILE";
  std::string no_secret = write_config_file(cfg, "no-secret.json");
  auto unset = dxhub({"-c", no_secret, "reconcile"});
  EXPECT_EQ(unset.exit_code, 2) << unset.out << unset.err;
  auto bad_id = dxhub({"-c", moved, "reconcile", "-r", "Not A Resource"});
  EXPECT_EQ(bad_id.exit_code, 2) << bad_id.out << bad_id.err;
}

TEST_F(ReconcileEndToEnd, NoStateFileIsNeverCreated) {
  std::string config = write_config();
  auto r = reconcile(config);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reconcile: 0 resources"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state.db"));
}

// A seed under which the province answers the first request (the schema
// registration) and loses the answers of the next four (the upload and its
// retries), found with the province's own fault injector.
uint64_t seed_losing_every_upload_answer(const province::FaultSettings& faults) {
  for (uint64_t seed = 1; seed < 100000; ++seed) {
    province::FaultInjector injector(faults, seed);
    if (injector.decide().lose_response) continue;
    bool all_lost = true;
    for (int i = 0; i < 4 && all_lost; ++i) all_lost = injector.decide().lose_response;
    if (all_lost) return seed;
  }
  return 0;
}

TEST_F(ReconcileEndToEnd, ABatchWhoseReceiptWasLostIsUnknownAtTheHubInTheOutbox) {
  std::string config = synced_config();
  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 50;
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());

  province::FaultSettings faults;
  faults.lose_response = 0.5;
  uint64_t seed = seed_losing_every_upload_answer(faults);
  ASSERT_NE(seed, 0u);
  province_->set_faults(faults);
  province_->reseed_faults(seed);
  auto lost = dxhub({"-c", config, "sync"});
  EXPECT_EQ(lost.exit_code, 4) << lost.err;  // no receipt: a delivery failure, the batch stays spooled
  province_->set_faults({});

  std::string spooled;
  {
    auto state = SqliteDb::open((dir_ / "state.db").string(), SqliteDb::Mode::kReadOnly);
    ASSERT_TRUE(state);
    auto stmt = state->prepare("SELECT batch_id, record_count FROM outbox");
    ASSERT_TRUE(stmt && *stmt->step());
    spooled = std::string(stmt->column_text(0));
    EXPECT_EQ(stmt->column_int64(1), 150);
  }
  auto r = reconcile(config);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // reported, not a failure
  EXPECT_NE(r.out.find("unknown   household_population: batch " + spooled +
                       " (sequence "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("): at the province (150 records), unknown at the hub: in the outbox, delivered but not yet "
                       "acknowledged"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("5 batches compared, 0 gaps, 0 duplicates, 0 mismatches, 1 unknown at the hub; exit 0"),
            std::string::npos)
      << r.out;

  // The next sync fetches the stored receipt; then both sides agree.
  json again = sync_json(config);
  EXPECT_EQ(again["totals"]["rows_delivered"], 150) << again.dump();
  r = reconcile(config);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("5 batches compared, 0 gaps, 0 duplicates, 0 mismatches, 0 unknown at the hub; exit 0"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace dxhub
