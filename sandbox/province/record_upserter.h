// Writes the current record per (resource, primary key) for one batch at a
// time. A batch's rows are queued, sorted by key (stably, so a key repeated
// within the batch still ends with its last record) and written many per
// INSERT statement: keys arrive in no useful order (resident ids), and
// random B-tree inserts cost several times sorted ones; with one row per
// statement, SQLite's per-statement work costs about as much as the insert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/common/status.h"
#include "sandbox/province/record_codec.h"

namespace dxhub::province {

class RecordUpserter {
 public:
  static constexpr size_t kRowsPerStatement = 128;

  // Prepares the statements against the `records` table of `db`. With
  // `tombstones`, every row written is a tombstone (deleted = 1, data = the
  // tombstone record): it replaces the record, under the same ordering
  // rule, and stays, so that an older upsert arriving later loses to it.
  static Expected<RecordUpserter> prepare(SqliteDb& db, bool tombstones = false);

  // Starts a batch (dropping anything still queued). The views are bound
  // to every row and must stay valid until the last flush() of the batch.
  void begin(std::string_view resource, int64_t epoch, int64_t sequence, std::string_view fingerprint);

  // Queues one record. The key's text is copied; `bytes` must stay valid
  // until flush().
  void add(const PrimaryKeyValue& key, std::string_view bytes);

  // Writes the queued records in key order. Later (epoch, sequence) win, and
  // an equal one too (a batch re-read after the hub's state was restored is
  // the newer read); within a batch, later records win.
  Status flush();

 private:
  struct Pending {
    bool is_integer = false;
    int64_t integer = 0;
    size_t text_offset = 0;  // into key_text_
    size_t text_size = 0;
    std::string_view bytes;
  };

  Status write(SqliteStmt& stmt, size_t first, size_t count);

  SqliteStmt many_rows_;  // kRowsPerStatement rows
  SqliteStmt one_row_;    // for the rest
  std::string_view resource_;
  std::string_view fingerprint_;
  int64_t epoch_ = 0;
  int64_t sequence_ = 0;
  std::vector<Pending> pending_;  // capacity kept from batch to batch
  std::string key_text_;         // text keys of pending_, back to back
};

}  // namespace dxhub::province
