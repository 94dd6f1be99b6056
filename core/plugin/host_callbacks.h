// Internal to core/plugin: how the host's callbacks (the services table and
// the row sink) keep exceptions out of plugins. Each callback is noexcept and
// runs its body through guarded(): whatever the body throws is recorded in
// the plugin's context and the plugin gets `on_failure` (DXHUB_FATAL, or
// nullptr) -- an exception never unwinds through a plugin's C frames.
#pragma once

#include <exception>
#include <string>

#include "core/common/status.h"
#include "core/plugin/loaded_plugin.h"

namespace dxhub {

inline void record_callback_failure(dxhub_host_context* host, const char* callback, const char* what) noexcept {
  try {
    host->callback_errors.push_back(std::string("host callback ") + callback + " failed: " + what);
  } catch (...) {
    host->callback_failed = true;  // not even the message fits in memory
  }
}

template <typename Result, typename Body>
Result guarded(dxhub_host_context* host, const char* callback, Result on_failure, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    record_callback_failure(host, callback, e.what());
  } catch (...) {
    record_callback_failure(host, callback, "unknown exception");
  }
  return on_failure;
}

// The recorded failures as one internal error (ok when there are none).
Status callback_failures(const dxhub_host_context& context);

}  // namespace dxhub
