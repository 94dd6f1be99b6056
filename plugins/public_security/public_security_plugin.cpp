// Public security bureau (公安局): household registration (户籍人口) read
// straight from the bureau's SQLite database by the sqlite_table connector.
#include <string>

#include "dxhub/plugin_sdk.hpp"

namespace {

using dxhub::sdk::Host;
using dxhub::sdk::JsonObject;
using dxhub::sdk::Resource;

class PublicSecurityPlugin final : public dxhub::sdk::Plugin {
 public:
  void init(const Host& host) override { household_db_ = host.require_setting("household_db"); }

  void declare_resources(const Host& host) override {
    host.declare(Resource("household_population")
                     .name_zh("户籍人口信息")
                     .connector("sqlite_table", JsonObject()
                                                    .set("database", household_db_)
                                                    .set("table", "household_population")
                                                    .set("cursor_column", "gxsj")
                                                    .set("key_column", "id")
                                                    .str())
                     .schema("public_security/household_population.avsc")
                     .mapping("public_security/household_population.mapping.json")
                     .schedule("realtime"));
  }

 private:
  std::string household_db_;  // path of the bureau's household registration database
};

}  // namespace

DXHUB_PLUGIN_DESCRIBED(PublicSecurityPlugin, "public_security", "1.0.0",
                       "Daye public security bureau: household registration")
