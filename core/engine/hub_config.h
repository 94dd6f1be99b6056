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

// How records are serialised (sync.encoder):
//   "compiled" (default): RecordMapper::encode writes Avro binary straight
//               from the row into the block, bypassing avro-c values;
//   "avro-c":   RecordMapper::map fills an avro-c generic value, which
//               avro_value_write serialises (the reference path).
// Both give the same bytes and the same dead letters; the tests prove it.
enum class RecordEncoder { kCompiled, kAvroC };

Expected<RecordEncoder> parse_record_encoder(const std::string& name);

struct SyncSettings {
  int64_t batch_rows = 50000;          // rows per spooled batch (one OCF file, one upload)
  std::string codec = "snappy";        // null | deflate | snappy | zstandard
  size_t block_bytes = 256 * 1024;     // uncompressed bytes per Avro block
  RecordEncoder encoder = RecordEncoder::kCompiled;  // "compiled" | "avro-c", see above
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
// file and the key. Commands that never talk to the province (`state`,
// `plugins`) pass need_secret = false and leave province.app_secret empty.
Expected<HubConfig> load_hub_config(const std::string& path, bool need_secret = true);

// Same, from an already-parsed document (used by the embedded demo and tests);
// `base_dir` resolves relative paths.
Expected<HubConfig> hub_config_from_json(const nlohmann::json& doc, const std::string& base_dir,
                                         const std::string& origin, bool need_secret = true);

}  // namespace dxhub
