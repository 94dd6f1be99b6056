// Drains one resource's outbox to the province on its own thread while the
// reader keeps spooling. It registers the schema before its first upload
// (a run with nothing to send makes no request), then uploads batches in
// sequence order; a batch leaves the outbox only in the transaction that
// records its receipt (or, refused for good, the one that quarantines it).
//
// Failures:
//   transient (kUnavailable, after the client's retries): delivery of the
//     resource stops for this run; the batch and those after it stay spooled
//     (order matters for upserts), exit 4.
//   auth refusal (HTTP 401/403: bad signature, unknown app key, clock skew):
//     stops like a transient failure and is never counted against the batch,
//     so a wrong secret cannot quarantine the whole outbox.
//   permanent refusal (other kRejected: 4xx, receipt mismatch): counts a
//     refusal in the batch's outbox row (across runs); below
//     quarantine_after it stops like a transient failure, at
//     quarantine_after the batch moves to the quarantine and the resource's
//     later batches flow on in the same run.
//   corrupt spool body (SHA-256 of the stored body differs from the stored
//     digest; checked before every upload, one hash per batch): quarantined
//     at once.
// Every exception on the thread is caught and becomes the worker's Status.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/common/status.h"
#include "core/delivery/province_client.h"

namespace dxhub {

// Upload latencies of one run, Prometheus-style cumulative-free buckets
// (counts per bucket; the last is +Inf).
struct UploadLatency {
  static constexpr std::array<double, 11> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::array<uint64_t, kBounds.size() + 1> buckets{};
  double sum_seconds = 0;
  uint64_t count = 0;
  void observe(double seconds);
  void add(const UploadLatency& other);
};

struct DeliveryTarget {
  std::string resource;
  std::string name_zh;
  std::string schema_json;
  std::string primary_key;
  std::string state_db;
  int quarantine_after = 3;            // delivery.quarantine_after
  bool state_synchronous_full = true;  // state_synchronous
  // Once true (the daemon's SIGTERM), the worker stops after the upload in
  // progress: its receipt is recorded, later batches stay spooled for the
  // next run. Not an error.
  const std::atomic<bool>* stop = nullptr;
  // Called on the worker's thread after each receipt is recorded (the push
  // endpoint's latency figures); must not throw. Empty = nobody.
  std::function<void(const std::string& batch_id)> on_receipt;
};

// True for the province's authentication refusals (HTTP 401 or 403, as
// delivery::interpret_response words them: "...: HTTP 401 BAD_SIGNATURE: ...").
bool is_auth_refusal(const Status& status);

class DeliveryWorker {
 public:
  DeliveryWorker(ProvinceConfig province, DeliveryTarget target);
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  void start();
  // A new batch is in the outbox.
  void notify();
  // No more batches will come: deliver what is left, then stop. Blocks.
  void finish();

  // For the reader's outbox bound: true once the thread has stopped (done
  // or failed); otherwise waits up to `timeout` for a batch to leave the
  // outbox and returns false.
  bool stopped_or_wait(std::chrono::milliseconds timeout);

  int64_t batches_delivered() const { return batches_delivered_; }
  int64_t rows_delivered() const { return rows_delivered_; }
  int64_t batches_quarantined() const { return batches_quarantined_; }
  // Records the province reported as replacing an earlier record of the
  // same batch with the same primary key (receipts' duplicate_keys).
  int64_t duplicate_keys() const { return duplicate_keys_; }
  // Tombstones among rows_delivered (receipts' `deleted`).
  int64_t rows_deleted() const { return rows_deleted_; }
  const UploadLatency& upload_latency() const { return upload_latency_; }
  // Requests repeated after a transient failure (attempts beyond the first).
  int64_t retries() const { return retries_; }
  // Read after finish().
  const Status& status() const { return status_; }

 private:
  void run();
  Status deliver_all();
  void progressed();

  ProvinceConfig province_;
  DeliveryTarget target_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;           // reader -> worker: new batch, or done
  std::condition_variable progress_cv_;  // worker -> reader: a batch left the outbox, or stopped
  bool producer_done_ = false;
  bool stopped_ = false;
  uint64_t generation_ = 0;  // bumped by notify()
  uint64_t progress_ = 0;    // bumped when a batch leaves the outbox
  int64_t batches_delivered_ = 0;
  int64_t rows_delivered_ = 0;
  int64_t batches_quarantined_ = 0;
  int64_t duplicate_keys_ = 0;
  int64_t rows_deleted_ = 0;
  UploadLatency upload_latency_;
  int64_t retries_ = 0;
  std::string first_quarantine_reason_;
  Status status_;
};

}  // namespace dxhub
