// avro-c helpers for stored records: the primary key of a decoded record,
// and turning stored bytes (each record's own encoding, as uploaded) back
// into JSON at query time.
#pragma once

#include <avro.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/avro/schema.h"
#include "core/common/status.h"

namespace dxhub::province {

// A primary key is a string or an integer (Avro int/long).
struct PrimaryKeyValue {
  bool is_integer = false;
  int64_t integer = 0;
  std::string_view text;  // borrowed from the record, without the NUL
};

// kConfig when `field` is not a top-level string/int/long field of the record schema.
Status validate_primary_key(avro_schema_t record_schema, const std::string& field);

// Reads one field of every record of one schema; the field index is
// resolved once.
class PrimaryKeyReader {
 public:
  static Expected<PrimaryKeyReader> create(avro_schema_t record_schema, const std::string& field);
  Expected<PrimaryKeyValue> read(avro_value_t* record) const;

 private:
  size_t index_ = 0;
  avro_type_t type_ = AVRO_STRING;
  std::string name_;
};

struct AvroReaderFree {
  void operator()(avro_reader_t r) const { avro_reader_free(r); }
};
using AvroReaderPtr = std::unique_ptr<std::remove_pointer_t<avro_reader_t>, AvroReaderFree>;

// Decodes the Avro binary of one record of `schema` into JSON (avro-c's
// avro_value_to_json, parsed). `scratch` is a value of that schema, reused.
Expected<nlohmann::json> record_to_json(avro::Value& scratch, std::string_view bytes);

}  // namespace dxhub::province
