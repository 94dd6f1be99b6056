// `dxhub run`, the real binary as a daemon against the mock province on
// 127.0.0.1: schedules fire, signals stop and reload it, a one-shot sync is
// kept out, and a SIGTERM in the middle of a sync loses and repeats nothing.
// Intervals of one second keep it short; every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>

#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/common/sqlite_db.h"
#include "core/delivery/curl_handle.h"
#include "sandbox/sample/household_generator.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/subprocess.h"

namespace dxhub {
namespace {

using nlohmann::json;

class Daemon : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    source_ = (dir_ / "public_security.db").string();
  }

  void generate(int64_t rows) {
    sample::HouseholdOptions gen;
    gen.rows = rows;
    ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  }

  json config(const json& daemon_settings, int64_t batch_rows = 3000) const {
    json cfg = hub_config({{{"name", "public_security"},
                            {"path", testing::plugin_library("public_security")},
                            {"settings", {{"household_db", source_}}}}});
    cfg["daemon"] = daemon_settings;
    // No fixed port shared by tests running at once: off unless a test asks.
    if (!cfg["daemon"].contains("metrics_listen")) cfg["daemon"]["metrics_listen"] = "";
    cfg["sync"]["batch_rows"] = batch_rows;
    return cfg;
  }

  static json every_second() {
    return {{"jitter_seconds", 0}, {"shutdown_grace_seconds", 20}, {"metrics_listen", ""},
            {"schedules", {{"household_population", {{"every_seconds", 1}}}}}};
  }

  std::unique_ptr<testing::BackgroundProcess> start_daemon(const std::string& config_path,
                                                           const std::string& log_name = "daemon.log") {
    return std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{testing::kDxhubBinary, "-c", config_path, "run"},
        std::map<std::string, std::string>{{"DXHUB_TEST_SECRET", secret_}}, (dir_ / log_name).string());
  }

  // 0 until the province knows the resource.
  int64_t province_count(const char* field) {
    auto info = client().get("/api/v1/resources/household_population");
    return info && info->is_object() ? info->value(field, int64_t{0}) : 0;
  }

  // Polls the province until `field` reaches `want` (bounded).
  bool wait_for_province(const char* field, int64_t want, int timeout_seconds) {
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      if (province_count(field) >= want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // The metrics port the daemon logged ("metrics on http://127.0.0.1:PORT/metrics").
  static int metrics_port(testing::BackgroundProcess& daemon) {
    if (!daemon.wait_for_log("/metrics, health on /health", 1, 30)) return 0;
    const std::string log = daemon.log();
    const std::string marker = "metrics on http://127.0.0.1:";
    size_t at = log.find(marker);
    return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + marker.size());
  }

  // GET (or another method) on the daemon's metrics endpoint: {status, body}.
  static std::pair<long, std::string> http_get(int port, const std::string& path, const char* method = "GET") {
    std::pair<long, std::string> out{0, ""};
    auto easy = curl::make_easy_handle();
    if (!easy) return out;
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
    CURL* h = easy->get();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* body) {
      static_cast<std::string*>(body)->append(data, size * n);
      return size * n;
    });
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.second);
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.first);
    return out;
  }

  // The value of one sample line ("name{labels} value") of a Prometheus text.
  static double sample(const std::string& text, const std::string& series) {
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::atof(text.c_str() + at + 1 + series.size() + 1);
  }

  void expect_no_secret(const testing::BackgroundProcess& daemon) {
    EXPECT_EQ(daemon.log().find(secret_), std::string::npos);
  }

  std::string source_;
};

TEST_F(Daemon, RunsOnItsScheduleAndStopsCleanlyOnSigterm) {
  generate(2000);
  start_province();
  json settings = every_second();
  settings["metrics_listen"] = "127.0.0.1:0";
  const std::string cfg = write_config_file(config(settings));
  auto daemon = start_daemon(cfg);
  ASSERT_TRUE(daemon->wait_for_log("daemon: resource household_population: run ended: ok", 3, 60)) << daemon->log();
  EXPECT_EQ(province_count("records"), 2000);
  const int port = metrics_port(*daemon);
  ASSERT_GT(port, 0) << daemon->log();

  // Changes made while it runs arrive with the next runs, once.
  sample::HouseholdChanges changes;
  changes.change = 100;
  changes.add = 50;
  changes.timestamp = "2030-01-01 09:00:00";
  ASSERT_TRUE(sample::apply_household_changes(source_, changes).is_ok());
  ASSERT_TRUE(wait_for_province("rows_received", 2150, 60)) << daemon->log();
  ASSERT_TRUE(daemon->wait_for_log("run ended: ok", 6, 60));

  // The operator's view while it runs.
  auto [status, metrics] = http_get(port, "/metrics");
  ASSERT_EQ(status, 200) << metrics;
  const std::string r = "{resource=\"household_population\"}";
  EXPECT_EQ(sample(metrics, "dxhub_rows_read_total" + r), 2150) << metrics;
  EXPECT_EQ(sample(metrics, "dxhub_rows_delivered_total" + r), 2150) << metrics;
  EXPECT_EQ(sample(metrics, "dxhub_rows_rejected_total" + r), 0);
  EXPECT_EQ(sample(metrics, "dxhub_outbox_batches" + r), 0);
  EXPECT_EQ(sample(metrics, "dxhub_update_cycle_seconds" + r), 1);
  EXPECT_GE(sample(metrics, "dxhub_runs_total{resource=\"household_population\",status=\"ok\"}"), 6);
  EXPECT_EQ(sample(metrics, "dxhub_circuit_state{resource=\"household_population\",state=\"closed\"}"), 1);
  EXPECT_EQ(sample(metrics, "dxhub_plugin_loaded{plugin=\"public_security\"}"), 1);
  EXPECT_GE(sample(metrics, "dxhub_upload_duration_seconds_count" + r), 2);
  EXPECT_EQ(sample(metrics, "dxhub_upload_duration_seconds_bucket{resource=\"household_population\",le=\"+Inf\"}"),
            sample(metrics, "dxhub_upload_duration_seconds_count" + r));
  EXPECT_GE(sample(metrics, "dxhub_source_lag_seconds" + r), 0);
  EXPECT_NE(metrics.find("# TYPE dxhub_upload_duration_seconds histogram"), std::string::npos);
  auto health = http_get(port, "/health");
  ASSERT_EQ(health.first, 200);
  EXPECT_EQ(json::parse(health.second)["status"], "ok") << health.second;
  EXPECT_EQ(http_get(port, "/metrics", "POST").first, 405);
  EXPECT_EQ(http_get(port, "/state").first, 404);

  daemon->signal(SIGTERM);
  auto exit_code = daemon->wait(30);
  ASSERT_TRUE(exit_code) << daemon->log();
  EXPECT_EQ(*exit_code, 0) << daemon->log();
  EXPECT_NE(daemon->log().find("daemon: stopped"), std::string::npos);
  EXPECT_EQ(province_count("records"), 2050);
  EXPECT_EQ(province_count("rows_received"), 2150);  // nothing sent twice
  expect_no_secret(*daemon);

  // Its runs are in the run history as "run".
  auto state = dxhub({"-c", cfg, "state", "--json", "--runs", "3"});
  ASSERT_EQ(state.exit_code, 0) << state.err;
  json report = json::parse(state.out);
  ASSERT_FALSE(report["runs"].empty());
  EXPECT_EQ(report["runs"][0]["command"], "run");
  // ... and `dxhub state` shows each resource's schedule, last and next run.
  ASSERT_EQ(report["schedules"].size(), 1u) << report.dump();
  EXPECT_EQ(report["schedules"][0]["resource"], "household_population");
  EXPECT_EQ(report["schedules"][0]["schedule"], "every 1 s");
  EXPECT_NE(report["schedules"][0]["last_run"], "");
  EXPECT_NE(report["schedules"][0]["next_run"], "");
  auto text = dxhub({"-c", cfg, "state"});
  EXPECT_NE(text.out.find("schedules (dxhub run):\n  household_population  every 1 s  last run 20"), std::string::npos)
      << text.out;
}

TEST_F(Daemon, OneShotSyncIsRefusedWhileTheDaemonHoldsTheState) {
  generate(500);
  start_province();
  const std::string cfg = write_config_file(config(every_second()));
  auto daemon = start_daemon(cfg);
  ASSERT_TRUE(daemon->wait_for_log("run ended", 1, 60)) << daemon->log();
  auto one_shot = dxhub({"-c", cfg, "sync"});
  EXPECT_EQ(one_shot.exit_code, 6) << one_shot.err;
  EXPECT_NE(one_shot.err.find("(run)"), std::string::npos) << one_shot.err;
  // A second daemon is refused the same way.
  auto second = dxhub({"-c", cfg, "run"});
  EXPECT_EQ(second.exit_code, 6) << second.err;
  daemon->signal(SIGINT);
  ASSERT_EQ(daemon->wait(30).value_or(-2), 0) << daemon->log();
  // Once it is gone the one-shot sync works.
  EXPECT_EQ(dxhub({"-c", cfg, "sync"}).exit_code, 0);
}

TEST_F(Daemon, SighupWithABrokenConfigKeepsTheOldOneAndAGoodOneIsTaken) {
  generate(500);
  start_province();
  const json good = config(every_second());
  const std::string cfg = write_config_file(good);
  auto daemon = start_daemon(cfg);
  ASSERT_TRUE(daemon->wait_for_log("run ended", 1, 60)) << daemon->log();

  const std::string broken_configs[] = {
      "{ not json",
      config({{"schedules", {{"household_population", {{"cron", "61 * * * *"}}}}}}).dump(),
      config({{"schedules", {{"no_such_resource", {{"every_seconds", 5}}}}}}).dump()};
  int refused = 0;
  for (const std::string& broken : broken_configs) {
    std::ofstream(cfg) << broken;
    daemon->signal(SIGHUP);
    ASSERT_TRUE(daemon->wait_for_log("reload refused, keeping the running configuration", ++refused, 30))
        << daemon->log();
  }
  const std::string log = daemon->log();
  EXPECT_NE(log.find("minute: 61 is out of range"), std::string::npos) << log;
  EXPECT_NE(log.find("daemon.schedules.no_such_resource"), std::string::npos) << log;
  // Still running on the old configuration: more runs come.
  ASSERT_TRUE(daemon->wait_for_log("run ended", daemon->log_count("run ended") + 2, 30)) << daemon->log();

  // A good new configuration is taken: the resource becomes manual.
  json manual = good;
  manual["daemon"]["schedules"]["household_population"] = {{"manual", true}};
  write_config_file(manual);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(daemon->wait_for_log("daemon: reloaded: 1 resources", 1, 30)) << daemon->log();
  // "never (manual)", or "after the running one" when the SIGHUP came mid-run.
  EXPECT_TRUE(daemon->wait_for_log("household_population: manual; next run ", 1, 10)) << daemon->log();
  // Manual means no more runs: a run in flight at the reload ends, none starts after it.
  const int started = daemon->log_count("sync started");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // three 1-second slots of the old schedule
  EXPECT_EQ(daemon->log_count("sync started"), started) << daemon->log();
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(30).value_or(-2), 0) << daemon->log();
}

TEST_F(Daemon, SigtermMidSyncThenRestartLosesAndRepeatsNothing) {
  generate(20000);
  province::FaultSettings slow;
  slow.latency_ms = 150;  // each upload takes a while: SIGTERM lands mid-sync
  start_province(0, "province.db", slow);
  json cfg_json = config(every_second(), 500);
  cfg_json["sync"]["max_outbox_bytes"] = 150000;  // reading keeps pace with delivery: SIGTERM finds both mid-way
  const std::string cfg = write_config_file(cfg_json);
  auto daemon = start_daemon(cfg);
  ASSERT_TRUE(wait_for_province("rows_received", 1000, 60)) << daemon->log();
  daemon->signal(SIGTERM);
  auto exit_code = daemon->wait(40);
  ASSERT_TRUE(exit_code) << daemon->log();
  EXPECT_EQ(*exit_code, 0) << daemon->log();
  EXPECT_NE(daemon->log().find("stop requested"), std::string::npos) << daemon->log();
  const int64_t after_stop = province_count("rows_received");
  EXPECT_LT(after_stop, 20000);  // it did stop in the middle
  EXPECT_NE(daemon->log().find("run ended: ok (stopped for shutdown"), std::string::npos) << daemon->log();

  auto again = start_daemon(cfg, "daemon2.log");
  ASSERT_TRUE(wait_for_province("records", 20000, 120)) << again->log();
  ASSERT_TRUE(again->wait_for_log("run ended: ok", 2, 60)) << again->log();
  again->signal(SIGTERM);
  ASSERT_EQ(again->wait(40).value_or(-2), 0) << again->log();
  EXPECT_EQ(province_count("records"), 20000);
  EXPECT_EQ(province_count("rows_received"), 20000);  // every row once: none lost, none repeated
}

// The province is down when the daemon's only sync of the hour runs: the
// batches stay spooled, the circuit opens after two failed deliveries (so the
// daemon stops hammering the province), half-open probes follow, and once
// the province is back the outbox drains between runs -- no new sync needed.
TEST_F(Daemon, SpooledBatchesDrainBetweenRunsAndAFailingProvinceIsPaused) {
  generate(3000);
  port_ = unused_port();
  json settings = {{"jitter_seconds", 0},
                   {"shutdown_grace_seconds", 20},
                   {"delivery_check_seconds", 1},
                   {"circuit_failures", 2},
                   {"circuit_open_seconds", 2},
                   {"circuit_max_open_seconds", 4},
                   {"metrics_listen", "127.0.0.1:0"},
                   {"schedules", {{"household_population", {{"every_seconds", 3600}}}}}};
  const std::string cfg = write_config_file(config(settings, 1000));
  auto daemon = start_daemon(cfg);
  ASSERT_TRUE(daemon->wait_for_log("run ended", 1, 60)) << daemon->log();
  ASSERT_TRUE(daemon->wait_for_log("(circuit open", 1, 30)) << daemon->log();
  const int port = metrics_port(*daemon);
  ASSERT_GT(port, 0);
  auto health = http_get(port, "/health");
  EXPECT_EQ(json::parse(health.second)["status"], "degraded") << health.second;
  EXPECT_EQ(json::parse(health.second)["delivery_paused"][0], "household_population") << health.second;
  EXPECT_GT(sample(http_get(port, "/metrics").second, "dxhub_outbox_batches{resource=\"household_population\"}"), 0);
  // Over the next six seconds: without the breaker a drain a second (six or
  // more attempts); with it, the pauses of 2 then 4 s leave at most two probes.
  auto failed_attempts = [&] { return daemon->log_count("delivery stopped"); };
  const int before = failed_attempts();
  std::this_thread::sleep_for(std::chrono::seconds(6));
  EXPECT_LE(failed_attempts() - before, 3) << daemon->log();
  EXPECT_GE(failed_attempts(), 2);

  start_province(port_);
  ASSERT_TRUE(wait_for_province("records", 3000, 60)) << daemon->log();
  EXPECT_TRUE(daemon->wait_for_log("delivery works again (circuit closed)", 1, 10)) << daemon->log();
  EXPECT_EQ(sample(http_get(port, "/metrics").second,
                   "dxhub_circuit_state{resource=\"household_population\",state=\"closed\"}"),
            1);
  EXPECT_NE(daemon->log().find("between runs"), std::string::npos) << daemon->log();
  // One sync read the source; delivery alone did the rest.
  EXPECT_FALSE(daemon->wait_for_log("sync started", 2, 1)) << daemon->log();
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(30).value_or(-2), 0) << daemon->log();
  EXPECT_EQ(province_count("rows_received"), 3000);
}

// An upload that outlasts the shutdown grace: the daemon exits 0 at the
// bound without waiting for it; the province may have stored that batch
// without the hub recording its receipt, and the next start delivers the
// rest without any row counted twice.
TEST_F(Daemon, GraceExpiringMidUploadExitsZeroAndTheNextStartCompletes) {
  generate(3000);
  province::FaultSettings slow;
  slow.latency_ms = 2500;
  start_province(0, "province.db", slow);
  json settings = every_second();
  settings["shutdown_grace_seconds"] = 1;
  json cfg_json = config(settings, 1000);
  cfg_json["log_level"] = "debug";  // to see the first receipt
  const std::string cfg = write_config_file(cfg_json);
  auto daemon = start_daemon(cfg);
  // The first of three slow uploads is acknowledged: the second is under way.
  ASSERT_TRUE(daemon->wait_for_log("delivered, 1000 records", 1, 60)) << daemon->log();
  const auto stop_sent = std::chrono::steady_clock::now();
  daemon->signal(SIGTERM);
  auto exit_code = daemon->wait(20);
  ASSERT_TRUE(exit_code) << daemon->log();
  EXPECT_EQ(*exit_code, 0) << daemon->log();
  EXPECT_NE(daemon->log().find("runs still going after 1 s"), std::string::npos) << daemon->log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, std::chrono::seconds(10));  // bounded, not the whole sync

  province_->set_faults({});  // fast again
  auto again = start_daemon(cfg, "daemon2.log");
  ASSERT_TRUE(wait_for_province("records", 3000, 60)) << again->log();
  again->signal(SIGTERM);
  ASSERT_EQ(again->wait(30).value_or(-2), 0) << again->log();
  EXPECT_EQ(province_count("records"), 3000);
  EXPECT_EQ(province_count("rows_received"), 3000);
}

}  // namespace
}  // namespace dxhub
