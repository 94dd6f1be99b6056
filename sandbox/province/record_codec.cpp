#include "sandbox/province/record_codec.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace dxhub::province {

namespace {

struct CFree {
  void operator()(char* p) const { std::free(p); }
};

bool is_key_type(avro_type_t t) { return t == AVRO_STRING || t == AVRO_INT32 || t == AVRO_INT64; }

std::string errno_text(int rc) { return std::string(std::strerror(rc)) + " (" + std::to_string(rc) + ")"; }

// avro_schema_record_field_get reads garbage for a missing name (avro-c
// 1.11.1), so look the index up first.
avro_schema_t record_field(avro_schema_t record_schema, const std::string& field, int* index) {
  *index = avro_schema_record_field_get_index(record_schema, field.c_str());
  if (*index < 0) return nullptr;
  return avro_schema_record_field_get_by_index(record_schema, *index);
}

}  // namespace

Status validate_primary_key(avro_schema_t record_schema, const std::string& field) {
  if (!is_avro_record(record_schema)) return config_error("the schema is not a record");
  int index = -1;
  avro_schema_t field_schema = record_field(record_schema, field, &index);
  if (field_schema == nullptr) return config_error("primary key '" + field + "' is not a field of the record");
  if (!is_key_type(avro_typeof(field_schema))) {
    return config_error("primary key '" + field + "' must be of type string, int or long, not " +
                        avro_schema_type_name(field_schema));
  }
  return Status::ok();
}

Expected<PrimaryKeyReader> PrimaryKeyReader::create(avro_schema_t record_schema, const std::string& field) {
  DXHUB_RETURN_IF_ERROR(validate_primary_key(record_schema, field));
  PrimaryKeyReader reader;
  int index = -1;
  avro_schema_t field_schema = record_field(record_schema, field, &index);
  reader.index_ = static_cast<size_t>(index);
  reader.type_ = avro_typeof(field_schema);
  reader.name_ = field;
  return reader;
}

Expected<PrimaryKeyValue> PrimaryKeyReader::read(avro_value_t* record) const {
  avro_value_t field;
  if (avro_value_get_by_index(record, index_, &field, nullptr) != 0) {
    return data_error("record has no field '" + name_ + "'");
  }
  PrimaryKeyValue key;
  int rc = 0;
  switch (type_) {
    case AVRO_STRING: {
      const char* text = nullptr;
      size_t size = 0;  // includes the NUL
      rc = avro_value_get_string(&field, &text, &size);
      key.text = std::string_view(text, size > 0 ? size - 1 : 0);
      break;
    }
    case AVRO_INT32: {
      int32_t v = 0;
      rc = avro_value_get_int(&field, &v);
      key.is_integer = true;
      key.integer = v;
      break;
    }
    default: {
      rc = avro_value_get_long(&field, &key.integer);
      key.is_integer = true;
      break;
    }
  }
  if (rc != 0) return data_error("cannot read primary key '" + name_ + "': " + errno_text(rc));
  return key;
}

Expected<nlohmann::json> record_to_json(avro::Value& scratch, std::string_view bytes) {
  AvroReaderPtr reader(avro_reader_memory(bytes.data(), static_cast<int64_t>(bytes.size())));
  if (!reader) return internal_error("cannot create an avro memory reader");
  avro_value_reset(scratch.get());
  int rc = avro_value_read(reader.get(), scratch.get());
  if (rc != 0) return data_error("stored record does not decode: " + errno_text(rc));
  char* raw = nullptr;
  rc = avro_value_to_json(scratch.get(), 1, &raw);
  std::unique_ptr<char, CFree> text(raw);
  if (rc != 0 || !text) return data_error("cannot render record as JSON: " + errno_text(rc));
  auto parsed = nlohmann::json::parse(text.get(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return data_error("avro-c produced JSON that does not parse");
  return parsed;
}

}  // namespace dxhub::province
