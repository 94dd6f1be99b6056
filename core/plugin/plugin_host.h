// Loads agency plugins (shared libraries speaking include/dxhub/plugin_abi.h),
// collects the resources they declare, and opens readers for them.
// Move-only; thread-compatible (use from one thread).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/common/status.h"

namespace dxhub {

// One plugin entry of the hub config file.
struct PluginConfig {
  std::string name;  // how the hub refers to it; empty = the plugin's own name
  std::string path;  // the .so
  nlohmann::json settings;  // object; values reach the plugin via get_setting
  // Operator overrides of where a resource is read from, by resource id:
  // {"<resource>": {"connector": KIND, "settings": {...}}}. Replaces the
  // connector the plugin declared (the same resource, schema and mapping,
  // read from a table, an API or a file by configuration alone).
  nlohmann::json sources = nlohmann::json::object();
};

struct ResourceSpec {
  std::string plugin;       // plugin name
  std::string resource_id;  // "household_population"
  std::string name_zh;
  std::string connector;    // "sqlite_table" | "plugin"
  nlohmann::json connector_config;
  std::string schema_path;   // absolute (resolved against mappings_dir)
  std::string mapping_path;  // absolute
  std::string schedule;
};

class LoadedPlugin;  // core/plugin/loaded_plugin.h

class PluginHost {
 public:
  struct PluginInfo {
    std::string name, version, path;
    std::string description;  // empty when the plugin predates ABI 1.1
    uint32_t abi_major = 0, abi_minor = 0;  // what the plugin was built against
    std::vector<ResourceSpec> resources;
  };

  // Loads every plugin, runs on_init + on_declare_resources. A plugin that
  // fails is reported in `errors` (one kConfig Status each, naming it and
  // its path) and skipped; the rest load.
  static PluginHost load(const std::vector<PluginConfig>& plugins, const std::string& mappings_dir,
                         std::vector<Status>& errors);

  PluginHost();
  ~PluginHost();
  PluginHost(PluginHost&&) noexcept;
  PluginHost& operator=(PluginHost&&) noexcept;
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  const std::vector<PluginInfo>& plugins() const { return infos_; }
  std::vector<ResourceSpec> resources() const;

  // Opens the resource's reader: for connector "plugin" through the
  // plugin's hooks, otherwise via the connector factory. `columns` = the
  // source columns the mapping needs; `cursor` = last saved cursor (null =
  // from the beginning). A reader keeps its plugin loaded while it lives.
  Expected<std::unique_ptr<Connector>> open_reader(const ResourceSpec& spec, const std::vector<std::string>& columns,
                                                   const nlohmann::json& cursor,
                                                   const ConnectorOpenOptions& options = {});

 private:
  std::vector<PluginInfo> infos_;
  std::vector<std::shared_ptr<LoadedPlugin>> loaded_;  // parallel to infos_
};

}  // namespace dxhub
