// The market_regulation and housing plugins, loaded by the real host: what
// they declare from their settings, and the settings they refuse.
#include <gtest/gtest.h>

#include "core/plugin/plugin_host.h"

namespace dxhub {
namespace {

using nlohmann::json;

ResourceSpec only_resource(const char* plugin, const char* path, const json& settings) {
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({{plugin, path, settings}}, "/opt/dxhub/mappings", errors);
  EXPECT_TRUE(errors.empty()) << errors[0].to_string();
  EXPECT_EQ(host.resources().size(), 1u);
  return host.resources().empty() ? ResourceSpec{} : host.resources()[0];
}

Status refusal(const char* plugin, const char* path, const json& settings) {
  std::vector<Status> errors;
  PluginHost host = PluginHost::load({{plugin, path, settings}}, "/m", errors);
  EXPECT_TRUE(host.plugins().empty());
  return errors.empty() ? Status::ok() : errors[0];
}

TEST(MarketRegulationPlugin, DeclaresTheRegisterApiWithTokenPagingAndBearerAuth) {
  ResourceSpec r = only_resource("market_regulation", DXHUB_MARKET_REGULATION_PLUGIN,
                                 {{"register_api_url", "http://10.1.2.3:8080/api/"},
                                  {"client_id_env", "MR_ID"},
                                  {"client_secret_env", "MR_SECRET"},
                                  {"page_size", 200}});
  EXPECT_EQ(r.resource_id, "enterprise_basic");
  EXPECT_EQ(r.name_zh, "企业基本信息");
  EXPECT_EQ(r.connector, "http_json");
  const json& c = r.connector_config;
  EXPECT_EQ(c["url"], "http://10.1.2.3:8080/api/token");  // trailing slash folded
  EXPECT_EQ(c["paging"], (json{{"style", "token"}, {"token_path", "data.next_token"}, {"page_size", 200}}));
  EXPECT_EQ(c["query"]["updated_since"], "{updated_since}");
  EXPECT_EQ(c["cursor_field"], "gxsj");
  EXPECT_EQ(c["rate_limit_per_second"], 20);
  EXPECT_EQ(c["auth"], (json{{"type", "bearer"},
                             {"token_url", "http://10.1.2.3:8080/api/oauth/token"},
                             {"client_id_env", "MR_ID"},
                             {"client_secret_env", "MR_SECRET"}}));
  EXPECT_EQ(r.mapping_path, "/opt/dxhub/mappings/market_regulation/enterprise_basic.mapping.json");

  ResourceSpec open = only_resource("market_regulation", DXHUB_MARKET_REGULATION_PLUGIN,
                                    {{"register_api_url", "http://10.1.2.3:8080/api"}});
  EXPECT_FALSE(open.connector_config.contains("auth"));
  EXPECT_EQ(open.connector_config["paging"]["page_size"], 500);
}

TEST(MarketRegulationPlugin, RefusesMissingUrlHalfCredentialsAndBadNumbers) {
  for (const json& bad : {json::object(), json{{"register_api_url", "http://x"}, {"client_id_env", "A"}},
                          json{{"register_api_url", "http://x"}, {"page_size", "0"}},
                          json{{"register_api_url", "http://x"}, {"page_size", "12a"}},
                          json{{"register_api_url", "http://x"}, {"rate_limit_per_second", 5000}}}) {
    Status s = refusal("market_regulation", DXHUB_MARKET_REGULATION_PLUGIN, bad);
    EXPECT_EQ(s.code(), StatusCode::kConfig) << bad.dump();
  }
}

TEST(HousingPlugin, DeclaresTheDropFolderWithSnapshotChangeDetection) {
  ResourceSpec r = only_resource("housing", DXHUB_HOUSING_PLUGIN,
                                 {{"drop_dir", "/data/zjj/exports"}, {"done_suffix", ".ok"}, {"stable_seconds", 0}});
  EXPECT_EQ(r.resource_id, "housing_units");
  EXPECT_EQ(r.connector, "file");
  const json& c = r.connector_config;
  EXPECT_EQ(c["source"], (json{{"kind", "local"}, {"directory", "/data/zjj/exports"}}));
  EXPECT_EQ(c["format"], (json{{"kind", "csv"}, {"encoding", "gb18030"}, {"header", true}}));
  EXPECT_EQ(c["pattern"], "housing_units*.csv");
  EXPECT_EQ(c["done_suffix"], ".ok");
  EXPECT_EQ(c["stable_seconds"], 0);
  EXPECT_EQ(c["change_detection"], "snapshot");
}

TEST(HousingPlugin, RefusesMissingDropDirAndUnknownEncoding) {
  for (const json& bad : {json::object(), json{{"drop_dir", "/d"}, {"encoding", "big5"}},
                          json{{"drop_dir", "/d"}, {"stable_seconds", "-1"}}}) {
    EXPECT_EQ(refusal("housing", DXHUB_HOUSING_PLUGIN, bad).code(), StatusCode::kConfig) << bad.dump();
  }
}

}  // namespace
}  // namespace dxhub
