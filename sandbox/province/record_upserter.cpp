#include "sandbox/province/record_upserter.h"

#include <algorithm>

namespace dxhub::province {

namespace {

// Row j binds its key to ?(5+2j) and its bytes to ?(6+2j); resource,
// sequence, fingerprint and epoch are ?1..?4, shared by every row.
std::string upsert_sql(size_t rows, bool tombstones) {
  const char* deleted = tombstones ? "1" : "0";
  std::string sql = "INSERT INTO records (resource, pk, sequence, fingerprint, data, epoch, deleted) VALUES ";
  for (size_t j = 0; j < rows; ++j) {
    if (j > 0) sql += ", ";
    sql += "(?1, ?" + std::to_string(5 + 2 * j) + ", ?2, ?3, ?" + std::to_string(6 + 2 * j) + ", ?4, " + deleted + ")";
  }
  // Rows of one statement are inserted in order, so a key repeated within
  // a batch (kept in order by the stable sort) ends with its last record.
  sql += R"sql(
ON CONFLICT (resource, pk) DO UPDATE
  SET sequence = excluded.sequence, fingerprint = excluded.fingerprint, data = excluded.data, epoch = excluded.epoch,
      deleted = excluded.deleted
  WHERE (excluded.epoch, excluded.sequence) >= (records.epoch, records.sequence))sql";
  return sql;
}

}  // namespace

Expected<RecordUpserter> RecordUpserter::prepare(SqliteDb& db, bool tombstones) {
  RecordUpserter upserter;
  DXHUB_ASSIGN_OR_RETURN(upserter.many_rows_, db.prepare(upsert_sql(kRowsPerStatement, tombstones)));
  DXHUB_ASSIGN_OR_RETURN(upserter.one_row_, db.prepare(upsert_sql(1, tombstones)));
  return upserter;
}

void RecordUpserter::begin(std::string_view resource, int64_t epoch, int64_t sequence,
                           std::string_view fingerprint) {
  resource_ = resource;
  epoch_ = epoch;
  sequence_ = sequence;
  fingerprint_ = fingerprint;
  pending_.clear();
  key_text_.clear();
}

void RecordUpserter::add(const PrimaryKeyValue& key, std::string_view bytes) {
  Pending row;
  row.is_integer = key.is_integer;
  row.integer = key.integer;
  if (!key.is_integer) {
    row.text_offset = key_text_.size();
    row.text_size = key.text.size();
    key_text_.append(key.text);
  }
  row.bytes = bytes;
  pending_.push_back(row);
}

Status RecordUpserter::flush() {
  // SQLite's order: integers before text, text by bytes (BINARY collation).
  const std::string_view texts(key_text_);
  std::stable_sort(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
    if (a.is_integer != b.is_integer) return a.is_integer;
    if (a.is_integer) return a.integer < b.integer;
    return texts.substr(a.text_offset, a.text_size) < texts.substr(b.text_offset, b.text_size);
  });
  Status s = Status::ok();
  size_t first = 0;
  for (; first + kRowsPerStatement <= pending_.size() && s.is_ok(); first += kRowsPerStatement)
    s = write(many_rows_, first, kRowsPerStatement);
  for (; first < pending_.size() && s.is_ok(); ++first) s = write(one_row_, first, 1);
  pending_.clear();
  key_text_.clear();
  return s;
}

Status RecordUpserter::write(SqliteStmt& stmt, size_t first, size_t count) {
  Status s = [&]() -> Status {
    DXHUB_RETURN_IF_ERROR(stmt.bind_text_static(1, resource_));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(2, sequence_));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text_static(3, fingerprint_));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(4, epoch_));
    for (size_t j = 0; j < count; ++j) {
      const Pending& row = pending_[first + j];
      const int key_index = static_cast<int>(5 + 2 * j);
      if (row.is_integer) {
        DXHUB_RETURN_IF_ERROR(stmt.bind_int64(key_index, row.integer));
      } else {
        DXHUB_RETURN_IF_ERROR(
            stmt.bind_text_static(key_index, std::string_view(key_text_).substr(row.text_offset, row.text_size)));
      }
      DXHUB_RETURN_IF_ERROR(stmt.bind_blob_static(key_index + 1, row.bytes));
    }
    return stmt.run();
  }();
  Status reset = stmt.reset();  // also after a failure: the statement is reused
  return s.is_ok() ? reset : s;
}

}  // namespace dxhub::province
