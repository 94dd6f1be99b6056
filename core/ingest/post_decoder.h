// Turns the body of one push-ingest post into staged records of a resource
// (Avro binary in the resource's schema, framed as staged_batches.h says),
// or into the reasons it cannot be stored. A post is all or nothing: one
// bad record refuses the whole post, so nothing of it is half-stored.
//
// Bodies:
//   application/json   {"records": [{<source column>: value, ...}, ...]} (or the bare array):
//                      each record is mapped exactly as a polled row of the
//                      resource (its mapping file: codes, formats,
//                      validators); values are strings, numbers, booleans or
//                      null; keys the mapping does not use are ignored.
//   avro/binary        an Avro object container file (also application/avro,
//                      application/vnd.apache.avro+binary) whose writer schema is the
//                      resource's (same Parsing Canonical Form fingerprint);
//                      records are checked by decoding, then kept as they are.
// Thread-safe: one decoder serves every connection of the endpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/avro/schema.h"
#include "core/common/status.h"
#include "core/mapping/record_mapper.h"

namespace dxhub {

enum class PostFormat { kJson, kAvroOcf };

// The format a Content-Type names; nullopt for any other.
std::optional<PostFormat> post_format_for(std::string_view content_type);

struct RecordError {
  int64_t index = 0;  // 0-based position in the post
  std::string reason;
};

struct DecodedPost {
  std::string records;  // framed staged records
  int64_t record_count = 0;
  std::vector<RecordError> errors;  // empty: every record is good
  int64_t invalid = 0;              // records with errors (errors keeps the first kMaxErrors)
  static constexpr size_t kMaxErrors = 100;
};

class PostDecoder {
 public:
  // Loads the resource's schema and mapping; kConfig when they do not load.
  static Expected<std::unique_ptr<PostDecoder>> load(const std::string& schema_path, const std::string& mapping_path);

  // kData (answered 400) when the body as a whole is not of the format;
  // records that do not map or decode are listed in out.errors (422).
  // `max_records`: more is kData (413).
  Status decode(PostFormat format, std::string_view body, int64_t max_records, DecodedPost& out) const;

  const avro::Schema& schema() const { return schema_; }
  const std::vector<std::string>& columns() const { return mapper_.source_columns(); }

 private:
  PostDecoder(avro::Schema schema, RecordMapper mapper) : schema_(std::move(schema)), mapper_(std::move(mapper)) {}
  Status decode_json(std::string_view body, int64_t max_records, DecodedPost& out) const;
  Status decode_ocf(std::string_view body, int64_t max_records, DecodedPost& out) const;

  avro::Schema schema_;
  RecordMapper mapper_;
};

}  // namespace dxhub
