#include "core/daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "core/daemon/circuit_breaker.h"
#include "core/daemon/daemon_metrics.h"
#include "core/daemon/metrics_server.h"
#include "core/daemon/resource_plan.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_engine.h"
#include "core/ingest/ingest_service.h"
#include "core/plugin/plugin_host.h"
#include "core/scheduler/schedule_planner.h"
#include "core/state/state_lock.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {

namespace asio = boost::asio;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One loaded configuration with its plugins. Runs hold a reference, so a
// reload never unloads a plugin under a running sync.
struct Generation {
  HubConfig config;
  PluginHost host;
  std::vector<scheduler::PlannedResource> plan;
};

// Loads the config and its plugins and resolves every resource's schedule.
// `strict`: any plugin that fails to load refuses the whole generation (a
// reload); at start the others go on without it.
Expected<std::shared_ptr<Generation>> load_generation(const std::string& path, bool strict) {
  DXHUB_ASSIGN_OR_RETURN(HubConfig config, load_hub_config(path));
  // The push endpoint's secrets are read here, so that a reload that would
  // leave an app key without its secret is refused like any bad config.
  if (!config.ingest.listen.empty()) DXHUB_RETURN_IF_ERROR(load_ingest_secrets(path, config.ingest));
  auto generation = std::make_shared<Generation>();
  generation->config = std::move(config);
  std::vector<Status> load_errors;
  generation->host = PluginHost::load(generation->config.plugins, generation->config.mappings_dir, load_errors);
  for (const auto& e : load_errors) spdlog::error("daemon: {}", e.message());
  if (strict && !load_errors.empty()) return load_errors.front();

  DXHUB_ASSIGN_OR_RETURN(generation->plan, plan_resources(generation->config, generation->host.resources()));
  if (generation->plan.empty()) return config_error(path + ": no resources to schedule");
  return generation;
}

class Daemon {
 public:
  Daemon(std::string config_path, std::shared_ptr<Generation> generation, StateLock lock)
      : config_path_(std::move(config_path)),
        current_(std::move(generation)),
        lock_(std::move(lock)),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        timer_(io_),
        delivery_timer_(io_),
        grace_timer_(io_),
        workers_(static_cast<size_t>(current_->config.daemon.workers)) {}

  int run() {
    reset_plan();
    if (Status ingest = start_ingest(); !ingest.is_ok()) {
      spdlog::error("daemon: {}", ingest.to_string());
      return exit_code_for_status(ingest);
    }
    start_metrics();
    wait_for_signal();
    arm_timer();
    arm_delivery_timer();
    spdlog::info("daemon: running {} resources on {} workers (config {}); SIGTERM stops, SIGHUP reloads",
                 current_->plan.size(), current_->config.daemon.workers, config_path_);
    io_.run();
    if (abandoned_) {
      // Runs did not end within the grace period; every commit they made is
      // consistent, so the next start resumes. Their threads cannot be joined.
      spdlog::warn("daemon: {} runs still going after {} s; exiting without them", in_flight_,
                   current_->config.daemon.shutdown_grace_seconds);
      spdlog::shutdown();
      std::_Exit(kExitOk);
    }
    workers_.join();
    push_workers_.join();
    if (metrics_server_) metrics_server_->stop();
    spdlog::info("daemon: stopped");
    return kExitOk;
  }

 private:
  // Planner entries with the last run of each resource from the state.
  void reset_plan() {
    std::map<std::string, int64_t> last_starts;
    auto store = StateStore::open(current_->config.state_db, StateStoreOptions{});
    if (store) {
      if (auto starts = store->last_resource_starts(); starts) last_starts = std::move(*starts);
    } else {
      spdlog::warn("daemon: cannot read run history ({}): every resource counts as never run",
                   store.status().message());
    }
    std::vector<scheduler::PlannedResource> plan = current_->plan;
    apply_last_starts(plan, last_starts);
    const int64_t now = now_seconds();
    std::map<std::string, int64_t> cycles;
    for (const auto& p : plan) cycles[p.resource] = p.schedule.cycle_seconds(now);
    metrics_.set_resources(cycles);
    std::vector<DaemonMetrics::PluginStatus> plugins;
    for (const auto& configured : current_->config.plugins) {
      bool loaded = false;
      for (const auto& p : current_->host.plugins()) loaded = loaded || p.name == configured.name;
      plugins.push_back({configured.name, loaded});
    }
    metrics_.set_plugins(std::move(plugins));
    planner_.reset(std::move(plan), now);
    for (const auto& v : planner_.view()) {
      spdlog::info("daemon: resource {}: {}; next run {}", v.resource, v.schedule,
                   v.running ? "after the running one" : v.next_due == 0 ? "never (manual)" : iso_time_ms(v.next_due * 1000));
    }
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reload();
        wait_for_signal();
        return;
      }
      begin_stop(signal);
    });
  }

  void arm_timer() {
    if (stopping_) return;
    const int64_t now = now_seconds();
    // Wake at the next due time, and at least every minute (a clock step,
    // a suspended machine).
    int64_t wait_s = 60;
    if (auto wake = planner_.next_wakeup(); wake) wait_s = std::clamp<int64_t>(*wake - now, 0, 60);
    timer_.expires_after(std::chrono::seconds(wait_s));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      const int64_t fired_at = now_seconds();
      for (const std::string& resource : planner_.take_due(fired_at)) {
        CircuitBreaker& circuit = circuit_for(resource);
        if (!circuit.allow(fired_at)) {
          // Paused: the source waits too (nothing is lost), until the probe.
          planner_.defer(resource, circuit.open_until());
          continue;
        }
        start_run(resource);
      }
      arm_timer();
    });
  }

  void start_run(const std::string& resource) {
    ++in_flight_;
    metrics_.run_started(resource);
    std::shared_ptr<Generation> generation = current_;
    asio::post(workers_, [this, generation, resource] {
      ResourceResult result;
      bool ran = false;
      try {
        SyncEngine engine(generation->config, generation->host);
        engine.set_stop_flag(&stop_);
        engine.set_command("run");
        RunSummary summary = engine.run({resource});
        for (auto& r : summary.resources) {
          result = std::move(r);
          ran = true;
        }
        for (const auto& e : summary.errors) spdlog::error("daemon: resource {}: {}", resource, e.to_string());
      } catch (const std::exception& e) {
        spdlog::error("daemon: resource {}: run failed: {}", resource, e.what());
      } catch (...) {
        spdlog::error("daemon: resource {}: run failed", resource);
      }
      if (ran) {
        spdlog::info("daemon: resource {}: run ended: {}{}", resource, result.status_text(),
                     result.stopped ? " (stopped for shutdown; the rest follows next run)" : "");
      }
      asio::post(io_, [this, resource, ran, result = std::move(result)] { run_ended(resource, ran ? &result : nullptr); });
    });
  }

  // Between runs: resources whose outbox holds batches are drained, one
  // upload stream per resource, within the same worker pool.
  void arm_delivery_timer() {
    if (stopping_) return;
    delivery_timer_.expires_after(std::chrono::seconds(current_->config.daemon.delivery_check_seconds));
    delivery_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      drain_pending_outboxes();
      arm_delivery_timer();
    });
  }

  void drain_pending_outboxes() {
    if (!state_) {
      auto opened = StateStore::open(current_->config.state_db, StateStoreOptions{});
      if (!opened) {
        spdlog::warn("daemon: cannot read the outbox: {}", opened.status().message());
        return;
      }
      state_.emplace(std::move(*opened));
    }
    auto outbox = state_->outbox_summary();
    if (!outbox) {
      spdlog::warn("daemon: cannot read the outbox: {}", outbox.status().message());
      return;
    }
    std::map<std::string, std::pair<int64_t, int64_t>> spooled;
    for (const auto& o : *outbox) spooled[o.resource] = {o.batches, o.bytes};
    metrics_.set_outbox(spooled);
    const int64_t now = now_seconds();
    for (const auto& o : *outbox) {
      if (o.batches == 0 || !planner_.begin_other_work(o.resource)) continue;  // running, or not scheduled here
      if (!circuit_for(o.resource).allow(now)) {
        planner_.end_other_work(o.resource);
        continue;
      }
      start_drain(o.resource);
    }
  }

  // A push resource's delivery runs on its own pool, so that pushed events
  // never wait behind a long periodic sync for a worker.
  void start_drain(const std::string& resource) {
    ++in_flight_;
    metrics_.run_started(resource);
    std::shared_ptr<Generation> generation = current_;
    std::shared_ptr<IngestService> ingest = ingest_service();
    auto& pool = push_resources_.count(resource) > 0 ? push_workers_ : workers_;
    asio::post(pool, [this, generation, ingest, resource] {
      Status delivery;
      ResourceResult r;
      try {
        SyncEngine engine(generation->config, generation->host);
        engine.set_stop_flag(&stop_);
        if (ingest) engine.set_receipt_observer([ingest](const std::string& batch_id) { ingest->on_delivered(batch_id); });
        r = engine.deliver_pending(resource);
        delivery = !r.read_status.is_ok() ? r.read_status : r.delivery_status;
        if (r.batches_delivered > 0 || r.batches_quarantined > 0) {
          spdlog::info("daemon: resource {}: delivered {} spooled batches ({} rows) between runs, {} quarantined, "
                       "{} pending",
                       resource, r.batches_delivered, r.rows_delivered, r.batches_quarantined, r.batches_pending);
        }
      } catch (const std::exception& e) {
        delivery = internal_error(std::string("delivery failed: ") + e.what());
      } catch (...) {
        delivery = internal_error("delivery failed");
      }
      asio::post(io_, [this, resource, delivery, r = std::move(r)] {
        --in_flight_;
        planner_.end_other_work(resource);
        metrics_.work_ended(resource, r, /*sync=*/false, now_seconds());
        record_delivery(resource, delivery);
        // Batches spooled by the push endpoint while this drain ran.
        if (kicks_waiting_.erase(resource) > 0) kick(resource);
        after_work_ended();
      });
    });
  }

  // The push endpoint spooled a batch of `resource`: deliver it now, unless a
  // delivery of it is under way (then right after) or its circuit is open
  // (then the delivery timer's probe takes it).
  void kick(const std::string& resource) {
    if (stopping_) return;
    if (!circuit_for(resource).allow(now_seconds())) return;
    if (!planner_.begin_other_work(resource)) {
      kicks_waiting_.insert(resource);
      return;
    }
    start_drain(resource);
  }

  std::shared_ptr<IngestService> ingest_service() {
    std::lock_guard lock(ingest_mu_);
    return ingest_;
  }

  // The push endpoint, when ingest.listen is set (restarted on reload).
  Status start_ingest() {
    const std::vector<ResourceSpec> pushed = push_resources(current_->host.resources());
    push_resources_.clear();
    for (const auto& spec : pushed) push_resources_.insert(spec.resource_id);
    if (current_->config.ingest.listen.empty()) {
      if (!pushed.empty()) {
        spdlog::warn("daemon: {} resources take pushes (source \"push\") but ingest.listen is not set: nothing can "
                     "post them",
                     pushed.size());
      }
      return Status::ok();
    }
    if (pushed.empty()) {
      spdlog::warn("daemon: ingest.listen is set but no resource's source is \"push\": the endpoint is not started");
      return Status::ok();
    }
    auto created = IngestService::create(current_->config, pushed, [this](const std::string& resource) {
      asio::post(io_, [this, resource] { kick(resource); });
    });
    if (!created) return created.status();
    std::shared_ptr<IngestService> service = std::move(*created);
    DXHUB_RETURN_IF_ERROR(service->start());
    std::lock_guard lock(ingest_mu_);
    ingest_ = std::move(service);
    return Status::ok();
  }

  void stop_ingest() {
    std::shared_ptr<IngestService> service;
    {
      std::lock_guard lock(ingest_mu_);
      service = std::move(ingest_);
    }
    if (service) service->stop();
  }

  CircuitBreaker& circuit_for(const std::string& resource) {
    auto it = circuits_.find(resource);
    if (it == circuits_.end()) {
      const DaemonSettings& d = current_->config.daemon;
      it = circuits_.emplace(resource, CircuitBreaker({d.circuit_failures, d.circuit_open_seconds,
                                                       d.circuit_max_open_seconds})).first;
    }
    return it->second;
  }

  void record_delivery(const std::string& resource, const Status& delivery) {
    CircuitBreaker& circuit = circuit_for(resource);
    if (delivery.is_ok()) {
      if (circuit.state() != CircuitBreaker::State::kClosed || circuit.consecutive_failures() > 0) {
        spdlog::info("daemon: resource {}: delivery works again (circuit closed)", resource);
      }
      circuit.record_success();
      metrics_.set_circuit(resource, circuit.state());
      return;
    }
    if (circuit.record_failure(now_seconds())) {
      spdlog::warn("daemon: resource {}: {} failed deliveries in a row: paused until {} (circuit open; last error: {})",
                   resource, circuit.consecutive_failures(), iso_time_ms(circuit.open_until() * 1000),
                   delivery.message());
    }
    metrics_.set_circuit(resource, circuit.state());
  }

  void run_ended(const std::string& resource, const ResourceResult* result) {
    --in_flight_;
    const int64_t now = now_seconds();
    planner_.finished(resource, now);
    metrics_.work_ended(resource, result != nullptr ? *result : ResourceResult{}, /*sync=*/true, now);
    if (result != nullptr) record_delivery(resource, result->delivery_status);
    after_work_ended();
  }

  void start_metrics() {
    const std::string& listen = current_->config.daemon.metrics_listen;
    if (listen.empty()) return;
    metrics_server_ = std::make_unique<MetricsServer>(metrics_, [] { return now_seconds(); }, [this] {
      std::shared_ptr<IngestService> ingest = ingest_service();
      return ingest ? ingest->prometheus_text() : std::string();
    });
    if (Status s = metrics_server_->start(listen); !s.is_ok()) {
      // The daemon's job is syncing: it goes on without the endpoint.
      spdlog::error("daemon: metrics endpoint not started on {}: {}", listen, s.message());
      metrics_server_.reset();
      return;
    }
    const std::string address = listen.substr(0, listen.rfind(':'));
    spdlog::info("daemon: metrics on http://{}:{}/metrics, health on /health", address, metrics_server_->port());
  }

  void after_work_ended() {
    if (stopping_) {
      if (in_flight_ == 0) {
        grace_timer_.cancel();
        io_.stop();
      }
      return;
    }
    timer_.cancel();  // re-armed for the new next due time
    arm_timer();
  }

  void reload() {
    spdlog::info("daemon: SIGHUP: reloading {}", config_path_);
    auto next = load_generation(config_path_, /*strict=*/true);
    if (!next) {
      spdlog::error("daemon: reload refused, keeping the running configuration: {}", next.status().message());
      return;
    }
    if ((*next)->config.state_db != current_->config.state_db) {
      spdlog::error("daemon: reload refused, keeping the running configuration: state_db changed ({} -> {}); "
                    "restart the daemon to use another state",
                    current_->config.state_db, (*next)->config.state_db);
      return;
    }
    if ((*next)->config.daemon.workers != current_->config.daemon.workers) {
      spdlog::warn("daemon: daemon.workers changed to {}: takes effect on restart", (*next)->config.daemon.workers);
    }
    current_ = std::move(*next);
    reset_plan();
    // The push endpoint takes up the new app keys, settings and resources:
    // posts in flight are answered first, the next connect reaches the new one.
    stop_ingest();
    if (Status ingest = start_ingest(); !ingest.is_ok()) {
      spdlog::error("daemon: push endpoint not running after the reload: {}", ingest.to_string());
    }
    spdlog::info("daemon: reloaded: {} resources", current_->plan.size());
    timer_.cancel();
    arm_timer();
  }

  void begin_stop(int signal) {
    stopping_ = true;
    metrics_.set_stopping();
    stop_ = true;
    timer_.cancel();
    delivery_timer_.cancel();
    signals_.cancel();
    spdlog::info("daemon: {}: stopping; {} runs finish their current chunk and deliver what they spooled",
                 signal == SIGINT ? "SIGINT" : "SIGTERM", in_flight_);
    // Posts in flight are answered once durable; the endpoint then closes.
    stop_ingest();
    if (in_flight_ == 0) {
      io_.stop();
      return;
    }
    grace_timer_.expires_after(std::chrono::seconds(current_->config.daemon.shutdown_grace_seconds));
    grace_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      abandoned_ = true;
      io_.stop();
    });
  }

  std::string config_path_;
  std::shared_ptr<Generation> current_;
  StateLock lock_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  asio::steady_timer delivery_timer_;
  asio::steady_timer grace_timer_;
  asio::thread_pool workers_;
  asio::thread_pool push_workers_{2};  // deliveries of push resources (start_drain)
  scheduler::SchedulePlanner planner_;
  std::mutex ingest_mu_;  // ingest_ is read by the metrics thread and drains
  std::shared_ptr<IngestService> ingest_;
  std::set<std::string> push_resources_;
  std::set<std::string> kicks_waiting_;  // spooled by the endpoint while their delivery ran
  DaemonMetrics metrics_{now_seconds()};
  std::unique_ptr<MetricsServer> metrics_server_;
  std::map<std::string, CircuitBreaker> circuits_;
  std::optional<StateStore> state_;  // the loop thread's connection (outbox checks)
  std::atomic<bool> stop_{false};
  bool stopping_ = false;
  bool abandoned_ = false;
  int in_flight_ = 0;
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  auto first = load_generation(options.config_path, /*strict=*/false);
  if (!first) {
    spdlog::error("daemon: {}", first.status().to_string());
    return exit_code_for_status(first.status());
  }
  auto lock = StateLock::acquire((*first)->config.state_db, "run", options.lock_wait_seconds);
  if (!lock) {
    spdlog::error("daemon: {}", lock.status().message());
    return exit_code_for_status(lock.status());
  }
  Daemon daemon(options.config_path, std::move(*first), std::move(*lock));
  return daemon.run();
}

}  // namespace dxhub
