// The hub's configuration file (JSON). Relative paths are resolved against
// the directory holding the file. Secrets are never stored in it: the
// AppSecret comes from an environment variable or a separate file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/common/log.h"
#include "core/common/status.h"
#include "core/delivery/province_client.h"
#include "core/ingest/ingest_settings.h"
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
  // Reading of a resource pauses while its outbox holds this many bytes of
  // spooled bodies (waiting for delivery to drain it); if delivery has
  // stopped, reading stops for the run (nothing dropped, cursor unmoved).
  int64_t max_outbox_bytes = int64_t{1} << 30;
  // A run fails a resource before its cursor moves past the chunk that
  // crosses either threshold: dead letters in this run (0 = no limit), or
  // their share of rows read (applied once 100 rows were read).
  int64_t max_dead_letters = 0;
  double max_dead_letter_ratio = 0.1;
};

struct DeliverySettings {
  // Permanent refusals (4xx other than auth failures) after which a batch
  // moves to the quarantine, counted across runs.
  int quarantine_after = 3;
};

// `dxhub run` (core/daemon): schedules, workers, shutdown. Per-resource
// schedules come from the plugin's declaration, overridden here
// (core/scheduler/schedule.h says what each form means).
struct DaemonSettings {
  int workers = 2;                          // resources synced at once
  int64_t realtime_every_seconds = 10;      // what "realtime" declarations poll at
  std::string periodic_cron = "0 2 * * *";  // what "periodic" declarations run at
  std::string timezone = "Asia/Shanghai";   // of cron expressions
  int32_t utc_offset_seconds = 8 * 3600;    // parsed from timezone
  int64_t jitter_seconds = 30;              // spread of cron slots per resource
  int64_t shutdown_grace_seconds = 30;      // SIGTERM: running syncs get this long to stop
  // Continuous delivery: between runs, resources whose outbox holds batches
  // are drained every delivery_check_seconds. After circuit_failures failed
  // deliveries in a row a resource is paused (no sync, no delivery) for
  // circuit_open_seconds, doubling per failed probe up to
  // circuit_max_open_seconds; then one probe (half-open) decides.
  int64_t delivery_check_seconds = 5;
  int circuit_failures = 3;
  int64_t circuit_open_seconds = 30;
  int64_t circuit_max_open_seconds = 600;
  // GET /metrics (Prometheus) and GET /health; "" turns them off.
  std::string metrics_listen = "127.0.0.1:9464";
  nlohmann::json schedules = nlohmann::json::object();  // resource id -> override object
};

struct HubConfig {
  std::string config_path;             // where it was loaded from ("" when built in code)
  std::string state_db;
  std::string mappings_dir;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kText;  // "log_format": "text" (default) | "json" (one object per line)
  ProvinceConfig province;
  SyncSettings sync;
  DeliverySettings delivery;
  DaemonSettings daemon;
  IngestSettings ingest;
  bool state_synchronous_full = true;  // "state_synchronous": "full" (default) | "normal"
  std::vector<PluginConfig> plugins;
};

// Reads and validates the file. Every problem is a kConfig error naming the
// file and the key. Commands that never talk to the province (`state`,
// `plugins`) pass need_secret = false and leave province.app_secret empty.
Expected<HubConfig> load_hub_config(const std::string& path, bool need_secret = true);

// The AppSecrets of ingest.app_keys, from their environment variables or
// files: read by `dxhub run` only (the push endpoint), at start and reload.
Status load_ingest_secrets(const std::string& origin, IngestSettings& ingest);

// Same, from an already-parsed document (used by the embedded demo and tests);
// `base_dir` resolves relative paths.
Expected<HubConfig> hub_config_from_json(const nlohmann::json& doc, const std::string& base_dir,
                                         const std::string& origin, bool need_secret = true);

}  // namespace dxhub
