// Change detection without a cursor ("change_detection": "snapshot" in a
// resource's connector config): every run reads the source in full (a
// pass), and only the rows that differ from the last pass are sent. The
// state keeps, per key, an XXH3-64 digest of the row's source values and
// the last pass that read it (snapshot_rows); see StateStore.
//
//   new key              -> upsert, recorded
//   digest changed       -> upsert, recorded
//   digest equal         -> nothing sent; the key is marked seen in this pass
//   not seen in the pass -> after the pass: a tombstone (delete), forgotten
//
// Crash rule (pass id + last-seen pass): a pass is finished only in the
// transaction that spools its last tombstone batch (or, with none, that
// resets the cursor). A run that dies mid-pass leaves the pass open; the
// next run continues THE SAME pass (same id; the connector resumes from its
// cursor or reads from the start), so keys read before the crash keep
// seen_pass = this pass and are not taken for deleted, and rows already
// sent are equal to their digest and are not sent again. Deletes are
// computed only once the connector reports the end of the source. Every
// chunk's snapshot changes commit in the spool transaction of its batch.
//
// A pass with bad input (input the connector could not make a row of: its
// key is unknown) withholds its deletes: a key it could not read is not
// proof of a delete. Its unseen keys are deleted by the next clean pass.
//
// The digest's seed covers the schema and the mapping file: a new mapping
// changes every digest, so the next pass sends every row again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"
#include "core/state/state_store.h"

namespace dxhub {

// XXH3-64 over the row's values: per value its type tag, then the integer,
// the real's bits or the text/blob length and bytes.
uint64_t snapshot_row_digest(const RowView& row, uint64_t seed);
// Seed from what shapes the records: schema text and mapping file text.
uint64_t snapshot_seed(std::string_view schema_json, std::string_view mapping_text);

class SnapshotDiff {
 public:
  SnapshotDiff(StateStore& store, std::string resource, int64_t pass, uint64_t seed)
      : store_(store), resource_(std::move(resource)), pass_(pass), seed_(seed) {}

  // For one upsert row with its encoded key: true when it must be sent
  // (new or changed). Either way the key is recorded as seen in this pass
  // (for the chunk's update). A key repeated within the pass is compared to
  // its last value in the pass.
  Expected<bool> changed(std::string_view key, const RowView& row);
  // A delete delivered by the connector itself: the key is forgotten.
  void removed(std::string_view key);
  void bad_input() { ++bad_inputs_; }

  // The chunk's changes, for spool_batch / advance_cursor.
  SnapshotUpdate update() const;
  void clear_chunk();
  int64_t pass() const { return pass_; }
  int64_t unchanged_rows() const { return unchanged_; }

 private:
  void record(std::string_view key, uint64_t digest, bool remove);

  StateStore& store_;
  std::string resource_;
  int64_t pass_;
  uint64_t seed_;
  std::vector<SnapshotChange> changes_;
  std::unordered_map<std::string, size_t> chunk_index_;  // key -> changes_ index
  int64_t bad_inputs_ = 0;
  int64_t unchanged_ = 0;
};

}  // namespace dxhub
