// Writes Avro Object Container Files into memory. The hub frames the file
// itself (header, sync marker, blocks, codec) because avro-c's file writer
// drops logicalType/doc from the header schema, cannot add metadata and
// reseeds rand(). Records are serialised either by avro-c (append) or by the
// caller's own encoder (append_encoded / append_with, e.g.
// RecordMapper::encode), into the same blocks.
#pragma once

#include <avro.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/avro/codec.h"
#include "core/avro/schema.h"
#include "core/common/status.h"

namespace dxhub::avro {

struct AvroWriterClose {
  void operator()(avro_writer_t w) const { avro_writer_free(w); }
};
using AvroWriterPtr = std::unique_ptr<std::remove_pointer_t<avro_writer_t>, AvroWriterClose>;

class OcfWriter {
 public:
  static constexpr size_t kDefaultBlockTargetBytes = 256 * 1024;
  static constexpr size_t kSyncBytes = 16;

  // block_target_bytes: uncompressed bytes per block before it is flushed.
  // The writer holds its own reference to the schema; `schema` need not
  // outlive it.
  OcfWriter(const Schema& schema, Codec codec,
            size_t block_target_bytes = kDefaultBlockTargetBytes);
  OcfWriter(OcfWriter&&) noexcept = default;
  OcfWriter& operator=(OcfWriter&&) noexcept = default;
  OcfWriter(const OcfWriter&) = delete;
  OcfWriter& operator=(const OcfWriter&) = delete;

  // Starts a new file. `metadata` (e.g. dxhub.resource, dxhub.batch_id,
  // dxhub.sequence) goes into the header beside avro.schema (the schema's
  // original JSON, verbatim) and avro.codec. A fresh random sync marker is
  // drawn per file unless the caller gives one (`sync_marker`: a file that
  // must come out byte for byte the same when written again from the same
  // records, e.g. a batch re-read after a crash). Keys starting with "avro."
  // or repeated keys are kConfig.
  Status begin(const std::vector<std::pair<std::string, std::string>>& metadata,
               const std::array<uint8_t, kSyncBytes>* sync_marker = nullptr);

  // Serialises one record (a value of the schema) into the current block;
  // a value of another schema is kData (avro-c itself would write it
  // blindly and corrupt the file; the check costs one pointer compare);
  // the block is compressed and framed when it reaches the target size. A
  // record larger than the target goes into a block of its own. No heap
  // allocation per record once the block buffer has grown.
  Status append(const avro_value_t* record);

  // One record already in Avro binary (the bytes avro_value_write would
  // write for a value of the schema: the caller vouches for them). Same
  // block and flush behaviour as append(): a record that does not fit the
  // rest of the block starts the next one.
  Status append_encoded(std::string_view record_bytes);

  // The same without the copy: `encode(std::string& block)` appends one
  // record's bytes to the block buffer and returns a Status; when that is
  // not ok it must leave `block` as it was, and the status is returned.
  template <typename Encode>
  Status append_with(Encode&& encode) {
    if (!started_) return internal_error("OcfWriter::append_with before begin()");
    block_.resize(block_used_);  // shrinking neither allocates nor writes
    Status encoded = std::forward<Encode>(encode)(block_);
    if (!encoded.is_ok()) {
      block_.resize(block_used_);
      return encoded;
    }
    return commit_appended(block_.size() - block_used_);
  }

  size_t record_count() const { return record_count_; }  // in this file (kept after finish)
  size_t buffered_bytes() const { return file_.size() + block_used_; }  // approx size so far
  const std::array<uint8_t, kSyncBytes>& sync_marker() const { return sync_; }

  // Flushes the last block and swaps the finished file into `out` (out's old
  // contents are discarded). The writer may begin() again afterwards.
  Status finish(std::string& out);

 private:
  Status flush_block();
  // Compresses and frames the first `bytes` (holding `records` records) of the block.
  Status write_block(size_t bytes, size_t records);
  // Accounts for a record of `size` bytes appended to the block at block_used_.
  Status commit_appended(size_t size);

  std::string schema_json_;
  SchemaPtr schema_;
  SchemaPtr last_checked_schema_;  // the record schema last found equal to schema_
  Codec codec_;
  size_t block_target_;
  AvroWriterPtr writer_;
  BlockCodec block_codec_;
  std::string file_;        // header + framed blocks so far
  // Uncompressed records. append() uses size() as its capacity (avro-c
  // writes into it); append_encoded/append_with keep size() == block_used_.
  std::string block_;
  size_t block_used_ = 0;
  size_t block_records_ = 0;
  std::string compressed_;  // scratch for the compressed block
  size_t record_count_ = 0;
  bool started_ = false;
  std::array<uint8_t, kSyncBytes> sync_{};
};

// Appends the Avro zig-zag varint encoding of `v` to `out`.
void append_avro_long(std::string& out, int64_t v);

}  // namespace dxhub::avro
