#include "core/engine/delivery_worker.h"

#include <spdlog/spdlog.h>

#include "core/state/state_store.h"

namespace dxhub {

namespace {
constexpr size_t kBatchesPerFetch = 2;  // bodies are ~MBs each: fetch few at a time
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

void DeliveryWorker::run() {
  status_ = deliver_all();
  if (!status_.is_ok()) {
    spdlog::error("resource {}: delivery stopped: {}", target_.resource, status_.message());
  }
}

Status DeliveryWorker::deliver_all() {
  DXHUB_ASSIGN_OR_RETURN(auto store, StateStore::open(target_.state_db));
  ProvinceClient client(province_);
  auto fingerprint =
      client.register_schema(target_.resource, target_.schema_json, target_.primary_key, target_.name_zh);
  if (!fingerprint) return fingerprint.status().with_context("schema registration");
  spdlog::debug("resource {}: schema registered, fingerprint {}", target_.resource, *fingerprint);

  DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
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
      auto receipt = client.upload_batch(BatchToSend{batch.resource, batch.batch_id, epoch, batch.sequence,
                                                     batch.record_count, batch.digest, batch.fingerprint, batch.body});
      if (!receipt) {
        Status failed = receipt.status().with_context("batch " + batch.batch_id + " (sequence " +
                                                      std::to_string(batch.sequence) + ")");
        (void)store.record_failed_attempt(batch.batch_id, failed.message());
        return failed;
      }
      DXHUB_RETURN_IF_ERROR(store.record_receipt(batch.batch_id, receipt->raw_json));
      ++batches_delivered_;
      rows_delivered_ += batch.record_count;
      spdlog::debug("resource {}: batch {} sequence {} delivered, {} records, receipt {}", target_.resource,
                    batch.batch_id, batch.sequence, batch.record_count, receipt->fields.receipt_id);
    }
  }
}

}  // namespace dxhub
