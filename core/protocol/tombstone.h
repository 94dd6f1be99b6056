// The delete envelope shared by the hub (which writes tombstones) and the
// province (which applies them). See docs: "Deletes travel as tombstones".
//
// Upserts keep the resource's schema. Deletes go in batches of their own
// whose records use the resource's TOMBSTONE schema, derived from the
// resource schema deterministically (so hub and province agree without
// exchanging anything but the schema text):
//
//   {"type": "record", "name": <name>_tombstone, "namespace": <namespace>,
//    "doc": "dxhub tombstone of <full name>",
//    "fields": [
//      {"name": <primary key>, "type": <the key field's type, a ["null", T]
//                                       union reduced to T>},
//      {"name": "dxhub_op", "type": {"type": "enum", "name": "dxhub_operation",
//                                    "symbols": ["DELETE"]}},
//      {"name": "dxhub_source_time", "type": {"type": "long",
//                                             "logicalType": "timestamp-millis"}}]}
//
// and the container's metadata says `dxhub.operation` = "delete" (absent, or
// "upsert", for upserts). Such a batch takes the resource's next sequence
// like any other, so the province orders deletes and upserts of one key by
// (epoch, sequence) alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::protocol {

inline constexpr const char* kOperationMetadata = "dxhub.operation";
inline constexpr const char* kOperationDelete = "delete";
inline constexpr const char* kOperationUpsert = "upsert";
inline constexpr const char* kTombstoneOpField = "dxhub_op";
inline constexpr const char* kTombstoneSourceTimeField = "dxhub_source_time";

// The tombstone schema text for a resource schema and its primary key field
// (kConfig when the schema is not a record or lacks the field). The same
// input always gives the same text, hence the same fingerprint.
Expected<std::string> tombstone_schema_json(std::string_view resource_schema_json, const std::string& primary_key);

// Whether `schema_json` has the tombstone shape for `primary_key`: exactly
// the key field, dxhub_op (enum of the single symbol DELETE) and
// dxhub_source_time (long, timestamp-millis), in that order.
bool is_tombstone_schema(std::string_view schema_json, const std::string& primary_key);

// Appends one tombstone record in Avro binary: the key field's encoding as
// given (`key_bytes`), the enum index 0 (DELETE) and the source time.
void append_tombstone_record(std::string_view key_bytes, int64_t source_time_ms, std::string& out);

}  // namespace dxhub::protocol
