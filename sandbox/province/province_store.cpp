#include "sandbox/province/province_store.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/protocol/signing.h"
#include "core/protocol/tombstone.h"

namespace dxhub::province {

namespace {

constexpr const char* kCreateTables = R"sql(
CREATE TABLE IF NOT EXISTS schemas (
  resource      TEXT NOT NULL,
  version       INTEGER NOT NULL,
  fingerprint   TEXT NOT NULL,
  primary_key   TEXT NOT NULL,
  name_zh       TEXT NOT NULL,
  schema_json   TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  PRIMARY KEY (resource, version),
  UNIQUE (resource, fingerprint)
);
CREATE TABLE IF NOT EXISTS batches (
  batch_id         TEXT PRIMARY KEY,
  receipt_id       TEXT NOT NULL,
  resource         TEXT NOT NULL,
  sequence         INTEGER NOT NULL,
  records_accepted INTEGER NOT NULL,
  digest           TEXT NOT NULL,
  fingerprint      TEXT NOT NULL,
  codec            TEXT NOT NULL,
  received_at      TEXT NOT NULL,
  body             BLOB NOT NULL,
  applied          INTEGER NOT NULL DEFAULT 1, -- 0: records not yet upserted into `records`
  epoch            INTEGER NOT NULL DEFAULT 0, -- of the hub's state; orders batches with sequence
  duplicate_keys   INTEGER NOT NULL DEFAULT 0, -- records whose key an earlier record of the batch had
  deleted          INTEGER NOT NULL DEFAULT 0  -- tombstones in the batch (a delete batch: all its records)
);
CREATE INDEX IF NOT EXISTS batches_by_resource ON batches (resource, sequence);
CREATE INDEX IF NOT EXISTS batches_pending ON batches (resource, sequence) WHERE applied = 0;
-- pk has no declared type so integer keys stay integers (and sort as numbers).
-- A rowid table: new records append to its B-tree and only the small
-- (resource, pk) index takes random inserts; WITHOUT ROWID put whole
-- records at random places, ~3x the cost per upsert. (Databases made before
-- keep their WITHOUT ROWID table; both work.)
CREATE TABLE IF NOT EXISTS records (
  resource    TEXT NOT NULL,
  pk          NOT NULL,
  sequence    INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  data        BLOB NOT NULL,
  epoch       INTEGER NOT NULL DEFAULT 0,
  deleted     INTEGER NOT NULL DEFAULT 0, -- 1: a tombstone (data is the tombstone record); kept so that an
                                          -- older upsert arriving later does not bring the row back
  PRIMARY KEY (resource, pk)
);
)sql";

// synchronous=FULL: in WAL mode that is one fsync of the WAL per commit, so
// a batch whose receipt went out survives a power cut (NORMAL would keep
// the database consistent but could lose the last receipted batches); it
// costs little next to the batch itself. Pages stay at 4 KiB: keys arrive
// in random order, so each batch dirties pages all over the key index, and
// larger pages write more per dirty page. The 64 MiB cache holds the key
// index of about a million records.
constexpr const char* kPragmas = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
PRAGMA cache_size=-65536;
PRAGMA temp_store=MEMORY;
PRAGMA wal_autocheckpoint=4096;
)sql";

constexpr const char* kReceiptColumns =
    "receipt_id, batch_id, resource, sequence, records_accepted, digest, fingerprint, received_at, epoch, "
    "duplicate_keys, deleted";

Receipt receipt_from_row(const SqliteStmt& s) {
  Receipt r;
  r.receipt_id = s.column_text(0);
  r.batch_id = s.column_text(1);
  r.resource = s.column_text(2);
  r.sequence = s.column_int64(3);
  r.records_accepted = s.column_int64(4);
  r.digest = s.column_text(5);
  r.fingerprint = s.column_text(6);
  r.received_at = s.column_text(7);
  r.epoch = s.column_int64(8);
  r.duplicate_keys = s.column_int64(9);
  r.deleted = s.column_int64(10);
  return r;
}

std::string iso8601_utc_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(ms % 1000));
  return out;
}

std::optional<int64_t> parse_int64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

// Per-file state of the decoding callbacks.
struct ProvinceStore::IngestState {
  std::string fingerprint;
  std::optional<PrimaryKeyReader> key_reader;
  int64_t declared_records = 0;  // by the file's blocks
  int64_t records = 0;
  int64_t duplicate_keys = 0;
  bool is_delete = false;  // metadata dxhub.operation = "delete": tombstones
  std::optional<IngestOutcome::Kind> refusal;
  std::string refusal_detail;
  Status storage_failure;
};

RecordUpserter& ProvinceStore::writer_for(const IngestState& state) {
  return state.is_delete ? tombstone_writer_ : upserter_;
}

nlohmann::json Receipt::to_json() const {
  return {{"receipt_id", receipt_id},   {"batch_id", batch_id},
          {"resource", resource},       {"epoch", epoch},
          {"sequence", sequence},       {"records_accepted", records_accepted},
          {"duplicate_keys", duplicate_keys}, {"deleted", deleted}, {"digest", digest},
          {"fingerprint", fingerprint}, {"received_at", received_at}};
}

namespace {

// Columns added after the first release; older databases gain them here.
Status add_missing_column(SqliteDb& db, const char* table, const char* column, const char* definition) {
  DXHUB_ASSIGN_OR_RETURN(bool exists, db.table_exists(table));
  if (!exists) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(auto find, db.prepare(std::string("SELECT 1 FROM pragma_table_info('") + table +
                                               "') WHERE name = '" + column + "'"));
  DXHUB_ASSIGN_OR_RETURN(bool has_column, find.step());
  if (has_column) return Status::ok();
  return db.exec(std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + definition);
}

}  // namespace

Expected<std::unique_ptr<ProvinceStore>> ProvinceStore::open(const std::string& path) {
  std::unique_ptr<ProvinceStore> store(new ProvinceStore());
  DXHUB_ASSIGN_OR_RETURN(store->db_, SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate));
  DXHUB_RETURN_IF_ERROR(store->init());
  return store;
}

Status ProvinceStore::init() {
  DXHUB_RETURN_IF_ERROR(db_.exec(kPragmas));
  // Databases made before batches had `applied`: all their batches were
  // upserted on arrival. Before epochs, everything was epoch 0.
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "batches", "applied", "INTEGER NOT NULL DEFAULT 1"));
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "batches", "epoch", "INTEGER NOT NULL DEFAULT 0"));
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "batches", "duplicate_keys", "INTEGER NOT NULL DEFAULT 0"));
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "records", "epoch", "INTEGER NOT NULL DEFAULT 0"));
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "batches", "deleted", "INTEGER NOT NULL DEFAULT 0"));
  DXHUB_RETURN_IF_ERROR(add_missing_column(db_, "records", "deleted", "INTEGER NOT NULL DEFAULT 0"));
  DXHUB_RETURN_IF_ERROR(db_.exec(kCreateTables));
  DXHUB_ASSIGN_OR_RETURN(upserter_, RecordUpserter::prepare(db_));
  DXHUB_ASSIGN_OR_RETURN(tombstone_writer_, RecordUpserter::prepare(db_, /*tombstones=*/true));
  DXHUB_ASSIGN_OR_RETURN(
      insert_batch_,
      db_.prepare("INSERT INTO batches (batch_id, receipt_id, resource, sequence, records_accepted, digest, "
                  "fingerprint, codec, received_at, body, applied, epoch, duplicate_keys, deleted) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12, ?13)"));
  DXHUB_ASSIGN_OR_RETURN(find_batch_, db_.prepare(std::string("SELECT ") + kReceiptColumns +
                                                  " FROM batches WHERE batch_id = ?1"));
  DXHUB_ASSIGN_OR_RETURN(find_schema_,
                         db_.prepare("SELECT primary_key FROM schemas WHERE resource = ?1 AND fingerprint = ?2"));
  return Status::ok();
}

Expected<SchemaRegistration> ProvinceStore::register_schema(std::string_view resource, const avro::Schema& schema,
                                                            const std::string& primary_key,
                                                            std::string_view name_zh) {
  std::lock_guard lock(mutex_);
  std::string fingerprint = schema.fingerprint_hex();
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto find, db_.prepare("SELECT version, primary_key FROM schemas "
                                                "WHERE resource = ?1 AND fingerprint = ?2"));
  DXHUB_RETURN_IF_ERROR(find.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(find.bind_text(2, fingerprint));
  DXHUB_ASSIGN_OR_RETURN(bool found, find.step());
  SchemaRegistration result;
  result.fingerprint = fingerprint;
  if (found) {
    result.version = find.column_int64(0);
    result.primary_key = find.column_text(1);
    result.primary_key_conflict = result.primary_key != primary_key;
    return result;
  }
  DXHUB_ASSIGN_OR_RETURN(auto next, db_.prepare("SELECT coalesce(max(version), 0) + 1 FROM schemas "
                                                "WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(next.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, next.step());
  result.version = has_row ? next.column_int64(0) : 1;
  DXHUB_ASSIGN_OR_RETURN(auto insert, db_.prepare("INSERT INTO schemas (resource, version, fingerprint, "
                                                  "primary_key, name_zh, schema_json, registered_at) "
                                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(2, result.version));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(3, fingerprint));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(4, primary_key));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(5, name_zh));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(6, schema.json()));
  DXHUB_RETURN_IF_ERROR(insert.bind_text(7, iso8601_utc_now()));
  DXHUB_RETURN_IF_ERROR(insert.run());
  DXHUB_RETURN_IF_ERROR(tx.commit());
  result.primary_key = primary_key;
  result.created = true;
  return result;
}

Expected<std::optional<Receipt>> ProvinceStore::find_receipt(std::string_view batch_id) {
  DXHUB_RETURN_IF_ERROR(find_batch_.reset());
  DXHUB_RETURN_IF_ERROR(find_batch_.bind_text(1, batch_id));
  DXHUB_ASSIGN_OR_RETURN(bool found, find_batch_.step());
  std::optional<Receipt> receipt;
  if (found) receipt = receipt_from_row(find_batch_);
  DXHUB_RETURN_IF_ERROR(find_batch_.reset());
  return receipt;
}

Expected<std::optional<std::string>> ProvinceStore::registered_primary_key(std::string_view resource,
                                                                          std::string_view fingerprint) {
  DXHUB_RETURN_IF_ERROR(find_schema_.reset());
  DXHUB_RETURN_IF_ERROR(find_schema_.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(find_schema_.bind_text(2, fingerprint));
  DXHUB_ASSIGN_OR_RETURN(bool found, find_schema_.step());
  std::optional<std::string> key;
  if (found) key = std::string(find_schema_.column_text(0));
  DXHUB_RETURN_IF_ERROR(find_schema_.reset());
  return key;
}

// Decodes the whole file with avro-c (the independent check of the hub's
// writer): the header schema must be registered for the resource and every
// record must carry its primary key. With `apply`, the records are also
// upserted into `records` (sorted by key, later sequences win).
Expected<avro::DecodedFile> ProvinceStore::decode_batch(std::string_view resource, int64_t epoch, int64_t sequence,
                                                        std::string_view body, bool apply, IngestState& state) {
  // Once the file has passed our own checks and before avro-c decodes it:
  // the header schema must be registered for the resource.
  avro::OcfReadCallbacks callbacks;
  callbacks.on_checked = [&](const avro::DecodedFile& file, avro_schema_t file_schema) -> Status {
    auto parsed = avro::Schema::from_json(file.schema_json);
    if (!parsed) {
      state.refusal = IngestOutcome::Kind::kInvalidAvro;
      state.refusal_detail = "the file's schema does not parse: " + parsed.status().message();
      return rejected_error(state.refusal_detail);
    }
    state.fingerprint = parsed->fingerprint_hex();
    auto key = registered_primary_key(resource, state.fingerprint);
    if (!key) {
      state.storage_failure = key.status();
      return key.status();
    }
    if (!*key) {
      state.refusal = IngestOutcome::Kind::kSchemaNotRegistered;
      state.refusal_detail = "schema " + state.fingerprint + " is not registered for resource " +
                             std::string(resource);
      return rejected_error(state.refusal_detail);
    }
    auto reader = PrimaryKeyReader::create(file_schema, **key);
    if (!reader) {
      state.refusal = IngestOutcome::Kind::kInvalidAvro;
      state.refusal_detail = reader.status().message();
      return rejected_error(state.refusal_detail);
    }
    state.key_reader = std::move(*reader);
    // The batch headers are signed and so is the body's digest: where the
    // file names its own identity (the hub's files do; a plain Avro writer's
    // cannot), it must agree with the signed headers.
    auto meta = [&](const char* name) -> std::optional<std::string_view> {
      auto it = file.metadata.find(name);
      if (it == file.metadata.end()) return std::nullopt;
      return std::string_view(it->second);
    };
    const std::string epoch_text = std::to_string(epoch);
    const std::string sequence_text = std::to_string(sequence);
    for (auto [name, expected] : {std::pair<const char*, std::string_view>{"dxhub.resource", resource},
                                  {"dxhub.epoch", epoch_text},
                                  {"dxhub.sequence", sequence_text}}) {
      auto found = meta(name);
      if (found && *found != expected) {
        state.refusal = IngestOutcome::Kind::kIdentityMismatch;
        state.refusal_detail = std::string("the file's ") + name + " is '" + std::string(*found) +
                               "' but the signed request says '" + std::string(expected) + "'";
        return rejected_error(state.refusal_detail);
      }
    }
    // The operation (core/protocol/tombstone.h): a delete batch carries the
    // resource's tombstone schema, an upsert batch never does.
    auto operation = meta(protocol::kOperationMetadata);
    if (operation && *operation != protocol::kOperationDelete && *operation != protocol::kOperationUpsert) {
      state.refusal = IngestOutcome::Kind::kInvalidAvro;
      state.refusal_detail = std::string("the file's ") + protocol::kOperationMetadata + " is not 'delete' or 'upsert'";
      return rejected_error(state.refusal_detail);
    }
    state.is_delete = operation && *operation == protocol::kOperationDelete;
    if (state.is_delete != protocol::is_tombstone_schema(file.schema_json, **key)) {
      state.refusal = IngestOutcome::Kind::kInvalidAvro;
      state.refusal_detail = state.is_delete
                                 ? "a delete batch must use the resource's tombstone schema"
                                 : "a tombstone schema is only for delete batches (dxhub.operation 'delete')";
      return rejected_error(state.refusal_detail);
    }
    state.declared_records = file.record_count;
    if (apply) writer_for(state).begin(resource, epoch, sequence, state.fingerprint);
    return Status::ok();
  };

  // The key comes from avro-c's decoding; the stored bytes are the record's
  // own encoding (which avro-c has just decoded), so nothing is re-encoded.
  // They stay valid until the read returns, so the batch's rows are queued
  // and written, sorted by key, with the last record.
  callbacks.on_record = [&](const avro::DecodedRecord& record) -> Status {
    DXHUB_ASSIGN_OR_RETURN(PrimaryKeyValue key, state.key_reader->read(record.value));
    if (!apply) {
      bool first_time = key.is_integer ? seen_integer_keys_.insert(key.integer).second
                                       : seen_text_keys_.emplace(key.text).second;
      if (!first_time) ++state.duplicate_keys;
      ++state.records;
      return Status::ok();
    }
    RecordUpserter& writer = writer_for(state);
    writer.add(key, record.bytes);
    if (record.index + 1 == state.declared_records) {
      Status s = writer.flush();
      if (!s.is_ok()) {
        state.storage_failure = s;
        return s;
      }
    }
    ++state.records;
    return Status::ok();
  };

  return ocf_reader_.read(body, callbacks);
}

// Uploads only decode and store the batch; the per-key upsert, the costly
// part (random inserts into the key index), is done here, before anything
// reads `records`, for every batch not yet applied, in sequence order and
// in one transaction. Receipts therefore never wait for it.
Status ProvinceStore::apply_pending(std::string_view resource) {
  // Ids first: the batches rows are updated below, which a still-running
  // SELECT over them must not see.
  std::vector<std::string> batch_ids;
  {
    DXHUB_ASSIGN_OR_RETURN(auto pending, db_.prepare("SELECT batch_id FROM batches WHERE resource = ?1 AND "
                                                     "applied = 0 ORDER BY epoch, sequence, rowid"));
    DXHUB_RETURN_IF_ERROR(pending.bind_text(1, resource));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, pending.step());
      if (!row) break;
      batch_ids.emplace_back(pending.column_text(0));
    }
  }
  if (batch_ids.empty()) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  DXHUB_ASSIGN_OR_RETURN(auto load, db_.prepare("SELECT epoch, sequence, body FROM batches WHERE batch_id = ?1"));
  DXHUB_ASSIGN_OR_RETURN(auto mark, db_.prepare("UPDATE batches SET applied = 1 WHERE batch_id = ?1"));
  for (const std::string& batch_id : batch_ids) {
    DXHUB_RETURN_IF_ERROR(load.bind_text(1, batch_id));
    DXHUB_ASSIGN_OR_RETURN(bool found, load.step());
    if (!found) return internal_error("batch " + batch_id + " vanished while being applied");
    IngestState state;
    auto decoded = decode_batch(resource, load.column_int64(0), load.column_int64(1), load.column_blob(2),
                                /*apply=*/true, state);
    if (!state.storage_failure.is_ok()) return state.storage_failure;
    if (!decoded) {
      return internal_error("stored batch " + batch_id + " no longer decodes: " + decoded.status().message());
    }
    DXHUB_RETURN_IF_ERROR(load.reset());
    DXHUB_RETURN_IF_ERROR(mark.bind_text(1, batch_id));
    DXHUB_RETURN_IF_ERROR(mark.run());
    DXHUB_RETURN_IF_ERROR(mark.reset());
  }
  return tx.commit();
}

Expected<IngestOutcome> ProvinceStore::ingest_batch(const BatchUpload& upload) {
  std::string digest = protocol::sha256_hex(upload.body);
  std::lock_guard lock(mutex_);

  IngestOutcome outcome;
  DXHUB_ASSIGN_OR_RETURN(auto existing, find_receipt(upload.batch_id));
  if (existing) {
    if (existing->digest == digest && existing->resource == upload.resource) {
      outcome.kind = IngestOutcome::Kind::kDuplicate;
      outcome.receipt = std::move(*existing);
    } else {
      outcome.kind = IngestOutcome::Kind::kBatchConflict;
      outcome.detail = "batch " + std::string(upload.batch_id) + " was already received with other content";
    }
    return outcome;
  }

  DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
  IngestState state;
  seen_integer_keys_.clear();
  seen_text_keys_.clear();
  auto decoded = decode_batch(upload.resource, upload.epoch, upload.sequence, upload.body, /*apply=*/false, state);
  if (!state.storage_failure.is_ok()) return state.storage_failure;
  if (!decoded && !state.refusal) {
    state.refusal = IngestOutcome::Kind::kInvalidAvro;
    state.refusal_detail = decoded.status().message();
  }
  if (state.refusal) {
    outcome.kind = *state.refusal;
    outcome.detail = std::move(state.refusal_detail);
    return outcome;  // the transaction rolls back
  }

  Receipt& r = outcome.receipt;
  r.receipt_id = "rcpt-" + protocol::random_hex(12);
  r.batch_id = upload.batch_id;
  r.resource = upload.resource;
  r.epoch = upload.epoch;
  r.sequence = upload.sequence;
  r.records_accepted = state.records;
  r.duplicate_keys = state.duplicate_keys;
  r.deleted = state.is_delete ? state.records : 0;
  r.digest = std::move(digest);
  r.fingerprint = state.fingerprint;
  r.received_at = iso8601_utc_now();
  Status s = [&]() -> Status {
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(1, r.batch_id));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(2, r.receipt_id));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(3, r.resource));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_int64(4, r.sequence));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_int64(5, r.records_accepted));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(6, r.digest));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(7, r.fingerprint));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(8, decoded->codec));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_text(9, r.received_at));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_blob_static(10, upload.body));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_int64(11, r.epoch));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_int64(12, r.duplicate_keys));
    DXHUB_RETURN_IF_ERROR(insert_batch_.bind_int64(13, r.deleted));
    DXHUB_RETURN_IF_ERROR(insert_batch_.run());
    return insert_batch_.reset();
  }();
  if (!s.is_ok()) {
    (void)insert_batch_.reset();
    return s;
  }
  DXHUB_RETURN_IF_ERROR(tx.commit());
  outcome.kind = IngestOutcome::Kind::kStored;
  return outcome;
}

Expected<int64_t> ProvinceStore::count_records(std::string_view resource) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT count(*) FROM records WHERE resource = ?1 AND deleted = 0"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
  return has_row ? stmt.column_int64(0) : int64_t{0};
}

Expected<std::optional<ResourceSummary>> ProvinceStore::summary(std::string_view resource) {
  std::lock_guard lock(mutex_);
  DXHUB_RETURN_IF_ERROR(apply_pending(resource));
  ResourceSummary summary;
  DXHUB_ASSIGN_OR_RETURN(summary.records, count_records(resource));
  DXHUB_ASSIGN_OR_RETURN(auto batches, db_.prepare("SELECT count(*), coalesce(sum(records_accepted), 0), "
                                                   "coalesce(sum(deleted), 0) FROM batches WHERE resource = ?1"));
  DXHUB_RETURN_IF_ERROR(batches.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool has_row, batches.step());
  if (has_row) {
    summary.batches = batches.column_int64(0);
    summary.rows_received = batches.column_int64(1);
    summary.deletes_received = batches.column_int64(2);
  }
  DXHUB_ASSIGN_OR_RETURN(auto tombstones,
                         db_.prepare("SELECT count(*) FROM records WHERE resource = ?1 AND deleted = 1"));
  DXHUB_RETURN_IF_ERROR(tombstones.bind_text(1, resource));
  DXHUB_ASSIGN_OR_RETURN(bool has_count, tombstones.step());
  if (has_count) summary.tombstones = tombstones.column_int64(0);
  DXHUB_ASSIGN_OR_RETURN(auto schemas, db_.prepare("SELECT version, fingerprint, primary_key FROM schemas "
                                                   "WHERE resource = ?1 ORDER BY version"));
  DXHUB_RETURN_IF_ERROR(schemas.bind_text(1, resource));
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, schemas.step());
    if (!row) break;
    summary.schemas.push_back(
        {schemas.column_int64(0), std::string(schemas.column_text(1)), std::string(schemas.column_text(2))});
  }
  if (summary.schemas.empty() && summary.batches == 0) return std::optional<ResourceSummary>();
  return std::optional<ResourceSummary>(std::move(summary));
}

Expected<nlohmann::json> ProvinceStore::decode_stored(std::string_view fingerprint, std::string_view bytes) {
  auto it = decoding_schemas_.find(fingerprint);
  if (it == decoding_schemas_.end()) {
    DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT schema_json FROM schemas WHERE fingerprint = ?1 LIMIT 1"));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, fingerprint));
    DXHUB_ASSIGN_OR_RETURN(bool found, stmt.step());
    if (!found) return internal_error("stored record refers to unknown schema " + std::string(fingerprint));
    DXHUB_ASSIGN_OR_RETURN(auto schema, avro::Schema::from_json(std::string(stmt.column_text(0))));
    DXHUB_ASSIGN_OR_RETURN(auto scratch, schema.new_value());
    it = decoding_schemas_.emplace(std::string(fingerprint), DecodingSchema{std::move(schema), std::move(scratch)})
             .first;
  }
  return record_to_json(it->second.scratch, bytes);
}

// Brings the resource's records up to date, then fills a page with the
// rows of `select` (fingerprint, data), bound by `bind`.
template <typename Bind>
Expected<RecordPage> ProvinceStore::read_records(std::string_view resource, const char* select, Bind&& bind) {
  DXHUB_RETURN_IF_ERROR(apply_pending(resource));
  RecordPage page;
  DXHUB_ASSIGN_OR_RETURN(page.count, count_records(resource));
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(select));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(bind(stmt));
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    DXHUB_ASSIGN_OR_RETURN(auto json, decode_stored(stmt.column_text(0), stmt.column_blob(1)));
    page.records.push_back(std::move(json));
  }
  return page;
}

Expected<RecordPage> ProvinceStore::records(std::string_view resource, int64_t offset, int64_t limit,
                                            bool tombstones) {
  std::lock_guard lock(mutex_);
  return read_records(resource,
                      tombstones ? "SELECT fingerprint, data FROM records WHERE resource = ?1 AND deleted = 1 "
                                   "ORDER BY pk LIMIT ?2 OFFSET ?3"
                                 : "SELECT fingerprint, data FROM records WHERE resource = ?1 AND deleted = 0 "
                                   "ORDER BY pk LIMIT ?2 OFFSET ?3",
                      [&](SqliteStmt& stmt) -> Status {
                        DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, limit));
                        return stmt.bind_int64(3, offset);
                      });
}

Expected<RecordPage> ProvinceStore::record_by_key(std::string_view resource, std::string_view key) {
  std::lock_guard lock(mutex_);
  // The key's type follows the schema: try it as an integer too when it is one.
  return read_records(resource,
                      "SELECT fingerprint, data FROM records WHERE resource = ?1 AND pk IN (?2, ?3) AND deleted = 0 "
                      "LIMIT 1",
                      [&](SqliteStmt& stmt) -> Status {
                        DXHUB_RETURN_IF_ERROR(stmt.bind_text(2, key));
                        if (auto integer = parse_int64(key)) return stmt.bind_int64(3, *integer);
                        return stmt.bind_text(3, key);
                      });
}

Expected<std::vector<Receipt>> ProvinceStore::receipts(std::string_view resource) {
  std::lock_guard lock(mutex_);
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(std::string("SELECT ") + kReceiptColumns +
                                                " FROM batches WHERE resource = ?1 ORDER BY epoch, sequence, rowid"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<Receipt> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    out.push_back(receipt_from_row(stmt));
  }
  return out;
}

Expected<ManifestPage> ProvinceStore::manifest(std::string_view resource, int64_t after_epoch,
                                              int64_t after_sequence, int64_t limit) {
  std::lock_guard lock(mutex_);
  constexpr const char* kColumns =
      "SELECT batch_id, epoch, sequence, records_accepted, deleted, digest, fingerprint, received_at FROM batches ";
  auto entry_from_row = [](const SqliteStmt& s) {
    ManifestEntry e;
    e.batch_id = s.column_text(0);
    e.epoch = s.column_int64(1);
    e.sequence = s.column_int64(2);
    e.records = s.column_int64(3);
    e.deleted = s.column_int64(4);
    e.digest = s.column_text(5);
    e.fingerprint = s.column_text(6);
    e.received_at = s.column_text(7);
    return e;
  };
  ManifestPage page;
  {
    DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(std::string(kColumns) +
                                                  "WHERE resource = ?1 AND (epoch > ?2 OR (epoch = ?2 AND sequence > "
                                                  "?3)) ORDER BY epoch, sequence, batch_id LIMIT ?4"));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, after_epoch));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, after_sequence));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(4, limit));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      page.batches.push_back(entry_from_row(stmt));
    }
  }
  if (page.batches.empty() || static_cast<int64_t>(page.batches.size()) < limit) return page;

  // The page is full: finish its last (epoch, sequence), then see whether more follow.
  const ManifestEntry last = page.batches.back();
  {
    DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare(std::string(kColumns) +
                                                  "WHERE resource = ?1 AND epoch = ?2 AND sequence = ?3 AND "
                                                  "batch_id > ?4 ORDER BY batch_id"));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, last.epoch));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, last.sequence));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text(4, last.batch_id));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      page.batches.push_back(entry_from_row(stmt));
    }
  }
  DXHUB_ASSIGN_OR_RETURN(auto more, db_.prepare("SELECT 1 FROM batches WHERE resource = ?1 AND (epoch > ?2 OR "
                                                "(epoch = ?2 AND sequence > ?3)) LIMIT 1"));
  DXHUB_RETURN_IF_ERROR(more.bind_text(1, resource));
  DXHUB_RETURN_IF_ERROR(more.bind_int64(2, last.epoch));
  DXHUB_RETURN_IF_ERROR(more.bind_int64(3, last.sequence));
  DXHUB_ASSIGN_OR_RETURN(bool has_more, more.step());
  if (has_more) page.next_after = std::make_pair(last.epoch, last.sequence);
  return page;
}

}  // namespace dxhub::province
