// What every end-to-end test needs: a temporary directory, the mock province
// in-process on a loopback port with credentials made for the test, a hub
// config written to disk, the real dxhub binary run with a time limit (and
// checked never to print the secret), and the province's records read back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/delivery/province_client.h"
#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "tests/e2e/subprocess.h"

namespace dxhub::testing {

inline const std::string kDxhubBinary = std::string(DXHUB_BINARY_DIR) + "/bin/dxhub";
inline const std::string kMappingsDir = std::string(DXHUB_SOURCE_DIR) + "/mappings";

inline std::string plugin_library(const std::string& agency) {
  return std::string(DXHUB_BINARY_DIR) + "/plugins/libdxhub_" + agency + ".so";
}

// avro-c renders a union value as {"branch": value}; unwrap it.
inline nlohmann::json unwrap_union(const nlohmann::json& v) {
  if (v.is_object() && v.size() == 1) return v.begin().value();
  return v;
}

class HubFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("dxhub_e2e_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    app_key_ = "e2e-" + protocol::random_hex(4);
    secret_ = protocol::random_hex(32);
  }

  void TearDown() override {
    stop_province();
    std::filesystem::remove_all(dir_);
  }

  // Starts the province on `port` (0: ephemeral) with its own database file.
  void start_province(uint16_t port = 0, const std::string& db_name = "province.db",
                      const province::FaultSettings& faults = {}) {
    province::ProvinceConfig cfg;
    cfg.faults = faults;
    cfg.port = port;
    cfg.db_path = (dir_ / db_name).string();
    cfg.credentials[app_key_] = province::AppCredential{secret_};
    province_ = std::make_unique<province::ProvinceServer>(cfg);
    ASSERT_TRUE(province_->start().is_ok());
    port_ = province_->port();
  }

  void stop_province() {
    if (province_) province_->stop();
    province_.reset();
  }

  // A loopback port with nothing listening on it (a province that is down).
  uint16_t unused_port() {
    start_province();
    uint16_t port = port_;
    stop_province();
    return port;
  }

  // A hub config for the province started above, with these plugins.
  nlohmann::json hub_config(const nlohmann::json& plugins, const std::string& state_name = "state.db") const {
    return {{"state_db", (dir_ / state_name).string()},
            {"mappings_dir", kMappingsDir},
            {"log_level", "info"},
            {"province",
             {{"url", "http://127.0.0.1:" + std::to_string(port_)},
              {"app_key", app_key_},
              {"app_secret_env", "DXHUB_TEST_SECRET"},
              {"signature_method", "HMAC-SM3"},
              {"max_attempts", 2},
              {"backoff_initial_ms", 10},
              {"connect_timeout_ms", 2000},
              {"request_timeout_ms", 20000}}},
            {"sync", {{"batch_rows", 3000}, {"codec", "snappy"}}},
            {"plugins", plugins}};
  }

  std::string write_config_file(const nlohmann::json& cfg, const std::string& name = "dxhub.json") const {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << cfg.dump(2);
    return path;
  }

  ProcessResult dxhub(const std::vector<std::string>& args,
                      std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {kDxhubBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    env["DXHUB_TEST_SECRET"] = secret_;
    auto r = run_process(argv, env, 300);
    // The secret must never show up in anything the hub prints.
    EXPECT_EQ(r.out.find(secret_), std::string::npos);
    EXPECT_EQ(r.err.find(secret_), std::string::npos);
    return r;
  }

  nlohmann::json sync_json(const std::string& config, int expected_exit = 0) {
    auto r = dxhub({"-c", config, "sync", "--json"});
    EXPECT_EQ(r.exit_code, expected_exit) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  ProvinceClient client() const {
    ProvinceConfig pc;
    pc.base_url = "http://127.0.0.1:" + std::to_string(port_);
    pc.app_key = app_key_;
    pc.app_secret = secret_;
    return ProvinceClient(pc);
  }

  // Every current record the province holds for `resource`, by `key_field`.
  std::map<std::string, nlohmann::json> province_records(const std::string& resource, const std::string& key_field) {
    std::map<std::string, nlohmann::json> out;
    auto c = client();
    for (int offset = 0;; offset += 5000) {
      auto page = c.get("/api/v1/resources/" + resource + "/records?offset=" + std::to_string(offset) +
                        "&limit=5000");
      EXPECT_TRUE(page) << page.status().to_string();
      if (!page || (*page)["records"].empty()) break;
      for (const auto& r : (*page)["records"]) out[r[key_field].get<std::string>()] = r;
      if (offset > 1'000'000) break;  // bounded
    }
    return out;
  }

  nlohmann::json province_resource(const std::string& resource) {
    auto info = client().get("/api/v1/resources/" + resource);
    EXPECT_TRUE(info) << info.status().to_string();
    return info ? *info : nlohmann::json();
  }

  std::filesystem::path dir_;
  std::string app_key_;
  std::string secret_;
  uint16_t port_ = 0;
  std::unique_ptr<province::ProvinceServer> province_;
};

}  // namespace dxhub::testing
