// One source row as the connectors hand it to the mapping: a borrowed array
// of typed values, valid only during the callback that receives it. No heap
// allocation per row: connectors reuse the array and point into their own
// buffers (e.g. SQLite's column memory).
#pragma once

#include <cstddef>
#include <cstdint>
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

struct RowView {
  const FieldValue* values = nullptr;
  size_t count = 0;
  const FieldValue& operator[](size_t i) const { return values[i]; }
};

// Receives rows from a connector. Return a non-ok Status to stop reading;
// a bad row is the receiver's business (dead-letter it and return ok).
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual Status on_row(const RowView& row) = 0;
};

}  // namespace dxhub
