// Helpers for mapping tests: rows that own their text, and avro values as JSON.
#pragma once

#include <avro.h>

#include <cstdlib>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/common/row.h"

namespace dxhub::testing {

// Keeps text alive (NUL-terminated, as connectors promise) for a RowView.
class OwnedRow {
 public:
  OwnedRow& null() { return push(FieldValue::null()); }
  OwnedRow& integer(int64_t v) { return push(FieldValue::integer(v)); }
  OwnedRow& real(double v) { return push(FieldValue::real(v)); }
  OwnedRow& text(std::string v) {
    texts_.push_back(std::move(v));
    return push(FieldValue::text(texts_.back()));
  }
  OwnedRow& blob(std::string v) {
    texts_.push_back(std::move(v));
    return push(FieldValue::blob(texts_.back()));
  }
  RowView view() const { return RowView{values_.data(), values_.size()}; }

 private:
  OwnedRow& push(FieldValue v) {
    values_.push_back(v);
    return *this;
  }
  std::deque<std::string> texts_;  // stable addresses
  std::vector<FieldValue> values_;
};

// The bytes avro-c's own writer produces for `value` (the reference the
// compiled encoder is held to); "<avro-c failed>" when it cannot.
inline std::string avro_c_encoding(const avro_value_t* value) {
  avro_value_t* v = const_cast<avro_value_t*>(value);  // avro-c is not const-correct
  size_t size = 0;
  if (avro_value_sizeof(v, &size) != 0) return "<avro-c failed>";
  std::string bytes(size, '\0');
  avro::AvroWriterPtr writer(avro_writer_memory(bytes.data(), static_cast<int64_t>(size)));
  const int rc = avro_value_write(writer.get(), v);
  const int64_t written = avro_writer_tell(writer.get());
  if (rc != 0 || written != static_cast<int64_t>(size)) return "<avro-c failed>";
  return bytes;
}

inline nlohmann::json avro_to_json(const avro_value_t* value) {
  char* text = nullptr;
  if (avro_value_to_json(value, 1, &text) != 0 || text == nullptr) return nlohmann::json("<avro_value_to_json failed>");
  nlohmann::json out = nlohmann::json::parse(text, nullptr, false);
  std::free(text);
  return out;
}

}  // namespace dxhub::testing
