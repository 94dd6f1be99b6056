// The real public_security plugin, loaded by the real host.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <set>
#include <sstream>

#include "core/common/sqlite_db.h"
#include "core/plugin/plugin_host.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::CollectingSink;
using testing::TempDir;

const char* const kPlugin = DXHUB_PUBLIC_SECURITY_PLUGIN;

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

TEST(PublicSecurityPlugin, ExportsOnlyTheEntrySymbol) {
  std::unique_ptr<FILE, PipeCloser> nm(popen(("nm -D --defined-only " + std::string(kPlugin)).c_str(), "r"));
  ASSERT_NE(nm, nullptr);
  std::set<std::string> dxhub_symbols;
  size_t lines = 0;
  char line[4096];
  while (fgets(line, sizeof line, nm.get()) != nullptr) {
    ++lines;
    std::istringstream fields(line);
    std::string address, type, name;
    fields >> address >> type >> name;
    if (name.find("dxhub") != std::string::npos) dxhub_symbols.insert(name);  // C names and mangled C++ names
  }
  ASSERT_GT(lines, 0u) << "nm printed nothing for " << kPlugin;
  EXPECT_EQ(dxhub_symbols, std::set<std::string>{"dxhub_plugin_entry"});
}

TEST(PublicSecurityPlugin, DeclaresHouseholdPopulationFromSetting) {
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({{"public_security", kPlugin, {{"household_db", "/data/gaj/household.db"}}}},
                                     "/opt/dxhub/mappings", errors);
  ASSERT_TRUE(errors.empty()) << errors[0].to_string();
  ASSERT_EQ(host.plugins().size(), 1u);
  EXPECT_EQ(host.plugins()[0].version, "1.0.0");
  auto resources = host.resources();
  ASSERT_EQ(resources.size(), 1u);
  const ResourceSpec& r = resources[0];
  EXPECT_EQ(r.plugin, "public_security");
  EXPECT_EQ(r.resource_id, "household_population");
  EXPECT_EQ(r.name_zh, "户籍人口信息");
  EXPECT_EQ(r.connector, "sqlite_table");
  EXPECT_EQ(r.connector_config, (nlohmann::json{{"database", "/data/gaj/household.db"},
                                                 {"table", "household_population"},
                                                 {"cursor_column", "gxsj"},
                                                 {"key_column", "id"}}));
  EXPECT_EQ(r.schema_path, "/opt/dxhub/mappings/public_security/household_population.avsc");
  EXPECT_EQ(r.mapping_path, "/opt/dxhub/mappings/public_security/household_population.mapping.json");
  EXPECT_EQ(r.schedule, "realtime");
}

// The operator points the same resource at another source by configuration
// alone: schema, mapping and resource stay the plugin's.
TEST(PublicSecurityPlugin, SourcesInTheHubConfigReplaceTheDeclaredConnector) {
  PluginConfig config{"public_security", kPlugin, {{"household_db", "/data/gaj/household.db"}}};
  config.sources = {{"household_population",
                     {{"connector", "http_json"}, {"settings", {{"url", "http://127.0.0.1:1/x"}}}}}};
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({config}, "/opt/dxhub/mappings", errors);
  ASSERT_TRUE(errors.empty()) << errors[0].to_string();
  const ResourceSpec r = host.resources().at(0);
  EXPECT_EQ(r.connector, "http_json");
  EXPECT_EQ(r.connector_config, (nlohmann::json{{"url", "http://127.0.0.1:1/x"}}));
  EXPECT_EQ(r.mapping_path, "/opt/dxhub/mappings/public_security/household_population.mapping.json");

  // A resource the plugin does not declare, or a malformed entry, refuses the plugin.
  for (const nlohmann::json& bad :
       {nlohmann::json{{"household_populaton", {{"connector", "file"}}}},
        nlohmann::json{{"household_population", {{"settings", nlohmann::json::object()}}}},
        nlohmann::json{{"household_population", {{"connector", "file"}, {"setings", nlohmann::json::object()}}}},
        nlohmann::json{{"household_population", {{"connector", "file"}, {"settings", "x"}}}}}) {
    config.sources = bad;
    std::vector<Status> refused;
    PluginHost none = PluginHost::load({config}, "/m", refused);
    EXPECT_TRUE(none.plugins().empty()) << bad.dump();
    ASSERT_EQ(refused.size(), 1u) << bad.dump();
    EXPECT_EQ(refused[0].code(), StatusCode::kConfig);
    EXPECT_NE(refused[0].message().find("sources.household_popula"), std::string::npos) << refused[0].message();
  }
}

TEST(PublicSecurityPlugin, MissingHouseholdDbSettingIsConfigError) {
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({{"public_security", kPlugin, nlohmann::json::object()}}, "/m", errors);
  EXPECT_TRUE(host.plugins().empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), StatusCode::kConfig);
  EXPECT_NE(errors[0].message().find("on_init failed (CONFIG): missing required setting \"household_db\""),
            std::string::npos)
      << errors[0].message();
}

TEST(PublicSecurityPlugin, SettleSecondsSettingIsPassedToTheConnector) {
  std::vector<Status> errors;
  PluginHost host = PluginHost::load(
      {{"public_security", kPlugin, {{"household_db", "/data/gaj/household.db"}, {"settle_seconds", 120}}}}, "/m",
      errors);
  ASSERT_TRUE(errors.empty()) << errors[0].to_string();
  const nlohmann::json config = host.resources().at(0).connector_config;
  EXPECT_EQ(config["settle_seconds"], 120);
  EXPECT_EQ(config["cursor_format"], "datetime");
  EXPECT_EQ(config["source_utc_offset"], "+08:00");

  std::vector<Status> bad_errors;
  PluginHost bad = PluginHost::load(
      {{"public_security", kPlugin, {{"household_db", "/data/gaj/household.db"}, {"settle_seconds", "2m"}}}}, "/m",
      bad_errors);
  ASSERT_EQ(bad_errors.size(), 1u);
  EXPECT_EQ(bad_errors[0].code(), StatusCode::kConfig);
  EXPECT_NE(bad_errors[0].message().find("settle_seconds"), std::string::npos) << bad_errors[0].message();
}

TEST(PublicSecurityPlugin, ReadsTheHouseholdTableEndToEnd) {
  TempDir dir;
  const std::string db_path = dir.file("household.db");
  {
    auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE household_population(id INTEGER PRIMARY KEY, gmsfhm TEXT, xm TEXT, xb TEXT, "
                         "mz TEXT, csrq TEXT, hh TEXT, yhzgx TEXT, hjdz TEXT, sspcs TEXT, xzjd TEXT, qrrq TEXT, "
                         "ryzt TEXT, gxsj TEXT);"
                         "CREATE INDEX idx_hp_gxsj ON household_population(gxsj, id);"
                         "INSERT INTO household_population(id, gmsfhm, xm, gxsj) VALUES "
                         "(1, '420281199001011234', '张三', '2024-01-02 00:00:00'),"
                         "(2, '420281199202022345', '李四', '2024-01-01 00:00:00')")
                    .is_ok());
  }
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({{"public_security", kPlugin, {{"household_db", db_path}}}}, "/m", errors);
  ASSERT_TRUE(errors.empty());
  auto reader = host.open_reader(host.resources().at(0), {"gmsfhm", "xm"}, nullptr);
  ASSERT_TRUE(reader) << reader.status().to_string();
  CollectingSink sink;
  ASSERT_EQ(*(*reader)->read(100, sink), 2u);
  EXPECT_EQ(sink.rows[0][1].s, "李四");
  EXPECT_EQ(sink.rows[1][0].s, "420281199001011234");
  const nlohmann::json cursor = (*reader)->cursor();  // the sqlite_table cursor, v2
  EXPECT_EQ(cursor["value"], "2024-01-02 00:00:00");
  ASSERT_EQ(cursor["boundary"].size(), 1u);
  EXPECT_EQ(cursor["boundary"][0][0], 1);
}

}  // namespace
}  // namespace dxhub
