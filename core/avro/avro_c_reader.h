// Decodes an Object Container File held in memory with avro-c, as an
// independent check of what OcfWriter produced (tests, mock province).
#pragma once

#include <avro.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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

// One record as the reader hands it on: avro-c's decoding of it (valid
// during the callback only) and its exact encoding.
struct DecodedRecord {
  avro_value_t* value = nullptr;  // a generic value of the writer schema
  // The record's exact encoding (its slice of the decompressed blocks); unlike
  // `value` it stays valid until the read returns, so it may be buffered.
  std::string_view bytes;
  int64_t index = 0;  // 0-based, across the whole file
};

struct OcfReadCallbacks {
  // Optional. Called once the whole file has been checked and before avro-c
  // decodes anything: `file` has its header and counts filled in, `schema`
  // is avro-c's parse of the header schema (borrowed for the call). A
  // non-ok Status stops reading and is returned.
  std::function<Status(const DecodedFile& file, avro_schema_t schema)> on_checked;
  // Called per record in file order; a non-ok Status stops decoding and is
  // returned.
  std::function<Status(const DecodedRecord& record)> on_record;
};

// Frames, sizes, sync markers, codec data and every record's encoding are
// first checked by our own parser (so corrupt input is a kData error, never
// a crash inside avro-c); then the records are decoded by avro-c: its file
// reader for null/deflate/snappy, its value reader over libzstd-unpacked
// blocks for zstandard (avro-c has no zstd). Record i's bytes are the slice
// our parser found for it; avro-c decodes the same records in the same
// order, and the counts of both must agree.
Expected<DecodedFile> read_ocf_with_avro_c(std::string_view bytes, const OcfReadCallbacks& callbacks);

// Reads files one after another, keeping its buffers (decompressed blocks,
// record offsets, codec contexts) from one file to the next so that a
// steady stream of uploads does not allocate afresh. Not thread-safe.
class AvroCOcfReader {
 public:
  AvroCOcfReader();
  ~AvroCOcfReader();
  AvroCOcfReader(AvroCOcfReader&&) noexcept;
  AvroCOcfReader& operator=(AvroCOcfReader&&) noexcept;
  AvroCOcfReader(const AvroCOcfReader&) = delete;
  AvroCOcfReader& operator=(const AvroCOcfReader&) = delete;

  // As read_ocf_with_avro_c above. A file's buffers stay (at their largest) until
  // the reader goes.
  Expected<DecodedFile> read(std::string_view bytes, const OcfReadCallbacks& callbacks);

 private:
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

// The same, for callers that want only the decoded value of each record.
Expected<DecodedFile> read_ocf_with_avro_c(
    std::string_view bytes, const std::function<Status(avro_value_t*)>& on_record);

}  // namespace dxhub::avro
