// The mapping file (mappings/<agency>/<resource>.mapping.json): which source
// column feeds which Avro field, with optional code tables and formats.
//
//   { "resource": "household_population",
//     "schema": "household_population.avsc",        // relative to this file
//     "primary_key": "id_card",                      // an Avro field
//     "source_timezone": "+08:00",                   // for text timestamps
//     "fields": [ {"field": "gender", "column": "xb", "codes": {"1": "MALE"}},
//                 {"field": "birth_date", "column": "csrq", "format": "YYYY-MM-DD"} ] }
//
// Unknown keys are refused so that typos fail loudly; the format grows by
// adding keys here (and to the checks in record_mapper.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace dxhub::mapping {

struct FieldMapping {
  std::string field;   // Avro field name
  std::string column;  // source column name
  std::optional<std::string> format;                          // date/time layout
  std::vector<std::pair<std::string, std::string>> codes;     // source code -> target, file order
};

struct MappingSpec {
  std::string origin;       // where it came from, for messages (the file path)
  std::string resource;
  std::string schema_file;  // as written
  std::string schema_path;  // resolved against the mapping file's directory
  std::string primary_key;
  std::optional<std::string> source_timezone;
  std::vector<FieldMapping> fields;
};

// Parses mapping JSON; every problem is kConfig naming `origin`.
Expected<MappingSpec> parse_mapping_spec(std::string_view json_text, const std::string& origin);
Expected<MappingSpec> load_mapping_spec(const std::string& path);

}  // namespace dxhub::mapping
