#include "core/ingest/ingest_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/avro/codec.h"
#include "core/http/fault_injector.h"
#include "core/http/http_server.h"
#include "core/http/listen_address.h"
#include "core/ingest/ingest_handler.h"
#include "core/ingest/ingest_writer.h"

namespace dxhub {

std::vector<ResourceSpec> push_resources(const std::vector<ResourceSpec>& resources) {
  std::vector<ResourceSpec> out;
  for (const ResourceSpec& spec : resources) {
    if (spec.connector == kPushConnectorKind) out.push_back(spec);
  }
  return out;
}

struct IngestService::Parts {
  http::ListenAddress listen;
  std::vector<std::string> resources;
  IngestCounters counters;
  std::unique_ptr<IngestWriter> writer;
  std::unique_ptr<IngestHandler> handler;
  http::FaultInjector faults{http::FaultSettings{}, 1};
  std::unique_ptr<http::HttpServer> server;
  bool stopped = false;
};

IngestService::IngestService(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

IngestService::~IngestService() { stop(); }

Expected<std::unique_ptr<IngestService>> IngestService::create(const HubConfig& config,
                                                               const std::vector<ResourceSpec>& resources,
                                                               std::function<void(const std::string&)> on_spooled) {
  const IngestSettings& settings = config.ingest;
  const std::string where = config.config_path + ": ingest.";
  auto parts = std::make_unique<Parts>();
  DXHUB_ASSIGN_OR_RETURN(parts->listen, http::parse_listen_address(settings.listen, where + "listen"));
  if (settings.app_keys.empty()) {
    return config_error(where + "app_keys: no agency may post (add {\"app_key\", \"plugin\", \"secret_env\"})");
  }
  for (const IngestAppKey& key : settings.app_keys) {
    // An empty secret would make every signature with an empty key valid.
    if (key.secret.empty()) {
      return internal_error("ingest app key " + key.app_key + ": its secret was not loaded (load_ingest_secrets)");
    }
  }
  DXHUB_ASSIGN_OR_RETURN(avro::Codec codec, avro::parse_codec(config.sync.codec));

  std::map<std::string, IngestResource> handled;
  std::vector<PushTarget> targets;
  std::set<std::string> plugins_with_keys;
  for (const IngestAppKey& key : settings.app_keys) plugins_with_keys.insert(key.plugin);
  for (const ResourceSpec& spec : resources) {
    if (plugins_with_keys.count(spec.plugin) == 0) {
      spdlog::warn("ingest: resource {}/{} takes pushes but no app key of ingest.app_keys names plugin {}: nobody "
                   "can post it",
                   spec.plugin, spec.resource_id, spec.plugin);
    }
    DXHUB_ASSIGN_OR_RETURN(std::unique_ptr<PostDecoder> decoder, PostDecoder::load(spec.schema_path, spec.mapping_path));
    targets.push_back({spec.resource_id, std::make_unique<StagedBatchBuilder>(spec.resource_id, spec.plugin,
                                                                              decoder->schema(), codec,
                                                                              config.sync.codec, config.sync.block_bytes)});
    handled[spec.resource_id] = IngestResource{spec.plugin, std::move(decoder)};
    parts->resources.push_back(spec.resource_id);
  }

  auto service = std::unique_ptr<IngestService>(new IngestService(std::move(parts)));
  Parts& p = *service->parts_;
  IngestWriterOptions writer_options;
  writer_options.state_db = config.state_db;
  writer_options.synchronous_full = config.state_synchronous_full;
  writer_options.linger_ms = settings.linger_ms;
  writer_options.batch_rows = settings.batch_rows;
  writer_options.post_id_retention_ms = settings.post_id_retention_hours * 3600 * 1000;
  p.writer = std::make_unique<IngestWriter>(std::move(writer_options), std::move(targets), std::move(on_spooled),
                                            service->latency_);
  p.handler = std::make_unique<IngestHandler>(settings, std::move(handled), *p.writer, p.counters);
  http::HttpServerOptions options;
  options.server_name = "dxhub";
  options.log_name = "ingest";
  options.max_body_bytes = static_cast<uint64_t>(settings.max_post_bytes);
  options.threads = settings.threads;
  options.log_successes = false;
  p.server = std::make_unique<http::HttpServer>(*p.handler, p.faults, options);
  return service;
}

Status IngestService::start() {
  DXHUB_RETURN_IF_ERROR(parts_->writer->start());
  Status listening = parts_->server->start(parts_->listen.address, parts_->listen.port);
  if (!listening.is_ok()) {
    parts_->writer->stop();
    return listening.with_context("ingest endpoint");
  }
  std::string names;
  for (const auto& r : parts_->resources) names += (names.empty() ? "" : ", ") + r;
  spdlog::info("ingest: push endpoint on http://{}:{}/api/v1/ingest/{{resource}} for {}", parts_->listen.address,
               parts_->server->port(), names);
  return Status::ok();
}

void IngestService::stop() {
  if (!parts_ || parts_->stopped) return;
  parts_->stopped = true;
  parts_->handler->stop_accepting();
  parts_->writer->stop();
  // The answers of the last posts are on their way out; the endpoint closes after.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  parts_->server->stop();
}

uint16_t IngestService::port() const { return parts_->server->port(); }

void IngestService::on_delivered(const std::string& batch_id) { parts_->writer->on_delivered(batch_id); }

std::string IngestService::prometheus_text() const {
  std::string out;
  out += "# HELP dxhub_ingest_posts_total Posts answered by the push endpoint, by outcome (accepted, duplicate, or "
         "the refusal's code).\n# TYPE dxhub_ingest_posts_total counter\n";
  for (const auto& [outcome, count] : parts_->counters.posts()) {
    out += "dxhub_ingest_posts_total{outcome=\"" + outcome + "\"} " + std::to_string(count) + "\n";
  }
  const auto records = parts_->counters.records();
  out += "# HELP dxhub_ingest_records_total Pushed records accepted (durable in staging).\n"
         "# TYPE dxhub_ingest_records_total counter\n";
  for (const auto& r : parts_->resources) {
    auto it = records.find(r);
    out += "dxhub_ingest_records_total{resource=\"" + r + "\"} " + std::to_string(it == records.end() ? 0 : it->second) + "\n";
  }
  out += "# HELP dxhub_ingest_waiting_records Pushed records accepted or queued and not yet in a batch.\n"
         "# TYPE dxhub_ingest_waiting_records gauge\n";
  for (const auto& r : parts_->resources) {
    out += "dxhub_ingest_waiting_records{resource=\"" + r + "\"} " + std::to_string(parts_->writer->waiting_records(r)) + "\n";
  }
  out += "# HELP dxhub_ingest_commits_total Staging transactions of the push endpoint (posts are group-committed).\n"
         "# TYPE dxhub_ingest_commits_total counter\ndxhub_ingest_commits_total " +
         std::to_string(parts_->writer->stage_commits()) + "\n";
  out += "# HELP dxhub_ingest_batches_total Micro-batches the push endpoint spooled into the outbox.\n"
         "# TYPE dxhub_ingest_batches_total counter\ndxhub_ingest_batches_total " +
         std::to_string(parts_->writer->batches_spooled()) + "\n";
  const EventLatency::Snapshot s = latency_.snapshot();
  auto seconds = [](int64_t ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ms) / 1000.0);
    return std::string(text);
  };
  out += "# HELP dxhub_ingest_event_latency_seconds Pushed events from acceptance to their batch's receipt at the "
         "hub, since the daemon started (quantile 1 = the maximum).\n# TYPE dxhub_ingest_event_latency_seconds summary\n";
  out += "dxhub_ingest_event_latency_seconds{quantile=\"0.5\"} " + seconds(s.p50_ms) + "\n";
  out += "dxhub_ingest_event_latency_seconds{quantile=\"0.9\"} " + seconds(s.p90_ms) + "\n";
  out += "dxhub_ingest_event_latency_seconds{quantile=\"0.99\"} " + seconds(s.p99_ms) + "\n";
  out += "dxhub_ingest_event_latency_seconds{quantile=\"1\"} " + seconds(s.max_ms) + "\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.3f", s.sum_seconds);
  out += "dxhub_ingest_event_latency_seconds_sum " + std::string(sum) + "\n";
  out += "dxhub_ingest_event_latency_seconds_count " + std::to_string(s.count) + "\n";
  return out;
}

}  // namespace dxhub
