#include "core/engine/hub_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class HubConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dxhub_hub_config_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ::setenv("DXHUB_CONFIG_TEST_SECRET", "s3cret-value", 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  json minimal() const {
    return {{"province", {{"url", "http://127.0.0.1:1"}, {"app_key", "k"}, {"app_secret_env", "DXHUB_CONFIG_TEST_SECRET"}}},
            {"plugins", {{{"name", "public_security"}, {"path", "plugins/libx.so"}, {"settings", {{"household_db", "src/h.db"}}}}}}};
  }

  Expected<HubConfig> load(const json& doc) {
    std::string path = (dir_ / "dxhub.json").string();
    std::ofstream(path) << doc.dump();
    return load_hub_config(path);
  }

  fs::path dir_;
};

TEST_F(HubConfigTest, DefaultsAndPathsRelativeToTheFile) {
  auto cfg = load(minimal());
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_EQ(cfg->sync.codec, "snappy");
  EXPECT_EQ(cfg->sync.batch_rows, 50000);
  EXPECT_EQ(cfg->sync.encoder, RecordEncoder::kCompiled);
  EXPECT_EQ(cfg->province.app_secret, "s3cret-value");
  EXPECT_EQ(cfg->province.method, protocol::SignatureMethod::kHmacSha256);
  EXPECT_EQ(cfg->state_db, (dir_ / "var/dxhub-state.db").string());
  ASSERT_EQ(cfg->plugins.size(), 1u);
  EXPECT_EQ(cfg->plugins[0].path, (dir_ / "plugins/libx.so").string());
  EXPECT_EQ(cfg->plugins[0].settings["household_db"], (dir_ / "src/h.db").string());
}

TEST_F(HubConfigTest, LogFormatIsTextByDefaultJsonOnRequestAndNothingElse) {
  auto plain = load(minimal());
  ASSERT_TRUE(plain) << plain.status().to_string();
  EXPECT_EQ(plain->log_format, LogFormat::kText);
  json doc = minimal();
  doc["log_format"] = "json";
  auto json_lines = load(doc);
  ASSERT_TRUE(json_lines) << json_lines.status().to_string();
  EXPECT_EQ(json_lines->log_format, LogFormat::kJson);
  doc["log_format"] = "JSON";
  auto refused = load(doc);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kConfig);
  EXPECT_NE(refused.status().message().find("log_format"), std::string::npos) << refused.status().message();
}

TEST_F(HubConfigTest, SecretFromAFileAndSm3) {
  std::ofstream(dir_ / "secret.txt") << "from-file\n";
  json doc = minimal();
  doc["province"].erase("app_secret_env");
  doc["province"]["app_secret_file"] = "secret.txt";
  doc["province"]["signature_method"] = "HMAC-SM3";
  auto cfg = load(doc);
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_EQ(cfg->province.app_secret, "from-file");
  EXPECT_EQ(cfg->province.method, protocol::SignatureMethod::kHmacSm3);
}

TEST_F(HubConfigTest, BadInputNamesTheKeyAndNeverTheSecret) {
  struct Case {
    json patch;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{{"sync", {{"codec", "lzma"}}}}, "sync.codec"},
      {{{"sync", {{"batch_rows", 0}}}}, "sync.batch_rows"},
      {{{"sync", {{"batch_rows", "many"}}}}, "sync.batch_rows"},
      {{{"sync", {{"encoder", "fast"}}}}, "sync.encoder"},
      {{{"sync", {{"codex", "snappy"}}}}, "unknown key sync.codex"},
      {{{"stat_db", "x.db"}}, "unknown key stat_db"},
      {{{"province", {{"signature_method", "MD5"}}}}, "province.signature_method"},
      {{{"province", {{"max_attempts", 0}}}}, "province.max_attempts"},
      {{{"province", {{"app_secret", "s3cret-value"}}}}, "app_secret is not allowed"},
      {{{"province", {{"app_secret_env", "DXHUB_CONFIG_TEST_UNSET"}}}}, "DXHUB_CONFIG_TEST_UNSET"},
      {{{"plugins", "public_security"}}, "plugins must be an array"},
  };
  for (const auto& c : cases) {
    json doc = minimal();
    doc.merge_patch(c.patch);
    auto cfg = load(doc);
    ASSERT_FALSE(cfg) << c.patch.dump();
    EXPECT_EQ(cfg.status().code(), StatusCode::kConfig);
    EXPECT_NE(cfg.status().message().find(c.expected), std::string::npos) << cfg.status().message();
    EXPECT_EQ(cfg.status().message().find("s3cret-value"), std::string::npos);
  }
}

TEST_F(HubConfigTest, CommandsThatDoNotDeliverNeedNoSecret) {
  json doc = minimal();
  doc["province"]["app_secret_env"] = "DXHUB_CONFIG_TEST_UNSET";
  EXPECT_FALSE(load(doc));
  std::string path = (dir_ / "dxhub.json").string();
  auto cfg = load_hub_config(path, /*need_secret=*/false);
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_TRUE(cfg->province.app_secret.empty());
  doc["province"]["app_secret"] = "literal";
  std::ofstream(path) << doc.dump();
  EXPECT_FALSE(load_hub_config(path, /*need_secret=*/false));
}

TEST_F(HubConfigTest, UnreadableOrMalformedFile) {
  auto missing = load_hub_config((dir_ / "nope.json").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), StatusCode::kConfig);
  std::ofstream(dir_ / "bad.json") << "{ not json";
  auto bad = load_hub_config((dir_ / "bad.json").string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("not valid JSON"), std::string::npos);
}

TEST_F(HubConfigTest, DisabledPluginsAreLeftOut) {
  json doc = minimal();
  doc["plugins"][0]["enabled"] = false;
  auto cfg = load(doc);
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_TRUE(cfg->plugins.empty());
}

TEST_F(HubConfigTest, StateDeliveryAndThresholdKeys) {
  auto defaults = load(minimal());
  ASSERT_TRUE(defaults) << defaults.status().to_string();
  EXPECT_TRUE(defaults->state_synchronous_full);
  EXPECT_EQ(defaults->delivery.quarantine_after, 3);
  EXPECT_EQ(defaults->sync.max_outbox_bytes, int64_t{1} << 30);
  EXPECT_EQ(defaults->sync.max_dead_letters, 0);
  EXPECT_DOUBLE_EQ(defaults->sync.max_dead_letter_ratio, 0.1);

  json doc = minimal();
  doc["state_synchronous"] = "normal";
  doc["delivery"] = {{"quarantine_after", 5}};
  doc["sync"] = {{"max_outbox_bytes", 4096}, {"max_dead_letters", 7}, {"max_dead_letter_ratio", 0.5}};
  auto set = load(doc);
  ASSERT_TRUE(set) << set.status().to_string();
  EXPECT_FALSE(set->state_synchronous_full);
  EXPECT_EQ(set->delivery.quarantine_after, 5);
  EXPECT_EQ(set->sync.max_outbox_bytes, 4096);
  EXPECT_EQ(set->sync.max_dead_letters, 7);
  EXPECT_DOUBLE_EQ(set->sync.max_dead_letter_ratio, 0.5);

  struct Case {
    json patch;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{{{{"state_synchronous", "off"}}, "state_synchronous"},
                                         {{{"delivery", {{"quarantine_after", 0}}}}, "delivery.quarantine_after"},
                                         {{{"delivery", {{"quarantin_after", 2}}}}, "unknown key delivery.quarantin_after"},
                                         {{{"delivery", 3}}, "delivery must be an object"},
                                         {{{"sync", {{"max_dead_letter_ratio", 1.5}}}}, "sync.max_dead_letter_ratio"},
                                         {{{"sync", {{"max_dead_letter_ratio", "x"}}}}, "must be a number"},
                                         {{{"sync", {{"max_outbox_bytes", 0}}}}, "sync.max_outbox_bytes"}}) {
    json bad = minimal();
    bad.merge_patch(c.patch);
    auto cfg = load(bad);
    ASSERT_FALSE(cfg) << c.patch.dump();
    EXPECT_NE(cfg.status().message().find(c.expected), std::string::npos) << cfg.status().message();
  }
}

TEST_F(HubConfigTest, DaemonSectionDefaultsAndValues) {
  auto cfg = load(minimal());
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_EQ(cfg->daemon.workers, 2);
  EXPECT_EQ(cfg->daemon.realtime_every_seconds, 10);
  EXPECT_EQ(cfg->daemon.periodic_cron, "0 2 * * *");
  EXPECT_EQ(cfg->daemon.utc_offset_seconds, 8 * 3600);
  EXPECT_EQ(cfg->daemon.jitter_seconds, 30);
  EXPECT_EQ(cfg->daemon.shutdown_grace_seconds, 30);
  EXPECT_TRUE(cfg->daemon.schedules.empty());

  json doc = minimal();
  doc["daemon"] = {{"workers", 4}, {"timezone", "UTC"}, {"periodic_cron", "@daily"},
                   {"schedules", {{"household_population", {{"every_seconds", 5}}}}}};
  cfg = load(doc);
  ASSERT_TRUE(cfg) << cfg.status().to_string();
  EXPECT_EQ(cfg->daemon.workers, 4);
  EXPECT_EQ(cfg->daemon.utc_offset_seconds, 0);
  EXPECT_EQ(cfg->daemon.schedules["household_population"]["every_seconds"], 5);
}

TEST_F(HubConfigTest, BadDaemonSettingsNameTheKey) {
  struct Case {
    json daemon;
    const char* says;
  };
  for (const Case& c : {Case{{{"workers", 0}}, "daemon.workers"},
                        Case{{{"workers", "2"}}, "daemon.workers"},
                        Case{{{"timezone", "Europe/Paris"}}, "daemon.timezone"},
                        Case{{{"periodic_cron", "0 25 * * *"}}, "daemon.periodic_cron: cron \"0 25 * * *\": hour"},
                        Case{{{"shutdown_grace_seconds", 0}}, "daemon.shutdown_grace_seconds"},
                        Case{{{"jitter", 5}}, "daemon.jitter"},
                        Case{{{"schedules", {{"household_population", {{"cron", "* * *"}}}}}},
                             "daemon.schedules.household_population: cron"},
                        Case{{{"schedules", {{"household_population", {{"every_seconds", 1}, {"cron", "* * * * *"}}}}}},
                             "one of"},
                        Case{{{"schedules", json::array()}}, "daemon.schedules"},
                        Case{json::array(), "daemon"}}) {
    json doc = minimal();
    doc["daemon"] = c.daemon;
    auto cfg = load(doc);
    ASSERT_FALSE(cfg) << c.daemon.dump();
    EXPECT_EQ(cfg.status().code(), StatusCode::kConfig);
    EXPECT_NE(cfg.status().message().find(c.says), std::string::npos) << c.daemon.dump() << ": " << cfg.status().message();
  }
}

}  // namespace
}  // namespace dxhub
