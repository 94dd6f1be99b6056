// The daemon's operator endpoint on core/http's hardened server: GET
// /metrics (Prometheus text format 0.0.4) and GET /health (JSON; 200 while
// the daemon runs, with "status" ok, degraded or stopping). Read-only and
// unauthenticated, so it listens on loopback unless configured otherwise
// (daemon.metrics_listen); nothing it serves names a row or a secret.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/daemon/daemon_metrics.h"

namespace dxhub {

class MetricsServer {
 public:
  // `now` gives Unix seconds (the daemon's clock); `extra` (optional) more
  // Prometheus text appended to /metrics (the push endpoint's).
  MetricsServer(const DaemonMetrics& metrics, std::function<int64_t()> now,
                std::function<std::string()> extra = nullptr);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "127.0.0.1:9464", "0.0.0.0:9464", "127.0.0.1:0" (ephemeral).
  Status start(const std::string& listen);
  uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dxhub
