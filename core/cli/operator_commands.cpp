#include "core/cli/operator_commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "core/avro/codec.h"
#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/common/json_text.h"
#include "core/engine/batch_identity.h"
#include "core/mapping/record_mapper.h"
#include "core/mapping/row_json.h"
#include "core/protocol/signing.h"
#include "core/state/state_lock.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {

StateStoreOptions store_options(const HubConfig& config) {
  StateStoreOptions options;
  options.synchronous_full = config.state_synchronous_full;
  return options;
}

// Read-only commands: no state file yet means nothing to show (and none is created).
Expected<std::optional<StateStore>> open_if_exists(const HubConfig& config) {
  if (!std::filesystem::exists(config.state_db)) return std::optional<StateStore>();
  DXHUB_ASSIGN_OR_RETURN(auto store, StateStore::open(config.state_db, store_options(config)));
  return std::optional<StateStore>(std::move(store));
}

struct LockedStore {
  StateLock lock;
  StateStore store;
};

Expected<LockedStore> open_locked(const HubConfig& config, const std::string& command, const OperatorOptions& o) {
  if (!std::filesystem::exists(config.state_db)) {
    return not_found_error("no state file at " + config.state_db + " (nothing has been synced with this config yet)");
  }
  DXHUB_ASSIGN_OR_RETURN(auto lock, StateLock::acquire(config.state_db, command, o.wait_seconds));
  DXHUB_ASSIGN_OR_RETURN(auto store, StateStore::open(config.state_db, store_options(config)));
  return LockedStore{std::move(lock), std::move(store)};
}

std::string iso(int64_t ms) { return ms > 0 ? iso_time_ms(ms) : "-"; }

nlohmann::json batch_json(const BatchInfo& b) {
  return {{"batch_id", b.batch_id},
          {"resource", b.resource},
          {"sequence", b.sequence},
          {"records", b.record_count},
          {"bytes", b.bytes},
          {"attempts", b.attempts},
          {"refusals", b.refusals},
          {"state", b.quarantined ? "quarantined" : "pending"},
          {"last_error", b.last_error},
          {"reason", b.reason},
          {"created", iso(b.created_at_ms)},
          {"quarantined_at", iso(b.quarantined_at_ms)}};
}

nlohmann::json dead_letter_json(const StoredDeadLetter& d, bool with_row) {
  nlohmann::json j = {{"id", d.id},
                      {"resource", d.resource},
                      {"source_key", d.source_key},
                      {"source_ref", d.source_ref},
                      {"state", d.state},
                      {"state_reason", d.state_reason},
                      {"reason", d.reason},
                      {"created", iso(d.created_at_ms)}};
  if (with_row) {
    auto row = nlohmann::json::parse(d.row_json, nullptr, /*allow_exceptions=*/false);
    j["row"] = row.is_discarded() ? nlohmann::json(d.row_json) : row;
  }
  return j;
}

void print(const nlohmann::json& j) { std::cout << dump_json_safely(j, 2) << "\n"; }

}  // namespace

Status outbox_list(const HubConfig& config, const std::string& resource, const OperatorOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(auto store, open_if_exists(config));
  std::vector<BatchInfo> batches;
  if (store) {
    DXHUB_ASSIGN_OR_RETURN(batches, store->list_batches(resource));
  }
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : batches) out.push_back(batch_json(b));
    print(out);
    return Status::ok();
  }
  if (batches.empty()) {
    std::cout << "outbox: (empty)\n";
    return Status::ok();
  }
  std::printf("%-32s %-28s %8s %8s %10s %8s %-11s  %s\n", "batch", "resource", "sequence", "records", "bytes",
              "attempts", "state", "last error / reason");
  for (const auto& b : batches) {
    std::string detail = b.quarantined ? b.reason : b.last_error;
    std::printf("%-32s %-28s %8lld %8lld %10lld %8d %-11s  %s\n", b.batch_id.c_str(), b.resource.c_str(),
                static_cast<long long>(b.sequence), static_cast<long long>(b.record_count),
                static_cast<long long>(b.bytes), b.attempts, b.quarantined ? "quarantined" : "pending",
                detail.c_str());
  }
  return Status::ok();
}

Status outbox_retry(const HubConfig& config, const std::string& batch_id, const std::string& resource,
                    const OperatorOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(auto locked, open_locked(config, "outbox retry", options));
  DXHUB_ASSIGN_OR_RETURN(auto ids, locked.store.retry_quarantined(batch_id, resource, {"outbox retry", ""}));
  if (options.json) {
    print({{"retried", ids}});
  } else {
    std::cout << ids.size() << " batch(es) back in the outbox (attempts reset); the next `dxhub sync` delivers them\n";
    for (const auto& id : ids) std::cout << "  " << id << "\n";
  }
  return Status::ok();
}

Status outbox_drop(const HubConfig& config, const std::string& batch_id, const std::string& reason,
                   const OperatorOptions& options) {
  if (reason.empty()) return config_error("outbox drop needs --reason TEXT");
  DXHUB_ASSIGN_OR_RETURN(auto locked, open_locked(config, "outbox drop", options));
  DXHUB_ASSIGN_OR_RETURN(auto dropped, locked.store.drop_batch(batch_id, {"outbox drop", reason}));
  if (options.json) {
    print({{"dropped", batch_json(dropped)}, {"reason", reason}});
  } else {
    std::cout << "dropped batch " << dropped.batch_id << " (" << dropped.resource << " sequence " << dropped.sequence
              << ", " << dropped.record_count << " records); reason recorded in run history\n";
  }
  return Status::ok();
}

Status dead_letters_list(const HubConfig& config, const std::string& resource, size_t limit,
                         const OperatorOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(auto store, open_if_exists(config));
  std::vector<StoredDeadLetter> letters;
  if (store) {
    DXHUB_ASSIGN_OR_RETURN(letters, store->dead_letters(resource, limit));
  }
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : letters) out.push_back(dead_letter_json(d, false));
    print(out);
    return Status::ok();
  }
  if (letters.empty()) {
    std::cout << "dead letters: (none)\n";
    return Status::ok();
  }
  for (const auto& d : letters) {
    std::string where = d.source_ref.empty() || d.source_ref == d.source_key ? "" : "  at " + d.source_ref;
    std::string line = "#" + std::to_string(d.id) + "  " + d.resource + "  key " + d.source_key + where + "  " + d.state +
                       (d.state_reason.empty() ? "" : " (" + d.state_reason + ")") + "  " + iso(d.created_at_ms) +
                       "\n    " + d.reason + "\n";
    std::cout << line;
  }
  return Status::ok();
}

Status dead_letters_show(const HubConfig& config, int64_t id, const OperatorOptions&) {
  DXHUB_ASSIGN_OR_RETURN(auto store, open_if_exists(config));
  if (!store) return not_found_error("no dead letter with id " + std::to_string(id) + " (no state file yet)");
  DXHUB_ASSIGN_OR_RETURN(auto letter, store->dead_letter(id));
  print(dead_letter_json(letter, true));
  return Status::ok();
}

Status dead_letters_discard(const HubConfig& config, int64_t id, const std::string& resource,
                            const std::string& reason, const OperatorOptions& options) {
  if (reason.empty()) return config_error("dead-letters discard needs --reason TEXT");
  if (id == 0 && resource.empty()) return config_error("dead-letters discard --all needs -r RESOURCE");
  DXHUB_ASSIGN_OR_RETURN(auto locked, open_locked(config, "dead-letters discard", options));
  DXHUB_ASSIGN_OR_RETURN(auto ids, locked.store.discard_dead_letters(id, resource, {"dead-letters discard", reason}));
  if (options.json) {
    print({{"discarded", ids}, {"reason", reason}});
  } else {
    std::cout << ids.size() << " dead letter(s) discarded (kept, with the reason)\n";
  }
  return Status::ok();
}

namespace {

struct ReplayCounts {
  int64_t replayed = 0;
  int64_t still_failing = 0;
  int64_t batches = 0;
};

// One resource: chunks of sync.batch_rows open dead letters, oldest first,
// each chunk one transaction.
Status replay_resource(const HubConfig& config, const ResourceSpec& spec, StateStore& store,
                       std::vector<StoredDeadLetter> letters, ReplayCounts& counts) {
  DXHUB_ASSIGN_OR_RETURN(auto schema, avro::Schema::from_file(spec.schema_path));
  DXHUB_ASSIGN_OR_RETURN(auto mapper, RecordMapper::load(spec.mapping_path, schema));
  DXHUB_ASSIGN_OR_RETURN(auto codec, avro::parse_codec(config.sync.codec));
  std::reverse(letters.begin(), letters.end());  // listed newest first
  std::vector<std::string> bound_columns;
  bool bound = false;
  const size_t chunk = static_cast<size_t>(config.sync.batch_rows);
  for (size_t start = 0; start < letters.size(); start += chunk) {
    size_t end = std::min(letters.size(), start + chunk);
    avro::OcfWriter writer(schema, codec, config.sync.block_bytes);
    DXHUB_ASSIGN_OR_RETURN(int64_t sequence, store.next_sequence(spec.resource_id));
    DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
    // Identity from what is replayed (the dead letters' ids), like a read
    // batch's from its cursor range: see core/engine/batch_identity.h.
    const std::string replay_from = "replay:" + std::to_string(letters[start].id);
    const std::string replay_to = "replay:" + std::to_string(letters[end - 1].id);
    const auto sync_marker = batch_sync_marker(spec.resource_id, epoch, sequence, replay_from);
    DXHUB_RETURN_IF_ERROR(writer.begin({{"dxhub.resource", spec.resource_id},
                                        {"dxhub.plugin", spec.plugin},
                                        {"dxhub.epoch", std::to_string(epoch)},
                                        {"dxhub.sequence", std::to_string(sequence)},
                                        {"dxhub.replay", "dead-letters"}},
                                       &sync_marker));
    std::string batch_id;
    std::vector<int64_t> replayed;
    std::vector<std::pair<int64_t, std::string>> failing;
    for (size_t i = start; i < end; ++i) {
      const StoredDeadLetter& d = letters[i];
      if (d.row_json.starts_with(std::string("{\"") + kBadInputKey + "\"")) {
        // Raw source input, not a row: only fixing the source and reading it again helps (or discard).
        failing.emplace_back(d.id, d.reason);
        continue;
      }
      auto row = StoredRow::parse(d.row_json);
      if (!row) {
        failing.emplace_back(d.id, row.status().message());
        continue;
      }
      if (!bound || row->columns() != bound_columns) {
        Status binding = mapper.bind(row->columns());
        if (!binding.is_ok()) {  // the stored row lacks a column the mapping now reads
          failing.emplace_back(d.id, binding.message());
          bound = false;
          continue;
        }
        bound_columns = row->columns();
        bound = true;
      }
      Status mapped;
      Status appended = writer.append_with([&](std::string& block) { return mapped = mapper.encode(row->view(), block); });
      if (!mapped.is_ok()) {
        if (mapped.code() != StatusCode::kData) return mapped;
        failing.emplace_back(d.id, mapped.message());
        continue;
      }
      DXHUB_RETURN_IF_ERROR(appended);
      replayed.push_back(d.id);
    }
    std::string body;
    std::optional<NewBatch> batch;
    if (!replayed.empty()) {
      DXHUB_RETURN_IF_ERROR(writer.finish(body));
      std::string digest = protocol::sha256_hex(body);
      batch_id = batch_id_for(spec.resource_id, replay_from, replay_to, digest);
      batch = NewBatch{batch_id, spec.resource_id, sequence, static_cast<int64_t>(replayed.size()),
                       config.sync.codec, schema.fingerprint_hex(), std::move(digest), body};
    }
    nlohmann::json summary = {{"resource", spec.resource_id},
                              {"batch_id", batch ? batch_id : ""},
                              {"sequence", batch ? sequence : 0},
                              {"replayed_ids", replayed},
                              {"still_failing", failing.size()}};
    DXHUB_RETURN_IF_ERROR(
        store.record_replay(batch ? &*batch : nullptr, replayed, failing, {"dead-letters replay", ""}, summary));
    counts.replayed += static_cast<int64_t>(replayed.size());
    counts.still_failing += static_cast<int64_t>(failing.size());
    counts.batches += batch ? 1 : 0;
  }
  return Status::ok();
}

}  // namespace

Status dead_letters_replay(const HubConfig& config, PluginHost& host, const std::string& resource,
                           const OperatorOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(auto locked, open_locked(config, "dead-letters replay", options));
  DXHUB_ASSIGN_OR_RETURN(auto open, locked.store.dead_letters(resource, 0, kDeadLetterOpen));
  std::map<std::string, std::vector<StoredDeadLetter>> by_resource;
  for (auto& d : open) by_resource[d.resource].push_back(std::move(d));
  nlohmann::json out = nlohmann::json::array();
  Status first_error;
  for (auto& [res, letters] : by_resource) {
    const ResourceSpec* spec = nullptr;
    std::vector<ResourceSpec> specs = host.resources();
    for (const auto& s : specs) {
      if (s.resource_id == res) spec = &s;
    }
    ReplayCounts counts;
    Status replayed = spec == nullptr ? config_error("no loaded plugin declares resource '" + res + "'")
                                      : replay_resource(config, *spec, locked.store, std::move(letters), counts);
    if (!replayed.is_ok() && first_error.is_ok()) first_error = replayed.with_context("replay " + res);
    out.push_back({{"resource", res},
                   {"replayed", counts.replayed},
                   {"still_failing", counts.still_failing},
                   {"batches_spooled", counts.batches},
                   {"status", replayed.to_string()}});
  }
  if (options.json) {
    print(out);
  } else {
    if (out.empty()) std::cout << "no open dead letters to replay\n";
    for (const auto& r : out) {
      std::cout << r["resource"].get<std::string>() << ": " << r["replayed"] << " replayed into "
                << r["batches_spooled"] << " new batch(es), " << r["still_failing"] << " still failing ("
                << r["status"].get<std::string>() << ")\n";
    }
    if (!out.empty()) std::cout << "replayed rows are delivered by the next `dxhub sync`\n";
  }
  return first_error;
}

}  // namespace dxhub
