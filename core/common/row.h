// One source row as the connectors hand it to the mapping: a borrowed array
// of typed values, valid only during the callback that receives it. No heap
// allocation per row: connectors reuse the array and point into their own
// buffers (e.g. SQLite's column memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub {

struct FieldValue {
  enum class Type : uint8_t { kNull, kInt, kReal, kText, kBlob };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  // kText (UTF-8) and kBlob. Connectors guarantee s.data()[s.size()] == '\0'
  // (SQLite does), so consumers can hand text to C APIs without copying.
  std::string_view s;

  bool is_null() const { return type == Type::kNull; }
  static FieldValue null() { return {}; }
  static FieldValue integer(int64_t v) { return {Type::kInt, v, 0, {}}; }
  static FieldValue real(double v) { return {Type::kReal, 0, v, {}}; }
  static FieldValue text(std::string_view v) { return {Type::kText, 0, 0, v}; }
  static FieldValue blob(std::string_view v) { return {Type::kBlob, 0, 0, v}; }
};

// What a row asks of the province: the row as it now is (insert or update),
// or the removal of the row with this key (a delete seen by change
// detection or change capture; only the key columns are meaningful).
enum class RowOp : uint8_t { kUpsert, kDelete };

struct RowView {
  RowView() = default;
  RowView(const FieldValue* row_values, size_t row_count, std::string_view ref = {}, RowOp row_op = RowOp::kUpsert)
      : values(row_values), count(row_count), source_ref(ref), op(row_op) {}

  const FieldValue* values = nullptr;
  size_t count = 0;
  // Where the row came from, for dead letters and messages: "orders.csv line
  // 17", "page 3 record 5". Empty when the key says enough (tables).
  // Borrowed like the values. Never a value of the row.
  std::string_view source_ref;
  RowOp op = RowOp::kUpsert;
  const FieldValue& operator[](size_t i) const { return values[i]; }
};

// Input a connector could not turn into a row (a broken CSV record, a page
// of HTML where JSON was expected, bytes invalid for the declared encoding).
// `reason` names the problem and never quotes the input (it is logged);
// `raw` is the offending input, kept in the dead-letter store only (it may
// be personal data), truncated by the receiver if large.
struct BadInput {
  std::string_view source_ref;  // "orders.csv line 17", "page 3"
  std::string_view reason;      // "unterminated quoted field"
  std::string_view raw;
};

// Receives rows from a connector. Return a non-ok Status to stop reading;
// a bad row is the receiver's business (dead-letter it and return ok).
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual Status on_row(const RowView& row) = 0;
  // A connector reports bad input here and reads on. The default stops the
  // read, so that a receiver that keeps no dead letters loses nothing silently.
  virtual Status on_bad_input(const BadInput& bad) {
    return data_error(std::string(bad.source_ref) + ": " + std::string(bad.reason));
  }
};

}  // namespace dxhub
