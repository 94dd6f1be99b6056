// Push ingest through the real `dxhub run`: events posted, signed, to the
// hub's endpoint reach the mock province exactly once -- with the province
// failing, timing out and losing answers, and across a SIGTERM and a SIGKILL
// of the daemon -- and a one-shot `dxhub sync` delivers what a stopped
// daemon left staged. Everything on 127.0.0.1; every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/subprocess.h"
#include "tests/ingest/ingest_records.h"
#include "tests/ingest/signed_post.h"

namespace dxhub {
namespace {

using nlohmann::json;

constexpr const char* kTarget = "/api/v1/ingest/household_population";

class PushIngest : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    ingest_secret_ = protocol::random_hex(32);
  }

  json config(int64_t linger_ms = 100, int64_t batch_rows = 200) const {
    json cfg = hub_config({{{"name", "public_security"},
                            {"path", testing::plugin_library("public_security")},
                            {"settings", {{"household_db", (dir_ / "unused.db").string()}}},
                            {"sources", {{"household_population", {{"connector", "push"}, {"settings", json::object()}}}}}}});
    cfg["daemon"] = {{"metrics_listen", "127.0.0.1:0"},
                     {"delivery_check_seconds", 1},
                     {"circuit_failures", 3},
                     {"circuit_open_seconds", 1},
                     {"circuit_max_open_seconds", 2},
                     {"shutdown_grace_seconds", 20}};
    cfg["ingest"] = {{"listen", "127.0.0.1:0"},
                     {"linger_ms", linger_ms},
                     {"batch_rows", batch_rows},
                     {"app_keys", {{{"app_key", "gaj-push"}, {"plugin", "public_security"},
                                    {"secret_env", "DXHUB_TEST_INGEST"}}}}};
    return cfg;
  }

  std::unique_ptr<testing::BackgroundProcess> start_daemon(const std::string& cfg, const std::string& log) {
    return std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{testing::kDxhubBinary, "-c", cfg, "run"},
        std::map<std::string, std::string>{{"DXHUB_TEST_SECRET", secret_}, {"DXHUB_TEST_INGEST", ingest_secret_}},
        (dir_ / log).string());
  }

  // The port the daemon logged for a marker "...http://127.0.0.1:PORT/...".
  static int logged_port(testing::BackgroundProcess& daemon, const std::string& marker) {
    if (!daemon.wait_for_log(marker, 1, 30)) return 0;
    const std::string log = daemon.log();
    size_t at = log.rfind(marker);
    return std::atoi(log.c_str() + at + marker.size());
  }

  // Posts until answered 200 (a fresh signature per attempt, the same
  // post_id and body); false when not accepted within the bound.
  bool post_until_accepted(int port, const json& records, const std::string& post_id, int max_attempts = 200) {
    testing::SignedPost p;
    p.port = static_cast<uint16_t>(port);
    p.target = std::string(kTarget) + "?post_id=" + post_id;
    p.body = json{{"records", records}}.dump();
    p.app_key = "gaj-push";
    p.secret = ingest_secret_;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      auto answer = send_signed_post(p);
      if (answer.status == 200) return true;
      if (answer.status >= 400 && answer.status < 500 && answer.status != 429) {
        ADD_FAILURE() << "post " << post_id << " refused: " << answer.status << " " << answer.body;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  bool wait_for_rows_received(int64_t want, int timeout_seconds) {
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      auto info = client().get("/api/v1/resources/household_population");
      if (info && info->is_object() && info->value("rows_received", int64_t{0}) >= want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // The events: person i is registered, then every third one changes
  // address and every fifth dies, in posts of 1 to 4 records. With two
  // clients, client k posts the people with i % 2 == k (`client` of each
  // post): one person's events keep their order, as from one agency system.
  struct Events {
    std::vector<json> posts;
    std::vector<int> client;
    std::map<std::string, json> last;  // id_card -> the last state posted
    int64_t records = 0;
  };
  static Events make_events(int64_t people, int clients = 1) {
    Events e;
    std::vector<json> open(static_cast<size_t>(clients), json::array());
    auto add = [&](int64_t i, json record) {
      const int k = static_cast<int>(i % clients);
      e.last[record["gmsfhm"].get<std::string>()] = record;
      open[k].push_back(std::move(record));
      ++e.records;
      if (open[k].size() >= static_cast<size_t>(1 + e.posts.size() % 4)) {
        e.posts.push_back(std::move(open[k]));
        e.client.push_back(k);
        open[k] = json::array();
      }
    };
    for (int64_t i = 0; i < people; ++i) add(i, testing::person(i));
    for (int64_t i = 0; i < people; i += 3) {
      json moved = testing::person(i);
      moved["hjdz"] = "湖北省大冶市新址" + std::to_string(i) + "号";
      add(i, moved);
    }
    for (int64_t i = 0; i < people; i += 5) {
      json died = e.last[testing::person(i)["gmsfhm"].get<std::string>()];
      died["ryzt"] = "3";
      add(i, died);
    }
    for (int k = 0; k < clients; ++k) {
      if (open[k].empty()) continue;
      e.posts.push_back(open[k]);
      e.client.push_back(k);
    }
    return e;
  }

  void expect_province_holds(const Events& events) {
    auto records = province_records("household_population", "id_card");
    ASSERT_EQ(records.size(), events.last.size());
    for (const auto& [id, want] : events.last) {
      const json& got = records[id];
      EXPECT_EQ(testing::unwrap_union(got["registered_address"]), want["hjdz"]) << "record " << id.size();
      const char* status = want["ryzt"] == "3" ? "DECEASED" : "NORMAL";
      EXPECT_EQ(got["status"], status);
    }
    auto info = province_resource("household_population");
    EXPECT_EQ(info.value("rows_received", int64_t{0}), events.records) << "rows delivered twice (or lost)";
  }

  std::string ingest_secret_;
};

TEST_F(PushIngest, EventsReachTheProvinceExactlyOnceWhileItFails) {
  province::FaultSettings faults;
  faults.error_5xx = 0.15;
  faults.lose_response = 0.15;
  faults.drop = 0.05;
  faults.latency_ms = 5;
  start_province(0, "province.db", faults);
  const std::string cfg = write_config_file(config());
  auto daemon = start_daemon(cfg, "daemon.log");
  const int port = logged_port(*daemon, "push endpoint on http://127.0.0.1:");
  ASSERT_GT(port, 0) << daemon->log();
  const int metrics = logged_port(*daemon, "metrics on http://127.0.0.1:");

  Events events = make_events(400, 2);
  // Two agency connections posting at once.
  std::atomic<int> accepted{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&, t] {
      for (size_t i = 0; i < events.posts.size(); ++i) {
        if (events.client[i] != t) continue;
        if (post_until_accepted(port, events.posts[i], "e-" + std::to_string(i))) ++accepted;
      }
    });
  }
  for (auto& th : posters) th.join();
  ASSERT_EQ(accepted.load(), static_cast<int>(events.posts.size()));
  ASSERT_TRUE(wait_for_rows_received(events.records, 120)) << daemon->log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // nothing more may come
  expect_province_holds(events);

  // The operator's view: every accepted record's latency was observed.
  auto easy = curl::make_easy_handle();
  ASSERT_TRUE(easy);
  std::string text;
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics) + "/metrics";
  curl_easy_setopt(easy->get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy->get(), CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(easy->get(), CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
    static_cast<std::string*>(out)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(easy->get(), CURLOPT_WRITEDATA, &text);
  ASSERT_EQ(curl_easy_perform(easy->get()), CURLE_OK);
  EXPECT_NE(text.find("dxhub_ingest_records_total{resource=\"household_population\"} " +
                      std::to_string(events.records) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dxhub_ingest_event_latency_seconds_count " + std::to_string(events.records) + "\n"),
            std::string::npos)
      << text;

  daemon->signal(SIGTERM);
  auto code = daemon->wait(30);
  ASSERT_TRUE(code) << daemon->log();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(daemon->log().find(ingest_secret_), std::string::npos);
  EXPECT_EQ(daemon->log().find(events.last.begin()->first), std::string::npos) << "an ID number in the log";
}

TEST_F(PushIngest, KillsAndStopsWhilePostingLoseAndRepeatNothing) {
  start_province();
  const std::string cfg = write_config_file(config(/*linger_ms=*/300, /*batch_rows=*/50));
  Events events = make_events(300);
  std::atomic<size_t> next{0};
  std::atomic<bool> done{false};
  std::atomic<int> port{0};
  std::atomic<int> failed{0};
  std::thread poster([&] {
    while (next < events.posts.size()) {
      const size_t i = next;
      int p = port.load();
      bool ok = false;
      for (int attempt = 0; attempt < 600 && !ok; ++attempt) {  // bounded: ~60 s of a stopped hub
        p = port.load();
        if (p != 0) {
          testing::SignedPost sp;
          sp.port = static_cast<uint16_t>(p);
          sp.target = std::string(kTarget) + "?post_id=k-" + std::to_string(i);
          sp.body = json{{"records", events.posts[i]}}.dump();
          sp.app_key = "gaj-push";
          sp.secret = ingest_secret_;
          ok = send_signed_post(sp).status == 200;
        }
        if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!ok) ++failed;
      next = i + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    done = true;
  });
  // Three lives: SIGKILL, SIGTERM, then run to the end.
  for (int life = 0; life < 3; ++life) {
    auto daemon = start_daemon(cfg, "daemon" + std::to_string(life) + ".log");
    const int p = logged_port(*daemon, "push endpoint on http://127.0.0.1:");
    ASSERT_GT(p, 0) << daemon->log();
    port = p;
    if (life == 2) {
      for (int i = 0; i < 900 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ASSERT_TRUE(done);
      ASSERT_TRUE(wait_for_rows_received(events.records, 60)) << daemon->log();
      daemon->signal(SIGTERM);
      ASSERT_TRUE(daemon->wait(30));
      break;
    }
    const size_t before = next;
    for (int i = 0; i < 300 && next < before + events.posts.size() / 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    port = 0;
    daemon->signal(life == 0 ? SIGKILL : SIGTERM);
    auto code = daemon->wait(30);
    ASSERT_TRUE(code) << daemon->log();
    if (life == 1) {
      EXPECT_EQ(*code, 0) << daemon->log();
    }
  }
  poster.join();
  EXPECT_EQ(failed.load(), 0);
  expect_province_holds(events);
}

TEST_F(PushIngest, AOneShotSyncDeliversWhatAStoppedDaemonLeftStaged) {
  start_province();
  const std::string cfg = write_config_file(config(/*linger_ms=*/60000, /*batch_rows=*/100000));
  auto daemon = start_daemon(cfg, "daemon.log");
  const int port = logged_port(*daemon, "push endpoint on http://127.0.0.1:");
  ASSERT_GT(port, 0) << daemon->log();
  Events events = make_events(30);
  for (size_t i = 0; i < events.posts.size(); ++i) ASSERT_TRUE(post_until_accepted(port, events.posts[i], "s-" + std::to_string(i)));
  daemon->signal(SIGKILL);  // staged, not batched (the linger is a minute)
  ASSERT_TRUE(daemon->wait(30));
  auto state = dxhub({"-c", cfg, "state", "--json"});
  ASSERT_EQ(state.exit_code, 0) << state.err;
  json report = json::parse(state.out);
  ASSERT_TRUE(report.contains("staged")) << report.dump();
  EXPECT_EQ(report["staged"][0]["records"], events.records);

  json summary = sync_json(cfg);
  EXPECT_EQ(summary["totals"]["rows_delivered"], events.records) << summary.dump();
  expect_province_holds(events);
  // Nothing is left to send twice.
  json again = sync_json(cfg);
  EXPECT_EQ(again["totals"]["rows_delivered"], 0);
  expect_province_holds(events);
}

TEST_F(PushIngest, ReloadTakesUpNewAppKeysAndABadOneIsRefused) {
  start_province();
  json cfg_json = config();
  const std::string cfg = write_config_file(cfg_json);
  auto daemon = start_daemon(cfg, "daemon.log");
  int port = logged_port(*daemon, "push endpoint on http://127.0.0.1:");
  ASSERT_GT(port, 0) << daemon->log();
  ASSERT_TRUE(post_until_accepted(port, json::array({testing::person(1)}), "r-1"));

  // The agency's key is rotated: a new key name, the secret from a file.
  const std::string new_secret = protocol::random_hex(32);
  std::ofstream((dir_ / "gaj.secret").string()) << new_secret << "\n";
  cfg_json["ingest"]["app_keys"] = {{{"app_key", "gaj-push-2"}, {"plugin", "public_security"},
                                     {"secret_file", (dir_ / "gaj.secret").string()}}};
  write_config_file(cfg_json);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(daemon->wait_for_log("push endpoint on http://127.0.0.1:", 2, 30)) << daemon->log();
  port = logged_port(*daemon, "push endpoint on http://127.0.0.1:");
  testing::SignedPost p;
  p.port = static_cast<uint16_t>(port);
  p.target = std::string(kTarget) + "?post_id=r-2";
  p.body = json{{"records", json::array({testing::person(2)})}}.dump();
  p.app_key = "gaj-push";
  p.secret = ingest_secret_;
  auto old_key = send_signed_post(p);
  EXPECT_EQ(old_key.status, 401) << old_key.body;
  p.app_key = "gaj-push-2";
  p.secret = new_secret;
  auto new_key = send_signed_post(p);
  EXPECT_EQ(new_key.status, 200) << new_key.body;

  // A reload that would leave a key without a secret is refused: the running endpoint stays.
  cfg_json["ingest"]["app_keys"][0]["secret_file"] = (dir_ / "missing.secret").string();
  write_config_file(cfg_json);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(daemon->wait_for_log("reload refused", 1, 30)) << daemon->log();
  p.target = std::string(kTarget) + "?post_id=r-3";
  p.body = json{{"records", json::array({testing::person(3)})}}.dump();
  EXPECT_EQ(send_signed_post(p).status, 200);
  ASSERT_TRUE(wait_for_rows_received(3, 30));
  daemon->signal(SIGTERM);
  ASSERT_TRUE(daemon->wait(30));
  EXPECT_EQ(daemon->log().find(new_secret), std::string::npos);
}

}  // namespace
}  // namespace dxhub
