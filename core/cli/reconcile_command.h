// `dxhub reconcile`: compares the batches the hub holds receipts for with the
// province's manifest (GET /api/v1/resources/{r}/manifest, signed, paged)
// and reports, one line per finding naming batch id and sequence (never row
// data):
//   gap        a batch the hub has a receipt for that the manifest lacks;
//   duplicate  one (epoch, sequence) under two batch ids at the province, or
//              one batch id listed twice;
//   mismatch   the same batch id with another digest, record count or
//              (epoch, sequence);
//   unknown    a province batch the hub has no receipt for: still in the
//              hub's outbox (delivered, receipt lost in transit) or not sent
//              by this hub (another state, another hub). Not a failure.
// It reads the state read-only without the state lock (core/state/
// state_reader.h; never creates the file), each resource's state before its
// manifest, so a sync running beside it can only make a batch look
// unacknowledged, never missing.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/delivery/province_client.h"
#include "core/state/state_reader.h"

namespace dxhub {

// Exit codes of reconcile beyond the common ones (2 config, 4 province).
inline constexpr int kExitReconcileGaps = 7;
inline constexpr int kExitReconcileDuplicates = 8;
inline constexpr int kExitReconcileMismatches = 9;

struct ReconcileOptions {
  // Empty: every resource the state has receipts or spooled/quarantined batches of.
  std::vector<std::string> resources;
  int64_t page_limit = 1000;           // manifest entries asked per request
};

enum class ReconcileKind { kGap, kDuplicate, kMismatch, kUnknownAtHub, kError };
const char* reconcile_kind_name(ReconcileKind kind);

struct ReconcileFinding {
  ReconcileKind kind = ReconcileKind::kGap;
  std::string resource;
  std::string batch_id;  // "" for a duplicate (epoch, sequence) and for errors
  int64_t epoch = 0;
  int64_t sequence = 0;
  std::string message;  // batch ids, sequences, counts, digests; never row data
  int exit_code = 0;    // 7, 8, 9, 4; 0 for unknown at the hub
};

// One batch as the province's manifest lists it.
struct ManifestBatch {
  std::string batch_id;
  int64_t epoch = 0;
  int64_t sequence = 0;
  int64_t records = 0;
  int64_t deleted = 0;
  std::string digest;
};

struct ReconcileResourceStats {
  std::string resource;
  int64_t hub_batches = 0;       // receipts in the state
  int64_t province_batches = 0;  // manifest entries
  int64_t compared = 0;          // distinct batch ids on either side
  int64_t gaps = 0;
  int64_t duplicates = 0;
  int64_t mismatches = 0;
  int64_t unknown_at_hub = 0;
  std::string error;  // the province could not be asked (exit 4)
};

struct ReconcileReport {
  std::vector<ReconcileFinding> findings;
  std::vector<ReconcileResourceStats> resources;

  // 0 when consistent; otherwise the highest code of the findings.
  int exit_code() const;
  std::string to_text() const;
  nlohmann::json to_json() const;
};

// Compares one resource (pure: no I/O) and appends its findings and stats.
void compare_resource(const std::string& resource, const ResourceBatches& hub,
                      const std::vector<ManifestBatch>& province, ReconcileReport& report);

// Every page of the resource's manifest; kRejected/kUnavailable when the
// province refuses, is unreachable or answers something that is not a manifest.
Expected<std::vector<ManifestBatch>> fetch_manifest(ProvinceClient& client, const std::string& resource,
                                                    int64_t page_limit);

// Reads the state at `state_db` and reconciles the selected resources with
// the province. A Status only for what stops everything (the state cannot be
// read: kIo; a resource id that cannot be one: kConfig); a province failure is
// a finding of its resource (exit 4) and the others go on.
Expected<ReconcileReport> run_reconcile(const std::string& state_db, const ProvinceConfig& province,
                                        const ReconcileOptions& options);

}  // namespace dxhub
