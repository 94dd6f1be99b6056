// The province's own SQLite database: registered schemas (versions per
// resource), received batches (body blob once, plus the receipt) and the
// current record per (resource, primary key) as Avro binary. An upload is
// decoded in full with avro-c and stored in one transaction; its records
// are upserted into the per-key table later, before the first read of that
// resource (apply_pending), so receipts never wait for the key index.
// Records become JSON only when queried.
// One mutex serialises all access (one writer, one connection).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/avro/schema.h"
#include "core/common/sqlite_db.h"
#include "core/common/status.h"
#include "core/avro/avro_c_reader.h"
#include "core/protocol/signing.h"
#include "sandbox/province/record_codec.h"
#include "sandbox/province/record_upserter.h"

namespace dxhub::province {

struct SchemaRegistration {
  int64_t version = 0;
  std::string fingerprint;
  std::string primary_key;
  bool created = false;              // false: this fingerprint was already registered
  bool primary_key_conflict = false; // already registered with another primary key
};

struct SchemaInfo {
  int64_t version = 0;
  std::string fingerprint;
  std::string primary_key;
};

// What the province acknowledges for a stored batch (protocol::ReceiptFields:
// receipt_id, batch_id, resource, epoch, sequence, records_accepted,
// duplicate_keys, digest = sha256 hex of the body, fingerprint, received_at
// ISO-8601 UTC). The API signs it per request with the caller's secret.
struct Receipt : protocol::ReceiptFields {
  nlohmann::json to_json() const;
};

struct BatchUpload {
  std::string_view resource;
  std::string_view batch_id;
  int64_t epoch = 0;
  int64_t sequence = 0;
  std::string_view body;  // an Avro object container file
};

struct IngestOutcome {
  enum class Kind { kStored, kDuplicate, kBatchConflict, kSchemaNotRegistered, kInvalidAvro, kIdentityMismatch };
  Kind kind = Kind::kStored;
  Receipt receipt;     // kStored, kDuplicate
  std::string detail;  // why, for the refusals
};

struct ResourceSummary {
  int64_t records = 0;
  int64_t batches = 0;
  int64_t rows_received = 0;     // records of every batch, tombstones included
  int64_t deletes_received = 0;  // tombstones among rows_received
  int64_t tombstones = 0;        // keys currently deleted (their tombstone kept)
  std::vector<SchemaInfo> schemas;
};

// One stored batch as the manifest lists it (GET .../manifest).
struct ManifestEntry {
  std::string batch_id;
  int64_t epoch = 0;
  int64_t sequence = 0;
  int64_t records = 0;  // records_accepted
  int64_t deleted = 0;  // tombstones among them
  std::string digest;   // SHA-256 hex of the body as received
  std::string fingerprint;
  std::string received_at;
};

struct ManifestPage {
  std::vector<ManifestEntry> batches;
  // (epoch, sequence) of the last entry when more batches follow it.
  std::optional<std::pair<int64_t, int64_t>> next_after;
};

struct RecordPage {
  int64_t count = 0;  // current records of the resource
  std::vector<nlohmann::json> records;
};

class ProvinceStore {
 public:
  static Expected<std::unique_ptr<ProvinceStore>> open(const std::string& path);

  // The schema is parsed and its primary key validated by the caller.
  Expected<SchemaRegistration> register_schema(std::string_view resource, const avro::Schema& schema,
                                               const std::string& primary_key, std::string_view name_zh);
  // Decodes the file with avro-c and stores it; kIo/kInternal only for local failures.
  Expected<IngestOutcome> ingest_batch(const BatchUpload& upload);

  // nullopt when nothing was ever registered or received for the resource.
  Expected<std::optional<ResourceSummary>> summary(std::string_view resource);
  // Current records, or with `tombstones` the tombstones kept for deleted
  // keys (count stays the number of current records).
  Expected<RecordPage> records(std::string_view resource, int64_t offset, int64_t limit, bool tombstones = false);
  // The current record with that key (none or one), and the resource's count.
  Expected<RecordPage> record_by_key(std::string_view resource, std::string_view key);
  Expected<std::vector<Receipt>> receipts(std::string_view resource);
  // Stored batches after (after_epoch, after_sequence), ordered by (epoch,
  // sequence, batch_id); `limit` entries, or more when the last (epoch,
  // sequence) is shared by further batches: a page never splits one, so
  // paging by (epoch, sequence) never skips a duplicate.
  Expected<ManifestPage> manifest(std::string_view resource, int64_t after_epoch, int64_t after_sequence,
                                  int64_t limit);

 private:
  struct DecodingSchema {
    avro::Schema schema;
    avro::Value scratch;
  };

  struct IngestState;

  ProvinceStore() = default;
  Status init();
  Expected<avro::DecodedFile> decode_batch(std::string_view resource, int64_t epoch, int64_t sequence,
                                           std::string_view body, bool apply, IngestState& state);
  Status apply_pending(std::string_view resource);
  template <typename Bind>
  Expected<RecordPage> read_records(std::string_view resource, const char* select, Bind&& bind);
  Expected<std::optional<Receipt>> find_receipt(std::string_view batch_id);
  Expected<std::optional<std::string>> registered_primary_key(std::string_view resource,
                                                             std::string_view fingerprint);
  Expected<int64_t> count_records(std::string_view resource);
  Expected<nlohmann::json> decode_stored(std::string_view fingerprint, std::string_view bytes);

  std::mutex mutex_;
  SqliteDb db_;
  RecordUpserter upserter_;
  RecordUpserter tombstone_writer_;  // the same table, rows written as tombstones
  RecordUpserter& writer_for(const IngestState& state);
  avro::AvroCOcfReader ocf_reader_;  // keeps its buffers between uploads
  SqliteStmt insert_batch_;
  SqliteStmt find_batch_;
  SqliteStmt find_schema_;
  std::map<std::string, DecodingSchema, std::less<>> decoding_schemas_;  // by fingerprint
  // Primary keys seen in the upload being ingested (duplicate_keys); kept
  // between uploads so their buckets are reused.
  std::unordered_set<int64_t> seen_integer_keys_;
  std::unordered_set<std::string> seen_text_keys_;
};

}  // namespace dxhub::province
