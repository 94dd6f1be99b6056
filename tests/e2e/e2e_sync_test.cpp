// End to end: the real dxhub binary with the real public_security plugin,
// syncing a generated SQLite source into the mock province on 127.0.0.1,
// then checking what the province holds against the source, row by row.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <nlohmann/json.hpp>

#include "core/common/sqlite_db.h"
#include "core/delivery/province_client.h"
#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "core/state/state_lock.h"
#include "sandbox/sample/household_generator.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/subprocess.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::unwrap_union;
const std::string kBin = testing::kDxhubBinary;
const std::string kPlugin = testing::plugin_library("public_security");
const std::string kMappings = testing::kMappingsDir;
const std::string kCheckOutbox = std::string(DXHUB_SOURCE_DIR) + "/tests/e2e/check_outbox.py";

// Days since 1970-01-01 of a 'YYYY-MM-DD' text, computed with <chrono>
// (independently of the hub's own date parser).
int64_t days_of(const std::string& text) {
  int y = std::stoi(text.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(text.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(text.substr(8, 2)));
  return std::chrono::sys_days(std::chrono::year(y) / m / d).time_since_epoch().count();
}

// Epoch millis (UTC) of a 'YYYY-MM-DD HH:MM:SS' Asia/Shanghai (+08:00) text.
int64_t shanghai_millis(const std::string& text) {
  int64_t seconds = days_of(text.substr(0, 10)) * 86400 + std::stoi(text.substr(11, 2)) * 3600 +
                    std::stoi(text.substr(14, 2)) * 60 + std::stoi(text.substr(17, 2));
  return (seconds - 8 * 3600) * 1000;
}

class EndToEnd : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    source_ = (dir_ / "public_security.db").string();
    std::ifstream mapping(kMappings + "/public_security/household_population.mapping.json");
    json m = json::parse(mapping);
    for (const auto& f : m["fields"]) {
      if (f.contains("codes")) codes_[f["column"].get<std::string>()] = f["codes"];
    }
  }

  std::string write_config(const json& overrides = json::object()) {
    json cfg = hub_config({{{"name", "public_security"}, {"path", kPlugin}, {"settings", {{"household_db", source_}}}}});
    cfg.merge_patch(overrides);
    return write_config_file(cfg);
  }

  // Every current record the province holds, by id_card.
  std::map<std::string, json> province_records() { return HubFixture::province_records("household_population", "id_card"); }

  // The source as the province should hold it, by id_card.
  std::map<std::string, json> expected_records() {
    std::map<std::string, json> out;
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadOnly);
    EXPECT_TRUE(db);
    auto stmt = db->prepare(
        "SELECT gmsfhm, xm, xb, mz, csrq, hh, yhzgx, hjdz, sspcs, xzjd, qrrq, ryzt, gxsj FROM household_population");
    EXPECT_TRUE(stmt);
    for (;;) {
      auto more = stmt->step();
      if (!more || !*more) break;
      auto text = [&](int c) { return std::string(stmt->column_text(c)); };
      json r = {{"id_card", text(0)},
                {"name", text(1)},
                {"gender", codes_["xb"][text(2)]},
                {"ethnicity", text(3)},
                {"birth_date", days_of(text(4))},
                {"household_no", text(5)},
                {"relation_to_head", text(6)},
                {"registered_address", text(7)},
                {"police_station", text(8)},
                {"township", text(9)},
                {"move_in_date", stmt->column_is_null(10) ? json(nullptr) : json(days_of(text(10)))},
                {"status", codes_["ryzt"][text(11)]},
                {"updated_at", shanghai_millis(text(12))}};
      out[text(0)] = r;
    }
    return out;
  }

  void expect_province_matches_source() {
    auto expected = expected_records();
    auto held = province_records();
    ASSERT_EQ(held.size(), expected.size());
    size_t compared = 0;
    for (const auto& [id, want] : expected) {
      auto it = held.find(id);
      ASSERT_NE(it, held.end()) << "province lacks " << id;
      for (const auto& [field, value] : want.items()) {
        ASSERT_EQ(unwrap_union(it->second[field]), value) << id << " field " << field;
      }
      ++compared;
    }
    EXPECT_EQ(compared, expected.size());
  }

  json province_resource() { return HubFixture::province_resource("household_population"); }

  std::string source_;
  std::map<std::string, json> codes_;
};

TEST_F(EndToEnd, FullThenIncrementalSyncMovesExactlyTheChangedRows) {
  sample::HouseholdOptions gen;
  gen.rows = 10000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config();

  json first = sync_json(config);
  EXPECT_EQ(first["totals"]["rows_read"], 10000);
  EXPECT_EQ(first["totals"]["rows_delivered"], 10000);
  EXPECT_EQ(first["totals"]["batches"], 4);  // 3000-row batches
  EXPECT_EQ(first["totals"]["receipts"], 4);
  expect_province_matches_source();
  json info = province_resource();
  EXPECT_EQ(info["records"], 10000);
  EXPECT_EQ(info["batches"], 4);

  // Nothing changed: nothing moves.
  json idle = sync_json(config);
  EXPECT_EQ(idle["totals"]["rows_read"], 0);
  EXPECT_EQ(idle["totals"]["batches"], 0);

  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 50;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());

  json second = sync_json(config);
  EXPECT_EQ(second["totals"]["rows_read"], 150);
  EXPECT_EQ(second["totals"]["rows_delivered"], 150);
  expect_province_matches_source();
  info = province_resource();
  EXPECT_EQ(info["records"], 10050);
  EXPECT_EQ(info["rows_received"], 10150);  // only the 150 moved the second time

  auto state = dxhub({"-c", config, "state", "--json"});
  ASSERT_EQ(state.exit_code, 0) << state.err;
  json s = json::parse(state.out);
  EXPECT_TRUE(s["outbox"].empty());
  ASSERT_EQ(s["delivered"].size(), 1u);
  EXPECT_EQ(s["delivered"][0]["records"], 10150);
}

// The state file restored from a backup: the rows after the backup's cursor
// are read again, give the same batches (same bytes, same ids), and the
// province keeps each once.
TEST_F(EndToEnd, RestoredStateSnapshotDeliversNothingTwice) {
  sample::HouseholdOptions gen;
  gen.rows = 10000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config();
  sync_json(config);
  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 50;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());

  const fs::path state = dir_ / "state.db";
  const fs::path backup = dir_ / "backup";
  fs::create_directories(backup);
  auto copy_state = [](const fs::path& from_dir, const fs::path& to_dir) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::path from = from_dir / (std::string("state.db") + suffix);
      fs::path to = to_dir / (std::string("state.db") + suffix);
      fs::remove(to);
      if (fs::exists(from)) fs::copy_file(from, to);
    }
  };
  copy_state(dir_, backup);

  json second = sync_json(config);
  EXPECT_EQ(second["totals"]["rows_delivered"], 150);
  json before = province_resource();
  EXPECT_EQ(before["rows_received"], 10150);

  copy_state(backup, dir_);  // restore the backup taken before the second sync
  json again = sync_json(config);
  EXPECT_EQ(again["totals"]["rows_read"], 150);       // read again from the backup's cursor
  EXPECT_EQ(again["totals"]["rows_delivered"], 150);  // and acknowledged by the province ...
  json after = province_resource();
  EXPECT_EQ(after["rows_received"], 10150);  // ... which stored nothing twice
  EXPECT_EQ(after["batches"], before["batches"]);
  expect_province_matches_source();
}

// The state file lost: everything is read again under a new epoch, whose
// sequences start at 1 again, and still the newest values win at the
// province over the old epoch's higher sequences.
TEST_F(EndToEnd, AfterTheStateIsDeletedNewValuesStillWin) {
  sample::HouseholdOptions gen;
  gen.rows = 10000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config({{"sync", {{"batch_rows", 1000}}}});
  sync_json(config);  // sequences 1..10
  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 0;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());
  sync_json(config);  // the 100 changed rows: sequence 11

  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(dir_ / (std::string("state.db") + suffix));
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    // Change rows that sequence 11 carried; after the reset they come in sequence 10.
    ASSERT_TRUE(db->exec("UPDATE household_population SET hjdz = '湖北省大冶市东岳路街道新址' "
                         "WHERE gxsj = '2030-01-01 09:30:00'")
                    .is_ok());
  }
  json full = sync_json(config);
  EXPECT_EQ(full["totals"]["rows_read"], 10000);
  expect_province_matches_source();
}

// Rows whose primary key repeats in the source collapse at the province; it
// says so per batch and the hub reports the count instead of staying silent.
TEST_F(EndToEnd, RepeatedPrimaryKeysAreReportedNotSilentlyCollapsed) {
  sample::HouseholdOptions gen;
  gen.rows = 2000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    // 7 rows take the ID number of the row before them (same batch: 3000 rows per batch).
    ASSERT_TRUE(db->exec("UPDATE household_population SET gmsfhm = (SELECT p.gmsfhm FROM household_population p "
                         "WHERE p.id = household_population.id - 1) WHERE id IN (11, 111, 222, 333, 444, 555, 666)")
                    .is_ok());
  }
  start_province();
  auto r = dxhub({"-c", write_config(), "sync", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json summary = json::parse(r.out);
  EXPECT_EQ(summary["resources"][0]["rows_delivered"], 2000);
  EXPECT_EQ(summary["resources"][0]["duplicate_keys"], 7);
  EXPECT_NE(r.err.find("7 delivered records whose primary key repeats"), std::string::npos) << r.err;
  EXPECT_EQ(province_resource()["records"], 1993);
}

TEST_F(EndToEnd, ProvinceDownKeepsBatchesSpooledForTheNextRun) {
  sample::HouseholdOptions gen;
  gen.rows = 2000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  uint16_t port = port_ = unused_port();
  std::string config = write_config();

  auto down = dxhub({"-c", config, "sync"});
  EXPECT_EQ(down.exit_code, 4) << down.err;  // delivery failure
  EXPECT_NE(down.err.find("household_population"), std::string::npos) << down.err;
  auto state = dxhub({"-c", config, "state", "--json"});
  json s = json::parse(state.out);
  ASSERT_EQ(s["outbox"].size(), 1u);
  EXPECT_EQ(s["outbox"][0]["records"], 2000);  // read and spooled, not lost

  start_province(port);
  json retry = sync_json(config);
  EXPECT_EQ(retry["totals"]["rows_read"], 0);  // the cursor had moved with the spool
  EXPECT_EQ(retry["totals"]["rows_delivered"], 2000);
  expect_province_matches_source();
}

// Every codec: the spooled files are read by python3-avro (independent of the
// hub and of avro-c) and match the source row by row; then the province,
// which decodes with avro-c, accepts them and holds the same rows.
TEST_F(EndToEnd, EveryCodecIsReadByPythonAvroAndByTheProvince) {
  sample::HouseholdOptions gen;
  gen.rows = 1500;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  for (std::string codec : {"null", "deflate", "snappy", "zstandard"}) {
    SCOPED_TRACE(codec);
    port_ = unused_port();
    std::string state = (dir_ / ("state-" + codec + ".db")).string();
    std::string config = write_config({{"state_db", state}, {"sync", {{"codec", codec}, {"batch_rows", 500}}}});
    auto down = dxhub({"-c", config, "sync"});
    ASSERT_EQ(down.exit_code, 4) << down.err;
    auto check = testing::run_process(
        {DXHUB_PYTHON3, kCheckOutbox, state, source_, kMappings + "/public_security/household_population.mapping.json",
         codec},
        {}, 120);
    ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
    json counts = json::parse(check.out);
    EXPECT_EQ(counts["batches"], 3);
    EXPECT_EQ(counts["records"], 1500);

    start_province(port_);
    json delivered = sync_json(config);
    EXPECT_EQ(delivered["totals"]["rows_delivered"], 1500);
    expect_province_matches_source();
    province_->stop();
    province_.reset();
    fs::remove(dir_ / "province.db");
  }
}

// The avro-c generic-value encoder (the reference the compiled encoder is
// proven against) still delivers the same records end to end.
TEST_F(EndToEnd, AvroCEncoderPathDeliversTheSameRecords) {
  sample::HouseholdOptions gen;
  gen.rows = 1200;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config({{"sync", {{"encoder", "avro-c"}, {"batch_rows", 500}}}});
  json run = sync_json(config);
  EXPECT_EQ(run["totals"]["rows_delivered"], 1200);
  EXPECT_EQ(run["totals"]["batches"], 3);
  expect_province_matches_source();
}

TEST_F(EndToEnd, OneFailingResourceDoesNotStopTheOthers) {
  // The fixture plugin's "counter" resource is read through the plugin's own
  // reader; household_population fails (its source database is missing).
  fs::path mappings = dir_ / "mappings";
  fs::copy(kMappings, mappings, fs::copy_options::recursive);
  fs::create_directories(mappings / "good");
  std::ofstream(mappings / "good" / "counter.avsc")
      << R"({"type":"record","name":"Counter","namespace":"test.good","fields":[)"
      << R"({"name":"n","type":"long"},{"name":"label","type":"string"},{"name":"half","type":"double"},)"
      << R"({"name":"maybe","type":["null","long"],"default":null}]})";
  std::ofstream(mappings / "good" / "counter.mapping.json")
      << R"({"resource":"counter","schema":"counter.avsc","primary_key":"n","fields":[)"
      << R"({"field":"n","column":"n"},{"field":"label","column":"label"},{"field":"half","column":"half"},)"
      << R"({"field":"maybe","column":"maybe"}]})";
  start_province();
  json plugins = {{{"name", "public_security"}, {"path", kPlugin}, {"settings", {{"household_db", source_}}}},
                  {{"name", "test_good"}, {"path", DXHUB_GOOD_FIXTURE_PLUGIN}, {"settings", {{"rows", "120"}}}}};
  std::string config = write_config({{"mappings_dir", mappings.string()}, {"plugins", plugins}});
  auto r = dxhub({"-c", config, "sync", "-r", "household_population", "-r", "counter", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // a source error, reported
  EXPECT_NE(r.err.find("household_population"), std::string::npos) << r.err;
  json summary = json::parse(r.out);
  ASSERT_EQ(summary["resources"].size(), 2u);
  for (const auto& res : summary["resources"]) {
    if (res["resource"] == "counter") {
      EXPECT_EQ(res["rows_delivered"], 120);
    } else {
      EXPECT_EQ(res["rows_delivered"], 0);
      EXPECT_NE(res["read_status"].get<std::string>().find("source error"), std::string::npos);
    }
  }
  auto held = client().get("/api/v1/resources/counter/records?key=7");
  ASSERT_TRUE(held) << held.status().to_string();
  ASSERT_EQ((*held)["records"].size(), 1u);
  EXPECT_EQ((*held)["records"][0]["label"], "row-7");
  EXPECT_EQ(unwrap_union((*held)["records"][0]["maybe"]), 70);
}

// The client reuses the outbox's SHA-256 as the signed content digest; a
// stale one is refused by the province, never accepted.
TEST_F(EndToEnd, StaleBodyDigestIsRefusedByTheProvince) {
  start_province();
  std::string body = "not even avro";
  std::string stale = protocol::sha256_hex("another body");
  auto receipt = client().upload_batch(BatchToSend{"household_population", "b-stale", 1, 1, 1, stale, "fp", body});
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.status().code(), StatusCode::kRejected);
  EXPECT_NE(receipt.status().message().find("DIGEST_MISMATCH"), std::string::npos) << receipt.status().message();
}

TEST_F(EndToEnd, MissingSourceDatabaseIsASourceErrorNamingTheResource) {
  start_province();
  std::string config = write_config();  // source_ was never created
  auto r = dxhub({"-c", config, "sync"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("household_population"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(source_), std::string::npos) << r.err;
}

TEST_F(EndToEnd, SchemaThatDoesNotParseIsAConfigError) {
  sample::HouseholdOptions gen;
  gen.rows = 10;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  fs::path mappings = dir_ / "mappings";
  fs::copy(kMappings, mappings, fs::copy_options::recursive);
  std::ofstream(mappings / "public_security" / "household_population.avsc") << "{\"type\": \"record\", \"name\": ";
  std::string config = write_config({{"mappings_dir", mappings.string()}});
  auto r = dxhub({"-c", config, "sync"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("household_population"), std::string::npos) << r.err;
}

TEST_F(EndToEnd, TableWithoutTheCursorColumnIsRefusedByName) {
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE household_population(id INTEGER PRIMARY KEY, gmsfhm, xm, xb, mz, csrq, hh, "
                         "yhzgx, hjdz, sspcs, xzjd, qrrq, ryzt)")
                    .is_ok());
  }
  start_province();
  std::string config = write_config();
  auto r = dxhub({"-c", config, "sync"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // the declared cursor column does not exist: a configuration error
  EXPECT_NE(r.err.find("gxsj"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("household_population"), std::string::npos) << r.err;
}

TEST_F(EndToEnd, BadRowsAreDeadLetteredAndTheRestDelivered) {
  sample::HouseholdOptions gen;
  gen.rows = 500;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET csrq = '1990-02-30' WHERE id = 7").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = '9' WHERE id = 11").is_ok());
  }
  start_province();
  std::string config = write_config();
  json run = sync_json(config, 5);  // exit 5: rows were dead-lettered
  EXPECT_EQ(run["totals"]["rows_read"], 500);
  EXPECT_EQ(run["totals"]["rows_delivered"], 498);
  EXPECT_EQ(run["resources"][0]["dead_letters"], 2);
  EXPECT_EQ(run["resources"][0]["status"], "ok_with_dead_letters");
  EXPECT_EQ(province_resource()["records"], 498);
  auto state = dxhub({"-c", config, "state", "--json"});
  json s = json::parse(state.out);
  ASSERT_EQ(s["dead_letters"].size(), 1u);
  EXPECT_EQ(s["dead_letters"][0]["count"], 2);
}

TEST_F(EndToEnd, PluginsCommandListsTheResource) {
  start_province();
  std::string config = write_config();
  auto r = dxhub({"-c", config, "plugins"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("public_security"), std::string::npos);
  EXPECT_NE(r.out.find("household_population"), std::string::npos);
  EXPECT_NE(r.out.find("户籍人口信息"), std::string::npos);
}

TEST_F(EndToEnd, ConfigWithALiteralSecretIsRefused) {
  start_province();
  std::string config = write_config({{"province", {{"app_secret", "do-not-put-me-here"}}}});
  auto r = dxhub({"-c", config, "sync"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("app_secret"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("do-not-put-me-here"), std::string::npos);
}

// --- issue 5: one writer per state, quarantine, dead letters, bounds ---

int64_t count_rows(const std::string& db_path, const std::string& sql) {
  auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly);
  EXPECT_TRUE(db);
  auto stmt = db->prepare(sql);
  EXPECT_TRUE(stmt) << sql;
  auto row = stmt->step();
  EXPECT_TRUE(row && *row);
  return stmt->column_int64(0);
}

TEST_F(EndToEnd, StateBeforeAnySyncIsEmptyAndCreatesNoFile) {
  start_province();
  std::string config = write_config();
  auto r = dxhub({"-c", config, "state", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = json::parse(r.out);
  EXPECT_FALSE(s["exists"].get<bool>());
  EXPECT_TRUE(s["outbox"].empty());
  EXPECT_FALSE(fs::exists(dir_ / "state.db"));
  auto text = dxhub({"-c", config, "state"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  auto outbox = dxhub({"-c", config, "outbox", "list", "--json"});
  EXPECT_EQ(outbox.exit_code, 0) << outbox.err;
  EXPECT_EQ(json::parse(outbox.out), json::array());
  EXPECT_FALSE(fs::exists(dir_ / "state.db"));
}

TEST_F(EndToEnd, SyncOnAStateInUseExitsSixNamingTheHolder) {
  sample::HouseholdOptions gen;
  gen.rows = 300;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config();
  std::string state = (dir_ / "state.db").string();
  auto held = StateLock::acquire(state, "test holder");
  ASSERT_TRUE(held) << held.status().to_string();
  auto busy = dxhub({"-c", config, "sync"});
  EXPECT_EQ(busy.exit_code, 6) << busy.err;
  EXPECT_NE(busy.err.find("state " + state + " is in use by dxhub pid " + std::to_string(getpid()) + " on host"),
            std::string::npos)
      << busy.err;
  EXPECT_NE(busy.err.find("(test holder)"), std::string::npos) << busy.err;
  EXPECT_EQ(dxhub({"-c", config, "state"}).exit_code, 0);  // reading needs no lock

  // --wait: the holder lets go after a moment; the sync then runs.
  std::thread releaser([lock = std::move(held).value()]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    StateLock released = std::move(lock);
  });
  auto waited = dxhub({"-c", config, "sync", "--wait", "120", "--json"});
  releaser.join();
  ASSERT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(json::parse(waited.out)["totals"]["rows_delivered"], 300);
}

// Two real `dxhub sync` processes on one state: one runs, the other is
// refused at once (or, if the first is already done, runs and finds nothing
// new); with --wait both run, one after the other. Either way the province
// receives every row exactly once.
TEST_F(EndToEnd, TwoSyncsAtOnceDeliverEveryRowExactlyOnce) {
  sample::HouseholdOptions gen;
  gen.rows = 10000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  std::string config = write_config({{"sync", {{"batch_rows", 1000}}}});

  auto run_two = [&](const std::vector<std::string>& args) {
    testing::ProcessResult a, b;
    std::thread first([&] { a = dxhub(args); });
    std::thread second([&] { b = dxhub(args); });
    first.join();
    second.join();
    return std::make_pair(a, b);
  };
  auto [a, b] = run_two({"-c", config, "sync", "--json"});
  for (const auto* r : {&a, &b}) {
    EXPECT_TRUE(r->exit_code == 0 || r->exit_code == 6) << r->exit_code << r->err;
    if (r->exit_code == 6) {
      EXPECT_NE(r->err.find("is in use by dxhub pid"), std::string::npos) << r->err;
    }
  }
  EXPECT_TRUE(a.exit_code == 0 || b.exit_code == 0);
  std::cout << "[ measure  ] concurrent syncs exited " << a.exit_code << " and " << b.exit_code << "\n";
  json info = province_resource();
  EXPECT_EQ(info["rows_received"], 10000);
  EXPECT_EQ(info["records"], 10000);

  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 50;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());
  auto [c, d] = run_two({"-c", config, "sync", "--json", "--wait", "300"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(d.exit_code, 0) << d.err;
  json jc = json::parse(c.out), jd = json::parse(d.out);
  EXPECT_EQ(jc["totals"]["rows_read"].get<int64_t>() + jd["totals"]["rows_read"].get<int64_t>(), 150);
  info = province_resource();
  EXPECT_EQ(info["rows_received"], 10150);
  EXPECT_EQ(info["records"], 10050);
  expect_province_matches_source();
}

TEST_F(EndToEnd, DeadLetterLogNamesTheCountNeverTheValue) {
  sample::HouseholdOptions gen;
  gen.rows = 400;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET csrq = '1990-02-31' WHERE id IN (5, 6, 7)").is_ok());
  }
  start_province();
  auto r = dxhub({"-c", write_config(), "sync"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("3 rows dead-lettered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field birth_date (column csrq)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("1990-02-31"), std::string::npos) << r.err;  // the value stays in the state
  auto state = dxhub({"-c", write_config(), "state", "--json"});
  json s = json::parse(state.out);
  EXPECT_EQ(s["runs"][0]["status"], "ok_with_dead_letters");
  EXPECT_EQ(s["runs"][0]["resources"][0]["status"], "ok_with_dead_letters");
}

TEST_F(EndToEnd, DeadLetterThresholdsFailTheRunBeforeTheCursorMoves) {
  sample::HouseholdOptions gen;
  gen.rows = 500;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = '9' WHERE id IN (3, 30)").is_ok());
  }
  start_province();
  std::string state = (dir_ / "state.db").string();
  std::string strict = write_config({{"sync", {{"max_dead_letters", 1}}}});  // one 3000-row chunk
  json failed = sync_json(strict, 5);
  EXPECT_EQ(failed["totals"]["rows_delivered"], 0);
  std::string status = failed["resources"][0]["status"].get<std::string>();
  EXPECT_NE(status.find("failed: "), std::string::npos) << status;
  EXPECT_NE(status.find("dead-letter threshold"), std::string::npos) << status;
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM cursors WHERE cursor_json IS NOT NULL"), 0);  // never moved
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM dead_letters"), 0);  // the chunk was not kept

  // The ratio (default 10%, once 100 rows were read): 2 of 500 passes.
  json passed = sync_json(write_config(), 5);
  EXPECT_EQ(passed["totals"]["rows_read"], 500);  // re-read from the start
  EXPECT_EQ(passed["totals"]["rows_delivered"], 498);
  EXPECT_EQ(passed["resources"][0]["status"], "ok_with_dead_letters");

  // 60 more bad rows among 100 new ones: 60% > 10% fails, the cursor stays.
  sample::HouseholdChanges changes;
  changes.add = 100;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = '9' WHERE id > 500 AND id <= 560").is_ok());
  }
  std::string cursor_before = std::to_string(count_rows(state, "SELECT next_sequence FROM cursors"));
  json ratio = sync_json(write_config(), 5);
  EXPECT_NE(ratio["resources"][0]["status"].get<std::string>().find("max_dead_letter_ratio"), std::string::npos)
      << ratio.dump();
  EXPECT_EQ(ratio["totals"]["rows_delivered"], 0);
  EXPECT_EQ(std::to_string(count_rows(state, "SELECT next_sequence FROM cursors")), cursor_before);
}

TEST_F(EndToEnd, DeadLettersAreListedShownDiscardedAndReplayed) {
  sample::HouseholdOptions gen;
  gen.rows = 500;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET csrq = '1990-02-30' WHERE id = 7").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = '9' WHERE id = 11").is_ok());
  }
  start_province();
  std::string config = write_config();
  sync_json(config, 5);
  auto listed = dxhub({"-c", config, "dead-letters", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json letters = json::parse(listed.out);
  ASSERT_EQ(letters.size(), 2u);
  int64_t date_id = 0, gender_id = 0;
  for (const auto& l : letters) {
    EXPECT_EQ(l["state"], "open");
    (l["reason"].get<std::string>().find("gender") != std::string::npos ? gender_id : date_id) = l["id"].get<int64_t>();
  }
  ASSERT_GT(date_id, 0);
  ASSERT_GT(gender_id, 0);
  auto shown = dxhub({"-c", config, "dead-letters", "show", std::to_string(gender_id)});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  json one = json::parse(shown.out);
  EXPECT_EQ(one["row"]["xb"], "9");
  EXPECT_EQ(dxhub({"-c", config, "dead-letters", "show", "99999"}).exit_code, 2);

  // The mapping learns code 9; replay maps that row now, the bad date still fails.
  fs::path mappings = dir_ / "mappings";
  fs::copy(kMappings, mappings, fs::copy_options::recursive);
  fs::path mapping_file = mappings / "public_security" / "household_population.mapping.json";
  json m = json::parse(std::ifstream(mapping_file));
  for (auto& f : m["fields"]) {
    if (f["column"] == "xb") f["codes"]["9"] = "FEMALE";
  }
  std::ofstream(mapping_file) << m.dump(2);
  std::string fixed = write_config({{"mappings_dir", mappings.string()}});
  auto replay = dxhub({"-c", fixed, "dead-letters", "replay", "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  json replayed = json::parse(replay.out);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0]["replayed"], 1);
  EXPECT_EQ(replayed[0]["still_failing"], 1);
  auto discard = dxhub({"-c", fixed, "dead-letters", "discard", std::to_string(date_id), "--reason",
                        "date does not exist; agency informed"});
  ASSERT_EQ(discard.exit_code, 0) << discard.err;

  json delivered = sync_json(fixed);
  EXPECT_EQ(delivered["totals"]["rows_read"], 0);
  EXPECT_EQ(delivered["totals"]["rows_delivered"], 1);  // the replayed row
  EXPECT_EQ(province_resource()["records"], 499);
  auto held = client().get("/api/v1/resources/household_population/records?key=" + one["source_key"].get<std::string>());
  ASSERT_TRUE(held) << held.status().to_string();
  ASSERT_EQ((*held)["records"].size(), 1u);
  EXPECT_EQ((*held)["records"][0]["gender"], "FEMALE");

  json after = json::parse(dxhub({"-c", fixed, "dead-letters", "list", "--json"}).out);
  for (const auto& l : after) {
    EXPECT_EQ(l["state"], l["id"] == date_id ? "discarded" : "replayed") << l.dump();
    if (l["id"] == date_id) {
      EXPECT_EQ(l["state_reason"], "date does not exist; agency informed");
    }
  }
  json s = json::parse(dxhub({"-c", fixed, "state", "--json", "--runs", "10"}).out);
  std::set<std::string> commands;
  for (const auto& run : s["runs"]) commands.insert(run["command"].get<std::string>());
  EXPECT_TRUE(commands.count("dead-letters replay")) << s["runs"].dump();
  EXPECT_TRUE(commands.count("dead-letters discard")) << s["runs"].dump();
  EXPECT_EQ(s["dead_letters"][0]["count"], 0);
}

// A batch the province refuses for good (here: a body that is not Avro,
// with a digest that matches it) is counted across runs, quarantined, and
// the batches after it flow; the operator can list, retry and drop it.
TEST_F(EndToEnd, RefusedBatchIsQuarantinedAndTheOperatorRetriesOrDropsIt) {
  sample::HouseholdOptions gen;
  gen.rows = 1500;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  uint16_t port = port_ = unused_port();
  std::string state = (dir_ / "state.db").string();
  std::string config = write_config({{"sync", {{"batch_rows", 500}}}, {"delivery", {{"quarantine_after", 2}}}});
  EXPECT_EQ(dxhub({"-c", config, "sync"}).exit_code, 4);  // province down: 3 batches spooled
  {
    auto db = SqliteDb::open(state, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    auto poison = db->prepare("UPDATE outbox SET body = ?1, digest = ?2 WHERE sequence = 1");
    ASSERT_TRUE(poison);
    ASSERT_TRUE(poison->bind_text(1, "not avro at all").is_ok());
    ASSERT_TRUE(poison->bind_text(2, protocol::sha256_hex("not avro at all")).is_ok());
    ASSERT_TRUE(poison->run().is_ok());
  }
  start_province(port);
  json first = sync_json(config, 4);  // refusal 1 of 2: the run stops there, in order
  EXPECT_EQ(first["totals"]["rows_delivered"], 0);
  EXPECT_EQ(count_rows(state, "SELECT refusals FROM outbox WHERE sequence = 1"), 1);
  json second = sync_json(config, 4);  // refusal 2: quarantined, the other two delivered
  EXPECT_EQ(second["totals"]["rows_delivered"], 1000);
  EXPECT_EQ(second["resources"][0]["batches_quarantined"], 1);

  json s = json::parse(dxhub({"-c", config, "state", "--json"}).out);
  ASSERT_EQ(s["quarantine"].size(), 1u);
  EXPECT_EQ(s["quarantine"][0]["batches"], 1);
  EXPECT_NE(s["quarantine"][0]["reasons"][0]["reason"].get<std::string>().find("refused 2 times"), std::string::npos);
  auto listed = dxhub({"-c", config, "outbox", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json batches = json::parse(listed.out);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0]["state"], "quarantined");
  EXPECT_EQ(batches[0]["sequence"], 1);
  std::string id = batches[0]["batch_id"];

  ASSERT_EQ(dxhub({"-c", config, "outbox", "retry", "--all-quarantined"}).exit_code, 0);
  EXPECT_EQ(count_rows(state, "SELECT refusals + attempts FROM outbox WHERE batch_id = '" + id + "'"), 0);
  EXPECT_EQ(dxhub({"-c", config, "outbox", "drop", "no-such-batch", "--reason", "x"}).exit_code, 2);
  auto drop = dxhub({"-c", config, "outbox", "drop", id, "--reason", "rebuilt by hand, ticket 42"});
  ASSERT_EQ(drop.exit_code, 0) << drop.err;
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM outbox") + count_rows(state, "SELECT count(*) FROM quarantine"), 0);
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM runs WHERE command = 'outbox drop' AND summary_json LIKE "
                              "'%ticket 42%'"),
            1);
  EXPECT_EQ(count_rows(state, "SELECT count(*) FROM runs WHERE command = 'outbox retry'"), 1);
  EXPECT_EQ(province_resource()["rows_received"], 1000);
}

// sync.max_outbox_bytes smaller than one batch: reading waits for each
// batch to be delivered before the next chunk; everything arrives once.
TEST_F(EndToEnd, TinyOutboxBoundPausesReadingUntilDeliveryDrains) {
  sample::HouseholdOptions gen;
  gen.rows = 2000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  json run = sync_json(write_config({{"sync", {{"batch_rows", 250}, {"max_outbox_bytes", 1}}}}));
  EXPECT_EQ(run["totals"]["rows_delivered"], 2000);
  EXPECT_EQ(run["totals"]["batches"], 8);
  EXPECT_EQ(province_resource()["rows_received"], 2000);
  expect_province_matches_source();
}

// ... and with the province down, reading stops after the first batch:
// nothing dropped, the cursor only where the spool is; the next run
// delivers it and reads the rest.
TEST_F(EndToEnd, TinyOutboxBoundWithDeliveryStoppedStopsReading) {
  sample::HouseholdOptions gen;
  gen.rows = 2000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  uint16_t port = port_ = unused_port();
  std::string config = write_config({{"sync", {{"batch_rows", 500}, {"max_outbox_bytes", 1}}}});
  auto down = dxhub({"-c", config, "sync", "--json"});
  EXPECT_EQ(down.exit_code, 4) << down.err;
  json j = json::parse(down.out);
  EXPECT_EQ(j["totals"]["batches"], 1);
  EXPECT_NE(j["resources"][0]["read_status"].get<std::string>().find("max_outbox_bytes"), std::string::npos)
      << j.dump();
  std::string state = (dir_ / "state.db").string();
  EXPECT_EQ(count_rows(state, "SELECT sum(record_count) FROM outbox"), 500);
  start_province(port);
  json up = sync_json(config);
  EXPECT_EQ(up["totals"]["rows_read"], 1500);
  EXPECT_EQ(up["totals"]["rows_delivered"], 2000);
  EXPECT_EQ(province_resource()["rows_received"], 2000);
}

// Invalid UTF-8 in the cursor column: the row is dead-lettered, its cursor
// is stored with U+FFFD, and neither `sync` nor `state` aborts.
TEST_F(EndToEnd, InvalidUtf8InTheCursorDoesNotAbortSyncOrState) {
  sample::HouseholdOptions gen;
  gen.rows = 100;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET gxsj = CAST(x'323039392d30312d30312031303a30303a3030e4b8' "
                         "AS TEXT), xm = CAST(x'e5bca0e4' AS TEXT) WHERE id = 50")
                    .is_ok());
  }
  start_province();
  std::string config = write_config();
  auto r = dxhub({"-c", config, "sync", "--json"});
  EXPECT_EQ(r.exit_code, 5) << r.err;  // the damaged row is a dead letter, the rest delivered
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["totals"]["rows_delivered"], 99);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"state", "--json"}, {"state"}, {"dead-letters", "list"}, {"dead-letters", "list", "--json"}}) {
    std::vector<std::string> argv = {"-c", config};
    argv.insert(argv.end(), args.begin(), args.end());
    auto s = dxhub(argv);
    EXPECT_EQ(s.exit_code, 0) << args[0] << s.err;
  }
  // The connector carries a cursor value that is not UTF-8 exactly (as hex),
  // so the next run resumes after it instead of reading the row again.
  json s = json::parse(dxhub({"-c", config, "state", "--json"}).out);
  EXPECT_EQ(s["cursors"][0]["cursor"]["value"]["hex"], "323039392d30312d30312031303a30303a3030e4b8")
      << s["cursors"].dump(-1, ' ', false, json::error_handler_t::replace);
  auto again = dxhub({"-c", config, "sync", "--json"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["totals"]["rows_read"], 0);
}

// A full-refresh source (the household table through the snapshot fixture
// plugin: sqlite_table by key, "change_detection": "snapshot"): every run
// reads the whole table, only inserts, updates and deletes travel, deletes
// as tombstones; the province ends with exactly the source's rows. A run
// stopped mid-pass (dead-letter threshold) is continued by the next run
// without false deletes and without sending anything twice.
TEST_F(EndToEnd, FullRefreshSourceSendsOnlyChangesAndDeletes) {
  sample::HouseholdOptions gen;
  gen.rows = 2000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  json plugins = {{"plugins",
                   {{{"name", "snapshot_fixture"},
                     {"path", DXHUB_SNAPSHOT_FIXTURE_PLUGIN},
                     {"settings", {{"household_db", source_}}}}}},
                  {"sync", {{"batch_rows", 500}}}};
  std::string config = write_config(plugins);

  json first = sync_json(config);
  EXPECT_EQ(first["totals"]["rows_read"], 2000);
  EXPECT_EQ(first["totals"]["rows_delivered"], 2000);
  expect_province_matches_source();

  // Nothing changed: the whole table is read, nothing travels.
  json idle = sync_json(config);
  EXPECT_EQ(idle["totals"]["rows_read"], 2000);
  EXPECT_EQ(idle["totals"]["rows_delivered"], 0);
  EXPECT_EQ(idle["resources"][0]["rows_unchanged"], 2000);
  EXPECT_EQ(province_resource()["rows_received"], 2000);

  // Delete 25 rows, then change 30 and add 20 (of the rows left).
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DELETE FROM household_population WHERE id % 80 = 0").is_ok());
  }
  sample::HouseholdChanges changes;
  changes.change = 30;
  changes.add = 20;
  changes.timestamp = "2030-01-01 09:30:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());
  // Two bad rows in the table's last chunk stop the next run after its first chunks.
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE saved AS SELECT id, xb FROM household_population WHERE id IN (1801, 1802); "
                         "UPDATE household_population SET xb = '9' WHERE id IN (1801, 1802)")
                    .is_ok());
  }
  json strict_overrides = plugins;
  strict_overrides["sync"]["max_dead_letters"] = 1;
  json stopped = sync_json(write_config(strict_overrides), 5);
  EXPECT_NE(stopped["resources"][0]["status"].get<std::string>().find("dead-letter threshold"), std::string::npos);
  json mid = province_resource();
  EXPECT_EQ(mid["tombstones"], 0);  // no delete before the pass has read everything
  EXPECT_EQ(mid["records"], 2000);

  // Fixed: the next run continues the pass.
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = (SELECT xb FROM saved WHERE saved.id = "
                         "household_population.id) WHERE id IN (1801, 1802)")
                    .is_ok());
  }
  json second = sync_json(write_config(plugins));
  EXPECT_EQ(stopped["totals"]["rows_delivered"].get<int64_t>() + second["totals"]["rows_delivered"].get<int64_t>(),
            30 + 20 + 25);
  EXPECT_EQ(second["resources"][0]["deletes_spooled"], 25);
  EXPECT_EQ(second["resources"][0]["rows_deleted"], 25);
  expect_province_matches_source();  // exactly the source's rows: none missing, none extra
  json info = province_resource();
  EXPECT_EQ(info["records"], 2000 - 25 + 20);
  EXPECT_EQ(info["rows_received"], 2000 + 30 + 20 + 25);  // only the changes moved
  EXPECT_EQ(info["deletes_received"], 25);
  EXPECT_EQ(info["tombstones"], 25);
  auto kept = client().get("/api/v1/resources/household_population/records?deleted=1&limit=100");
  ASSERT_TRUE(kept) << kept.status().to_string();
  ASSERT_EQ((*kept)["records"].size(), 25u);
  EXPECT_EQ((*kept)["records"][0]["dxhub_op"], "DELETE");

  json quiet = sync_json(write_config(plugins));
  EXPECT_EQ(quiet["totals"]["rows_delivered"], 0);
  EXPECT_EQ(province_resource()["rows_received"], 2075);
}

}  // namespace
}  // namespace dxhub
