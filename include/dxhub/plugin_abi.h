/*
 * dxhub plugin ABI, version 1 -- the only contract between the hub (host)
 * and an agency plugin (a shared library). Pure C so that a plugin may be
 * written in C, or in C++ through plugin_sdk.hpp, and built with any
 * compiler/standard library.
 *
 * Naming says the direction (as in Envoy's dynamic modules):
 *   on_*        hooks the PLUGIN implements, called by the host;
 *   callback_*  functions the HOST implements, called by the plugin.
 * Ownership is in every handle's comment. No memory allocated on one side
 * is ever freed on the other; strings handed across are borrowed for the
 * duration stated at each call.
 *
 * Versioning (libcurl "age" style): every table starts with struct_size and
 * only ever grows at the end. A minor version adds fields at the end; a
 * reader checks struct_size before touching any field newer than 1.0. A
 * major version may change anything after the frozen prefix
 * {struct_size, abi_major, abi_minor} of dxhub_plugin_v1.
 */
#ifndef DXHUB_PLUGIN_ABI_H
#define DXHUB_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DXHUB_ABI_VERSION_MAJOR 1
/* 1.0: initial. 1.1: dxhub_plugin_v1.description. */
#define DXHUB_ABI_VERSION_MINOR 1

/* The one symbol a plugin exports (see dxhub_plugin_entry below). */
#define DXHUB_PLUGIN_ENTRY_SYMBOL "dxhub_plugin_entry"

#if defined(__GNUC__)
#define DXHUB_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define DXHUB_PLUGIN_EXPORT
#endif

/* Result of every fallible hook and callback. */
typedef int32_t dxhub_status;
#define DXHUB_OK 0
#define DXHUB_RETRY 1  /* transient: the host may try again later */
#define DXHUB_FATAL 2  /* failed; retrying will not help */
#define DXHUB_CONFIG 3 /* bad settings or declarations: fix the config */

typedef int32_t dxhub_log_level;
#define DXHUB_LOG_DEBUG 0
#define DXHUB_LOG_INFO 1
#define DXHUB_LOG_WARN 2
#define DXHUB_LOG_ERROR 3

/*
 * Failing hooks write a NUL-terminated explanation into the host-provided
 * buffer `error` of `error_size` bytes (truncating as needed). Never put
 * secrets (app secrets, passwords) in it: the host logs it.
 */

/* Host-owned: the host's state for one loaded plugin. Opaque to plugins. */
typedef struct dxhub_host_context dxhub_host_context;
/* Plugin-owned: created by on_init, destroyed by on_shutdown. */
typedef struct dxhub_plugin_instance dxhub_plugin_instance;
/* Plugin-owned: created by on_open_reader, destroyed by on_close_reader. */
typedef struct dxhub_plugin_reader dxhub_plugin_reader;
/* Host-owned: receives rows during one on_read call. */
typedef struct dxhub_row_sink_context dxhub_row_sink_context;

/* One resource (source feed) the plugin offers. All strings are borrowed
 * for the duration of callback_declare_resource; the host copies them. */
typedef struct dxhub_resource_declaration_v1 {
  uint32_t struct_size; /* sizeof(dxhub_resource_declaration_v1) */
  const char* resource_id;           /* "household_population" */
  const char* name_zh;               /* "户籍人口信息" (UTF-8) */
  const char* connector;             /* "sqlite_table", or "plugin" to read through on_read */
  const char* connector_config_json; /* JSON object text; NULL means {} */
  const char* schema_path;           /* relative to the hub's mappings dir */
  const char* mapping_path;          /* relative to the hub's mappings dir */
  const char* schedule;              /* when `dxhub run` syncs it: "realtime" (fast polling), "periodic"
                                        (daily cron default), "every 30s" / "5m" / "2h", a 5-field cron
                                        expression or @daily etc., "manual" or NULL (dxhub sync only);
                                        the hub config's daemon.schedules may override it */
} dxhub_resource_declaration_v1;

/* Functions the host offers a plugin. Valid from on_init until on_shutdown
 * returns. A plugin must check struct_size before calling any member added
 * after the minor version it was built for. */
typedef struct dxhub_host_services_v1 {
  uint32_t struct_size;
  uint32_t abi_major; /* the host's DXHUB_ABI_VERSION_MAJOR */
  uint32_t abi_minor; /* the host's DXHUB_ABI_VERSION_MINOR */
  void (*callback_log)(dxhub_host_context* host, dxhub_log_level level, const char* message);
  /* The plugin's setting `key` from the hub config, as text (numbers and
   * booleans in their JSON spelling); NULL when absent. Host-owned, valid
   * until on_shutdown returns. */
  const char* (*callback_get_setting)(dxhub_host_context* host, const char* key);
  /* Only during on_declare_resources. Returns DXHUB_CONFIG when the
   * declaration is invalid; the host reports why. */
  dxhub_status (*callback_declare_resource)(dxhub_host_context* host,
                                            const dxhub_resource_declaration_v1* declaration);
} dxhub_host_services_v1;

/* Host-owned row receiver for one on_read call. Column indexes refer to the
 * `columns` array given to on_open_reader. Values are copied by the host
 * before the setter returns, so the plugin may pass pointers into its own
 * reused buffers; no allocation is needed per row on either side. Columns
 * not set before end_row are NULL. */
typedef struct dxhub_row_sink_v1 {
  uint32_t struct_size;
  dxhub_row_sink_context* context;
  void (*set_null)(dxhub_row_sink_context* sink, uint32_t column);
  void (*set_int64)(dxhub_row_sink_context* sink, uint32_t column, int64_t value);
  void (*set_double)(dxhub_row_sink_context* sink, uint32_t column, double value);
  void (*set_text)(dxhub_row_sink_context* sink, uint32_t column, const char* utf8, size_t length);
  void (*set_blob)(dxhub_row_sink_context* sink, uint32_t column, const void* data, size_t length);
  /* Completes the row. Anything but DXHUB_OK means "stop": return from
   * on_read at once with DXHUB_OK; the host knows why it stopped. */
  dxhub_status (*end_row)(dxhub_row_sink_context* sink);
} dxhub_row_sink_v1;

/* What a plugin exports. The first three fields are frozen for all majors. */
typedef struct dxhub_plugin_v1 {
  uint32_t struct_size; /* sizeof the table as the plugin was built */
  uint32_t abi_major;   /* DXHUB_ABI_VERSION_MAJOR the plugin was built against */
  uint32_t abi_minor;   /* DXHUB_ABI_VERSION_MINOR the plugin was built against */
  const char* name;     /* "public_security" */
  const char* version;  /* "1.0.0" */

  /* Called once after loading. `host` and `context` stay valid until
   * on_shutdown returns. On DXHUB_OK, *instance is the plugin's state. */
  dxhub_status (*on_init)(const dxhub_host_services_v1* host, dxhub_host_context* context,
                          dxhub_plugin_instance** instance, char* error, size_t error_size);
  /* Calls host->callback_declare_resource once per resource. */
  dxhub_status (*on_declare_resources)(dxhub_plugin_instance* instance, char* error, size_t error_size);
  /* Last call; frees the instance. Must not fail. */
  void (*on_shutdown)(dxhub_plugin_instance* instance);

  /* Plugin-provided reading for resources declared with connector
   * "plugin". All four NULL when the plugin declares none. */
  /* cursor_json: the cursor last returned by on_reader_cursor, or NULL to
   * start from the beginning. columns: the source columns wanted, in the
   * order the sink's column indexes use; borrowed for the call only. */
  dxhub_status (*on_open_reader)(dxhub_plugin_instance* instance, const char* resource_id,
                                 const char* cursor_json, const char* const* columns,
                                 uint32_t column_count, dxhub_plugin_reader** reader, char* error,
                                 size_t error_size);
  /* Emits up to max_rows rows through `sink`; fewer (or none) means the
   * source has nothing more for now. */
  dxhub_status (*on_read)(dxhub_plugin_reader* reader, uint32_t max_rows, const dxhub_row_sink_v1* sink,
                          char* error, size_t error_size);
  /* JSON text of the position after the last completed row ("null" before
   * any). Reader-owned, valid until the next call on this reader. */
  const char* (*on_reader_cursor)(dxhub_plugin_reader* reader);
  void (*on_close_reader)(dxhub_plugin_reader* reader);

  /* ---- added in 1.1 ---- */
  const char* description; /* one line for `dxhub plugins`; may be NULL */
} dxhub_plugin_v1;

/* Size of dxhub_plugin_v1 as of minor 0: a 1.0 plugin's table ends here. */
#define DXHUB_PLUGIN_V1_0_SIZE offsetof(dxhub_plugin_v1, description)
#define DXHUB_PLUGIN_V1_1_SIZE (offsetof(dxhub_plugin_v1, description) + sizeof(const char*))

/* The entry point: returns the plugin's static table (never NULL). */
typedef const dxhub_plugin_v1* (*dxhub_plugin_entry_fn)(void);
DXHUB_PLUGIN_EXPORT const dxhub_plugin_v1* dxhub_plugin_entry(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DXHUB_PLUGIN_ABI_H */
