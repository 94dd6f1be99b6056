// Drains one resource's outbox to the province on its own thread while the
// reader keeps spooling. It registers the schema first, then uploads batches
// in sequence order; a batch leaves the outbox only in the transaction that
// records its receipt. On a failure it stops: the failed batch and those
// after it stay spooled for the next run (order matters for upserts).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/common/status.h"
#include "core/delivery/province_client.h"

namespace dxhub {

struct DeliveryTarget {
  std::string resource;
  std::string name_zh;
  std::string schema_json;
  std::string primary_key;
  std::string state_db;
};

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

  int64_t batches_delivered() const { return batches_delivered_; }
  int64_t rows_delivered() const { return rows_delivered_; }
  const Status& status() const { return status_; }

 private:
  void run();
  Status deliver_all();

  ProvinceConfig province_;
  DeliveryTarget target_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool producer_done_ = false;
  uint64_t generation_ = 0;  // bumped by notify()
  int64_t batches_delivered_ = 0;
  int64_t rows_delivered_ = 0;
  Status status_;
};

}  // namespace dxhub
