// The file connector's memory of files already read: (name, size, SHA-256)
// of each, with the time it was finished, kept in the connector's cursor so
// that it is persisted atomically with the rows' spool. A file whose
// identity is in the ledger is never read again, even after a restart.
//
// Bounded: at most `max_files` entries (the oldest go first) and none older
// than `max_age_ms` (0 = no age limit). A file identical to one whose entry
// has been dropped is read again: choose the bounds above the longest time
// an agency may drop the same export twice.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "core/common/status.h"

namespace dxhub {

struct FileIdentity {
  std::string name;    // as the source names it (relative path, remote name)
  uint64_t size = 0;
  std::string sha256;  // lowercase hex

  bool operator==(const FileIdentity& other) const = default;
};

class FileLedger {
 public:
  FileLedger(size_t max_files, int64_t max_age_ms) : max_files_(max_files), max_age_ms_(max_age_ms) {}

  bool contains(const FileIdentity& file) const { return keys_.count(key(file)) > 0; }
  // Records a finished file and drops what the bounds no longer allow.
  void add(const FileIdentity& file, int64_t done_ms);
  void prune(int64_t now_ms);
  size_t size() const { return entries_.size(); }

  // [[name, size, sha256, done_ms], ...], oldest first.
  nlohmann::json to_json() const;
  Status load(const nlohmann::json& array);

 private:
  struct Entry {
    FileIdentity file;
    int64_t done_ms;
  };
  static std::string key(const FileIdentity& file);
  void drop_front();

  size_t max_files_;
  int64_t max_age_ms_;
  std::deque<Entry> entries_;
  std::unordered_multiset<std::string> keys_;
};

// Lowercase hex SHA-256 of a local file's bytes (kSource if unreadable).
Expected<std::string> sha256_file(const std::string& path);

}  // namespace dxhub
