// Decodes an Object Container File held in memory with avro-c, as an
// independent check of what OcfWriter produced (tests, mock province).
#pragma once

#include <avro.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::avro {

struct DecodedFile {
  std::string schema_json;  // header avro.schema, verbatim
  std::string codec;        // header avro.codec ("null" when absent)
  std::map<std::string, std::string> metadata;  // every header entry, avro.* included
  std::string sync_marker;  // the 16 header sync bytes
  int64_t record_count = 0;
  int64_t block_count = 0;
};

// Frames, sizes, sync markers, codec data and every record's encoding are
// first checked by our own parser (so corrupt input is a kData error, never
// a crash inside avro-c); then the records are decoded by avro-c: its file
// reader for null/deflate/snappy, its value reader over libzstd-unpacked
// blocks for zstandard (avro-c has no zstd). `on_record` sees each record
// as a generic value of the writer schema (valid during the call only); a
// non-ok Status from it stops decoding and is returned.
Expected<DecodedFile> read_ocf_with_avro_c(
    std::string_view bytes, const std::function<Status(avro_value_t*)>& on_record);

}  // namespace dxhub::avro
