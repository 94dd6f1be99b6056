#include "core/engine/sync_engine.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/avro/codec.h"
#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/engine/batch_identity.h"
#include "core/engine/delivery_worker.h"
#include "core/engine/snapshot_diff.h"
#include "core/engine/staged_batches.h"
#include "core/mapping/record_mapper.h"
#include "core/mapping/value_parsers.h"
#include "core/protocol/signing.h"
#include "core/protocol/tombstone.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {

using Clock = std::chrono::steady_clock;

// Receives rows from the connector and appends each as a record to the open
// container file: encoded straight into the writer's block (compiled
// encoder), or mapped into the reused Avro value for avro-c to serialise. A
// row that does not map goes to the dead-letter store with its reason and
// the run goes on.
// What a dead letter's reason may show in logs: the field and column it
// names, never the value (reasons are "field F (column C): 'value' problem").
std::string reason_without_value(const std::string& reason) {
  if (reason.starts_with("field ")) {
    size_t end = reason.find("): ");
    if (end != std::string::npos) return reason.substr(0, end + 1);
  }
  return "(reason not shown: it may quote the row)";
}

// How much of a bad input's raw bytes a dead letter keeps.
constexpr size_t kMaxBadInputBytes = 64 * 1024;

// {"dxhub_bad_input": {"bytes": N, "truncated": bool, "raw": text | "raw_hex": hex}}
// (see BadInput; replay recognises the key and leaves such letters alone).
std::string bad_input_json(std::string_view raw) {
  std::string_view kept = raw.substr(0, kMaxBadInputBytes);
  nlohmann::json inner = {{"bytes", raw.size()}, {"truncated", kept.size() < raw.size()}};
  if (mapping::is_valid_utf8(kept)) {
    inner["raw"] = std::string(kept);
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(kept.size() * 2);
    for (unsigned char c : kept) {
      hex.push_back(kHex[c >> 4]);
      hex.push_back(kHex[c & 15]);
    }
    inner["raw_hex"] = std::move(hex);
  }
  return nlohmann::json{{kBadInputKey, std::move(inner)}}.dump();
}

class BatchSink final : public RowSink {
 public:
  BatchSink(const RecordMapper& mapper, RecordEncoder encoder, avro::Value& value, avro::OcfWriter& writer,
            avro::OcfWriter& tombstones, SnapshotDiff* snapshot, ResourceResult& result)
      : mapper_(mapper),
        encoder_(encoder),
        value_(value),
        writer_(writer),
        tombstones_(tombstones),
        snapshot_(snapshot),
        result_(result) {}

  std::vector<DeadLetter> dead_letters;  // of the current chunk
  // Source time of the chunk's tombstones from connector deletes: when the
  // hub read them (a RowView carries no source time).
  int64_t chunk_read_at_ms = 0;

  Status on_row(const RowView& row) override {
    ++result_.rows_read;
    if (row.op == RowOp::kDelete) return on_delete(row);
    if (tombstones_.record_count() > 0) {
      return internal_error("the connector mixed upserts and deletes in one read() (see connector.h)");
    }
    if (snapshot_ != nullptr) {
      key_.clear();
      // A row whose key does not convert is not tracked: the mapping below dead-letters it.
      if (mapper_.encode_primary_key(row, key_).is_ok()) {
        DXHUB_ASSIGN_OR_RETURN(bool changed, snapshot_->changed(key_, row));
        if (!changed) return Status::ok();
      }
    }
    if (encoder_ == RecordEncoder::kCompiled) {
      Status mapped;
      Status appended = writer_.append_with([&](std::string& block) { return mapped = mapper_.encode(row, block); });
      // Only a mapping failure is the row's fault; a writer failure stops the run.
      if (!mapped.is_ok()) return dead_letter(row, std::move(mapped));
      return appended;
    }
    avro_value_reset(value_.get());
    Status mapped = mapper_.map(row, value_.get());
    if (!mapped.is_ok()) return dead_letter(row, std::move(mapped));
    return writer_.append(value_.get());
  }

 private:
  // A delete (change capture, or any connector that sees one): a tombstone
  // of the key, in the chunk's delete batch (core/protocol/tombstone.h).
  Status on_delete(const RowView& row) {
    if (writer_.record_count() > 0) {
      return internal_error("the connector mixed upserts and deletes in one read() (see connector.h)");
    }
    key_.clear();
    Status key = mapper_.encode_primary_key(row, key_);
    if (!key.is_ok()) return dead_letter(row, std::move(key));
    record_.clear();
    protocol::append_tombstone_record(key_, chunk_read_at_ms, record_);
    if (snapshot_ != nullptr) snapshot_->removed(key_);
    return tombstones_.append_encoded(record_);
  }

  std::string key_;     // reused: the row's encoded primary key
  std::string record_;  // reused: a tombstone record

 private:
  Status dead_letter(const RowView& row, Status mapped) {
    if (mapped.code() != StatusCode::kData) return mapped;
    // Logged once per run as a count (sync_resource): the reason quotes the value.
    if (++result_.dead_letters == 1) result_.first_dead_letter = reason_without_value(mapped.message());
    // Kept with the chunk: stored in the same transaction as its cursor advance.
    dead_letters.push_back(DeadLetter{result_.resource, mapper_.source_key(row), mapped.message(),
                                      mapper_.row_to_json(row), std::string(row.source_ref)});
    return Status::ok();
  }

 public:
  // Input the connector could not make a row of: kept with its source
  // reference and (bounded) raw bytes; the reason is the connector's and
  // quotes no value, so it may be logged.
  Status on_bad_input(const BadInput& bad) override {
    ++result_.rows_read;
    if (snapshot_ != nullptr) snapshot_->bad_input();
    std::string reason = std::string(bad.source_ref) + ": " + std::string(bad.reason);
    if (++result_.dead_letters == 1) result_.first_dead_letter = reason;
    dead_letters.push_back(DeadLetter{result_.resource, std::string(bad.source_ref), std::move(reason),
                                      bad_input_json(bad.raw), std::string(bad.source_ref)});
    return Status::ok();
  }

 private:
  const RecordMapper& mapper_;
  RecordEncoder encoder_;
  avro::Value& value_;
  avro::OcfWriter& writer_;
  avro::OcfWriter& tombstones_;
  SnapshotDiff* snapshot_;
  ResourceResult& result_;
};

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "change_detection" in a resource's connector config is the engine's, not
// the connector's: "snapshot" (full refresh diffed against the last pass,
// see snapshot_diff.h) or "none" (default). Removed before the connector sees it.
Expected<bool> take_change_detection(ResourceSpec& spec) {
  if (!spec.connector_config.is_object()) return false;
  auto it = spec.connector_config.find("change_detection");
  if (it == spec.connector_config.end()) return false;
  if (!it->is_string() || (*it != "snapshot" && *it != "none")) {
    return config_error("resource " + spec.resource_id + ": change_detection must be \"snapshot\" or \"none\"");
  }
  bool snapshot = *it == "snapshot";
  spec.connector_config.erase(it);
  return snapshot;
}

Expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool selected(const ResourceSpec& spec, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const auto& name : only) {
    if (name == spec.resource_id || name == spec.plugin + "/" + spec.resource_id) return true;
  }
  return false;
}

// Before a chunk is read: while the resource's outbox holds max_outbox_bytes
// or more, wait for delivery to drain it. If delivery has stopped, reading
// stops (nothing is dropped and the cursor stays where the spool left it).
Status wait_for_outbox_room(StateStore& store, const std::string& resource, int64_t max_outbox_bytes,
                            DeliveryWorker& delivery) {
  bool logged = false;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(int64_t pending, store.pending_bytes(resource));
    if (pending < max_outbox_bytes) return Status::ok();
    if (!logged) {
      spdlog::info("resource {}: outbox holds {} bytes (sync.max_outbox_bytes {}): reading pauses for delivery",
                   resource, pending, max_outbox_bytes);
      logged = true;
    }
    if (delivery.stopped_or_wait(std::chrono::milliseconds(500))) {
      // Re-check: the last receipt may have made room just before the worker stopped.
      DXHUB_ASSIGN_OR_RETURN(int64_t left, store.pending_bytes(resource));
      if (left < max_outbox_bytes) return Status::ok();
      return unavailable_error("reading stopped: the outbox holds " + std::to_string(left) +
                               " bytes (sync.max_outbox_bytes " + std::to_string(max_outbox_bytes) +
                               ") and delivery has stopped; the rest is read on the next run");
    }
  }
}

// After a chunk was read, before it is spooled: kData when this run's dead
// letters cross sync.max_dead_letters or sync.max_dead_letter_ratio.
constexpr int64_t kMinRowsForRatio = 100;

Status check_dead_letter_threshold(const ResourceResult& result, const SyncSettings& sync) {
  if (sync.max_dead_letters > 0 && result.dead_letters > sync.max_dead_letters) {
    return data_error("dead-letter threshold: " + std::to_string(result.dead_letters) +
                      " dead letters in this run exceed sync.max_dead_letters " +
                      std::to_string(sync.max_dead_letters) + "; the chunk was not spooled and the cursor stays "
                      "before it (first: " + result.first_dead_letter + ")");
  }
  if (result.rows_read >= kMinRowsForRatio && result.dead_letters > 0) {
    double ratio = static_cast<double>(result.dead_letters) / static_cast<double>(result.rows_read);
    if (ratio > sync.max_dead_letter_ratio) {
      char text[64];
      std::snprintf(text, sizeof text, "%.4g of %lld rows", ratio, static_cast<long long>(result.rows_read));
      return data_error("dead-letter threshold: " + std::to_string(result.dead_letters) + " dead letters (" + text +
                        ") exceed sync.max_dead_letter_ratio " + std::to_string(sync.max_dead_letter_ratio) +
                        "; the chunk was not spooled and the cursor stays before it (first: " +
                        result.first_dead_letter + ")");
    }
  }
  return Status::ok();
}

}  // namespace

std::string ResourceResult::status_text() const {
  if (!read_status.is_ok()) return "failed: " + read_status.to_string();
  if (!delivery_status.is_ok()) return "failed: " + delivery_status.to_string();
  return dead_letters > 0 ? "ok_with_dead_letters" : "ok";
}

StateStoreOptions SyncEngine::state_options() const {
  StateStoreOptions options;
  options.synchronous_full = config_.state_synchronous_full;
  return options;
}

ResourceResult SyncEngine::sync_resource(const ResourceSpec& spec, StateStore& store) {
  ResourceResult result;
  result.plugin = spec.plugin;
  result.resource = spec.resource_id;
  const std::string& resource = spec.resource_id;

  auto schema = avro::Schema::from_file(spec.schema_path);
  if (!schema) {
    result.read_status = schema.status();
    return result;
  }
  auto mapper = RecordMapper::load(spec.mapping_path, *schema);
  if (!mapper) {
    result.read_status = mapper.status();
    return result;
  }
  auto codec = avro::parse_codec(config_.sync.codec);
  if (!codec) {
    result.read_status = codec.status();
    return result;
  }
  // Delivery starts at once: batches left from earlier runs go first.
  DeliveryWorker delivery(config_.province, delivery_target(spec, *schema, *mapper));
  delivery.start();

  result.read_status = [&]() -> Status {
    if (spec.connector == kPushConnectorKind) {
      return spool_staged_posts(spec, *schema, *codec, store, delivery, result);
    }
    ResourceSpec connector_spec = spec;
    DXHUB_ASSIGN_OR_RETURN(bool snapshot_mode, take_change_detection(connector_spec));
    DXHUB_ASSIGN_OR_RETURN(std::string tombstone_json,
                           protocol::tombstone_schema_json(schema->json(), mapper->primary_key()));
    DXHUB_ASSIGN_OR_RETURN(avro::Schema tombstone_schema, avro::Schema::from_json(tombstone_json));
    DXHUB_ASSIGN_OR_RETURN(nlohmann::json cursor, store.load_cursor(resource));
    std::optional<SnapshotDiff> snapshot;
    SnapshotPass pass;
    if (snapshot_mode) {
      DXHUB_ASSIGN_OR_RETURN(std::string mapping_text, read_text_file(spec.mapping_path));
      DXHUB_ASSIGN_OR_RETURN(pass, store.snapshot_pass(resource));
      if (!pass.exists || pass.complete) {
        // A new pass reads the source from its start.
        pass.pass += 1;
        pass.complete = false;
        pass.started_at_ms = wall_clock_ms();
        pass.bad_inputs = 0;
        DXHUB_RETURN_IF_ERROR(store.begin_snapshot_pass(resource, pass.pass, pass.started_at_ms));
        cursor = nullptr;
      } else {
        spdlog::info("resource {}: continuing snapshot pass {} left unfinished by an earlier run", resource,
                     pass.pass);
      }
      snapshot.emplace(store, resource, pass.pass, snapshot_seed(schema->json(), mapping_text));
    }
    ConnectorOpenOptions open_options;
    open_options.resource_id = resource;
    open_options.work_dir = config_.state_db + ".work/" + resource;
    open_options.count_rows = progress_ != nullptr;  // only a progress display uses the count
    DXHUB_ASSIGN_OR_RETURN(auto connector,
                           host_.open_reader(connector_spec, mapper->source_columns(), cursor, open_options));
    DXHUB_RETURN_IF_ERROR(mapper->bind(connector->columns()));
    if (progress_ != nullptr) progress_->on_resource_started(spec.plugin, resource, connector->estimated_rows());
    DXHUB_ASSIGN_OR_RETURN(avro::Value value, schema->new_value());
    avro::OcfWriter writer(*schema, *codec, config_.sync.block_bytes);
    avro::OcfWriter tombstone_writer(tombstone_schema, *codec, config_.sync.block_bytes);
    BatchSink sink(*mapper, config_.sync.encoder, value, writer, tombstone_writer,
                   snapshot ? &*snapshot : nullptr, result);
    std::string body;
    DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
    const std::string epoch_text = std::to_string(epoch);
    auto cursor_text = [](const nlohmann::json& position) {
      return position.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    // Both writers start every chunk; one read() hands out one operation,
    // so at most one of them gets records (upserts keep the resource's
    // schema and header exactly as before tombstones existed).
    auto begin_chunk = [&](int64_t sequence, const std::string& from) -> Status {
      const auto sync_marker = batch_sync_marker(resource, epoch, sequence, from);
      std::vector<std::pair<std::string, std::string>> metadata = {{"dxhub.resource", resource},
                                                                   {"dxhub.plugin", spec.plugin},
                                                                   {"dxhub.epoch", epoch_text},
                                                                   {"dxhub.sequence", std::to_string(sequence)}};
      DXHUB_RETURN_IF_ERROR(writer.begin(metadata, &sync_marker));
      metadata.emplace_back(protocol::kOperationMetadata, protocol::kOperationDelete);
      return tombstone_writer.begin(metadata, &sync_marker);
    };
    // Spools the finished chunk of `chunk_writer` (its records counted in result).
    auto spool = [&](avro::OcfWriter& chunk_writer, const avro::Schema& chunk_schema, int64_t sequence,
                     const std::string& from, const std::string& to, const nlohmann::json& cursor_to,
                     const SnapshotUpdate* update) -> Status {
      int64_t records = static_cast<int64_t>(chunk_writer.record_count());
      DXHUB_RETURN_IF_ERROR(chunk_writer.finish(body));
      std::string digest = protocol::sha256_hex(body);
      std::string batch_id = batch_id_for(resource, from, to, digest);
      NewBatch batch{batch_id, resource, sequence, records, config_.sync.codec, chunk_schema.fingerprint_hex(),
                     std::move(digest), body};
      DXHUB_RETURN_IF_ERROR(store.spool_batch(batch, cursor_to, sink.dead_letters, update));
      result.rows_spooled += records;
      if (&chunk_writer == &tombstone_writer) result.deletes_spooled += records;
      ++result.batches_spooled;
      delivery.notify();
      spdlog::debug("resource {}: spooled batch {} sequence {} ({} records, {} bytes)", resource, batch_id, sequence,
                    records, body.size());
      return Status::ok();
    };
    // A chunk starts where the previous one ended: that position's text is
    // kept rather than built and dumped again (it may carry a large boundary set).
    std::string cursor_from = cursor_text(connector->cursor());
    nlohmann::json cursor_now = connector->cursor();
    // A stop (the daemon's SIGTERM) ends reading between chunks: every chunk
    // before is durable with its cursor, the rest follows next run.
    auto stopped = [&] {
      result.stopped = true;
      spdlog::info("resource {}: stop requested; reading ended after a durable chunk, the rest follows next run",
                   resource);
      return Status::ok();
    };
    for (;;) {
      if (stop_requested()) return stopped();
      Status room = wait_for_outbox_room(store, resource, config_.sync.max_outbox_bytes, delivery);
      if (!room.is_ok() && stop_requested()) return stopped();  // delivery ended for the stop, not a failure
      DXHUB_RETURN_IF_ERROR(room);
      DXHUB_ASSIGN_OR_RETURN(int64_t sequence, store.next_sequence(resource));
      DXHUB_RETURN_IF_ERROR(begin_chunk(sequence, cursor_from));
      sink.dead_letters.clear();
      sink.chunk_read_at_ms = wall_clock_ms();
      if (snapshot) snapshot->clear_chunk();
      DXHUB_ASSIGN_OR_RETURN(size_t rows, connector->read(static_cast<size_t>(config_.sync.batch_rows), sink));
      if (progress_ != nullptr) progress_->on_rows_read(resource, result.rows_read);
      if (rows == 0) break;
      DXHUB_RETURN_IF_ERROR(check_dead_letter_threshold(result, config_.sync));
      nlohmann::json cursor_to = connector->cursor();
      std::string cursor_to_text = cursor_text(cursor_to);
      SnapshotUpdate update;
      if (snapshot) update = snapshot->update();
      const SnapshotUpdate* chunk_update = snapshot ? &update : nullptr;
      avro::OcfWriter* filled = writer.record_count() > 0             ? &writer
                                : tombstone_writer.record_count() > 0 ? &tombstone_writer
                                                                      : nullptr;
      if (filled == nullptr) {  // every row was dead-lettered or unchanged: still move past them
        DXHUB_RETURN_IF_ERROR(store.advance_cursor(resource, cursor_to, sink.dead_letters, chunk_update));
      } else {
        DXHUB_RETURN_IF_ERROR(spool(*filled, filled == &writer ? *schema : tombstone_schema, sequence, cursor_from,
                                    cursor_to_text, cursor_to, chunk_update));
      }
      cursor_from = std::move(cursor_to_text);
      cursor_now = std::move(cursor_to);
    }
    if (!snapshot) return Status::ok();

    // The pass has read the whole source: keys of the last snapshot it did
    // not see are deleted, one tombstone batch per sync.batch_rows keys, each
    // forgotten in the transaction that spools its tombstone.
    result.rows_unchanged = snapshot->unchanged_rows();
    DXHUB_ASSIGN_OR_RETURN(SnapshotPass ended, store.snapshot_pass(resource));
    sink.dead_letters.clear();
    if (ended.bad_inputs > 0) {
      spdlog::warn("resource {}: snapshot pass {} met {} inputs it could not read: its deletes are withheld until "
                   "a pass reads the source cleanly",
                   resource, pass.pass, ended.bad_inputs);
    } else {
      std::vector<SnapshotChange> removals;
      for (;;) {
        DXHUB_ASSIGN_OR_RETURN(std::vector<std::string> gone,
                               store.snapshot_unseen(resource, pass.pass, static_cast<size_t>(config_.sync.batch_rows)));
        if (gone.empty()) break;
        DXHUB_RETURN_IF_ERROR(wait_for_outbox_room(store, resource, config_.sync.max_outbox_bytes, delivery));
        DXHUB_ASSIGN_OR_RETURN(int64_t sequence, store.next_sequence(resource));
        DXHUB_RETURN_IF_ERROR(begin_chunk(sequence, cursor_from));
        removals.clear();
        std::string record;
        for (std::string& key : gone) {
          record.clear();
          protocol::append_tombstone_record(key, ended.started_at_ms, record);
          DXHUB_RETURN_IF_ERROR(tombstone_writer.append_encoded(record));
          removals.push_back(SnapshotChange{std::move(key), 0, true});
        }
        SnapshotUpdate update;
        update.pass = pass.pass;
        update.changes = removals;
        DXHUB_RETURN_IF_ERROR(spool(tombstone_writer, tombstone_schema, sequence, cursor_from, cursor_from,
                                    cursor_now, &update));
      }
    }
    // The pass ends with the cursor reset: the next run reads the source from its start.
    SnapshotUpdate finish;
    finish.pass = pass.pass;
    finish.complete_pass = true;
    DXHUB_RETURN_IF_ERROR(store.advance_cursor(resource, nullptr, {}, &finish));
    spdlog::info("resource {}: snapshot pass {} complete: {} rows unchanged, {} deletes", resource, pass.pass,
                 result.rows_unchanged, result.deletes_spooled);
    return Status::ok();
  }();
  delivery.finish();
  collect_delivery(delivery, store, result);
  return result;
}

Status SyncEngine::spool_staged_posts(const ResourceSpec& spec, const avro::Schema& schema, avro::Codec codec,
                                      StateStore& store, DeliveryWorker& delivery, ResourceResult& result) {
  StagedBatchBuilder builder(spec.resource_id, spec.plugin, schema, codec, config_.sync.codec, config_.sync.block_bytes);
  for (;;) {
    if (stop_requested()) {
      result.stopped = true;
      return Status::ok();
    }
    DXHUB_RETURN_IF_ERROR(wait_for_outbox_room(store, spec.resource_id, config_.sync.max_outbox_bytes, delivery));
    DXHUB_ASSIGN_OR_RETURN(auto spooled, builder.spool_next(store, config_.ingest.batch_rows));
    if (!spooled) return Status::ok();
    result.rows_read += spooled->records;
    result.rows_spooled += spooled->records;
    ++result.batches_spooled;
    delivery.notify();
  }
}

DeliveryTarget SyncEngine::delivery_target(const ResourceSpec& spec, const avro::Schema& schema,
                                           const RecordMapper& mapper) const {
  return DeliveryTarget{spec.resource_id, spec.name_zh, schema.json(), mapper.primary_key(), config_.state_db,
                        config_.delivery.quarantine_after, config_.state_synchronous_full, stop_, on_receipt_};
}

void SyncEngine::collect_delivery(const DeliveryWorker& delivery, StateStore& store, ResourceResult& result) {
  result.delivery_status = delivery.status();
  result.batches_quarantined = delivery.batches_quarantined();
  result.duplicate_keys = delivery.duplicate_keys();
  result.rows_deleted = delivery.rows_deleted();
  result.batches_delivered = delivery.batches_delivered();
  result.rows_delivered = delivery.rows_delivered();
  result.delivery_retries = delivery.retries();
  result.upload_latency = delivery.upload_latency();
  if (auto outbox = store.outbox_summary(); outbox) {
    for (const auto& o : *outbox) {
      if (o.resource == result.resource) result.batches_pending = o.batches;
    }
  }
}

ResourceResult SyncEngine::deliver_pending(const std::string& resource) {
  ResourceResult result;
  result.resource = resource;
  const ResourceSpec* found = nullptr;
  const std::vector<ResourceSpec> specs = host_.resources();
  for (const auto& spec : specs) {
    if (selected(spec, {resource})) found = &spec;
  }
  if (found == nullptr) {
    result.read_status = config_error("no loaded plugin declares resource '" + resource + "'");
    return result;
  }
  result.plugin = found->plugin;
  result.resource = found->resource_id;
  auto schema = avro::Schema::from_file(found->schema_path);
  if (!schema) {
    result.read_status = schema.status();
    return result;
  }
  auto mapper = RecordMapper::load(found->mapping_path, *schema);
  if (!mapper) {
    result.read_status = mapper.status();
    return result;
  }
  auto store = StateStore::open(config_.state_db, state_options());
  if (!store) {
    result.delivery_status = store.status();
    return result;
  }
  DeliveryWorker delivery(config_.province, delivery_target(*found, *schema, *mapper));
  delivery.start();
  delivery.finish();
  collect_delivery(delivery, *store, result);
  return result;
}

RunSummary SyncEngine::run(const std::vector<std::string>& only, std::vector<Status> load_errors) {
  auto started = Clock::now();
  RunSummary summary;
  summary.errors = std::move(load_errors);

  auto store = StateStore::open(config_.state_db, state_options());
  if (!store) {
    summary.errors.push_back(store.status());
    return summary;
  }
  if (auto run_id = store->begin_run(command_); run_id) summary.run_id = *run_id;

  std::vector<ResourceSpec> specs = host_.resources();
  for (const auto& name : only) {
    bool known = false;
    for (const auto& spec : specs) known = known || selected(spec, {name});
    if (!known) summary.errors.push_back(config_error("no loaded plugin declares resource '" + name + "'"));
  }
  for (const auto& spec : specs) {
    if (!selected(spec, only)) continue;
    if (stop_requested()) break;
    spdlog::info("resource {}/{}: sync started", spec.plugin, spec.resource_id);
    ResourceResult r = sync_resource(spec, *store);
    if (progress_ != nullptr) progress_->on_resource_finished(spec.resource_id, r.rows_read, r.ok());
    if (!r.read_status.is_ok()) {
      spdlog::error("resource {}/{}: {}", spec.plugin, spec.resource_id, r.read_status.to_string());
    }
    if (r.dead_letters > 0) {
      spdlog::warn("resource {}/{}: {} rows dead-lettered in this run (first: {}); see `dxhub dead-letters list -r {}`",
                   spec.plugin, spec.resource_id, r.dead_letters, r.first_dead_letter, spec.resource_id);
    }
    if (r.duplicate_keys > 0) {
      spdlog::warn("resource {}/{}: the province reports {} delivered records whose primary key repeats within "
                   "their batch (the later record replaced the earlier): check the source's key",
                   spec.plugin, spec.resource_id, r.duplicate_keys);
    }
    if (!r.delivery_status.is_ok()) {
      spdlog::error("resource {}/{}: delivery failed: {} ({} batches stay spooled for the next run)", spec.plugin,
                    spec.resource_id, r.delivery_status.message(), r.batches_pending);
    }
    spdlog::info("resource {}/{}: read {} rows, spooled {} in {} batches, {} dead letters, delivered {} rows in {} "
                 "batches, {} pending",
                 spec.plugin, spec.resource_id, r.rows_read, r.rows_spooled, r.batches_spooled, r.dead_letters,
                 r.rows_delivered, r.batches_delivered, r.batches_pending);
    (void)store->record_run_resource(
        summary.run_id, RunResourceStats{spec.resource_id, r.rows_read, r.rows_spooled,
                                         r.rows_delivered, r.batches_spooled, r.batches_delivered, r.dead_letters,
                                         r.ok() ? (r.dead_letters > 0 ? "ok_with_dead_letters" : "ok") : "failed",
                                         !r.read_status.is_ok() ? r.read_status.to_string()
                                                                : r.delivery_status.is_ok() ? ""
                                                                : r.delivery_status.to_string()});
    summary.resources.push_back(std::move(r));
  }
  summary.elapsed_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  int exit_code = summary.exit_code();
  (void)store->finish_run(summary.run_id,
                          exit_code == kExitOk ? "ok" : exit_code == kExitDeadLetters ? "ok_with_dead_letters" : "failed",
                          summary.to_json());
  return summary;
}

int exit_code_for_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kConfig: return kExitConfig;
    case StatusCode::kSource: return kExitSource;
    case StatusCode::kUnavailable:
    case StatusCode::kRejected: return kExitDelivery;
    case StatusCode::kData: return kExitDeadLetters;  // only a dead-letter threshold reaches a run's status
    case StatusCode::kBusy: return kExitBusy;
    default: return kExitInternal;
  }
}

int RunSummary::exit_code() const {
  // Several failures: the one an operator must fix first wins.
  int worst = kExitOk;
  // Order 2, 3, 4, 1, (6), 5: a run with dead letters and nothing worse is 5.
  auto rank = [](int code) {
    switch (code) {
      case kExitConfig: return 6;
      case kExitSource: return 5;
      case kExitDelivery: return 4;
      case kExitInternal: return 3;
      case kExitBusy: return 2;
      case kExitDeadLetters: return 1;
      default: return 0;
    }
  };
  auto consider = [&](const Status& s) {
    int code = exit_code_for_status(s);
    if (rank(code) > rank(worst)) worst = code;
  };
  for (const auto& e : errors) consider(e);
  for (const auto& r : resources) {
    consider(r.read_status);
    if (r.dead_letters > 0) consider(data_error("dead letters"));
    // Whatever went wrong while delivering (network, refusal, local state), it is a delivery failure.
    if (!r.delivery_status.is_ok()) consider(unavailable_error(r.delivery_status.message()));
  }
  return worst;
}

nlohmann::json RunSummary::to_json() const {
  nlohmann::json j;
  j["run_id"] = run_id;
  j["elapsed_seconds"] = elapsed_seconds;
  j["exit_code"] = exit_code();
  j["errors"] = nlohmann::json::array();
  for (const auto& e : errors) j["errors"].push_back(e.to_string());
  int64_t rows_read = 0, rows_delivered = 0, batches = 0, receipts = 0;
  j["resources"] = nlohmann::json::array();
  for (const auto& r : resources) {
    rows_read += r.rows_read;
    rows_delivered += r.rows_delivered;
    batches += r.batches_spooled;
    receipts += r.batches_delivered;
    j["resources"].push_back({{"plugin", r.plugin},
                              {"resource", r.resource},
                              {"rows_read", r.rows_read},
                              {"rows_spooled", r.rows_spooled},
                              {"dead_letters", r.dead_letters},
                              {"batches_spooled", r.batches_spooled},
                              {"batches_delivered", r.batches_delivered},
                              {"rows_delivered", r.rows_delivered},
                              {"batches_pending", r.batches_pending},
                              {"batches_quarantined", r.batches_quarantined},
                              {"duplicate_keys", r.duplicate_keys},
                              {"rows_unchanged", r.rows_unchanged},
                              {"deletes_spooled", r.deletes_spooled},
                              {"rows_deleted", r.rows_deleted},
                              {"status", r.status_text()},
                              {"stopped", r.stopped},
                              {"read_status", r.read_status.to_string()},
                              {"delivery_status", r.delivery_status.to_string()}});
  }
  j["totals"] = {{"resources", resources.size()},
                 {"rows_read", rows_read},
                 {"rows_delivered", rows_delivered},
                 {"batches", batches},
                 {"receipts", receipts}};
  return j;
}

std::string RunSummary::to_text() const {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-44s %10s %10s %6s %8s %10s %8s %8s  %s\n", "resource", "rows read", "spooled",
                "dead", "batches", "delivered", "receipts", "pending", "status");
  out += line;
  int64_t rows_read = 0, rows_delivered = 0, batches = 0, receipts = 0;
  for (const auto& r : resources) {
    rows_read += r.rows_read;
    rows_delivered += r.rows_delivered;
    batches += r.batches_spooled;
    receipts += r.batches_delivered;
    std::string status = r.ok() ? r.status_text()
                                : (!r.read_status.is_ok() ? r.read_status.to_string() : "delivery failed");
    std::snprintf(line, sizeof line, "%-44s %10lld %10lld %6lld %8lld %10lld %8lld %8lld  %s\n",
                  (r.plugin + "/" + r.resource).c_str(), static_cast<long long>(r.rows_read),
                  static_cast<long long>(r.rows_spooled), static_cast<long long>(r.dead_letters),
                  static_cast<long long>(r.batches_spooled), static_cast<long long>(r.rows_delivered),
                  static_cast<long long>(r.batches_delivered), static_cast<long long>(r.batches_pending),
                  status.c_str());
    out += line;
  }
  double rate = elapsed_seconds > 0 ? static_cast<double>(rows_read) / elapsed_seconds : 0;
  std::snprintf(line, sizeof line,
                "total: %zu resources, %lld rows read, %lld rows delivered, %lld batches, %lld receipts, %.2f s "
                "(%.0f rows/s)\n",
                resources.size(), static_cast<long long>(rows_read), static_cast<long long>(rows_delivered),
                static_cast<long long>(batches), static_cast<long long>(receipts), elapsed_seconds, rate);
  out += line;
  for (const auto& e : errors) out += "error: " + e.to_string() + "\n";
  return out;
}

}  // namespace dxhub
