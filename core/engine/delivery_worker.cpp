#include "core/engine/delivery_worker.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <exception>

#include "core/avro/schema.h"
#include "core/protocol/signing.h"
#include "core/protocol/tombstone.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {
constexpr size_t kBatchesPerFetch = 2;  // bodies are ~MBs each: fetch few at a time
}

bool is_auth_refusal(const Status& status) {
  if (status.code() != StatusCode::kRejected) return false;
  const std::string& m = status.message();
  return m.find("HTTP 401 ") != std::string::npos || m.find("HTTP 403 ") != std::string::npos;
}

DeliveryWorker::DeliveryWorker(ProvinceConfig province, DeliveryTarget target)
    : province_(std::move(province)), target_(std::move(target)) {}

DeliveryWorker::~DeliveryWorker() {
  if (thread_.joinable()) finish();
}

void DeliveryWorker::start() { thread_ = std::thread([this] { run(); }); }

void DeliveryWorker::notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_one();
}

void DeliveryWorker::finish() {
  {
    std::lock_guard lock(mu_);
    producer_done_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool DeliveryWorker::stopped_or_wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (stopped_) return true;
  uint64_t seen = progress_;
  progress_cv_.wait_for(lock, timeout, [&] { return stopped_ || progress_ != seen; });
  return stopped_;
}

void DeliveryWorker::progressed() {
  {
    std::lock_guard lock(mu_);
    ++progress_;
  }
  progress_cv_.notify_all();
}

void DeliveryWorker::run() {
  Status result;
  try {
    result = deliver_all();
  } catch (const std::exception& e) {
    result = internal_error(std::string("delivery thread: unexpected exception: ") + e.what());
  } catch (...) {
    result = internal_error("delivery thread: unexpected exception of unknown type");
  }
  bool only_quarantine = result.is_ok() && batches_quarantined_ > 0;
  if (only_quarantine) {
    result = rejected_error(std::to_string(batches_quarantined_) + " batch(es) quarantined in this run (first: " +
                            first_quarantine_reason_ + "); see `dxhub outbox list`");
  }
  status_ = std::move(result);
  if (!status_.is_ok()) {
    spdlog::error("resource {}: delivery {}: {}", target_.resource, only_quarantine ? "done" : "stopped",
                  status_.message());
  }
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  progress_cv_.notify_all();
}

Status DeliveryWorker::deliver_all() {
  StateStoreOptions options;
  options.synchronous_full = target_.state_synchronous_full;
  DXHUB_ASSIGN_OR_RETURN(auto store, StateStore::open(target_.state_db, options));
  ProvinceClient client(province_);
  // Every request the client sends beyond the first attempt is a retry.
  int64_t requests = 0;
  struct RetryCount {
    const ProvinceClient& client;
    const int64_t& requests;
    int64_t& out;
    ~RetryCount() { out = std::max<int64_t>(0, client.attempts_made() - requests); }
  } retry_count{client, requests, retries_};
  // Registered before the first upload, not at start: a run with nothing to
  // send (a fast poll that found no change) costs the province no request.
  bool schema_registered = false;
  auto register_schema = [&]() -> Status {
    ++requests;
    auto fingerprint =
        client.register_schema(target_.resource, target_.schema_json, target_.primary_key, target_.name_zh);
    if (!fingerprint) return fingerprint.status().with_context("schema registration");
    spdlog::debug("resource {}: schema registered, fingerprint {}", target_.resource, *fingerprint);
    schema_registered = true;
    return Status::ok();
  };

  DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
  // Delete batches use the resource's tombstone schema (core/protocol/tombstone.h),
  // recognised by its fingerprint and registered before the first of them.
  std::string tombstone_json, tombstone_fingerprint;
  bool tombstone_registered = false;
  if (auto derived = protocol::tombstone_schema_json(target_.schema_json, target_.primary_key); derived) {
    if (auto parsed = avro::Schema::from_json(*derived); parsed) {
      tombstone_json = std::move(*derived);
      tombstone_fingerprint = parsed->fingerprint_hex();
    }
  }
  auto quarantined = [&](const std::string& batch_id, const std::string& reason) {
    if (batches_quarantined_++ == 0) first_quarantine_reason_ = "batch " + batch_id + ": " + reason;
    spdlog::warn("resource {}: batch {} quarantined: {}", target_.resource, batch_id, reason);
    progressed();
  };

  for (;;) {
    uint64_t seen_generation;
    bool done;
    {
      std::lock_guard lock(mu_);
      seen_generation = generation_;
      done = producer_done_;
    }
    DXHUB_ASSIGN_OR_RETURN(auto batches, store.pending_batches(target_.resource, kBatchesPerFetch));
    if (batches.empty()) {
      if (done) return Status::ok();  // producer finished before we looked: nothing more can come
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return generation_ != seen_generation || producer_done_; });
      continue;
    }
    for (const auto& batch : batches) {
      if (target_.stop != nullptr && target_.stop->load()) return Status::ok();  // the rest stays spooled
      // One SHA-256 per batch: a body damaged in the spool must not be signed and sent as if whole.
      if (protocol::sha256_hex(batch.body) != batch.digest) {
        constexpr const char* kCorrupt = "corrupt spool body (SHA-256 does not match the stored digest)";
        DXHUB_RETURN_IF_ERROR(store.quarantine_batch(batch.batch_id, kCorrupt));
        quarantined(batch.batch_id, kCorrupt);
        continue;
      }
      if (!schema_registered) DXHUB_RETURN_IF_ERROR(register_schema());
      const bool is_delete = !tombstone_fingerprint.empty() && batch.fingerprint == tombstone_fingerprint;
      if (is_delete && !tombstone_registered) {
        ++requests;
        auto registered = client.register_schema(target_.resource, tombstone_json, target_.primary_key,
                                                 target_.name_zh);
        if (!registered) return registered.status().with_context("tombstone schema registration");
        tombstone_registered = true;
      }
      const auto upload_started = std::chrono::steady_clock::now();
      ++requests;
      auto receipt = client.upload_batch(BatchToSend{batch.resource, batch.batch_id, epoch, batch.sequence,
                                                     batch.record_count, batch.digest, batch.fingerprint, batch.body,
                                                     is_delete ? batch.record_count : 0});
      if (!receipt) {
        Status failed = receipt.status().with_context("batch " + batch.batch_id + " (sequence " +
                                                      std::to_string(batch.sequence) + ")");
        if (failed.code() != StatusCode::kRejected || is_auth_refusal(failed)) {
          (void)store.record_failed_attempt(batch.batch_id, failed.message());
          return failed;
        }
        DXHUB_ASSIGN_OR_RETURN(RefusalOutcome outcome,
                               store.record_refusal(batch.batch_id, failed.message(), target_.quarantine_after));
        if (outcome == RefusalOutcome::kCounted) {
          return failed.with_context("refusal " + std::to_string(batch.refusals + 1) + " of " +
                                     std::to_string(target_.quarantine_after) + " before quarantine");
        }
        quarantined(batch.batch_id, failed.message());
        continue;
      }
      upload_latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - upload_started).count());
      DXHUB_RETURN_IF_ERROR(store.record_receipt(batch.batch_id, receipt->raw_json));
      if (target_.on_receipt) target_.on_receipt(batch.batch_id);
      ++batches_delivered_;
      rows_delivered_ += batch.record_count;
      duplicate_keys_ += receipt->fields.duplicate_keys;
      rows_deleted_ += receipt->fields.deleted;
      progressed();
      spdlog::debug("resource {}: batch {} sequence {} delivered, {} records, receipt {}", target_.resource,
                    batch.batch_id, batch.sequence, batch.record_count, receipt->fields.receipt_id);
    }
  }
}

void UploadLatency::observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  ++buckets[i];
  sum_seconds += seconds;
  ++count;
}

void UploadLatency::add(const UploadLatency& other) {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  sum_seconds += other.sum_seconds;
  count += other.count;
}

}  // namespace dxhub
