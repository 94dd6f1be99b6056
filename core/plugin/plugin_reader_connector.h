// A Connector backed by a plugin's reader hooks (connector kind "plugin").
// Rows cross the ABI through the host's row sink: values are copied into
// per-column buffers that are reused row after row, so nothing is
// allocated per row once the buffers have grown to the longest value.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/common/row.h"
#include "core/common/status.h"
#include "dxhub/plugin_abi.h"

namespace dxhub {

class LoadedPlugin;

class PluginReaderConnector final : public Connector {
 public:
  static Expected<std::unique_ptr<Connector>> open(std::shared_ptr<LoadedPlugin> plugin,
                                                   const std::string& resource_id,
                                                   const std::vector<std::string>& columns,
                                                   const nlohmann::json& cursor);
  ~PluginReaderConnector() override;
  PluginReaderConnector(const PluginReaderConnector&) = delete;
  PluginReaderConnector& operator=(const PluginReaderConnector&) = delete;

  const std::vector<std::string>& columns() const override { return columns_; }
  // A failed read leaves cursor() at the last successful read.
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override { return cursor_; }

 private:
  PluginReaderConnector(std::shared_ptr<LoadedPlugin> plugin, std::string resource_id,
                        std::vector<std::string> columns, nlohmann::json cursor);

  static PluginReaderConnector* self(dxhub_row_sink_context* c) { return reinterpret_cast<PluginReaderConnector*>(c); }
  FieldValue* slot(uint32_t column);
  // The row sink the plugin calls: noexcept, and whatever the host side
  // throws (a full buffer, the RowSink's on_row) becomes sink_status_ and
  // DXHUB_FATAL from end_row, never an exception in the plugin's frames.
  static void sink_set_null(dxhub_row_sink_context* c, uint32_t column) noexcept;
  static void sink_set_int64(dxhub_row_sink_context* c, uint32_t column, int64_t value) noexcept;
  static void sink_set_double(dxhub_row_sink_context* c, uint32_t column, double value) noexcept;
  static void sink_set_text(dxhub_row_sink_context* c, uint32_t column, const char* data, size_t length) noexcept;
  static void sink_set_blob(dxhub_row_sink_context* c, uint32_t column, const void* data, size_t length) noexcept;
  static dxhub_status sink_end_row(dxhub_row_sink_context* c) noexcept;
  dxhub_status end_row();
  // Records what a sink callback threw; noexcept even when out of memory.
  void fail(const char* callback, const char* what) noexcept;
  template <typename Body>
  void guarded(const char* callback, Body&& body) noexcept;

  std::shared_ptr<LoadedPlugin> plugin_;  // keeps the library loaded while this reader lives
  std::string resource_id_;
  std::vector<std::string> columns_;
  nlohmann::json cursor_;
  dxhub_plugin_reader* reader_ = nullptr;
  dxhub_row_sink_v1 sink_table_{};
  std::vector<FieldValue> values_;
  std::vector<std::string> buffers_;  // text/blob copies, one per column

  // State of the read() in progress.
  RowSink* sink_ = nullptr;
  size_t rows_ = 0;
  size_t max_rows_ = 0;
  Status sink_status_;
  bool sink_failed_ = false;  // a callback threw and not even its message could be kept
};

}  // namespace dxhub
