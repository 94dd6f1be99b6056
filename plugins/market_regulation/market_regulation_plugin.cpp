// Market regulation bureau (市场监管局): the enterprise register (企业基本信息)
// read from the register's HTTP/JSON API by the http_json connector, keyset
// paging by opaque token, incremental by gxsj (last changed).
//
// Settings:
//   register_api_url   (required) base URL of the register's data API; the
//                      records are at <url>/token?token=&limit=&updated_since=
//                      (the sandbox's dxhub-agency-api serves this shape)
//   client_id_env, client_secret_env  (optional, together) environment
//                      variables holding the OAuth client credentials: then
//                      a bearer token is fetched from <url>/oauth/token
//   page_size          (optional, default 500) records per request
//   rate_limit_per_second (optional, default 20) requests per second at most
#include <cstdint>
#include <string>

#include "dxhub/plugin_sdk.hpp"

namespace {

using dxhub::sdk::Host;
using dxhub::sdk::JsonObject;
using dxhub::sdk::Resource;

int64_t whole_number_setting(const Host& host, const char* key, int64_t fallback, int64_t max) {
  auto text = host.setting(key);
  if (!text || text->empty()) return fallback;
  int64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9' || value > max) {
      throw dxhub::sdk::ConfigError(std::string("setting \"") + key + "\" must be a whole number, 1 to " +
                                    std::to_string(max));
    }
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > max) {
    throw dxhub::sdk::ConfigError(std::string("setting \"") + key + "\" must be a whole number, 1 to " +
                                  std::to_string(max));
  }
  return value;
}

class MarketRegulationPlugin final : public dxhub::sdk::Plugin {
 public:
  void init(const Host& host) override {
    api_url_ = host.require_setting("register_api_url");
    while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
    client_id_env_ = std::string(host.setting("client_id_env").value_or(""));
    client_secret_env_ = std::string(host.setting("client_secret_env").value_or(""));
    if (client_id_env_.empty() != client_secret_env_.empty()) {
      throw dxhub::sdk::ConfigError("settings \"client_id_env\" and \"client_secret_env\" go together");
    }
    page_size_ = whole_number_setting(host, "page_size", 500, 10000);
    rate_limit_ = whole_number_setting(host, "rate_limit_per_second", 20, 1000);
  }

  void declare_resources(const Host& host) override {
    JsonObject connector;
    connector.set("url", api_url_ + "/token")
        .set("query", JsonObject()
                          .set("token", "{cursor_token}")
                          .set("limit", "{limit}")
                          .set("updated_since", "{updated_since}"))
        .set("paging", JsonObject().set("style", "token").set("token_path", "data.next_token").set("page_size", page_size_))
        .set("records_path", "data.items")
        .set("cursor_field", "gxsj")
        .set("key_field", "id")
        .set("rate_limit_per_second", rate_limit_);
    if (!client_id_env_.empty()) {
      connector.set("auth", JsonObject()
                                .set("type", "bearer")
                                .set("token_url", api_url_ + "/oauth/token")
                                .set("client_id_env", client_id_env_)
                                .set("client_secret_env", client_secret_env_));
    }
    host.declare(Resource("enterprise_basic")
                     .name_zh("企业基本信息")
                     .connector("http_json", connector.str())
                     .schema("market_regulation/enterprise_basic.avsc")
                     .mapping("market_regulation/enterprise_basic.mapping.json")
                     .schedule("periodic"));
  }

 private:
  std::string api_url_;
  std::string client_id_env_;
  std::string client_secret_env_;
  int64_t page_size_ = 500;
  int64_t rate_limit_ = 20;
};

}  // namespace

DXHUB_PLUGIN_DESCRIBED(MarketRegulationPlugin, "market_regulation", "1.0.0",
                       "Daye market regulation bureau: enterprise register")
