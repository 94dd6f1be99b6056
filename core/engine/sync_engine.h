// The sync engine: for each resource, read rows through its connector, map
// them to Avro, write Object Container Files, spool each batch together with
// the cursor advance that produced it, and deliver the spool to the province
// on a second thread while reading goes on. A batch leaves the spool only
// when the province's receipt for it is recorded.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>

#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/engine/delivery_worker.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_progress.h"
#include "core/plugin/plugin_host.h"
#include "core/state/state_store.h"

namespace dxhub {

class RecordMapper;
namespace avro {
class Schema;
enum class Codec;
}  // namespace avro

struct ResourceResult {
  std::string plugin;
  std::string resource;
  int64_t rows_read = 0;
  int64_t rows_spooled = 0;
  int64_t dead_letters = 0;
  int64_t batches_spooled = 0;
  int64_t batches_delivered = 0;  // receipts recorded in this run
  int64_t rows_delivered = 0;
  int64_t batches_pending = 0;    // still in the outbox after the run
  int64_t batches_quarantined = 0;  // moved to the quarantine in this run
  int64_t duplicate_keys = 0;       // delivered records that replaced one of the same batch with the same key
  int64_t rows_unchanged = 0;       // change_detection "snapshot": rows read equal to the last pass (not sent)
  int64_t deletes_spooled = 0;      // tombstones among rows_spooled
  int64_t rows_deleted = 0;         // tombstones among rows_delivered
  int64_t delivery_retries = 0;     // requests repeated after transient failures
  UploadLatency upload_latency;     // of this run's uploads
  bool stopped = false;             // a stop was requested: reading ended after a durable chunk (the rest next run)
  std::string first_dead_letter;  // the first dead letter's field/column (never its value)
  Status read_status;             // config / source errors; kData: dead-letter threshold crossed
  Status delivery_status;         // delivery errors

  bool ok() const { return read_status.is_ok() && delivery_status.is_ok(); }
  // "ok", "ok_with_dead_letters" or "failed: <first error>" (run history, summary).
  std::string status_text() const;
};

// Process exit codes: distinct per failure kind so schedulers can react.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitConfig = 2,    // configuration, plugin, schema or mapping problem
  kExitSource = 3,    // a source could not be read
  kExitDelivery = 4,  // the province could not be reached or refused a batch
  kExitDeadLetters = 5,  // rows were dead-lettered (or a dead-letter threshold failed the run)
  kExitBusy = 6,         // another dxhub process holds the state lock
};

// The exit code a Status stands for (kOk -> 0; kData -> 5; kBusy -> 6 ...).
int exit_code_for_status(const Status& status);

struct RunSummary {
  int64_t run_id = 0;
  std::vector<ResourceResult> resources;
  std::vector<Status> errors;  // errors not tied to one resource (plugin loading, state)
  double elapsed_seconds = 0;

  int exit_code() const;
  nlohmann::json to_json() const;
  std::string to_text() const;
};

class SyncEngine {
 public:
  SyncEngine(const HubConfig& config, PluginHost& host) : config_(config), host_(host) {}

  // Syncs `only` (resource ids, or "plugin/resource"), or every declared
  // resource when empty. Failures of one resource do not stop the others.
  RunSummary run(const std::vector<std::string>& only, std::vector<Status> load_errors = {});

  // Delivers what the resource's outbox holds and reads nothing: the
  // daemon's continuous delivery between runs. Records no run (run history
  // is what schedules are judged by). read_status carries setup errors.
  ResourceResult deliver_pending(const std::string& resource);

  // Once *stop is true, each resource stops reading after its current chunk
  // is durable (cursor and batch committed together, so the next run goes on
  // from there), delivers what it spooled and returns; resources not begun
  // are skipped. The daemon sets it on SIGTERM.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }
  // The command recorded in run history ("sync" by default, "run" for the daemon).
  void set_command(std::string command) { command_ = std::move(command); }
  // Told how far each resource has got (dxhub sync on a terminal); nullptr = nobody.
  void set_progress_observer(SyncProgressObserver* progress) { progress_ = progress; }
  // Told each batch whose receipt was recorded (the daemon's push latency);
  // called on a delivery thread, must not throw.
  void set_receipt_observer(std::function<void(const std::string& batch_id)> on_receipt) {
    on_receipt_ = std::move(on_receipt);
  }

 private:
  // `store` is the run's own connection to the state (the delivery worker
  // opens a second one for its thread).
  ResourceResult sync_resource(const ResourceSpec& spec, StateStore& store);
  // A push resource (source "push"): what the endpoint staged is batched,
  // then the outbox is delivered; nothing is read.
  Status spool_staged_posts(const ResourceSpec& spec, const avro::Schema& schema, avro::Codec codec,
                            StateStore& store, DeliveryWorker& delivery, ResourceResult& result);
  StateStoreOptions state_options() const;
  static void collect_delivery(const DeliveryWorker& delivery, StateStore& store, ResourceResult& result);
  DeliveryTarget delivery_target(const ResourceSpec& spec, const avro::Schema& schema,
                                 const RecordMapper& mapper) const;

  bool stop_requested() const { return stop_ != nullptr && stop_->load(); }

  const HubConfig& config_;
  PluginHost& host_;
  const std::atomic<bool>* stop_ = nullptr;
  std::string command_ = "sync";
  SyncProgressObserver* progress_ = nullptr;
  std::function<void(const std::string&)> on_receipt_;
};

}  // namespace dxhub
