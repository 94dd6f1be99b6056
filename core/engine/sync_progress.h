// How a one-shot sync tells its caller how far each resource has got (the
// CLI draws it on a terminal). The engine only calls; it does no I/O and
// keeps no clock for it. Calls come from the thread running the sync, at
// chunk boundaries: cheap to receive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dxhub {

class SyncProgressObserver {
 public:
  virtual ~SyncProgressObserver() = default;
  // The resource's source is open. `estimated_rows`: what this read will
  // cover, when the connector could count it (full loads only).
  virtual void on_resource_started(const std::string& plugin, const std::string& resource,
                                   std::optional<int64_t> estimated_rows) = 0;
  // After each chunk: rows read so far in this run (dead letters included).
  virtual void on_rows_read(const std::string& resource, int64_t rows_read) = 0;
  // The resource is done (reading and delivery), whether it succeeded or not.
  virtual void on_resource_finished(const std::string& resource, int64_t rows_read, bool ok) = 0;
};

}  // namespace dxhub
