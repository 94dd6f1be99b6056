#include "core/engine/hub_config.h"

#include "core/scheduler/cron_expression.h"
#include "core/scheduler/schedule.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "core/avro/codec.h"
#include "core/scheduler/cron_expression.h"
#include "core/scheduler/schedule.h"

namespace dxhub {

namespace fs = std::filesystem;

namespace {

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// Keys ending in _path/_dir that do not name a file of this host: JSON
// paths inside an answer (http_json) and the file connector's archive and
// error folders (relative to its drop folder by contract).
bool is_non_file_key(const std::string& key) {
  return key == "records_path" || key == "token_path" || key == "link_path" || key == "total_path" ||
         key == "expires_in_path" || key == "archive_dir" || key == "error_dir";
}

// Connector settings that name files (database, path, dir, ..._path,
// ..._dir, ..._db), at any depth, are relative to the config file.
void resolve_path_settings(const std::string& base_dir, nlohmann::json& settings) {
  if (!settings.is_object()) return;
  for (auto& [key, value] : settings.items()) {
    if (value.is_object()) {
      resolve_path_settings(base_dir, value);
    } else if (value.is_string() && !is_non_file_key(key) &&
               (key == "database" || key == "path" || key == "dir" || key == "directory" || key.ends_with("_db") ||
                key.ends_with("_path") || key.ends_with("_dir"))) {
      value = resolve(base_dir, value.get<std::string>());
    }
  }
}


// Small typed accessors so that a wrong type names the key instead of
// surfacing as a JSON library exception.
class Reader {
 public:
  Reader(const nlohmann::json& obj, std::string where, std::string origin)
      : obj_(obj), where_(std::move(where)), origin_(std::move(origin)) {}

  Status error(const std::string& key, const std::string& what) const {
    return config_error(origin_ + ": " + where_ + key + ": " + what);
  }

  Status string(const char* key, std::string& out, bool required = false) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return required ? error(key, "is required") : Status::ok();
    if (!it->is_string()) return error(key, "must be a string");
    out = it->get<std::string>();
    return Status::ok();
  }

  template <typename Int>
  Status integer(const char* key, Int& out, int64_t min, int64_t max) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return Status::ok();
    if (!it->is_number_integer()) return error(key, "must be an integer");
    int64_t v = it->get<int64_t>();
    if (v < min || v > max) {
      return error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<Int>(v);
    return Status::ok();
  }

  Status number(const char* key, double& out, double min, double max) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return Status::ok();
    if (!it->is_number()) return error(key, "must be a number");
    double v = it->get<double>();
    if (!(v >= min && v <= max)) {
      return error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = v;
    return Status::ok();
  }

 private:
  const nlohmann::json& obj_;
  std::string where_;
  std::string origin_;
};

// A misspelt key would otherwise be ignored silently and its default used.
Status check_known_keys(const nlohmann::json& obj, std::initializer_list<const char*> known, const std::string& where,
                        const std::string& origin) {
  for (const auto& [key, value] : obj.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return config_error(origin + ": unknown key " + where + key + " (known: " + list + ")");
    }
  }
  return Status::ok();
}

Status check_object(const nlohmann::json& doc, const char* key, const std::string& origin) {
  if (doc.contains(key) && !doc[key].is_object()) return config_error(origin + ": " + key + " must be an object");
  return Status::ok();
}

// A secret from the environment variable `env_name` or from `file` (its
// first line). `file_setting` names the file's setting when it cannot be
// read; `missing` says what to do when neither gives a secret.
Status read_secret(const std::string& env_name, const std::string& file, const std::string& base_dir,
                   const std::string& origin, const std::string& file_setting, const std::string& missing,
                   std::string& secret) {
  if (!file.empty()) {
    std::ifstream in(resolve(base_dir, file), std::ios::binary);
    if (!in) return config_error(origin + ": " + file_setting + ": cannot read " + resolve(base_dir, file));
    std::getline(in, secret);
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  } else if (const char* v = std::getenv(env_name.c_str()); v != nullptr) {
    secret = v;
  }
  if (secret.empty()) return config_error(origin + ": " + missing);
  return Status::ok();
}

// The "ingest" section (core/ingest/ingest_settings.h).
Status load_ingest(const nlohmann::json& ingest, const std::string& base_dir, const std::string& origin,
                   IngestSettings& out) {
  DXHUB_RETURN_IF_ERROR(check_known_keys(ingest,
                                         {"listen", "linger_ms", "batch_rows", "max_post_bytes",
                                          "max_records_per_post", "max_staged_records", "post_id_retention_hours",
                                          "threads", "app_keys"},
                                         "ingest.", origin));
  Reader r(ingest, "ingest.", origin);
  DXHUB_RETURN_IF_ERROR(r.string("listen", out.listen));
  if (!out.listen.empty() && out.listen.rfind(':') == std::string::npos) {
    return r.error("listen", "write ADDRESS:PORT (e.g. 127.0.0.1:9480), or \"\" for none");
  }
  DXHUB_RETURN_IF_ERROR(r.integer("linger_ms", out.linger_ms, 0, 60000));
  DXHUB_RETURN_IF_ERROR(r.integer("batch_rows", out.batch_rows, 1, 1'000'000));
  DXHUB_RETURN_IF_ERROR(r.integer("max_post_bytes", out.max_post_bytes, 1024, int64_t{256} << 20));
  DXHUB_RETURN_IF_ERROR(r.integer("max_records_per_post", out.max_records_per_post, 1, 1'000'000));
  DXHUB_RETURN_IF_ERROR(r.integer("max_staged_records", out.max_staged_records, 1, int64_t{1} << 40));
  DXHUB_RETURN_IF_ERROR(r.integer("post_id_retention_hours", out.post_id_retention_hours, 1, 24 * 366));
  DXHUB_RETURN_IF_ERROR(r.integer("threads", out.threads, 1, 64));
  if (!ingest.contains("app_keys")) return Status::ok();
  if (!ingest["app_keys"].is_array()) return r.error("app_keys", "must be an array of {app_key, plugin, secret_env}");
  for (size_t i = 0; i < ingest["app_keys"].size(); ++i) {
    const auto& entry = ingest["app_keys"][i];
    const std::string where = "ingest.app_keys[" + std::to_string(i) + "].";
    if (!entry.is_object()) return config_error(origin + ": " + where + " must be an object");
    if (entry.contains("secret")) {
      return config_error(origin + ": " + where + "secret is not allowed in a config file; use secret_env (an "
                          "environment variable name) or secret_file");
    }
    DXHUB_RETURN_IF_ERROR(
        check_known_keys(entry, {"app_key", "plugin", "resources", "secret_env", "secret_file"}, where, origin));
    Reader k(entry, where, origin);
    IngestAppKey key;
    std::string env_name, file;
    DXHUB_RETURN_IF_ERROR(k.string("app_key", key.app_key, true));
    DXHUB_RETURN_IF_ERROR(k.string("plugin", key.plugin, true));
    DXHUB_RETURN_IF_ERROR(k.string("secret_env", env_name));
    DXHUB_RETURN_IF_ERROR(k.string("secret_file", file));
    if (env_name.empty() && file.empty()) return k.error("secret_env", "or secret_file is required");
    if (entry.contains("resources")) {
      if (!entry["resources"].is_array()) return k.error("resources", "must be an array of resource ids");
      for (const auto& resource : entry["resources"]) {
        if (!resource.is_string()) return k.error("resources", "must be an array of resource ids");
        key.resources.push_back(resource.get<std::string>());
      }
    }
    for (const auto& other : out.app_keys) {
      if (other.app_key == key.app_key) return k.error("app_key", "\"" + key.app_key + "\" is listed twice");
    }
    key.secret_env = env_name;
    key.secret_file = file.empty() ? "" : resolve(base_dir, file);
    out.app_keys.push_back(std::move(key));
  }
  return Status::ok();
}

Status load_secret(const nlohmann::json& province, const std::string& base_dir, const std::string& origin,
                   std::string& secret) {
  if (province.contains("app_secret")) {
    return config_error(origin + ": province.app_secret is not allowed in a config file; use app_secret_env "
                        "(an environment variable name) or app_secret_file");
  }
  Reader r(province, "province.", origin);
  std::string env_name = "DXHUB_APP_SECRET";
  std::string file;
  DXHUB_RETURN_IF_ERROR(r.string("app_secret_env", env_name));
  DXHUB_RETURN_IF_ERROR(r.string("app_secret_file", file));
  return read_secret(env_name, file, base_dir, origin, "province.app_secret_file",
                     "no AppSecret: set the environment variable " + env_name + " or province.app_secret_file",
                     secret);
}

}  // namespace

Expected<RecordEncoder> parse_record_encoder(const std::string& name) {
  if (name == "compiled") return RecordEncoder::kCompiled;
  if (name == "avro-c") return RecordEncoder::kAvroC;
  return config_error("unknown encoder \"" + name + "\" (compiled | avro-c)");
}

Expected<HubConfig> hub_config_from_json(const nlohmann::json& doc, const std::string& base_dir,
                                         const std::string& origin, bool need_secret) {
  if (!doc.is_object()) return config_error(origin + ": the top level must be a JSON object");
  for (const char* key : {"province", "sync", "delivery", "daemon", "ingest"}) DXHUB_RETURN_IF_ERROR(check_object(doc, key, origin));

  DXHUB_RETURN_IF_ERROR(check_known_keys(
      doc, {"state_db", "state_synchronous", "mappings_dir", "log_level", "log_format", "province", "sync", "delivery", "daemon", "ingest", "plugins"},
      "", origin));
  HubConfig cfg;
  cfg.config_path = origin;
  Reader top(doc, "", origin);
  cfg.state_db = "var/dxhub-state.db";
  cfg.mappings_dir = "mappings";
  DXHUB_RETURN_IF_ERROR(top.string("state_db", cfg.state_db));
  DXHUB_RETURN_IF_ERROR(top.string("mappings_dir", cfg.mappings_dir));
  DXHUB_RETURN_IF_ERROR(top.string("log_level", cfg.log_level));
  std::string log_format = "text";
  DXHUB_RETURN_IF_ERROR(top.string("log_format", log_format));
  auto parsed_log_format = parse_log_format(log_format);
  if (!parsed_log_format) return top.error("log_format", "must be \"text\" or \"json\"");
  cfg.log_format = *parsed_log_format;
  std::string synchronous = "full";
  DXHUB_RETURN_IF_ERROR(top.string("state_synchronous", synchronous));
  if (synchronous != "full" && synchronous != "normal") {
    return top.error("state_synchronous", "must be \"full\" or \"normal\"");
  }
  cfg.state_synchronous_full = synchronous == "full";
  cfg.state_db = resolve(base_dir, cfg.state_db);
  cfg.mappings_dir = resolve(base_dir, cfg.mappings_dir);

  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& province = doc.contains("province") ? doc["province"] : kEmpty;
  if (!province.contains("app_secret")) {  // refused below with its own message
    DXHUB_RETURN_IF_ERROR(check_known_keys(province,
                                           {"url", "app_key", "app_secret_env", "app_secret_file", "signature_method",
                                            "connect_timeout_ms", "request_timeout_ms", "max_attempts",
                                            "backoff_initial_ms", "backoff_max_ms"},
                                           "province.", origin));
  }
  Reader p(province, "province.", origin);
  ProvinceConfig& pc = cfg.province;
  std::string method = "HMAC-SHA256";
  DXHUB_RETURN_IF_ERROR(p.string("url", pc.base_url, true));
  DXHUB_RETURN_IF_ERROR(p.string("app_key", pc.app_key, true));
  DXHUB_RETURN_IF_ERROR(p.string("signature_method", method));
  auto parsed = protocol::parse_signature_method(method);
  if (!parsed) return p.error("signature_method", parsed.status().message());
  pc.method = *parsed;
  DXHUB_RETURN_IF_ERROR(p.integer("connect_timeout_ms", pc.connect_timeout_ms, 1, 600000));
  DXHUB_RETURN_IF_ERROR(p.integer("request_timeout_ms", pc.request_timeout_ms, 1, 3600000));
  DXHUB_RETURN_IF_ERROR(p.integer("max_attempts", pc.max_attempts, 1, 100));
  DXHUB_RETURN_IF_ERROR(p.integer("backoff_initial_ms", pc.backoff_initial_ms, 0, 600000));
  DXHUB_RETURN_IF_ERROR(p.integer("backoff_max_ms", pc.backoff_max_ms, 0, 3600000));
  if (Status secret = load_secret(province, base_dir, origin, pc.app_secret); !secret.is_ok()) {
    // A literal secret in the file is refused whatever the command.
    if (need_secret || province.contains("app_secret")) return secret;
  }

  const nlohmann::json& sync = doc.contains("sync") ? doc["sync"] : kEmpty;
  DXHUB_RETURN_IF_ERROR(
      check_known_keys(sync,
                       {"batch_rows", "codec", "block_bytes", "encoder", "max_outbox_bytes", "max_dead_letters",
                        "max_dead_letter_ratio"},
                       "sync.", origin));
  Reader s(sync, "sync.", origin);
  DXHUB_RETURN_IF_ERROR(s.integer("batch_rows", cfg.sync.batch_rows, 1, 10'000'000));
  DXHUB_RETURN_IF_ERROR(s.integer("block_bytes", cfg.sync.block_bytes, 1024, 64 * 1024 * 1024));
  DXHUB_RETURN_IF_ERROR(s.string("codec", cfg.sync.codec));
  DXHUB_RETURN_IF_ERROR(s.integer("max_outbox_bytes", cfg.sync.max_outbox_bytes, 1, int64_t{1} << 50));
  DXHUB_RETURN_IF_ERROR(s.integer("max_dead_letters", cfg.sync.max_dead_letters, 0, int64_t{1} << 50));
  DXHUB_RETURN_IF_ERROR(s.number("max_dead_letter_ratio", cfg.sync.max_dead_letter_ratio, 0.0, 1.0));
  if (auto codec = avro::parse_codec(cfg.sync.codec); !codec) return s.error("codec", codec.status().message());
  std::string encoder = "compiled";
  DXHUB_RETURN_IF_ERROR(s.string("encoder", encoder));
  auto parsed_encoder = parse_record_encoder(encoder);
  if (!parsed_encoder) return s.error("encoder", parsed_encoder.status().message());
  cfg.sync.encoder = *parsed_encoder;

  const nlohmann::json& delivery = doc.contains("delivery") ? doc["delivery"] : kEmpty;
  DXHUB_RETURN_IF_ERROR(check_known_keys(delivery, {"quarantine_after"}, "delivery.", origin));
  Reader d(delivery, "delivery.", origin);
  DXHUB_RETURN_IF_ERROR(d.integer("quarantine_after", cfg.delivery.quarantine_after, 1, 1000));

  const nlohmann::json& daemon = doc.contains("daemon") ? doc["daemon"] : kEmpty;
  DXHUB_RETURN_IF_ERROR(check_known_keys(daemon,
                                         {"workers", "realtime_every_seconds", "periodic_cron", "timezone",
                                          "jitter_seconds", "shutdown_grace_seconds", "schedules", "delivery_check_seconds",
                                          "circuit_failures", "circuit_open_seconds", "circuit_max_open_seconds",
                                          "metrics_listen"},
                                         "daemon.", origin));
  Reader dm(daemon, "daemon.", origin);
  DaemonSettings& ds = cfg.daemon;
  DXHUB_RETURN_IF_ERROR(dm.integer("workers", ds.workers, 1, 64));
  DXHUB_RETURN_IF_ERROR(dm.integer("realtime_every_seconds", ds.realtime_every_seconds, 1, 86400));
  DXHUB_RETURN_IF_ERROR(dm.string("periodic_cron", ds.periodic_cron));
  DXHUB_RETURN_IF_ERROR(dm.string("timezone", ds.timezone));
  DXHUB_RETURN_IF_ERROR(dm.integer("jitter_seconds", ds.jitter_seconds, 0, 3600));
  DXHUB_RETURN_IF_ERROR(dm.integer("shutdown_grace_seconds", ds.shutdown_grace_seconds, 1, 3600));
  DXHUB_RETURN_IF_ERROR(dm.integer("delivery_check_seconds", ds.delivery_check_seconds, 1, 3600));
  DXHUB_RETURN_IF_ERROR(dm.integer("circuit_failures", ds.circuit_failures, 1, 1000));
  DXHUB_RETURN_IF_ERROR(dm.integer("circuit_open_seconds", ds.circuit_open_seconds, 1, 86400));
  DXHUB_RETURN_IF_ERROR(dm.integer("circuit_max_open_seconds", ds.circuit_max_open_seconds, 1, 86400));
  DXHUB_RETURN_IF_ERROR(dm.string("metrics_listen", ds.metrics_listen));
  if (!ds.metrics_listen.empty() && ds.metrics_listen.rfind(':') == std::string::npos) {
    return dm.error("metrics_listen", "write ADDRESS:PORT (e.g. 127.0.0.1:9464), or \"\" for none");
  }
  if (ds.circuit_max_open_seconds < ds.circuit_open_seconds) {
    return dm.error("circuit_max_open_seconds", "must be at least circuit_open_seconds");
  }
  auto offset = scheduler::parse_timezone(ds.timezone);
  if (!offset) return dm.error("timezone", offset.status().message());
  ds.utc_offset_seconds = *offset;
  if (auto cron = scheduler::CronExpression::parse(ds.periodic_cron); !cron) {
    return dm.error("periodic_cron", cron.status().message());
  }
  ds.schedules = daemon.value("schedules", nlohmann::json::object());
  if (!ds.schedules.is_object()) return dm.error("schedules", "must be an object {\"<resource>\": {...}}");
  for (const auto& [resource, spec] : ds.schedules.items()) {
    // Checked here so that a reload refuses a bad one; whether the resource
    // exists is known only once the plugins are loaded (the daemon checks).
    auto checked = scheduler::resolve_schedule("manual", spec, scheduler::ScheduleDefaults{},
                                               origin + ": daemon.schedules." + resource);
    if (!checked) return checked.status();
  }

  const nlohmann::json& ingest = doc.contains("ingest") ? doc["ingest"] : kEmpty;
  DXHUB_RETURN_IF_ERROR(load_ingest(ingest, base_dir, origin, cfg.ingest));

  if (!doc.contains("plugins") || !doc["plugins"].is_array()) {
    return config_error(origin + ": plugins must be an array of {name, path, settings}");
  }
  for (size_t i = 0; i < doc["plugins"].size(); ++i) {
    const auto& entry = doc["plugins"][i];
    std::string where = "plugins[" + std::to_string(i) + "].";
    if (!entry.is_object()) return config_error(origin + ": " + where + " must be an object");
    DXHUB_RETURN_IF_ERROR(check_known_keys(entry, {"name", "path", "settings", "sources", "enabled"}, where, origin));
    Reader r(entry, where, origin);
    PluginConfig plugin;
    DXHUB_RETURN_IF_ERROR(r.string("name", plugin.name, true));
    DXHUB_RETURN_IF_ERROR(r.string("path", plugin.path, true));
    plugin.path = resolve(base_dir, plugin.path);
    plugin.settings = entry.value("settings", nlohmann::json::object());
    if (!plugin.settings.is_object()) return r.error("settings", "must be an object");
    // Settings that name files are relative to the config file too.
    for (auto& [key, value] : plugin.settings.items()) {
      if (value.is_string() && (key.ends_with("_db") || key.ends_with("_path") || key.ends_with("_dir"))) {
        value = resolve(base_dir, value.get<std::string>());
      }
    }
    plugin.sources = entry.value("sources", nlohmann::json::object());
    if (!plugin.sources.is_object()) return r.error("sources", "must be an object");
    for (auto& [resource, source] : plugin.sources.items()) {
      (void)resource;
      if (source.is_object() && source.contains("settings")) resolve_path_settings(base_dir, source["settings"]);
    }
    if (entry.contains("enabled") && entry["enabled"].is_boolean() && !entry["enabled"].get<bool>()) continue;
    cfg.plugins.push_back(std::move(plugin));
  }
  return cfg;
}

Status load_ingest_secrets(const std::string& origin, IngestSettings& ingest) {
  for (size_t i = 0; i < ingest.app_keys.size(); ++i) {
    IngestAppKey& key = ingest.app_keys[i];
    const std::string where = "ingest.app_keys[" + std::to_string(i) + "].secret";
    DXHUB_RETURN_IF_ERROR(read_secret(key.secret_env, key.secret_file, "", origin, where + "_file",
                                      where + ": no secret: set the environment variable " + key.secret_env +
                                          " or " + where + "_file",
                                      key.secret));
  }
  return Status::ok();
}

Expected<HubConfig> load_hub_config(const std::string& path, bool need_secret) {
  std::ifstream in(path);
  if (!in) return config_error("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false, /*comments=*/true);
  if (doc.is_discarded()) return config_error(path + ": not valid JSON");
  std::string base = fs::absolute(path).parent_path().string();
  return hub_config_from_json(doc, base, path, need_secret);
}

}  // namespace dxhub
