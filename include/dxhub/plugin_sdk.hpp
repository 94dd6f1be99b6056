// Header-only C++ SDK over plugin_abi.h (the hourglass: ordinary C++ for the
// plugin author, a stable C boundary for the host). A plugin is a class
// derived from dxhub::sdk::Plugin plus one line at the bottom of its file:
//
//   DXHUB_PLUGIN(PublicSecurityPlugin, "public_security", "1.0.0")
//
// Exceptions never cross the boundary: sdk::Error carries its status code,
// any other exception becomes DXHUB_FATAL with its what() as the message.
// Depends on the C++ standard library only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dxhub/plugin_abi.h"

namespace dxhub::sdk {

// Throw to fail a hook with a specific status.
class Error : public std::runtime_error {
 public:
  Error(dxhub_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  dxhub_status status() const { return status_; }

 private:
  dxhub_status status_;
};
struct ConfigError : Error {
  explicit ConfigError(const std::string& message) : Error(DXHUB_CONFIG, message) {}
};
struct RetryError : Error {
  explicit RetryError(const std::string& message) : Error(DXHUB_RETRY, message) {}
};

// Builds a JSON object's text for connector configs: strings, integers,
// booleans and nested objects (no JSON library required).
class JsonObject {
 public:
  JsonObject& set(std::string_view key, std::string_view value) {
    append_key(key);
    append_string(value);
    return *this;
  }
  JsonObject& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  JsonObject& set(std::string_view key, int64_t value) {
    append_key(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonObject& set(std::string_view key, int value) { return set(key, static_cast<int64_t>(value)); }
  JsonObject& set(std::string_view key, bool value) {
    append_key(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  JsonObject& set(std::string_view key, const JsonObject& object) {
    append_key(key);
    text_ += object.str();
    return *this;
  }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  void append_key(std::string_view key) {
    text_ += text_.empty() ? "{" : ",";
    append_string(key);
    text_ += ':';
  }
  void append_string(std::string_view s) {
    text_ += '"';
    for (char c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        text_ += '\\';
        text_ += c;
      } else if (u < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", u);
        text_ += esc;
      } else {
        text_ += c;
      }
    }
    text_ += '"';
  }
  std::string text_;
};

// A resource declaration, built fluently:
//   Resource("household_population").name_zh("户籍人口信息")
//       .connector("sqlite_table", JsonObject().set("table", "t").str())
//       .schema("a/b.avsc").mapping("a/b.mapping.json").schedule("realtime")
class Resource {
 public:
  explicit Resource(std::string resource_id) : id_(std::move(resource_id)) {}
  Resource& name_zh(std::string v) { name_zh_ = std::move(v); return *this; }
  Resource& connector(std::string kind, std::string config_json = "{}") {
    connector_ = std::move(kind);
    config_ = std::move(config_json);
    return *this;
  }
  Resource& schema(std::string relative_path) { schema_ = std::move(relative_path); return *this; }
  Resource& mapping(std::string relative_path) { mapping_ = std::move(relative_path); return *this; }
  // "realtime", "periodic", "every 30s", "*/15 * * * *", "@daily", "manual" (see plugin_abi.h).
  Resource& schedule(std::string v) { schedule_ = std::move(v); return *this; }

  dxhub_resource_declaration_v1 declaration() const {
    dxhub_resource_declaration_v1 d{};
    d.struct_size = sizeof d;
    d.resource_id = id_.c_str();
    d.name_zh = name_zh_.c_str();
    d.connector = connector_.c_str();
    d.connector_config_json = config_.c_str();
    d.schema_path = schema_.c_str();
    d.mapping_path = mapping_.c_str();
    d.schedule = schedule_.c_str();
    return d;
  }

 private:
  std::string id_, name_zh_, connector_, config_ = "{}", schema_, mapping_, schedule_;
};

// The host as the plugin sees it.
class Host {
 public:
  Host(const dxhub_host_services_v1* services, dxhub_host_context* context)
      : services_(services), context_(context) {}

  void log(dxhub_log_level level, const std::string& message) const {
    services_->callback_log(context_, level, message.c_str());
  }
  void info(const std::string& message) const { log(DXHUB_LOG_INFO, message); }
  void warn(const std::string& message) const { log(DXHUB_LOG_WARN, message); }

  std::optional<std::string_view> setting(const char* key) const {
    const char* v = services_->callback_get_setting(context_, key);
    if (v == nullptr) return std::nullopt;
    return std::string_view(v);
  }
  // The setting, or ConfigError naming it.
  std::string require_setting(const char* key) const {
    auto v = setting(key);
    if (!v || v->empty()) throw ConfigError(std::string("missing required setting \"") + key + "\"");
    return std::string(*v);
  }
  void declare(const Resource& resource) const {
    dxhub_resource_declaration_v1 d = resource.declaration();
    if (services_->callback_declare_resource(context_, &d) != DXHUB_OK) {
      throw ConfigError("the host refused resource declaration");
    }
  }

 private:
  const dxhub_host_services_v1* services_;
  dxhub_host_context* context_;
};

// Writes rows into the host's sink. Column indexes follow the `columns`
// passed to Plugin::open_reader. Allocation-free.
class RowWriter {
 public:
  explicit RowWriter(const dxhub_row_sink_v1* sink) : sink_(sink) {}
  void set_null(uint32_t col) { sink_->set_null(sink_->context, col); }
  void set(uint32_t col, int64_t v) { sink_->set_int64(sink_->context, col, v); }
  void set(uint32_t col, int v) { set(col, static_cast<int64_t>(v)); }
  void set(uint32_t col, double v) { sink_->set_double(sink_->context, col, v); }
  void set(uint32_t col, std::string_view text) { sink_->set_text(sink_->context, col, text.data(), text.size()); }
  void set(uint32_t col, const char* text) { set(col, std::string_view(text)); }
  void set_blob(uint32_t col, const void* data, size_t size) { sink_->set_blob(sink_->context, col, data, size); }
  // Completes the row. Returns false when the host wants no more rows:
  // the reader must then return from read() at once.
  bool end_row() {
    if (sink_->end_row(sink_->context) != DXHUB_OK) {
      stopped_ = true;
      return false;
    }
    return true;
  }
  bool stopped() const { return stopped_; }

 private:
  const dxhub_row_sink_v1* sink_;
  bool stopped_ = false;
};

// A plugin-provided reader for a resource declared with connector "plugin".
class Reader {
 public:
  virtual ~Reader() = default;
  // Emits up to max_rows rows; fewer means nothing more for now.
  virtual void read(uint32_t max_rows, RowWriter& out) = 0;
  // JSON text of the position after the last completed row.
  virtual std::string cursor() const = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Read settings here; throw ConfigError when they are wrong.
  virtual void init(const Host& /*host*/) {}
  virtual void declare_resources(const Host& host) = 0;
  // cursor_json is empty to start from the beginning.
  virtual std::unique_ptr<Reader> open_reader(std::string_view resource_id, std::string_view /*cursor_json*/,
                                              std::span<const std::string_view> /*columns*/) {
    throw ConfigError("plugin has no reader for resource " + std::string(resource_id));
  }
};

namespace detail {

inline void write_error(char* buf, size_t size, const char* message) {
  if (buf == nullptr || size == 0) return;
  std::snprintf(buf, size, "%s", message);
}

// Runs `body`, turning any exception into a status and message.
template <typename Body>
dxhub_status guarded(char* error, size_t error_size, Body&& body) noexcept {
  try {
    body();
    return DXHUB_OK;
  } catch (const Error& e) {
    write_error(error, error_size, e.what());
    return e.status();
  } catch (const std::exception& e) {
    write_error(error, error_size, e.what());
    return DXHUB_FATAL;
  } catch (...) {
    write_error(error, error_size, "unknown exception");
    return DXHUB_FATAL;
  }
}

struct InstanceBox {
  Host host;
  std::unique_ptr<Plugin> plugin;
};

struct ReaderBox {
  std::unique_ptr<Reader> reader;
  std::string cursor = "null";  // kept here so the pointer handed out stays valid
};

inline InstanceBox* box(dxhub_plugin_instance* p) { return reinterpret_cast<InstanceBox*>(p); }
inline ReaderBox* box(dxhub_plugin_reader* p) { return reinterpret_cast<ReaderBox*>(p); }

template <typename P>
dxhub_status on_init(const dxhub_host_services_v1* services, dxhub_host_context* context,
                     dxhub_plugin_instance** instance, char* error, size_t error_size) {
  return guarded(error, error_size, [&] {
    if (services == nullptr || services->struct_size < sizeof(dxhub_host_services_v1)) {
      throw Error(DXHUB_FATAL, "host services table is older than this plugin needs");
    }
    auto b = std::make_unique<InstanceBox>(InstanceBox{Host(services, context), nullptr});
    b->plugin = std::make_unique<P>();
    b->plugin->init(b->host);
    *instance = reinterpret_cast<dxhub_plugin_instance*>(b.release());
  });
}

inline dxhub_status on_declare_resources(dxhub_plugin_instance* instance, char* error, size_t error_size) {
  return guarded(error, error_size, [&] { box(instance)->plugin->declare_resources(box(instance)->host); });
}

inline void on_shutdown(dxhub_plugin_instance* instance) { delete box(instance); }

inline dxhub_status on_open_reader(dxhub_plugin_instance* instance, const char* resource_id, const char* cursor_json,
                                   const char* const* columns, uint32_t column_count, dxhub_plugin_reader** reader,
                                   char* error, size_t error_size) {
  return guarded(error, error_size, [&] {
    std::vector<std::string_view> names(columns, columns + column_count);
    auto b = std::make_unique<ReaderBox>();
    b->reader = box(instance)->plugin->open_reader(resource_id, cursor_json != nullptr ? cursor_json : "",
                                                   std::span<const std::string_view>(names));
    if (!b->reader) throw Error(DXHUB_FATAL, "open_reader returned no reader");
    b->cursor = cursor_json != nullptr ? cursor_json : "null";
    *reader = reinterpret_cast<dxhub_plugin_reader*>(b.release());
  });
}

inline dxhub_status on_read(dxhub_plugin_reader* reader, uint32_t max_rows, const dxhub_row_sink_v1* sink,
                            char* error, size_t error_size) {
  return guarded(error, error_size, [&] {
    RowWriter out(sink);
    box(reader)->reader->read(max_rows, out);
  });
}

inline const char* on_reader_cursor(dxhub_plugin_reader* reader) {
  ReaderBox* b = box(reader);
  try {
    b->cursor = b->reader->cursor();
  } catch (...) {
    return nullptr;  // the host reports a missing cursor
  }
  return b->cursor.c_str();
}

inline void on_close_reader(dxhub_plugin_reader* reader) { delete box(reader); }

template <typename P>
dxhub_plugin_v1 make_table(const char* name, const char* version, const char* description) {
  dxhub_plugin_v1 t{};
  t.struct_size = sizeof t;
  t.abi_major = DXHUB_ABI_VERSION_MAJOR;
  t.abi_minor = DXHUB_ABI_VERSION_MINOR;
  t.name = name;
  t.version = version;
  t.on_init = &on_init<P>;
  t.on_declare_resources = &on_declare_resources;
  t.on_shutdown = &on_shutdown;
  t.on_open_reader = &on_open_reader;
  t.on_read = &on_read;
  t.on_reader_cursor = &on_reader_cursor;
  t.on_close_reader = &on_close_reader;
  t.description = description;
  return t;
}

}  // namespace detail
}  // namespace dxhub::sdk

// Defines the plugin's only exported symbol. Use once, at file scope.
#define DXHUB_PLUGIN_DESCRIBED(ClassName, name, version, description)                            \
  extern "C" DXHUB_PLUGIN_EXPORT const dxhub_plugin_v1* dxhub_plugin_entry(void) {               \
    static const dxhub_plugin_v1 table = ::dxhub::sdk::detail::make_table<ClassName>(name, version, \
                                                                                     description); \
    return &table;                                                                               \
  }
#define DXHUB_PLUGIN(ClassName, name, version) DXHUB_PLUGIN_DESCRIBED(ClassName, name, version, nullptr)
