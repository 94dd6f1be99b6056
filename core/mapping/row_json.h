// The inverse of RecordMapper::row_to_json, for replaying dead letters: a
// stored row (a JSON object, column name -> value, in column order) back
// into a RowView. Integers become kInt, other numbers kReal, strings kText
// (blobs were stored as "0x..." hex text and come back as that text), null
// kNull, booleans kInt 0/1, nested values their JSON text.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

class StoredRow {
 public:
  // kData when `row_json` is not a JSON object.
  static Expected<StoredRow> parse(std::string_view row_json);

  StoredRow(StoredRow&&) = default;
  StoredRow& operator=(StoredRow&&) = default;
  StoredRow(const StoredRow&) = delete;
  StoredRow& operator=(const StoredRow&) = delete;

  const std::vector<std::string>& columns() const { return columns_; }
  RowView view() const { return RowView{values_.data(), values_.size()}; }

 private:
  StoredRow() = default;
  std::vector<std::string> columns_;
  std::deque<std::string> text_;  // deque: growing it never moves the strings values_ point into
  std::vector<FieldValue> values_;
};

}  // namespace dxhub
