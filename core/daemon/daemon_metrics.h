// What the daemon counts, served as Prometheus text (GET /metrics) and a
// health summary (GET /health). Updated by the daemon's loop thread after
// each run or drain; read by the metrics server's threads (one mutex).
// Names follow the Prometheus conventions: dxhub_ prefix, base units
// (seconds, bytes), _total for counters, one `resource` label.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/daemon/circuit_breaker.h"
#include "core/engine/sync_engine.h"

namespace dxhub {

class DaemonMetrics {
 public:
  struct PluginStatus {
    std::string name;
    bool loaded = false;
  };

  explicit DaemonMetrics(int64_t started_at) : started_at_(started_at) {}

  void set_plugins(std::vector<PluginStatus> plugins);
  // The resources scheduled now, each with its update cycle (0: manual).
  void set_resources(const std::map<std::string, int64_t>& cycle_seconds);
  // A sync run or a drain of the outbox began (dxhub_resource_running).
  void run_started(const std::string& resource);
  // A sync run (`sync` true) or a drain of the outbox ended at `now`.
  void work_ended(const std::string& resource, const ResourceResult& result, bool sync, int64_t now);
  void set_circuit(const std::string& resource, CircuitBreaker::State state);
  // From the outbox summary: batches and bytes spooled per resource.
  void set_outbox(const std::map<std::string, std::pair<int64_t, int64_t>>& batches_and_bytes);
  void set_stopping() { std::lock_guard lock(mu_); stopping_ = true; }

  std::string prometheus_text(int64_t now) const;
  // {"status": "ok" | "degraded" | "stopping", ...}; degraded: a plugin did
  // not load or a resource's delivery is paused.
  nlohmann::json health(int64_t now) const;

 private:
  struct Resource {
    int64_t cycle_seconds = 0;
    int64_t rows_read = 0, rows_rejected = 0, rows_delivered = 0, batches_delivered = 0, retries = 0;
    int64_t runs_ok = 0, runs_failed = 0, runs_with_dead_letters = 0;
    int64_t last_success = 0;  // end of the last run that read without error (Unix s); 0: none yet
    int64_t outbox_batches = 0, outbox_bytes = 0;
    bool running = false;
    CircuitBreaker::State circuit = CircuitBreaker::State::kClosed;
    UploadLatency upload_latency;
  };

  mutable std::mutex mu_;
  int64_t started_at_ = 0;
  bool stopping_ = false;
  std::vector<PluginStatus> plugins_;
  std::map<std::string, Resource> resources_;
};

}  // namespace dxhub
