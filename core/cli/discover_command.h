// `dxhub discover`: reads a sample of a source through its connector,
// opened with no column list (the contract: every source column, in source
// order) and with dry_run, and drafts an Avro schema and a mapping file for
// it, so that an agency's IT team starts from their own data.
//
// Inference, per column, from the values seen (SQLite-style dynamic types
// mean a column may mix kinds):
//   only integers            -> long
//   numbers with a real      -> double (a note suggests decimal for amounts)
//   text "YYYY-MM-DD" / "YYYY/MM/DD" (real calendar days)
//                            -> int date, with "format"
//   text "YYYY-MM-DD HH:MM:SS" (or 'T' / '/' variants)
//                            -> long timestamp-millis, with "format" and
//                               "source_timezone": "+08:00" (a note: check it)
//   text "-123.45" (always a point, up to 38 digits; integers may mix in)
//                            -> decimal(max(observed, 18), observed scale)
//   other text, integers-as-text (codes keep leading zeros), mixed kinds
//                            -> string
//   blobs (text may mix in)  -> bytes
//   only NULL                -> string, with a note
// Every field is ["null", T] with default null except the drafted key: a
// sample can prove that a column holds NULL, never that it cannot, and a
// draft that refuses a NULL the sample missed would dead-letter real rows;
// tighten the fields the source declares NOT NULL. The key is the settings'
// "key_column" when it names a column, otherwise the first column that is
// non-null and distinct in the sample and long or string, preferring a
// column named id or ending in id.
// Field names are the column names when they are valid Avro names
// ([A-Za-z_][A-Za-z0-9_]*); ASCII names with other characters get them
// replaced by '_'; names with non-ASCII characters (Chinese) become
// f_<hex of their UTF-8 bytes>, which is stable and reversible; the original
// stays in the mapping's "column" and in the field's doc.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "core/common/status.h"

namespace dxhub {

struct DiscoverOptions {
  std::string resource;  // names the record, the files and the mapping's "resource" ("" = "draft")
  size_t sample_rows = 1000;
  std::string key_hint;            // a column to prefer as the key (the settings' key_column)
};

struct DiscoverDraft {
  std::string resource;
  std::string schema_file;   // "<resource>.avsc"
  std::string mapping_file;  // "<resource>.mapping.json"
  std::string schema_json;
  std::string mapping_json;
  std::vector<std::string> notes;  // one line each, never a value
  int64_t rows_sampled = 0;
  int64_t bad_inputs = 0;          // input the connector could not turn into rows
  int64_t rows_not_mapping = 0;    // sample rows the draft itself does not map (should be 0)
};

// Reads up to options.sample_rows rows from `connector` (already open) and
// drafts. The drafts are verified before they are returned: the schema
// parses, the mapping builds against it and binds to the connector's
// columns, and every sample row is mapped (failures counted and noted).
Expected<DiscoverDraft> draft_from_connector(Connector& connector, const DiscoverOptions& options);

// Writes the two files into `dir` (created if needed); refuses to overwrite
// an existing file (it may hold someone's edits).
Status write_drafts(const DiscoverDraft& draft, const std::string& dir);
// Both drafts and the notes, for stdout.
std::string format_drafts(const DiscoverDraft& draft);

// What `dxhub discover` was asked: either a connector kind and its settings
// (no hub config needed), or a resource declared by a loaded plugin.
struct DiscoverRequest {
  std::string connector_kind;          // --connector
  nlohmann::json settings;             // --settings (object)
  std::string config_path;             // with declared_resource
  std::string declared_resource;       // -r: use this resource's connector and settings
  std::vector<std::string> columns;    // --columns: for a connector that cannot list its own
  DiscoverOptions options;             // options.resource "" = from -r, the settings' "table", or "draft"
};

// Opens the connector (dry_run, null cursor) and drafts.
Expected<DiscoverDraft> run_discover(DiscoverRequest request);

// "--settings": JSON text, or "@path" to read it from a file; must be an object.
Expected<nlohmann::json> parse_settings_argument(const std::string& argument);

// A safe resource id for file and record names: ASCII letters, digits, '_', '-', '.'.
std::string safe_resource_name(const std::string& resource);
// The Avro field name drafted for a source column (without de-duplication).
std::string avro_field_name_for(const std::string& column);

}  // namespace dxhub
