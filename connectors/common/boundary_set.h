// Rows a table connector (sqlite_table, odbc_table) already sent at its
// cursor boundary (and at NULL cursors), as (key, XXH3 row digest), so
// that a re-read of the boundary value sends only what is new or changed.
// Append-only while reading; the set loaded from the cursor gets a hash
// index for lookups. Key bytes live in one arena so that appending a row
// does not allocate once warmed up. Stored in cursors as an array of
// [typed key (typed_cursor_value.h), 16 hex digits].
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

class BoundarySet {
 public:
  void clear();
  void reserve(size_t entries, size_t key_bytes);
  void append(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t key_hash,
              uint64_t digest);
  void build_index();
  // Index of the first entry with this key, or -1.
  int64_t find(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t key_hash) const;
  // Index of an entry with this key -- the unconsumed one with this
  // digest if there is one (a key may repeat when trusted) -- or -1.
  int64_t find(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t key_hash,
               uint64_t digest) const;
  uint64_t digest(size_t index) const { return entries_[index].digest; }
  void consume(size_t index) { entries_[index].consumed = true; }
  bool consumed(size_t index) const { return entries_[index].consumed; }
  size_t size() const { return entries_.size(); }
  // Appends [typed key, hex digest] for entries (only unconsumed ones if asked).
  void to_json(nlohmann::json& array, bool only_unconsumed) const;
  // Replaces the set by the cursor's array; kConfig errors start with `what`.
  Status load(const nlohmann::json& array, const std::string& what);

 private:
  struct Entry {
    uint64_t key_hash;
    uint64_t digest;
    int64_t i;
    double d;
    uint32_t offset;
    uint32_t length;
    FieldValue::Type type;
    bool consumed;
  };
  std::vector<Entry> entries_;
  std::string key_bytes_;
  std::vector<uint32_t> slots_;  // open addressing: entry index + 1, 0 = empty
};

// A table connector's cursor, {"v":2, "value": typed boundary value or
// null, "boundary": [...], "nulls": [...]}: each list holds this run's
// entries, then the loaded ones not consumed (old sets passed while their
// pass is not done; nullptr otherwise).
nlohmann::json boundary_cursor_json(nlohmann::json value, const BoundarySet& boundary_new,
                                    const BoundarySet* boundary_old, const BoundarySet& nulls_new,
                                    const BoundarySet* nulls_old);

}  // namespace dxhub
