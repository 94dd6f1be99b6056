// Housing and urban-rural development bureau (住建局): the housing register
// (房屋信息) arrives as full CSV exports dropped into a folder; each export is
// a whole snapshot, so the engine's change detection sends only the units
// added, changed or removed since the last export.
//
// Settings:
//   drop_dir      (required) folder the bureau drops housing_units*.csv into;
//                 read files move to <drop_dir>/archive, refused ones to
//                 <drop_dir>/error with the reason beside them
//   encoding      (optional, default gb18030) of the exports: utf-8, gbk, gb18030
//   done_suffix   (optional) e.g. ".done": a file is read only once its
//                 marker exists; otherwise once its size has been stable for
//                 stable_seconds
//   stable_seconds (optional, default 5)
#include <cstdint>
#include <string>

#include "dxhub/plugin_sdk.hpp"

namespace {

using dxhub::sdk::Host;
using dxhub::sdk::JsonObject;
using dxhub::sdk::Resource;

class HousingPlugin final : public dxhub::sdk::Plugin {
 public:
  void init(const Host& host) override {
    drop_dir_ = host.require_setting("drop_dir");
    encoding_ = std::string(host.setting("encoding").value_or("gb18030"));
    if (encoding_ != "utf-8" && encoding_ != "gbk" && encoding_ != "gb18030") {
      throw dxhub::sdk::ConfigError("setting \"encoding\" must be utf-8, gbk or gb18030");
    }
    done_suffix_ = std::string(host.setting("done_suffix").value_or(""));
    if (auto stable = host.setting("stable_seconds"); stable && !stable->empty()) {
      stable_seconds_ = 0;
      for (char c : *stable) {
        if (c < '0' || c > '9' || stable_seconds_ > 86400) {
          throw dxhub::sdk::ConfigError("setting \"stable_seconds\" must be a whole number of seconds, at most 86400");
        }
        stable_seconds_ = stable_seconds_ * 10 + (c - '0');
      }
      if (stable_seconds_ > 86400) {
        throw dxhub::sdk::ConfigError("setting \"stable_seconds\" must be a whole number of seconds, at most 86400");
      }
    }
  }

  void declare_resources(const Host& host) override {
    JsonObject connector;
    connector.set("source", JsonObject().set("kind", "local").set("directory", drop_dir_))
        .set("format", JsonObject().set("kind", "csv").set("encoding", encoding_).set("header", true))
        .set("pattern", "housing_units*.csv")
        .set("stable_seconds", stable_seconds_)
        .set("change_detection", "snapshot");
    if (!done_suffix_.empty()) connector.set("done_suffix", done_suffix_);
    host.declare(Resource("housing_units")
                     .name_zh("房屋信息")
                     .connector("file", connector.str())
                     .schema("housing/housing_units.avsc")
                     .mapping("housing/housing_units.mapping.json")
                     .schedule("periodic"));
  }

 private:
  std::string drop_dir_;
  std::string encoding_;
  std::string done_suffix_;
  int64_t stable_seconds_ = 5;
};

}  // namespace

DXHUB_PLUGIN_DESCRIBED(HousingPlugin, "housing", "1.0.0", "Daye housing bureau: housing register")
