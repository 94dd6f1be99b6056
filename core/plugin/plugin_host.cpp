#include "core/plugin/plugin_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "connectors/connector_factory.h"
#include "core/common/log.h"
#include "core/plugin/host_callbacks.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/plugin_reader_connector.h"

namespace dxhub {

namespace {

constexpr size_t kErrorBufferSize = 1024;

std::string version_text(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const char* status_name(dxhub_status s) {
  switch (s) {
    case DXHUB_RETRY: return "RETRY";
    case DXHUB_FATAL: return "FATAL";
    case DXHUB_CONFIG: return "CONFIG";
    default: return "unknown status";
  }
}

// ---- host callbacks (the plugin calls these) ----
//
// Each is noexcept and runs its body in guarded() (host_callbacks.h): an
// exception never unwinds through the plugin's C frames.

// The province's rule for resource ids (sandbox/province valid_resource):
// 1 to 64 characters of [a-z0-9_]. A plugin declaring anything else is
// refused at load instead of failing every delivery later.
bool valid_resource_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// An id as it may appear in a message: printable ASCII kept, the rest \xNN.
std::string printable(const std::string& id) {
  std::string out;
  for (size_t i = 0; i < id.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (id.size() > 80) out += "...";
  return out;
}

void log_from_plugin(dxhub_host_context* host, dxhub_log_level level, const char* message);

void host_log(dxhub_host_context* host, dxhub_log_level level, const char* message) noexcept {
  guarded(host, "log", 0, [&] {
    log_from_plugin(host, level, message);
    return 0;
  });
}

void log_from_plugin(dxhub_host_context* host, dxhub_log_level level, const char* message) {
  spdlog::level::level_enum l = spdlog::level::info;
  switch (level) {
    case DXHUB_LOG_DEBUG: l = spdlog::level::debug; break;
    case DXHUB_LOG_WARN: l = spdlog::level::warn; break;
    case DXHUB_LOG_ERROR: l = spdlog::level::err; break;
    default: break;
  }
  spdlog::log(l, "plugin {}: {}", host->plugin_name, message != nullptr ? message : "");
}

const char* host_get_setting(dxhub_host_context* host, const char* key) noexcept {
  return guarded(host, "get_setting", static_cast<const char*>(nullptr), [&]() -> const char* {
    if (key == nullptr) return nullptr;
    auto it = host->settings.find(key);
    return it == host->settings.end() ? nullptr : it->second.c_str();
  });
}

std::string resolve(const std::string& mappings_dir, const char* relative) {
  std::filesystem::path p(relative);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (std::filesystem::path(mappings_dir) / p).lexically_normal().string();
}

dxhub_status declare_resource(dxhub_host_context* host, const dxhub_resource_declaration_v1* d) {
  auto refuse = [&](const std::string& why) {
    host->declaration_errors.push_back(why);
    return DXHUB_CONFIG;
  };
  if (!host->accepting_declarations) return refuse("declare_resource called outside on_declare_resources");
  if (d == nullptr || d->struct_size < sizeof(dxhub_resource_declaration_v1)) {
    return refuse("resource declaration struct is missing or too small");
  }
  auto text = [](const char* s) { return std::string(s != nullptr ? s : ""); };
  ResourceSpec spec;
  spec.plugin = host->plugin_name;
  spec.resource_id = text(d->resource_id);
  if (spec.resource_id.empty()) return refuse("a resource declaration has no resource_id");
  if (!valid_resource_id(spec.resource_id)) {
    return refuse("resource id \"" + printable(spec.resource_id) +
                  "\" is not 1-64 characters of [a-z0-9_] (the province refuses it)");
  }
  const std::string what = "resource " + spec.resource_id + ": ";
  for (const auto& r : host->resources) {
    if (r.resource_id == spec.resource_id) return refuse(what + "declared twice");
  }
  spec.name_zh = text(d->name_zh);
  spec.connector = text(d->connector);
  if (spec.connector.empty()) return refuse(what + "no connector kind");
  const char* config_text = d->connector_config_json != nullptr ? d->connector_config_json : "{}";
  spec.connector_config = nlohmann::json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (spec.connector_config.is_discarded() || !spec.connector_config.is_object()) {
    return refuse(what + "connector config is not a JSON object");
  }
  if (d->schema_path == nullptr || *d->schema_path == '\0') return refuse(what + "no schema path");
  if (d->mapping_path == nullptr || *d->mapping_path == '\0') return refuse(what + "no mapping path");
  spec.schema_path = resolve(host->mappings_dir, d->schema_path);
  spec.mapping_path = resolve(host->mappings_dir, d->mapping_path);
  spec.schedule = text(d->schedule);
  host->resources.push_back(std::move(spec));
  return DXHUB_OK;
}

dxhub_status host_declare_resource(dxhub_host_context* host, const dxhub_resource_declaration_v1* d) noexcept {
  return guarded(host, "declare_resource", DXHUB_FATAL, [&] { return declare_resource(host, d); });
}

constexpr dxhub_host_services_v1 kHostServices = {
    sizeof(dxhub_host_services_v1), DXHUB_ABI_VERSION_MAJOR, DXHUB_ABI_VERSION_MINOR,
    &host_log, &host_get_setting, &host_declare_resource,
};

// ---- loading ----

// Checks the plugin's table against what this host speaks.
Status check_table(const dxhub_plugin_v1* t) {
  const std::string host_version = version_text(DXHUB_ABI_VERSION_MAJOR, DXHUB_ABI_VERSION_MINOR);
  if (t == nullptr) return config_error("dxhub_plugin_entry returned no table");
  if (t->struct_size < offsetof(dxhub_plugin_v1, abi_minor) + sizeof(t->abi_minor)) {
    return config_error("plugin table is too small to carry an ABI version (struct_size " +
                        std::to_string(t->struct_size) + ")");
  }
  const std::string plugin_version = version_text(t->abi_major, t->abi_minor);
  if (t->abi_major != DXHUB_ABI_VERSION_MAJOR) {
    return config_error("plugin built for ABI " + plugin_version + ", host speaks " + host_version +
                        " (major versions differ)");
  }
  if (t->abi_minor > DXHUB_ABI_VERSION_MINOR) {
    return config_error("plugin built for ABI " + plugin_version + ", newer than the host's " + host_version +
                        "; upgrade the hub");
  }
  const size_t needed = t->abi_minor == 0 ? DXHUB_PLUGIN_V1_0_SIZE : DXHUB_PLUGIN_V1_1_SIZE;
  if (t->struct_size < needed) {
    return config_error("plugin table struct_size " + std::to_string(t->struct_size) + " is smaller than ABI " +
                        plugin_version + " requires (" + std::to_string(needed) + ")");
  }
  if (t->name == nullptr || *t->name == '\0') return config_error("plugin table has no name");
  if (t->on_init == nullptr || t->on_declare_resources == nullptr || t->on_shutdown == nullptr) {
    return config_error("plugin table lacks on_init, on_declare_resources or on_shutdown");
  }
  const int reader_hooks = (t->on_open_reader != nullptr) + (t->on_read != nullptr) +
                           (t->on_reader_cursor != nullptr) + (t->on_close_reader != nullptr);
  if (reader_hooks != 0 && reader_hooks != 4) {
    return config_error("plugin table sets some but not all of the reader hooks");
  }
  return Status::ok();
}

Status settings_into(const nlohmann::json& settings, std::map<std::string, std::string>& out) {
  if (settings.is_null()) return Status::ok();
  if (!settings.is_object()) return config_error("plugin settings must be a JSON object");
  for (const auto& [key, value] : settings.items()) {
    out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return Status::ok();
}

// The operator's `sources` replace declared connectors, resource by
// resource; naming a resource the plugin does not declare is an error (a
// typo would otherwise leave the old source silently in place).
Status apply_source_overrides(const nlohmann::json& sources, std::vector<ResourceSpec>& resources) {
  if (sources.is_null() || (sources.is_object() && sources.empty())) return Status::ok();
  if (!sources.is_object()) return config_error("sources must be an object: {\"<resource>\": {\"connector\", \"settings\"}}");
  for (const auto& [resource_id, source] : sources.items()) {
    const std::string where = "sources." + resource_id;
    auto spec = std::find_if(resources.begin(), resources.end(),
                             [&](const ResourceSpec& r) { return r.resource_id == resource_id; });
    if (spec == resources.end()) return config_error(where + ": the plugin declares no resource " + resource_id);
    if (!source.is_object() || !source.contains("connector") || !source["connector"].is_string()) {
      return config_error(where + ": needs {\"connector\": KIND, \"settings\": {...}}");
    }
    for (const auto& [key, value] : source.items()) {
      (void)value;
      if (key != "connector" && key != "settings") return config_error(where + ": unknown key \"" + key + "\"");
    }
    const nlohmann::json settings = source.value("settings", nlohmann::json::object());
    if (!settings.is_object()) return config_error(where + ".settings: must be an object");
    spec->connector = source["connector"].get<std::string>();
    spec->connector_config = settings;
    spdlog::info("resource {}: read through connector {} (sources in the hub config)", resource_id, spec->connector);
  }
  return Status::ok();
}

// A host callback that failed while the plugin ran (see guarded()).
}  // namespace

Status callback_failures(const dxhub_host_context& context) {
  if (context.callback_failed && context.callback_errors.empty()) {
    return internal_error("a host callback failed (out of memory)");
  }
  if (context.callback_errors.empty()) return Status::ok();
  std::string all;
  for (const auto& e : context.callback_errors) all += (all.empty() ? "" : "; ") + e;
  return internal_error(all);
}

namespace {

Expected<std::shared_ptr<LoadedPlugin>> load_one(const PluginConfig& config, const std::string& mappings_dir,
                                                 PluginHost::PluginInfo& info) {
  if (config.path.empty()) return config_error("no library path given");
  DXHUB_ASSIGN_OR_RETURN(SharedLibrary library, SharedLibrary::open(config.path));
  auto entry = reinterpret_cast<dxhub_plugin_entry_fn>(library.symbol(DXHUB_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    return config_error(config.path + " does not export " DXHUB_PLUGIN_ENTRY_SYMBOL ": not a dxhub plugin");
  }
  const dxhub_plugin_v1* table = entry();
  DXHUB_RETURN_IF_ERROR(check_table(table));

  auto plugin = std::make_shared<LoadedPlugin>(std::move(library), table);
  info.name = config.name.empty() ? table->name : config.name;
  info.version = table->version != nullptr ? table->version : "";
  info.path = config.path;
  info.abi_major = table->abi_major;
  info.abi_minor = table->abi_minor;
  // Added in 1.1: only read it when the plugin's table is that large.
  if (table->struct_size >= DXHUB_PLUGIN_V1_1_SIZE && table->description != nullptr) {
    info.description = table->description;
  }

  dxhub_host_context& context = plugin->context();
  context.plugin_name = info.name;
  context.mappings_dir = mappings_dir;
  DXHUB_RETURN_IF_ERROR(settings_into(config.settings, context.settings));

  char error[kErrorBufferSize] = {};
  dxhub_plugin_instance* instance = nullptr;
  dxhub_status s = table->on_init(&kHostServices, &context, &instance, error, sizeof error);
  DXHUB_RETURN_IF_ERROR(callback_failures(context));
  if (s != DXHUB_OK) return config_error(std::string("on_init failed (") + status_name(s) + "): " + error);
  plugin->set_instance(instance);

  context.accepting_declarations = true;
  s = table->on_declare_resources(instance, error, sizeof error);
  context.accepting_declarations = false;
  DXHUB_RETURN_IF_ERROR(callback_failures(context));
  if (!context.declaration_errors.empty()) {
    std::string all;
    for (const auto& e : context.declaration_errors) all += (all.empty() ? "" : "; ") + e;
    return config_error("invalid resource declaration: " + all);
  }
  if (s != DXHUB_OK) {
    return config_error(std::string("on_declare_resources failed (") + status_name(s) + "): " + error);
  }
  DXHUB_RETURN_IF_ERROR(apply_source_overrides(config.sources, context.resources));
  for (const auto& r : context.resources) {
    if (r.connector == "plugin" && !plugin->has_reader_hooks()) {
      return config_error("resource " + r.resource_id + " uses connector \"plugin\" but the plugin has no reader");
    }
  }
  info.resources = context.resources;
  return plugin;
}

}  // namespace

PluginHost::PluginHost() = default;
PluginHost::~PluginHost() = default;
PluginHost::PluginHost(PluginHost&&) noexcept = default;
PluginHost& PluginHost::operator=(PluginHost&&) noexcept = default;

PluginHost PluginHost::load(const std::vector<PluginConfig>& plugins, const std::string& mappings_dir,
                            std::vector<Status>& errors) {
  PluginHost host;
  std::set<std::string> resource_ids;
  for (const auto& config : plugins) {
    const std::string label = "plugin " + (config.name.empty() ? std::string("(unnamed)") : config.name) + " (" +
                              config.path + ")";
    PluginInfo info;
    auto loaded = load_one(config, mappings_dir, info);
    if (!loaded) {
      errors.push_back(loaded.status().with_context(label));
      continue;
    }
    Status conflict;
    for (const auto& other : host.infos_) {
      if (other.name == info.name) conflict = config_error("another plugin is already loaded as " + info.name);
    }
    for (const auto& r : info.resources) {
      if (resource_ids.count(r.resource_id) != 0) {
        conflict = config_error("resource " + r.resource_id + " is already declared by another plugin");
      }
    }
    if (!conflict.is_ok()) {
      errors.push_back(conflict.with_context(label));
      continue;
    }
    for (const auto& r : info.resources) {
      resource_ids.insert(r.resource_id);
      note_log_resource(info.name, r.resource_id);  // JSON log lines name the plugin of "resource <id>: ..."
    }
    spdlog::info("loaded plugin {} {} (ABI {}) from {}: {} resource(s)", info.name, info.version,
                 version_text(info.abi_major, info.abi_minor), info.path, info.resources.size());
    host.infos_.push_back(std::move(info));
    host.loaded_.push_back(std::move(loaded).value());
  }
  return host;
}

std::vector<ResourceSpec> PluginHost::resources() const {
  std::vector<ResourceSpec> all;
  for (const auto& info : infos_) all.insert(all.end(), info.resources.begin(), info.resources.end());
  return all;
}

Expected<std::unique_ptr<Connector>> PluginHost::open_reader(const ResourceSpec& spec,
                                                             const std::vector<std::string>& columns,
                                                             const nlohmann::json& cursor,
                                                             const ConnectorOpenOptions& options) {
  const std::string label = "resource " + spec.resource_id;
  if (spec.connector != "plugin") {
    ConnectorOpenOptions with_resource = options;
    if (with_resource.resource_id.empty()) with_resource.resource_id = spec.resource_id;
    // "change_detection" is the engine's setting (core/engine/snapshot_diff.h), never the connector's.
    nlohmann::json config = spec.connector_config;
    if (config.is_object()) config.erase("change_detection");
    auto connector = open_connector(spec.connector, config, columns, cursor, with_resource);
    if (!connector) return connector.status().with_context(label);
    return connector;
  }
  for (size_t i = 0; i < infos_.size(); ++i) {
    if (infos_[i].name != spec.plugin) continue;
    auto connector = PluginReaderConnector::open(loaded_[i], spec.resource_id, columns, cursor);
    if (!connector) return connector.status().with_context(label);
    return connector;
  }
  return config_error(label + ": plugin " + spec.plugin + " is not loaded");
}

}  // namespace dxhub
