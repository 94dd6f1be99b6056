#include "core/engine/sync_engine.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "core/avro/codec.h"
#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/engine/batch_identity.h"
#include "core/engine/delivery_worker.h"
#include "core/mapping/record_mapper.h"
#include "core/protocol/signing.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {

using Clock = std::chrono::steady_clock;

// Receives rows from the connector and appends each as a record to the open
// container file: encoded straight into the writer's block (compiled
// encoder), or mapped into the reused Avro value for avro-c to serialise. A
// row that does not map goes to the dead-letter store with its reason and
// the run goes on.
class BatchSink final : public RowSink {
 public:
  BatchSink(const RecordMapper& mapper, RecordEncoder encoder, avro::Value& value, avro::OcfWriter& writer,
            ResourceResult& result)
      : mapper_(mapper), encoder_(encoder), value_(value), writer_(writer), result_(result) {}

  std::vector<DeadLetter> dead_letters;  // of the current chunk

  Status on_row(const RowView& row) override {
    ++result_.rows_read;
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
  static constexpr int64_t kLoggedDeadLetters = 20;

  Status dead_letter(const RowView& row, Status mapped) {
    if (mapped.code() != StatusCode::kData) return mapped;
    if (++result_.dead_letters <= kLoggedDeadLetters) {
      spdlog::warn("resource {}: row dead-lettered: {}", result_.resource, mapped.message());
    }
    // Kept with the chunk: stored in the same transaction as its cursor advance.
    dead_letters.push_back(
        DeadLetter{result_.resource, mapper_.source_key(row), mapped.message(), mapper_.row_to_json(row)});
    return Status::ok();
  }

  const RecordMapper& mapper_;
  RecordEncoder encoder_;
  avro::Value& value_;
  avro::OcfWriter& writer_;
  ResourceResult& result_;
};

bool selected(const ResourceSpec& spec, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const auto& name : only) {
    if (name == spec.resource_id || name == spec.plugin + "/" + spec.resource_id) return true;
  }
  return false;
}

}  // namespace

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
  DeliveryWorker delivery(config_.province,
                          DeliveryTarget{resource, spec.name_zh, schema->json(), mapper->primary_key(), config_.state_db});
  delivery.start();

  result.read_status = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(nlohmann::json cursor, store.load_cursor(resource));
    DXHUB_ASSIGN_OR_RETURN(auto connector, host_.open_reader(spec, mapper->source_columns(), cursor));
    DXHUB_RETURN_IF_ERROR(mapper->bind(connector->columns()));
    DXHUB_ASSIGN_OR_RETURN(avro::Value value, schema->new_value());
    avro::OcfWriter writer(*schema, *codec, config_.sync.block_bytes);
    BatchSink sink(*mapper, config_.sync.encoder, value, writer, result);
    std::string body;
    DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
    const std::string epoch_text = std::to_string(epoch);
    auto cursor_text = [](const nlohmann::json& position) {
      return position.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(int64_t sequence, store.next_sequence(resource));
      const std::string cursor_from = cursor_text(connector->cursor());
      const auto sync_marker = batch_sync_marker(resource, epoch, sequence, cursor_from);
      DXHUB_RETURN_IF_ERROR(writer.begin({{"dxhub.resource", resource},
                                          {"dxhub.plugin", spec.plugin},
                                          {"dxhub.epoch", epoch_text},
                                          {"dxhub.sequence", std::to_string(sequence)}},
                                         &sync_marker));
      sink.dead_letters.clear();
      DXHUB_ASSIGN_OR_RETURN(size_t rows, connector->read(static_cast<size_t>(config_.sync.batch_rows), sink));
      if (rows == 0) return Status::ok();
      int64_t records = static_cast<int64_t>(writer.record_count());
      nlohmann::json cursor_to = connector->cursor();
      if (records == 0) {  // every row of the chunk was dead-lettered: still move past them
        DXHUB_RETURN_IF_ERROR(store.advance_cursor(resource, cursor_to, sink.dead_letters));
        continue;
      }
      DXHUB_RETURN_IF_ERROR(writer.finish(body));
      std::string digest = protocol::sha256_hex(body);
      std::string batch_id = batch_id_for(resource, cursor_from, cursor_text(cursor_to), digest);
      NewBatch batch{batch_id, resource, sequence, records, config_.sync.codec, schema->fingerprint_hex(),
                     std::move(digest), body};
      DXHUB_RETURN_IF_ERROR(store.spool_batch(batch, cursor_to, sink.dead_letters));
      result.rows_spooled += records;
      ++result.batches_spooled;
      delivery.notify();
      spdlog::debug("resource {}: spooled batch {} sequence {} ({} records, {} bytes)", resource, batch_id, sequence,
                    records, body.size());
    }
    return Status::ok();
  }();
  delivery.finish();

  result.delivery_status = delivery.status();
  result.batches_delivered = delivery.batches_delivered();
  result.rows_delivered = delivery.rows_delivered();
  if (auto outbox = store.outbox_summary(); outbox) {
    for (const auto& o : *outbox) {
      if (o.resource == resource) result.batches_pending = o.batches;
    }
  }
  return result;
}

RunSummary SyncEngine::run(const std::vector<std::string>& only, std::vector<Status> load_errors) {
  auto started = Clock::now();
  RunSummary summary;
  summary.errors = std::move(load_errors);

  auto store = StateStore::open(config_.state_db);
  if (!store) {
    summary.errors.push_back(store.status());
    return summary;
  }
  if (auto run_id = store->begin_run("sync"); run_id) summary.run_id = *run_id;

  std::vector<ResourceSpec> specs = host_.resources();
  for (const auto& name : only) {
    bool known = false;
    for (const auto& spec : specs) known = known || selected(spec, {name});
    if (!known) summary.errors.push_back(config_error("no loaded plugin declares resource '" + name + "'"));
  }
  for (const auto& spec : specs) {
    if (!selected(spec, only)) continue;
    spdlog::info("resource {}/{}: sync started", spec.plugin, spec.resource_id);
    ResourceResult r = sync_resource(spec, *store);
    if (!r.read_status.is_ok()) {
      spdlog::error("resource {}/{}: {}", spec.plugin, spec.resource_id, r.read_status.to_string());
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
                                         r.ok() ? "ok" : "failed",
                                         !r.read_status.is_ok() ? r.read_status.to_string()
                                                                : r.delivery_status.is_ok() ? ""
                                                                : r.delivery_status.to_string()});
    summary.resources.push_back(std::move(r));
  }
  summary.elapsed_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  (void)store->finish_run(summary.run_id, summary.exit_code() == kExitOk ? "ok" : "failed", summary.to_json());
  return summary;
}

namespace {
int exit_code_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kConfig: return kExitConfig;
    case StatusCode::kSource: return kExitSource;
    case StatusCode::kUnavailable:
    case StatusCode::kRejected: return kExitDelivery;
    default: return kExitInternal;
  }
}
}  // namespace

int RunSummary::exit_code() const {
  // Several failures: the one an operator must fix first wins.
  int worst = kExitOk;
  auto rank = [](int code) {
    switch (code) {
      case kExitConfig: return 4;
      case kExitSource: return 3;
      case kExitDelivery: return 2;
      case kExitInternal: return 1;
      default: return 0;
    }
  };
  auto consider = [&](const Status& s) {
    int code = exit_code_for(s);
    if (rank(code) > rank(worst)) worst = code;
  };
  for (const auto& e : errors) consider(e);
  for (const auto& r : resources) {
    consider(r.read_status);
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
    std::string status = r.ok() ? "ok" : (!r.read_status.is_ok() ? r.read_status.to_string() : "delivery failed");
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
