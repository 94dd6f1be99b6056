// Trigger-based change capture (mode "triggers"), for a table without a
// usable cursor whose agency lets the hub install triggers on it.
//
// What is installed (once, IF NOT EXISTS, in one write transaction):
//   dxhub_changes_<table>("change_id" INTEGER PRIMARY KEY AUTOINCREMENT,
//     "op" 'I'|'U'|'D', "row_key", "changed_at" UTC text with milliseconds)
//   and an index on ("row_key", "change_id");
//   dxhub_<table>_insert / _update / _delete: AFTER triggers appending one
//   change per row (an update that changes the key appends a 'D' for the old
//   key and a 'U' for the new one).
// AUTOINCREMENT: ids only grow, even after acknowledged changes are deleted,
// so "the last change id handed out" is a position that never comes back.
//
// The rules:
//  * Initial load. With no cursor, the install transaction also records the
//    highest change id S. The snapshot (every row, in key order, chunk by
//    chunk) comes first, then every change after S. A change committed
//    during the snapshot is in the change table (id > S) whether or not the
//    snapshot saw it, so nothing falls between the two; a change the
//    snapshot saw already is sent again, as the current row (harmless:
//    the province upserts by key).
//  * Draining. Changes are read in change-id order. Where a later change of
//    the same key is in the table, the earlier one is skipped (the later one
//    decides). An insert or update sends the row as it is now (joined by
//    key); if the row is gone, it is skipped (a delete follows). A delete
//    sends RowOp::kDelete with the key column filled and every other column
//    NULL. One read() hands out one operation: it stops where it changes.
//    Deletes and several updates within one second are captured exactly:
//    every write fires its trigger; no time comparison is involved.
//  * Acknowledging. The cursor is the last change id handed out. Changes up
//    to the cursor of the previous read() are deleted at the start of the
//    next read() -- by the contract they are durable by then -- never in a
//    dry run. Deletes from a REPLACE conflict fire delete triggers only with
//    recursive_triggers on; the agency should not rely on REPLACE to delete
//    rows with other keys.
//  * Dry run (check, discover): nothing installed, nothing acknowledged: the
//    snapshot is read and, if a change table exists, its changes.
//  * Triggers found missing at an open with a cursor (dropped by someone):
//    they are installed again and a full snapshot is read again; deletes in
//    the gap are lost to this mode (advisory).
//  * The database is opened read-write in this mode only. The agency's own
//    writers then also write the change table (one row per changed row).
//
// Cursor: {"v": 2, "mode": "triggers", "change_id": N, "snapshot": bool,
//          "snapshot_key": <typed key or null>}
#include <cstring>
#include <utility>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "connectors/sqlite_table/sqlite_table_values.h"

namespace dxhub {

using namespace sqlite_table_internal;

std::string SqliteTableConnector::change_table_name(const std::string& table) { return "dxhub_changes_" + table; }

std::string SqliteTableConnector::trigger_name(const std::string& table, const char* op) {
  return "dxhub_" + table + "_" + op;
}

Status SqliteTableConnector::open_change_capture(const nlohmann::json& cursor) {
  change_table_ = change_table_name(config_.table);
  snapshot_active_ = true;
  if (!cursor.is_null()) {
    const std::string what = "invalid cursor for table " + config_.table + " (mode triggers): ";
    auto id = cursor.find("change_id");
    auto snap = cursor.find("snapshot");
    auto key = cursor.find("snapshot_key");
    if (!cursor.is_object() || cursor.value("mode", "") != "triggers" || id == cursor.end() ||
        !id->is_number_integer() || id->get<int64_t>() < 0 || snap == cursor.end() || !snap->is_boolean() ||
        key == cursor.end()) {
      return config_error(what + "expected {\"v\":2, \"mode\":\"triggers\", \"change_id\", \"snapshot\", "
                          "\"snapshot_key\"}, got " + dump_safe(cursor));
    }
    TypedValue k;
    if (!parse_typed(*key, k)) return config_error(what + "unsupported snapshot_key " + dump_safe(*key));
    opened_with_cursor_ = true;
    change_id_ = id->get<int64_t>();
    durable_change_id_ = change_id_;  // passed back to open: durable
    snapshot_active_ = snap->get<bool>();
    if (k.type != FieldValue::Type::kNull) {
      full_has_pos_ = true;
      full_pos_key_.type = k.type;
      full_pos_key_.i = k.i;
      full_pos_key_.d = k.d;
      full_pos_key_.s = k.s;
    }
  }
  delete_values_.assign(columns_.size(), FieldValue::null());
  if (options_.dry_run) {
    DXHUB_ASSIGN_OR_RETURN(bool exists, db_.table_exists(change_table_));
    if (!exists) {
      advisories_.push_back("table " + config_.table +
                            ": change capture is not installed yet (dry run: the first run installs its triggers)");
      return Status::ok();
    }
    return prepare_change_queries();
  }
  DXHUB_RETURN_IF_ERROR(install_change_capture());
  return prepare_change_queries();
}

Status SqliteTableConnector::install_change_capture() {
  const std::string t = sqlite_quote_identifier(config_.table);
  const std::string ch = sqlite_quote_identifier(change_table_);
  const std::string k = sqlite_quote_identifier(config_.key_column);
  auto fail = [&](const Status& s) { return source_failure(s); };
  auto tx = SqliteTransaction::begin(db_);
  if (!tx) return fail(tx.status());
  // How many of our triggers exist before: all three, or we start over.
  auto count = db_.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?1, ?2, ?3)");
  if (!count) return fail(count.status());
  DXHUB_RETURN_IF_ERROR(count->bind_text(1, trigger_name(config_.table, "insert")));
  DXHUB_RETURN_IF_ERROR(count->bind_text(2, trigger_name(config_.table, "update")));
  DXHUB_RETURN_IF_ERROR(count->bind_text(3, trigger_name(config_.table, "delete")));
  auto counted = count->step();
  if (!counted) return fail(counted.status());
  const int64_t present = count->column_int64(0);
  DXHUB_RETURN_IF_ERROR(count->reset());
  const std::string insert_change = "INSERT INTO " + ch + "(\"op\", \"row_key\") ";
  const std::string sql =
      "CREATE TABLE IF NOT EXISTS " + ch +
      "(\"change_id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"op\" TEXT NOT NULL, \"row_key\" NOT NULL, "
      "\"changed_at\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')));"
      "CREATE INDEX IF NOT EXISTS " + sqlite_quote_identifier(change_table_ + "_key") + " ON " + ch +
      "(\"row_key\", \"change_id\");"
      "CREATE TRIGGER IF NOT EXISTS " + sqlite_quote_identifier(trigger_name(config_.table, "insert")) +
      " AFTER INSERT ON " + t + " BEGIN " + insert_change + "VALUES ('I', NEW." + k + "); END;"
      "CREATE TRIGGER IF NOT EXISTS " + sqlite_quote_identifier(trigger_name(config_.table, "update")) +
      " AFTER UPDATE ON " + t + " BEGIN " + insert_change + "SELECT 'D', OLD." + k + " WHERE OLD." + k +
      " IS NOT NEW." + k + "; " + insert_change + "VALUES ('U', NEW." + k + "); END;"
      "CREATE TRIGGER IF NOT EXISTS " + sqlite_quote_identifier(trigger_name(config_.table, "delete")) +
      " AFTER DELETE ON " + t + " BEGIN " + insert_change + "VALUES ('D', OLD." + k + "); END;";
  if (Status s = db_.exec(sql); !s.is_ok()) return fail(s);
  if (!opened_with_cursor_ || present != 3) {
    if (opened_with_cursor_) {
      advisories_.push_back("table " + config_.table +
                            ": change-capture triggers were missing and were installed again; a full snapshot is "
                            "read again (deletes made meanwhile are not seen)");
    }
    // Everything up to here is covered by the snapshot that follows.
    auto seq = db_.prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0)");
    if (!seq) return fail(seq.status());
    DXHUB_RETURN_IF_ERROR(seq->bind_text(1, change_table_));
    auto got = seq->step();
    if (!got) return fail(got.status());
    change_id_ = seq->column_int64(0);
    DXHUB_RETURN_IF_ERROR(seq->reset());
    snapshot_active_ = true;
    full_has_pos_ = false;
  }
  if (Status s = tx->commit(); !s.is_ok()) return fail(s);
  return Status::ok();
}

Status SqliteTableConnector::prepare_change_queries() {
  const std::string ch = sqlite_quote_identifier(change_table_);
  const std::string k = sqlite_quote_identifier(config_.key_column);
  std::string sql = "SELECT c.\"change_id\", c.\"op\", c.\"row_key\"";
  for (const auto& col : columns_) sql += ", r." + sqlite_quote_identifier(col);
  sql += ", r." + k + " FROM " + ch + " AS c LEFT JOIN " + sqlite_quote_identifier(config_.table) + " AS r ON r." + k +
         " = c.\"row_key\" WHERE c.\"change_id\" > ?1 AND NOT EXISTS (SELECT 1 FROM " + ch +
         " AS l WHERE l.\"row_key\" = c.\"row_key\" AND l.\"change_id\" > c.\"change_id\") "
         "ORDER BY c.\"change_id\" LIMIT ?2";
  DXHUB_ASSIGN_OR_RETURN(changes_, db_.prepare(sql));
  if (!options_.dry_run) {
    DXHUB_ASSIGN_OR_RETURN(acknowledge_, db_.prepare("DELETE FROM " + ch + " WHERE \"change_id\" <= ?1"));
  }
  return Status::ok();
}

Status SqliteTableConnector::acknowledge_changes() {
  if (options_.dry_run || !acknowledge_ || durable_change_id_ <= acknowledged_id_) return Status::ok();
  Status s = acknowledge_.bind_int64(1, durable_change_id_);
  if (s.is_ok()) s = acknowledge_.run();
  Status reset = acknowledge_.reset();
  if (!s.is_ok()) return source_failure(s);
  if (!reset.is_ok()) return source_failure(reset);
  acknowledged_id_ = durable_change_id_;
  return Status::ok();
}

Expected<size_t> SqliteTableConnector::read_changes(size_t limit, RowSink& sink, bool& exhausted) {
  exhausted = false;
  const size_t ncols = columns_.size();
  size_t delivered = 0;
  // Snapshot rows already handed out in this read() are upserts.
  bool op_fixed = touched_in_read_;
  RowOp op = RowOp::kUpsert;
  while (delivered < limit) {
    const size_t want = chunk_limit(limit - delivered);
    DXHUB_RETURN_IF_ERROR(changes_.bind_int64(1, change_id_));
    DXHUB_RETURN_IF_ERROR(changes_.bind_int64(2, static_cast<int64_t>(want)));
    pace(want);
    bool chunk_exhausted = false;
    DXHUB_RETURN_IF_ERROR(fill_chunk(changes_, want, chunk_exhausted));
    for (size_t r = 0; r < chunk_.rows(); ++r) {
      const FieldValue* row = chunk_.row(r);
      const int64_t id = row[0].i;
      const RowOp row_op = row[1].s == "D" ? RowOp::kDelete : RowOp::kUpsert;
      const bool present = !row[3 + ncols].is_null();
      if (row_op == RowOp::kUpsert && !present) {
        change_id_ = id;  // the row is gone: its delete follows
        continue;
      }
      if (op_fixed && row_op != op) return delivered;  // one operation per read()
      op_fixed = true;
      op = row_op;
      if (row_op == RowOp::kDelete) {
        delete_values_[key_index_] = row[2];
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{delete_values_.data(), ncols, {}, RowOp::kDelete}));
      } else {
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView{row + 3, ncols}));
      }
      change_id_ = id;
      touched_ = true;
      touched_in_read_ = true;
      ++delivered;
    }
    if (chunk_exhausted) {
      exhausted = true;
      break;
    }
  }
  return delivered;
}

Expected<size_t> SqliteTableConnector::read_triggers(size_t limit, RowSink& sink) {
  DXHUB_RETURN_IF_ERROR(acknowledge_changes());
  touched_in_read_ = false;
  size_t n = 0;
  bool exhausted = false;
  if (snapshot_active_) {
    DXHUB_ASSIGN_OR_RETURN(n, read_pass(Pass::kFull, limit, sink, exhausted));
    touched_in_read_ = n > 0;
    if (exhausted) {
      snapshot_active_ = false;
      full_has_pos_ = false;
    }
  }
  if (!snapshot_active_ && n < limit && changes_) {
    DXHUB_ASSIGN_OR_RETURN(size_t m, read_changes(limit - n, sink, exhausted));
    n += m;
  }
  // By the contract, this read's rows and cursor are durable when read() is
  // called next: its changes may be acknowledged then.
  durable_change_id_ = change_id_;
  return n;
}

nlohmann::json SqliteTableConnector::trigger_cursor() const {
  if (options_.dry_run && !opened_with_cursor_ && !touched_) return nullptr;
  nlohmann::json key = full_has_pos_ && snapshot_active_
                           ? typed_json(full_pos_key_.type, full_pos_key_.i, full_pos_key_.d, full_pos_key_.s)
                           : nlohmann::json(nullptr);
  return nlohmann::json{{"v", 2}, {"mode", "triggers"}, {"change_id", change_id_}, {"snapshot", snapshot_active_},
                        {"snapshot_key", std::move(key)}};
}

}  // namespace dxhub
