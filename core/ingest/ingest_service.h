// The push endpoint of `dxhub run` (ingest_handler.h says what it serves):
// core/http's hardened server, the handler, and the writer that stages posts
// and cuts them into micro-batches (ingest_writer.h). The daemon creates it
// when ingest.listen is set and some resource's source is "push", and
// starts delivery of a resource whenever on_spooled names it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/engine/hub_config.h"
#include "core/engine/staged_batches.h"
#include "core/ingest/event_latency.h"
#include "core/ingest/ingest_counters.h"
#include "core/plugin/plugin_host.h"

namespace dxhub {

// The resources of `resources` whose source is "push".
std::vector<ResourceSpec> push_resources(const std::vector<ResourceSpec>& resources);

class IngestService {
 public:
  // kConfig when ingest.listen is malformed, no app key may post one of the
  // push resources, or a resource's schema or mapping does not load;
  // kInternal when an app key's secret was not loaded (load_ingest_secrets,
  // which the daemon runs with the config so that a reload can refuse it).
  static Expected<std::unique_ptr<IngestService>> create(const HubConfig& config,
                                                         const std::vector<ResourceSpec>& push_resources,
                                                         std::function<void(const std::string& resource)> on_spooled);
  ~IngestService();
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // The writer (taking up what is staged), then the endpoint.
  Status start();
  // New posts are refused; queued ones are staged and answered; everything
  // staged is spooled; the endpoint closes. Idempotent.
  void stop();
  uint16_t port() const;

  // A receipt of `batch_id` was recorded (latency of its events).
  void on_delivered(const std::string& batch_id);
  // Metrics in Prometheus text format (appended to the daemon's /metrics).
  std::string prometheus_text() const;
  EventLatency::Snapshot latency() const { return latency_.snapshot(); }

 private:
  struct Parts;
  explicit IngestService(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
  EventLatency latency_;
};

}  // namespace dxhub
