#include "core/avro/schema.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/avro/canonical_form.h"

namespace dxhub::avro {

Value::Value(Value&& o) noexcept
    : iface_(std::move(o.iface_)), value_(o.value_), owned_(o.owned_) {
  o.value_ = {};
  o.owned_ = false;
}

Value& Value::operator=(Value&& o) noexcept {
  if (this != &o) {
    if (owned_) avro_value_decref(&value_);
    iface_ = std::move(o.iface_);
    value_ = o.value_;
    owned_ = o.owned_;
    o.value_ = {};
    o.owned_ = false;
  }
  return *this;
}

Value::~Value() {
  // The value holds its own reference to the interface; drop it first.
  if (owned_) avro_value_decref(&value_);
}

Expected<Schema> Schema::from_json(std::string json_text) {
  // Our own canonicaliser runs first: it gives readable errors (avro-c's
  // text lives in one global buffer that chains old messages).
  DXHUB_ASSIGN_OR_RETURN(std::string canonical, parsing_canonical_form(json_text));
  avro_schema_t parsed = nullptr;
  if (avro_schema_from_json_length(json_text.data(), json_text.size(), &parsed) != 0 ||
      parsed == nullptr) {
    return config_error("avro-c rejects the schema (invalid name, symbol, default or type)");
  }
  Schema schema;
  schema.schema_.reset(parsed);
  schema.json_ = std::move(json_text);
  schema.canonical_ = std::move(canonical);
  schema.fingerprint_ = crc64_avro(schema.canonical_);
  return schema;
}

Expected<Schema> Schema::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("cannot open schema file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return config_error("cannot read schema file " + path);
  auto schema = from_json(text.str());
  if (!schema) return schema.status().with_context("schema file " + path);
  return schema;
}

std::string Schema::fingerprint_hex() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fingerprint_));
  return hex;
}

std::string Schema::full_name() const {
  avro_schema_t s = schema_.get();
  if (s == nullptr || !(is_avro_record(s) || is_avro_enum(s) || is_avro_fixed(s))) return {};
  const char* name = avro_schema_name(s);
  const char* space = avro_schema_namespace(s);
  std::string full = space != nullptr && *space != '\0' ? std::string(space) + "." : "";
  if (name != nullptr) full += name;
  return full;
}

Expected<Value> Schema::new_value() const {
  if (!schema_) return internal_error("new_value on an empty Schema");
  ValueIfacePtr iface(avro_generic_class_from_schema(schema_.get()));
  if (!iface) return internal_error("avro-c cannot build a value class for schema " + full_name());
  Value value;
  if (avro_generic_value_new(iface.get(), &value.value_) != 0)
    return internal_error("avro-c cannot allocate a value for schema " + full_name());
  value.owned_ = true;
  value.iface_ = std::move(iface);
  return value;
}

}  // namespace dxhub::avro
