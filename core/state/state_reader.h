// A read-only view of the hub's state file for commands that only look
// (`dxhub reconcile`): it opens the file with SQLITE_OPEN_READONLY, so it
// never creates, migrates or writes it and needs no state lock; a sync may
// run beside it (WAL: it reads the last committed state).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/common/status.h"

namespace dxhub {

// A batch the province acknowledged, as the hub recorded its receipt.
struct AcknowledgedBatch {
  std::string batch_id;
  std::string resource;
  int64_t epoch = 0;  // from the stored (signature-checked) receipt
  int64_t sequence = 0;
  int64_t record_count = 0;
  std::string digest;  // lowercase hex SHA-256 of the body sent
  int64_t delivered_at_ms = 0;
};

// A batch spooled but not acknowledged: still in the outbox or quarantined.
struct UnacknowledgedBatch {
  std::string batch_id;
  std::string resource;
  int64_t sequence = 0;
  int64_t record_count = 0;
  std::string digest;
  bool quarantined = false;
};

// What the state holds of one resource's batches, read in one read
// transaction (a sync committing meanwhile is seen wholly or not at all).
struct ResourceBatches {
  std::vector<AcknowledgedBatch> acknowledged;      // by (epoch, sequence)
  std::vector<UnacknowledgedBatch> unacknowledged;  // outbox and quarantine, by sequence
};

class StateReader {
 public:
  // nullopt when there is no state file at `path` (nothing was ever synced);
  // kIo when it cannot be read or its schema is newer than this dxhub.
  static Expected<std::optional<StateReader>> open(const std::string& path);

  StateReader(StateReader&&) noexcept = default;
  StateReader& operator=(StateReader&&) noexcept = default;

  // The resources that have receipts, spooled or quarantined batches, sorted.
  Expected<std::vector<std::string>> resources_with_batches();
  Expected<ResourceBatches> batches(const std::string& resource);

 private:
  explicit StateReader(SqliteDb db) : db_(std::move(db)) {}
  Expected<int64_t> state_epoch();  // 0 for a state from before epochs (v1)
  Expected<std::vector<AcknowledgedBatch>> acknowledged(const std::string& resource);
  Expected<std::vector<UnacknowledgedBatch>> unacknowledged(const std::string& resource);

  SqliteDb db_;
};

}  // namespace dxhub
