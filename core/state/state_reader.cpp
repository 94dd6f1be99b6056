#include "core/state/state_reader.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/state/state_store.h"  // kStateSchemaVersion

namespace dxhub {

Expected<std::optional<StateReader>> StateReader::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<StateReader>();
  auto opened = SqliteDb::open(path, SqliteDb::Mode::kReadOnly, StatusCode::kIo);
  if (!opened) return opened.status().with_context("state store");
  StateReader reader(std::move(opened).value());
  DXHUB_ASSIGN_OR_RETURN(auto version_stmt, reader.db_.prepare("PRAGMA user_version"));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, version_stmt.step());
  const int64_t version = has_row ? version_stmt.column_int64(0) : 0;
  if (version > kStateSchemaVersion) {
    return io_error("state store " + path + ": schema version " + std::to_string(version) +
                    " is newer than this dxhub supports (" + std::to_string(kStateSchemaVersion) + ")");
  }
  // Only the receipts and outbox tables are read; they exist from version 1.
  DXHUB_ASSIGN_OR_RETURN(bool has_receipts, reader.db_.table_exists("receipts"));
  if (!has_receipts) return std::optional<StateReader>();  // created but never initialised
  return std::optional<StateReader>(std::move(reader));
}

Expected<int64_t> StateReader::state_epoch() {
  DXHUB_ASSIGN_OR_RETURN(bool has_meta, db_.table_exists("meta"));
  if (!has_meta) return int64_t{0};
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT epoch FROM meta WHERE id = 1"));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  return has_row ? stmt.column_int64(0) : int64_t{0};
}

Expected<std::vector<std::string>> StateReader::resources_with_batches() {
  DXHUB_ASSIGN_OR_RETURN(bool has_quarantine, db_.table_exists("quarantine"));
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(std::string("SELECT resource FROM receipts UNION SELECT resource FROM "
                                                            "outbox") +
                                                (has_quarantine ? " UNION SELECT resource FROM quarantine" : "") +
                                                " ORDER BY 1"));
  std::vector<std::string> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    out.emplace_back(stmt.column_text(0));
  }
  return out;
}

Expected<ResourceBatches> StateReader::batches(const std::string& resource) {
  // A deferred BEGIN takes no write lock: it pins one snapshot for both reads.
  DXHUB_RETURN_IF_ERROR(db_.exec("BEGIN"));
  ResourceBatches out;
  auto acknowledged_batches = acknowledged(resource);
  std::optional<Expected<std::vector<UnacknowledgedBatch>>> unacknowledged_batches;
  if (acknowledged_batches) unacknowledged_batches.emplace(unacknowledged(resource));
  (void)db_.exec("COMMIT");  // ends a read-only transaction; nothing to lose
  if (!acknowledged_batches) return acknowledged_batches.status();
  if (!*unacknowledged_batches) return unacknowledged_batches->status();
  out.acknowledged = std::move(acknowledged_batches).value();
  out.unacknowledged = std::move(*unacknowledged_batches).value();
  return out;
}

Expected<std::vector<AcknowledgedBatch>> StateReader::acknowledged(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(int64_t state_epoch_ms, state_epoch());
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT batch_id, resource, sequence, record_count, digest, "
                                                "delivered_at, receipt_json FROM receipts WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<AcknowledgedBatch> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    AcknowledgedBatch& b = out.emplace_back();
    b.batch_id = stmt.column_text(0);
    b.resource = stmt.column_text(1);
    b.sequence = stmt.column_int64(2);
    b.record_count = stmt.column_int64(3);
    b.digest = stmt.column_text(4);
    b.delivered_at_ms = stmt.column_int64(5);
    // The receipts table has no epoch column: the receipt the hub verified
    // (it names the epoch sent) has it; receipts from before epochs existed
    // belong to the state's own epoch.
    b.epoch = state_epoch_ms;
    auto receipt = nlohmann::json::parse(stmt.column_text(6), nullptr, /*allow_exceptions=*/false);
    if (receipt.is_object()) {
      if (auto it = receipt.find("epoch"); it != receipt.end() && it->is_number_integer()) b.epoch = it->get<int64_t>();
    }
  }
  std::sort(out.begin(), out.end(), [](const AcknowledgedBatch& a, const AcknowledgedBatch& b) {
    return std::tie(a.epoch, a.sequence, a.batch_id) < std::tie(b.epoch, b.sequence, b.batch_id);
  });
  return out;
}

Expected<std::vector<UnacknowledgedBatch>> StateReader::unacknowledged(const std::string& resource) {
  DXHUB_ASSIGN_OR_RETURN(bool has_quarantine, db_.table_exists("quarantine"));
  std::string sql = "SELECT batch_id, resource, sequence, record_count, digest, 0 FROM outbox WHERE resource = ?1";
  if (has_quarantine) {
    sql += " UNION ALL SELECT batch_id, resource, sequence, record_count, digest, 1 FROM quarantine WHERE resource = ?1";
  }
  sql += " ORDER BY 3";
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(sql));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<UnacknowledgedBatch> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    UnacknowledgedBatch& b = out.emplace_back();
    b.batch_id = stmt.column_text(0);
    b.resource = stmt.column_text(1);
    b.sequence = stmt.column_int64(2);
    b.record_count = stmt.column_int64(3);
    b.digest = stmt.column_text(4);
    b.quarantined = stmt.column_int64(5) != 0;
  }
  return out;
}

}  // namespace dxhub
