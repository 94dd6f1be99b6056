#include "core/plugin/plugin_reader_connector.h"

#include <limits>
#include <utility>

#include "core/plugin/loaded_plugin.h"

namespace dxhub {

namespace {
constexpr size_t kErrorBufferSize = 1024;

Status from_plugin(dxhub_status s, const std::string& what, const char* message) {
  std::string text = what + ": " + message;
  switch (s) {
    case DXHUB_RETRY: return unavailable_error(std::move(text));
    case DXHUB_CONFIG: return config_error(std::move(text));
    default: return source_error(std::move(text));
  }
}
}  // namespace

PluginReaderConnector::PluginReaderConnector(std::shared_ptr<LoadedPlugin> plugin, std::string resource_id,
                                             std::vector<std::string> columns, nlohmann::json cursor)
    : plugin_(std::move(plugin)),
      resource_id_(std::move(resource_id)),
      columns_(std::move(columns)),
      cursor_(std::move(cursor)),
      values_(columns_.size()),
      buffers_(columns_.size()) {
  sink_table_.struct_size = sizeof sink_table_;
  sink_table_.context = reinterpret_cast<dxhub_row_sink_context*>(this);
  sink_table_.set_null = &sink_set_null;
  sink_table_.set_int64 = &sink_set_int64;
  sink_table_.set_double = &sink_set_double;
  sink_table_.set_text = &sink_set_text;
  sink_table_.set_blob = &sink_set_blob;
  sink_table_.end_row = &sink_end_row;
}

PluginReaderConnector::~PluginReaderConnector() {
  if (reader_ != nullptr) plugin_->table().on_close_reader(reader_);
}

Expected<std::unique_ptr<Connector>> PluginReaderConnector::open(std::shared_ptr<LoadedPlugin> plugin,
                                                                 const std::string& resource_id,
                                                                 const std::vector<std::string>& columns,
                                                                 const nlohmann::json& cursor) {
  if (!plugin->has_reader_hooks()) return config_error("plugin has no reader hooks");
  if (columns.size() > std::numeric_limits<uint32_t>::max()) return config_error("too many columns");
  std::unique_ptr<PluginReaderConnector> conn(new PluginReaderConnector(plugin, resource_id, columns, cursor));
  std::vector<const char*> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.c_str());
  const std::string cursor_text = cursor.is_null() ? std::string() : cursor.dump();
  char error[kErrorBufferSize] = {};
  dxhub_status s = plugin->table().on_open_reader(plugin->instance(), resource_id.c_str(),
                                                  cursor.is_null() ? nullptr : cursor_text.c_str(), names.data(),
                                                  static_cast<uint32_t>(names.size()), &conn->reader_, error,
                                                  sizeof error);
  if (s != DXHUB_OK) {
    conn->reader_ = nullptr;
    return from_plugin(s, "plugin " + plugin->context().plugin_name + " cannot open a reader", error);
  }
  if (conn->reader_ == nullptr) return source_error("plugin " + plugin->context().plugin_name + " returned no reader");
  return std::unique_ptr<Connector>(std::move(conn));
}

Expected<size_t> PluginReaderConnector::read(size_t max_rows, RowSink& sink) {
  if (max_rows == 0) return size_t{0};
  sink_ = &sink;
  rows_ = 0;
  max_rows_ = max_rows;
  sink_status_ = Status::ok();
  sink_failed_ = false;
  for (auto& v : values_) v = FieldValue::null();
  auto who = [&] { return "plugin " + plugin_->context().plugin_name + ", resource " + resource_id_; };

  char error[kErrorBufferSize];
  error[0] = '\0';
  const uint32_t ask = max_rows > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                                      : static_cast<uint32_t>(max_rows);
  dxhub_status s = plugin_->table().on_read(reader_, ask, &sink_table_, error, sizeof error);
  sink_ = nullptr;
  if (sink_failed_) return internal_error(who() + ": the host's row sink failed (out of memory)");
  if (!sink_status_.is_ok()) return sink_status_;
  if (s != DXHUB_OK) return from_plugin(s, who() + ": read failed", error);

  const char* cursor_text = plugin_->table().on_reader_cursor(reader_);
  if (cursor_text == nullptr) return source_error(who() + ": no cursor returned");
  auto cursor = nlohmann::json::parse(cursor_text, nullptr, /*allow_exceptions=*/false);
  if (cursor.is_discarded()) return source_error(who() + ": cursor is not JSON");
  cursor_ = std::move(cursor);
  return rows_;
}

FieldValue* PluginReaderConnector::slot(uint32_t column) {
  if (column >= values_.size()) {
    if (sink_status_.is_ok()) {
      sink_status_ = source_error("plugin " + plugin_->context().plugin_name + " wrote column " +
                                  std::to_string(column) + " of a reader with " + std::to_string(values_.size()) +
                                  " columns");
    }
    return nullptr;
  }
  return &values_[column];
}

void PluginReaderConnector::fail(const char* callback, const char* what) noexcept {
  try {
    if (sink_status_.is_ok()) {
      sink_status_ = internal_error("plugin " + plugin_->context().plugin_name + ", resource " + resource_id_ +
                                    ": host row sink " + callback + " failed: " + what);
    }
  } catch (...) {
    sink_failed_ = true;
  }
}

template <typename Body>
void PluginReaderConnector::guarded(const char* callback, Body&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    fail(callback, e.what());
  } catch (...) {
    fail(callback, "unknown exception");
  }
}

void PluginReaderConnector::sink_set_null(dxhub_row_sink_context* c, uint32_t column) noexcept {
  PluginReaderConnector* me = self(c);
  me->guarded("set_null", [&] {
    if (FieldValue* v = me->slot(column)) *v = FieldValue::null();
  });
}

void PluginReaderConnector::sink_set_int64(dxhub_row_sink_context* c, uint32_t column, int64_t value) noexcept {
  PluginReaderConnector* me = self(c);
  me->guarded("set_int64", [&] {
    if (FieldValue* v = me->slot(column)) *v = FieldValue::integer(value);
  });
}

void PluginReaderConnector::sink_set_double(dxhub_row_sink_context* c, uint32_t column, double value) noexcept {
  PluginReaderConnector* me = self(c);
  me->guarded("set_double", [&] {
    if (FieldValue* v = me->slot(column)) *v = FieldValue::real(value);
  });
}

void PluginReaderConnector::sink_set_text(dxhub_row_sink_context* c, uint32_t column, const char* data,
                                          size_t length) noexcept {
  PluginReaderConnector* me = self(c);
  me->guarded("set_text", [&] {
    FieldValue* v = me->slot(column);
    if (v == nullptr) return;
    std::string& buf = me->buffers_[column];
    buf.assign(data != nullptr ? data : "", data != nullptr ? length : 0);  // keeps capacity; NUL-terminated
    *v = FieldValue::text(buf);
  });
}

void PluginReaderConnector::sink_set_blob(dxhub_row_sink_context* c, uint32_t column, const void* data,
                                          size_t length) noexcept {
  PluginReaderConnector* me = self(c);
  me->guarded("set_blob", [&] {
    FieldValue* v = me->slot(column);
    if (v == nullptr) return;
    std::string& buf = me->buffers_[column];
    buf.assign(data != nullptr ? static_cast<const char*>(data) : "", data != nullptr ? length : 0);
    *v = FieldValue::blob(buf);
  });
}

dxhub_status PluginReaderConnector::sink_end_row(dxhub_row_sink_context* c) noexcept {
  PluginReaderConnector* me = self(c);
  dxhub_status status = DXHUB_FATAL;
  me->guarded("end_row", [&] { status = me->end_row(); });
  return status;
}

dxhub_status PluginReaderConnector::end_row() {
  if (sink_failed_ || !sink_status_.is_ok() || sink_ == nullptr) return DXHUB_FATAL;
  if (rows_ >= max_rows_) {
    sink_status_ = source_error("plugin " + plugin_->context().plugin_name + " emitted more than the " +
                                std::to_string(max_rows_) + " rows asked for");
    return DXHUB_FATAL;
  }
  sink_status_ = sink_->on_row(RowView{values_.data(), values_.size()});  // may throw: sink_end_row catches
  if (!sink_status_.is_ok()) return DXHUB_FATAL;
  ++rows_;
  for (auto& v : values_) v = FieldValue::null();  // unset columns of the next row are NULL
  return DXHUB_OK;
}

}  // namespace dxhub
