// Public security bureau (公安局): household registration (户籍人口) read
// straight from the bureau's SQLite database by the sqlite_table connector.
//
// Settings: household_db (required) -- path of the bureau's database;
// settle_seconds (optional, default 0) -- rows whose gxsj is newer than
// now - settle_seconds are left for a later run, so that a write stamped
// gxsj and committed up to that many seconds later is not passed over
// (gxsj is 'YYYY-MM-DD HH:MM:SS' local time, +08:00).
#include <cstdint>
#include <string>

#include "dxhub/plugin_sdk.hpp"

namespace {

using dxhub::sdk::Host;
using dxhub::sdk::JsonObject;
using dxhub::sdk::Resource;

class PublicSecurityPlugin final : public dxhub::sdk::Plugin {
 public:
  void init(const Host& host) override {
    household_db_ = host.require_setting("household_db");
    if (auto settle = host.setting("settle_seconds"); settle && !settle->empty()) {
      settle_seconds_ = 0;
      for (char c : *settle) {
        if (c < '0' || c > '9' || settle_seconds_ > 31622400) {
          throw dxhub::sdk::ConfigError("setting \"settle_seconds\" must be a whole number of seconds, at most 31622400");
        }
        settle_seconds_ = settle_seconds_ * 10 + (c - '0');
      }
      if (settle_seconds_ > 31622400) {
        throw dxhub::sdk::ConfigError("setting \"settle_seconds\" must be a whole number of seconds, at most 31622400");
      }
    }
  }

  void declare_resources(const Host& host) override {
    JsonObject connector;
    connector.set("database", household_db_)
        .set("table", "household_population")
        .set("cursor_column", "gxsj")
        .set("key_column", "id");
    if (settle_seconds_ > 0) {
      connector.set("settle_seconds", settle_seconds_).set("cursor_format", "datetime").set("source_utc_offset", "+08:00");
    }
    host.declare(Resource("household_population")
                     .name_zh("户籍人口信息")
                     .connector("sqlite_table", connector.str())
                     .schema("public_security/household_population.avsc")
                     .mapping("public_security/household_population.mapping.json")
                     .schedule("realtime"));
  }

 private:
  std::string household_db_;  // path of the bureau's household registration database
  int64_t settle_seconds_ = 0;
};

}  // namespace

DXHUB_PLUGIN_DESCRIBED(PublicSecurityPlugin, "public_security", "1.0.0",
                       "Daye public security bureau: household registration")
