// The Avro "Parsing Canonical Form" of a schema and its CRC-64-AVRO
// fingerprint, as defined by the Avro specification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::avro {

// Rewrites schema JSON into Parsing Canonical Form: primitives as bare
// strings, full names, only name/type/fields/symbols/items/values/size in
// that order, no whitespace; a named type is written in full once and by
// full name afterwards. Malformed JSON or schema structure is kConfig.
Expected<std::string> parsing_canonical_form(std::string_view schema_json);

// CRC-64-AVRO (seed EMPTY = 0xc15d213aa4d7a795) of `bytes`.
uint64_t crc64_avro(std::string_view bytes);

}  // namespace dxhub::avro
