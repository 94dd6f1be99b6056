// The hub's configuration file (JSON). Relative paths are resolved against
// the directory holding the file. Secrets are never stored in it: the
// AppSecret comes from an environment variable or a separate file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/delivery/province_client.h"
#include "core/plugin/plugin_host.h"

namespace dxhub {

struct SyncSettings {
  int64_t batch_rows = 50000;          // rows per spooled batch (one OCF file, one upload)
  std::string codec = "snappy";        // null | deflate | snappy | zstandard
  size_t block_bytes = 256 * 1024;     // uncompressed bytes per Avro block
};

struct HubConfig {
  std::string config_path;             // where it was loaded from ("" when built in code)
  std::string state_db;
  std::string mappings_dir;
  std::string log_level = "info";
  ProvinceConfig province;
  SyncSettings sync;
  std::vector<PluginConfig> plugins;
};

// Reads and validates the file. Every problem is a kConfig error naming the
// file and the key.
Expected<HubConfig> load_hub_config(const std::string& path);

// Same, from an already-parsed document (used by the embedded demo and tests);
// `base_dir` resolves relative paths.
Expected<HubConfig> hub_config_from_json(const nlohmann::json& doc, const std::string& base_dir,
                                         const std::string& origin);

}  // namespace dxhub
