#include "core/engine/snapshot_diff.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cstring>

namespace dxhub {

uint64_t snapshot_row_digest(const RowView& row, uint64_t seed) {
  XXH3_state_t state;
  XXH3_64bits_reset_withSeed(&state, seed);
  for (size_t i = 0; i < row.count; ++i) {
    const FieldValue& v = row[i];
    const auto type = static_cast<uint8_t>(v.type);
    XXH3_64bits_update(&state, &type, 1);
    switch (v.type) {
      case FieldValue::Type::kNull: break;
      case FieldValue::Type::kInt: XXH3_64bits_update(&state, &v.i, sizeof v.i); break;
      case FieldValue::Type::kReal: XXH3_64bits_update(&state, &v.d, sizeof v.d); break;
      case FieldValue::Type::kText:
      case FieldValue::Type::kBlob: {
        const uint64_t size = v.s.size();
        XXH3_64bits_update(&state, &size, sizeof size);
        XXH3_64bits_update(&state, v.s.data(), v.s.size());
        break;
      }
    }
  }
  return XXH3_64bits_digest(&state);
}

uint64_t snapshot_seed(std::string_view schema_json, std::string_view mapping_text) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  const uint64_t size = schema_json.size();
  XXH3_64bits_update(&state, &size, sizeof size);
  XXH3_64bits_update(&state, schema_json.data(), schema_json.size());
  XXH3_64bits_update(&state, mapping_text.data(), mapping_text.size());
  return XXH3_64bits_digest(&state);
}

void SnapshotDiff::record(std::string_view key, uint64_t digest, bool remove) {
  auto it = chunk_index_.find(std::string(key));
  if (it != chunk_index_.end()) {
    changes_[it->second].digest = digest;
    changes_[it->second].remove = remove;
    return;
  }
  chunk_index_.emplace(std::string(key), changes_.size());
  changes_.push_back(SnapshotChange{std::string(key), digest, remove});
}

Expected<bool> SnapshotDiff::changed(std::string_view key, const RowView& row) {
  const uint64_t digest = snapshot_row_digest(row, seed_);
  // The chunk's own changes are not in the state yet.
  if (auto it = chunk_index_.find(std::string(key)); it != chunk_index_.end()) {
    SnapshotChange& change = changes_[it->second];
    const bool differs = change.remove || change.digest != digest;
    change.digest = digest;
    change.remove = false;
    if (!differs) ++unchanged_;
    return differs;
  }
  DXHUB_ASSIGN_OR_RETURN(StoredSnapshotRow stored, store_.snapshot_row(resource_, key));
  if (stored.found && stored.digest == digest) {
    ++unchanged_;
    // Already marked in this pass (a re-read after a crash): nothing to write.
    if (stored.seen_pass != pass_) record(key, digest, false);
    return false;
  }
  record(key, digest, false);
  return true;
}

void SnapshotDiff::removed(std::string_view key) { record(key, 0, true); }

SnapshotUpdate SnapshotDiff::update() const {
  SnapshotUpdate u;
  u.pass = pass_;
  u.changes = changes_;
  u.bad_inputs = bad_inputs_;
  return u;
}

void SnapshotDiff::clear_chunk() {
  changes_.clear();
  chunk_index_.clear();
  bad_inputs_ = 0;
}

}  // namespace dxhub
