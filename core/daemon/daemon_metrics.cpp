#include "core/daemon/daemon_metrics.h"

#include <cstdio>
#include <sstream>

namespace dxhub {

namespace {

// Label values are resource ids and plugin names; escaped as the text
// format requires anyway.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void DaemonMetrics::set_plugins(std::vector<PluginStatus> plugins) {
  std::lock_guard lock(mu_);
  plugins_ = std::move(plugins);
}

void DaemonMetrics::set_resources(const std::map<std::string, int64_t>& cycle_seconds) {
  std::lock_guard lock(mu_);
  for (auto it = resources_.begin(); it != resources_.end();) {
    it = cycle_seconds.count(it->first) ? std::next(it) : resources_.erase(it);
  }
  for (const auto& [resource, cycle] : cycle_seconds) resources_[resource].cycle_seconds = cycle;
}

void DaemonMetrics::run_started(const std::string& resource) {
  std::lock_guard lock(mu_);
  resources_[resource].running = true;
}

void DaemonMetrics::work_ended(const std::string& resource, const ResourceResult& result, bool sync, int64_t now) {
  std::lock_guard lock(mu_);
  Resource& r = resources_[resource];
  r.rows_read += result.rows_read;
  r.rows_rejected += result.dead_letters;
  r.rows_delivered += result.rows_delivered;
  r.batches_delivered += result.batches_delivered;
  r.retries += result.delivery_retries;
  r.upload_latency.add(result.upload_latency);
  r.running = false;
  if (!sync) return;
  if (!result.ok()) {
    ++r.runs_failed;
  } else if (result.dead_letters > 0) {
    ++r.runs_with_dead_letters;
  } else {
    ++r.runs_ok;
  }
  if (result.read_status.is_ok()) r.last_success = now;
}

void DaemonMetrics::set_circuit(const std::string& resource, CircuitBreaker::State state) {
  std::lock_guard lock(mu_);
  resources_[resource].circuit = state;
}

void DaemonMetrics::set_outbox(const std::map<std::string, std::pair<int64_t, int64_t>>& batches_and_bytes) {
  std::lock_guard lock(mu_);
  for (auto& [name, r] : resources_) {
    auto it = batches_and_bytes.find(name);
    r.outbox_batches = it == batches_and_bytes.end() ? 0 : it->second.first;
    r.outbox_bytes = it == batches_and_bytes.end() ? 0 : it->second.second;
  }
}

std::string DaemonMetrics::prometheus_text(int64_t now) const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  header(out, "dxhub_daemon_start_time_seconds", "gauge", "Unix time the daemon started.");
  out << "dxhub_daemon_start_time_seconds " << started_at_ << '\n';
  header(out, "dxhub_plugin_loaded", "gauge", "1 when the plugin loaded, 0 when it was refused.");
  for (const auto& p : plugins_) out << "dxhub_plugin_loaded{plugin=\"" << label(p.name) << "\"} " << (p.loaded ? 1 : 0) << '\n';

  struct Counter {
    const char* name;
    const char* type;
    const char* help;
    int64_t Resource::*field;
  };
  const Counter counters[] = {
      {"dxhub_rows_read_total", "counter", "Source rows read.", &Resource::rows_read},
      {"dxhub_rows_rejected_total", "counter", "Source rows dead-lettered (not mapped).", &Resource::rows_rejected},
      {"dxhub_rows_delivered_total", "counter", "Rows acknowledged by the province.", &Resource::rows_delivered},
      {"dxhub_batches_delivered_total", "counter", "Batches acknowledged by the province.", &Resource::batches_delivered},
      {"dxhub_delivery_retries_total", "counter", "Province requests repeated after transient failures.", &Resource::retries},
      {"dxhub_outbox_batches", "gauge", "Batches spooled, not yet acknowledged.", &Resource::outbox_batches},
      {"dxhub_outbox_bytes", "gauge", "Bytes of spooled batch bodies.", &Resource::outbox_bytes},
      {"dxhub_update_cycle_seconds", "gauge", "The resource's schedule period (0: manual).", &Resource::cycle_seconds},
  };
  for (const auto& c : counters) {
    header(out, c.name, c.type, c.help);
    for (const auto& [name, r] : resources_) out << c.name << "{resource=\"" << label(name) << "\"} " << r.*c.field << '\n';
  }
  header(out, "dxhub_runs_total", "counter", "Sync runs by outcome.");
  for (const auto& [name, r] : resources_) {
    out << "dxhub_runs_total{resource=\"" << label(name) << "\",status=\"ok\"} " << r.runs_ok << '\n'
        << "dxhub_runs_total{resource=\"" << label(name) << "\",status=\"ok_with_dead_letters\"} "
        << r.runs_with_dead_letters << '\n'
        << "dxhub_runs_total{resource=\"" << label(name) << "\",status=\"failed\"} " << r.runs_failed << '\n';
  }
  header(out, "dxhub_source_lag_seconds", "gauge",
         "Seconds since the resource's last sync that read its source without error (since the daemon started "
         "when none yet); compare with dxhub_update_cycle_seconds.");
  for (const auto& [name, r] : resources_) {
    out << "dxhub_source_lag_seconds{resource=\"" << label(name) << "\"} "
        << now - (r.last_success > 0 ? r.last_success : started_at_) << '\n';
  }
  header(out, "dxhub_resource_running", "gauge", "1 while a sync or delivery of the resource runs.");
  for (const auto& [name, r] : resources_) {
    out << "dxhub_resource_running{resource=\"" << label(name) << "\"} " << (r.running ? 1 : 0) << '\n';
  }
  header(out, "dxhub_circuit_state", "gauge", "Delivery circuit per resource: 1 for its current state.");
  for (const auto& [name, r] : resources_) {
    for (auto state : {CircuitBreaker::State::kClosed, CircuitBreaker::State::kOpen, CircuitBreaker::State::kHalfOpen}) {
      out << "dxhub_circuit_state{resource=\"" << label(name) << "\",state=\"" << circuit_state_name(state) << "\"} "
          << (r.circuit == state ? 1 : 0) << '\n';
    }
  }
  header(out, "dxhub_upload_duration_seconds", "histogram", "Batch upload to receipt, per request.");
  for (const auto& [name, r] : resources_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < r.upload_latency.buckets.size(); ++i) {
      cumulative += r.upload_latency.buckets[i];
      const std::string le = i < UploadLatency::kBounds.size() ? number(UploadLatency::kBounds[i]) : "+Inf";
      out << "dxhub_upload_duration_seconds_bucket{resource=\"" << label(name) << "\",le=\"" << le << "\"} "
          << cumulative << '\n';
    }
    out << "dxhub_upload_duration_seconds_sum{resource=\"" << label(name) << "\"} "
        << number(r.upload_latency.sum_seconds) << '\n'
        << "dxhub_upload_duration_seconds_count{resource=\"" << label(name) << "\"} " << r.upload_latency.count << '\n';
  }
  return out.str();
}

nlohmann::json DaemonMetrics::health(int64_t now) const {
  std::lock_guard lock(mu_);
  nlohmann::json paused = nlohmann::json::array();
  nlohmann::json failed_plugins = nlohmann::json::array();
  int running = 0;
  for (const auto& [name, r] : resources_) {
    if (r.circuit != CircuitBreaker::State::kClosed) paused.push_back(name);
    running += r.running ? 1 : 0;
  }
  for (const auto& p : plugins_) {
    if (!p.loaded) failed_plugins.push_back(p.name);
  }
  const char* status = stopping_ ? "stopping" : (!paused.empty() || !failed_plugins.empty()) ? "degraded" : "ok";
  return {{"status", status},
          {"uptime_seconds", now - started_at_},
          {"resources", resources_.size()},
          {"running", running},
          {"delivery_paused", paused},
          {"plugins_not_loaded", failed_plugins}};
}

}  // namespace dxhub
