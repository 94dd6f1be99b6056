// RAII ownership of avro-c schemas and generic values, plus the schema's
// identity: its original JSON text (which is what goes into file headers,
// logicalType and doc included), its Parsing Canonical Form and the
// CRC-64-AVRO fingerprint of that form.
#pragma once

#include <avro.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/common/status.h"

namespace dxhub::avro {

struct SchemaDecref {
  void operator()(avro_schema_t s) const { avro_schema_decref(s); }
};
using SchemaPtr = std::unique_ptr<std::remove_pointer_t<avro_schema_t>, SchemaDecref>;

struct ValueIfaceDecref {
  void operator()(avro_value_iface_t* i) const { avro_value_iface_decref(i); }
};
using ValueIfacePtr = std::unique_ptr<avro_value_iface_t, ValueIfaceDecref>;

// Owns one generic avro_value_t (and its interface); move-only. Reuse one
// per record stream: avro_value_reset between records, no allocation.
class Value {
 public:
  Value() = default;
  Value(Value&& o) noexcept;
  Value& operator=(Value&& o) noexcept;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();

  avro_value_t* get() { return &value_; }
  const avro_value_t* get() const { return &value_; }

 private:
  friend class Schema;
  ValueIfacePtr iface_;
  avro_value_t value_{};
  bool owned_ = false;
};

class Schema {
 public:
  // Parses schema JSON with avro-c; a schema that does not parse is kConfig.
  static Expected<Schema> from_json(std::string json_text);
  static Expected<Schema> from_file(const std::string& path);

  const std::string& json() const { return json_; }            // original text, as given
  const std::string& canonical_form() const { return canonical_; }
  uint64_t fingerprint() const { return fingerprint_; }        // CRC-64-AVRO of canonical form
  std::string fingerprint_hex() const;                         // 16 lowercase hex digits, big-endian
  avro_schema_t get() const { return schema_.get(); }
  std::string full_name() const;                               // namespace.name for named types

  // A fresh generic value of this schema.
  Expected<Value> new_value() const;

 private:
  SchemaPtr schema_;
  std::string json_;
  std::string canonical_;
  uint64_t fingerprint_ = 0;
};

}  // namespace dxhub::avro
