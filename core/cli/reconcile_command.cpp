#include "core/cli/reconcile_command.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "core/common/json_text.h"
#include "core/engine/sync_engine.h"  // kExitDelivery

namespace dxhub {

const char* reconcile_kind_name(ReconcileKind kind) {
  switch (kind) {
    case ReconcileKind::kGap: return "gap";
    case ReconcileKind::kDuplicate: return "duplicate";
    case ReconcileKind::kMismatch: return "mismatch";
    case ReconcileKind::kUnknownAtHub: return "unknown";
    case ReconcileKind::kError: return "error";
  }
  return "?";
}

namespace {

std::string position(int64_t epoch, int64_t sequence) {
  return std::to_string(epoch) + ":" + std::to_string(sequence);
}

// "batch B (sequence E:S)"
std::string batch_name(const std::string& batch_id, int64_t epoch, int64_t sequence) {
  return "batch " + batch_id + " (sequence " + position(epoch, sequence) + ")";
}

bool valid_resource_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// One manifest entry, every field checked: a malformed answer is the
// province's failure, never a finding about the data.
Expected<ManifestBatch> manifest_entry(const nlohmann::json& j) {
  auto fail = [] { return rejected_error("the province's manifest has a malformed batch entry"); };
  if (!j.is_object()) return fail();
  ManifestBatch b;
  auto text = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto integer = [&](const char* key, int64_t& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<int64_t>();
    return true;
  };
  if (!text("batch_id", b.batch_id) || b.batch_id.empty() || !integer("epoch", b.epoch) ||
      !integer("sequence", b.sequence) || !integer("records", b.records) || !integer("deleted", b.deleted) ||
      !text("digest", b.digest)) {
    return fail();
  }
  return b;
}

}  // namespace

Expected<std::vector<ManifestBatch>> fetch_manifest(ProvinceClient& client, const std::string& resource,
                                                    int64_t page_limit) {
  std::vector<ManifestBatch> out;
  std::string after;
  // Each page must move `after` forward: a province repeating a page would loop forever.
  std::pair<int64_t, int64_t> last_after{-1, -1};
  for (;;) {
    std::string path = "/api/v1/resources/" + resource + "/manifest?limit=" + std::to_string(page_limit);
    if (!after.empty()) path += "&after=" + after;
    DXHUB_ASSIGN_OR_RETURN(nlohmann::json data, client.get(path));
    auto batches = data.find("batches");
    auto next = data.find("next_after");
    if (!data.is_object() || batches == data.end() || !batches->is_array() || next == data.end() ||
        !(next->is_null() || next->is_string())) {
      return rejected_error("the province's answer to " + path + " is not a manifest");
    }
    for (const auto& entry : *batches) {
      DXHUB_ASSIGN_OR_RETURN(ManifestBatch b, manifest_entry(entry));
      out.push_back(std::move(b));
    }
    if (next->is_null()) return out;
    after = next->get<std::string>();
    size_t colon = after.find(':');
    std::pair<int64_t, int64_t> now{-1, -1};
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      size_t used_epoch = 0, used_sequence = 0;
      now.first = std::stoll(after.substr(0, colon), &used_epoch);
      now.second = std::stoll(after.substr(colon + 1), &used_sequence);
      if (used_epoch != colon || used_sequence != after.size() - colon - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return rejected_error("the province's manifest names a next page it cannot mean (next_after is not EPOCH:SEQUENCE)");
    }
    if (now <= last_after) return rejected_error("the province's manifest paging does not advance (next_after " + after + ")");
    last_after = now;
  }
}

void compare_resource(const std::string& resource, const ResourceBatches& hub,
                      const std::vector<ManifestBatch>& province, ReconcileReport& report) {
  ReconcileResourceStats stats;
  stats.resource = resource;
  stats.hub_batches = static_cast<int64_t>(hub.acknowledged.size());
  stats.province_batches = static_cast<int64_t>(province.size());
  auto add = [&](ReconcileKind kind, const std::string& batch_id, int64_t epoch, int64_t sequence,
                 std::string message, int exit_code, int64_t& counter) {
    report.findings.push_back({kind, resource, batch_id, epoch, sequence, std::move(message), exit_code});
    ++counter;
  };

  // The province side by batch id (every listing of it) and by (epoch, sequence).
  std::map<std::string, std::vector<const ManifestBatch*>> by_id;
  std::map<std::pair<int64_t, int64_t>, std::vector<const ManifestBatch*>> by_position;
  for (const ManifestBatch& b : province) {
    by_id[b.batch_id].push_back(&b);
    by_position[{b.epoch, b.sequence}].push_back(&b);
  }
  std::set<std::string> ids;
  for (const auto& [id, listings] : by_id) ids.insert(id);

  for (const auto& [id, listings] : by_id) {
    if (listings.size() > 1) {
      const ManifestBatch& first = *listings.front();
      add(ReconcileKind::kDuplicate, id, first.epoch, first.sequence,
          batch_name(id, first.epoch, first.sequence) + ": listed " + std::to_string(listings.size()) +
              " times by the province",
          kExitReconcileDuplicates, stats.duplicates);
    }
  }
  for (const auto& [pos, listings] : by_position) {
    std::set<std::string> distinct;
    for (const ManifestBatch* b : listings) distinct.insert(b->batch_id);
    if (distinct.size() < 2) continue;
    std::string names;
    for (const std::string& id : distinct) names += (names.empty() ? "" : ", ") + id;
    add(ReconcileKind::kDuplicate, "", pos.first, pos.second,
        "sequence " + position(pos.first, pos.second) + ": the province holds " + std::to_string(distinct.size()) +
            " batches under it: " + names,
        kExitReconcileDuplicates, stats.duplicates);
  }

  std::set<std::string> acknowledged_ids;
  for (const AcknowledgedBatch& h : hub.acknowledged) {
    acknowledged_ids.insert(h.batch_id);
    ids.insert(h.batch_id);
    auto it = by_id.find(h.batch_id);
    if (it == by_id.end()) {
      add(ReconcileKind::kGap, h.batch_id, h.epoch, h.sequence,
          batch_name(h.batch_id, h.epoch, h.sequence) + ": acknowledged to the hub (" +
              std::to_string(h.record_count) + " records) but missing from the province's manifest",
          kExitReconcileGaps, stats.gaps);
      continue;
    }
    const ManifestBatch& p = *it->second.front();
    std::vector<std::string> differences;
    if (p.digest != h.digest) differences.push_back("digest hub " + h.digest + ", province " + p.digest);
    if (p.records != h.record_count) {
      differences.push_back("record count hub " + std::to_string(h.record_count) + ", province " +
                            std::to_string(p.records));
    }
    if (p.epoch != h.epoch || p.sequence != h.sequence) {
      differences.push_back("sequence hub " + position(h.epoch, h.sequence) + ", province " +
                            position(p.epoch, p.sequence));
    }
    if (differences.empty()) continue;
    std::string message = batch_name(h.batch_id, h.epoch, h.sequence) + ": ";
    for (size_t i = 0; i < differences.size(); ++i) message += (i ? "; " : "") + differences[i];
    add(ReconcileKind::kMismatch, h.batch_id, h.epoch, h.sequence, std::move(message), kExitReconcileMismatches,
        stats.mismatches);
  }

  std::map<std::string, const UnacknowledgedBatch*> unacknowledged;
  for (const UnacknowledgedBatch& u : hub.unacknowledged) unacknowledged[u.batch_id] = &u;
  for (const auto& [id, listings] : by_id) {
    if (acknowledged_ids.count(id) != 0) continue;
    const ManifestBatch& p = *listings.front();
    std::string why = "not sent by this hub";
    if (auto u = unacknowledged.find(id); u != unacknowledged.end()) {
      why = u->second->quarantined ? "quarantined in the hub's outbox, delivered but not yet acknowledged"
                                   : "in the outbox, delivered but not yet acknowledged";
    }
    add(ReconcileKind::kUnknownAtHub, id, p.epoch, p.sequence,
        batch_name(id, p.epoch, p.sequence) + ": at the province (" + std::to_string(p.records) +
            " records), unknown at the hub: " + why,
        0, stats.unknown_at_hub);
  }
  stats.compared = static_cast<int64_t>(ids.size());
  report.resources.push_back(std::move(stats));
}

Expected<ReconcileReport> run_reconcile(const std::string& state_db, const ProvinceConfig& province,
                                        const ReconcileOptions& options) {
  std::vector<std::string> resources;
  for (const std::string& given : options.resources) {
    // "plugin/resource" as the other commands accept it.
    std::string id = given.substr(given.find('/') == std::string::npos ? 0 : given.find('/') + 1);
    if (!valid_resource_id(id)) return config_error("reconcile: '" + given + "' is not a resource id ([a-z0-9_], 1-64)");
    if (std::find(resources.begin(), resources.end(), id) == resources.end()) resources.push_back(id);
  }
  DXHUB_ASSIGN_OR_RETURN(auto reader, StateReader::open(state_db));
  if (resources.empty() && reader) {
    DXHUB_ASSIGN_OR_RETURN(resources, reader->resources_with_batches());
  }

  ReconcileReport report;
  ProvinceClient client(province);
  for (const std::string& resource : resources) {
    // The hub's side first (see the header): then a batch delivered meanwhile
    // shows as unacknowledged, not as a gap.
    ResourceBatches hub;
    if (reader) {
      DXHUB_ASSIGN_OR_RETURN(hub, reader->batches(resource));
    }
    auto manifest = fetch_manifest(client, resource, options.page_limit);
    if (!manifest) {
      report.findings.push_back({ReconcileKind::kError, resource, "", 0, 0,
                                 "province: " + manifest.status().message(), kExitDelivery});
      ReconcileResourceStats stats;
      stats.resource = resource;
      stats.hub_batches = static_cast<int64_t>(hub.acknowledged.size());
      stats.error = manifest.status().message();
      report.resources.push_back(std::move(stats));
      continue;
    }
    compare_resource(resource, hub, *manifest, report);
  }
  return report;
}

int ReconcileReport::exit_code() const {
  int code = 0;
  for (const ReconcileFinding& f : findings) code = std::max(code, f.exit_code);
  return code;
}

namespace {

struct Totals {
  int64_t compared = 0, gaps = 0, duplicates = 0, mismatches = 0, unknown = 0;
};

Totals totals_of(const std::vector<ReconcileResourceStats>& resources) {
  Totals t;
  for (const auto& r : resources) {
    t.compared += r.compared;
    t.gaps += r.gaps;
    t.duplicates += r.duplicates;
    t.mismatches += r.mismatches;
    t.unknown += r.unknown_at_hub;
  }
  return t;
}

}  // namespace

std::string ReconcileReport::to_text() const {
  std::ostringstream out;
  for (const ReconcileFinding& f : findings) {
    std::string kind = reconcile_kind_name(f.kind);
    kind.resize(std::max<size_t>(kind.size(), 9), ' ');
    out << kind << " " << f.resource << ": " << f.message << "\n";
  }
  Totals t = totals_of(resources);
  out << "reconcile: " << resources.size() << " resources, " << t.compared << " batches compared, " << t.gaps
      << " gaps, " << t.duplicates << " duplicates, " << t.mismatches << " mismatches, " << t.unknown
      << " unknown at the hub; exit " << exit_code() << "\n";
  return out.str();
}

nlohmann::json ReconcileReport::to_json() const {
  nlohmann::json j;
  j["findings"] = nlohmann::json::array();
  for (const ReconcileFinding& f : findings) {
    nlohmann::json finding = {{"kind", reconcile_kind_name(f.kind)}, {"resource", f.resource},
                              {"message", f.message},                {"exit_code", f.exit_code}};
    if (f.kind != ReconcileKind::kError) {
      finding["batch_id"] = f.batch_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.batch_id);
      finding["epoch"] = f.epoch;
      finding["sequence"] = f.sequence;
    }
    j["findings"].push_back(std::move(finding));
  }
  j["resources"] = nlohmann::json::array();
  for (const auto& r : resources) {
    nlohmann::json resource = {{"resource", r.resource},     {"hub_batches", r.hub_batches},
                               {"province_batches", r.province_batches}, {"compared", r.compared},
                               {"gaps", r.gaps},             {"duplicates", r.duplicates},
                               {"mismatches", r.mismatches}, {"unknown_at_hub", r.unknown_at_hub}};
    if (!r.error.empty()) resource["error"] = r.error;
    j["resources"].push_back(std::move(resource));
  }
  Totals t = totals_of(resources);
  j["totals"] = {{"resources", resources.size()}, {"compared", t.compared},     {"gaps", t.gaps},
                 {"duplicates", t.duplicates},    {"mismatches", t.mismatches}, {"unknown_at_hub", t.unknown}};
  j["exit_code"] = exit_code();
  return j;
}

}  // namespace dxhub
