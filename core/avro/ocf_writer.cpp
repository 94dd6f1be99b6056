#include "core/avro/ocf_writer.h"

#include <cerrno>
#include <random>
#include <set>

namespace dxhub::avro {
namespace {

constexpr char kMagic[4] = {'O', 'b', 'j', '\x01'};

void append_avro_bytes(std::string& out, std::string_view bytes) {
  append_avro_long(out, static_cast<int64_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

}  // namespace

void append_avro_long(std::string& out, int64_t v) {
  uint64_t zigzag = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  char buf[10];
  size_t n = 0;
  while (zigzag >= 0x80) {
    buf[n++] = static_cast<char>((zigzag & 0x7f) | 0x80);
    zigzag >>= 7;
  }
  buf[n++] = static_cast<char>(zigzag);
  out.append(buf, n);
}

OcfWriter::OcfWriter(const Schema& schema, Codec codec, size_t block_target_bytes)
    : schema_json_(schema.json()),
      schema_(schema.get() != nullptr ? avro_schema_incref(schema.get()) : nullptr),
      codec_(codec),
      block_target_(std::max<size_t>(block_target_bytes, 1)),
      // A memory writer created once and pointed at the block buffer per record.
      writer_(avro_writer_memory(nullptr, 0)) {}

Status OcfWriter::begin(const std::vector<std::pair<std::string, std::string>>& metadata,
                        const std::array<uint8_t, kSyncBytes>* sync_marker) {
  if (!writer_) return internal_error("avro-c could not create a memory writer");
  if (!schema_) return internal_error("OcfWriter built from an empty Schema");
  std::set<std::string_view> keys;
  for (const auto& [key, value] : metadata) {
    if (key.rfind("avro.", 0) == 0) return config_error("metadata key \"" + key + "\" is reserved by Avro");
    if (!keys.insert(key).second) return config_error("metadata key \"" + key + "\" given twice");
  }
  file_.clear();
  block_used_ = 0;
  block_records_ = 0;
  record_count_ = 0;
  if (block_.size() < block_target_) block_.resize(block_target_);

  if (sync_marker != nullptr) {
    sync_ = *sync_marker;
  } else {
    // Never rand(): two files must not share a marker.
    std::random_device entropy;
    for (size_t i = 0; i < kSyncBytes; i += 4) {
      uint32_t r = entropy();
      for (size_t j = 0; j < 4; ++j) sync_[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  }

  file_.append(kMagic, sizeof kMagic);
  append_avro_long(file_, static_cast<int64_t>(metadata.size() + 2));
  append_avro_bytes(file_, "avro.schema");
  append_avro_bytes(file_, schema_json_);
  append_avro_bytes(file_, "avro.codec");
  append_avro_bytes(file_, codec_name(codec_));
  for (const auto& [key, value] : metadata) {
    append_avro_bytes(file_, key);
    append_avro_bytes(file_, value);
  }
  append_avro_long(file_, 0);
  file_.append(reinterpret_cast<const char*>(sync_.data()), sync_.size());
  started_ = true;
  return Status::ok();
}

Status OcfWriter::append(const avro_value_t* record) {
  if (!started_) return internal_error("OcfWriter::append before begin()");
  // avro-c's API is not const-correct; writing does not modify the value.
  avro_value_t* value = const_cast<avro_value_t*>(record);
  avro_schema_t record_schema = avro_value_get_schema(value);
  if (record_schema != last_checked_schema_.get()) {
    if (record_schema == nullptr || !avro_schema_equal(record_schema, schema_.get()))
      return data_error("record is not a value of the writer's schema");
    last_checked_schema_.reset(avro_schema_incref(record_schema));
  }
  // After append_encoded/append_with the buffer is only as long as its
  // content; avro-c needs the room in size().
  if (block_.size() < block_target_) block_.resize(block_target_);
  for (int attempt = 0; attempt < 3; ++attempt) {
    // Below the target, a block only takes what still fits; an empty block
    // takes the whole buffer so an oversized record becomes its own block.
    size_t room = block_used_ == 0 ? block_.size() : block_target_ - block_used_;
    avro_writer_memory_set_dest(writer_.get(), block_.data() + block_used_,
                                static_cast<int64_t>(room));
    int rc = avro_value_write(writer_.get(), value);
    if (rc == 0) {
      block_used_ += static_cast<size_t>(avro_writer_tell(writer_.get()));
      ++block_records_;
      ++record_count_;
      if (block_used_ >= block_target_) return flush_block();
      return Status::ok();
    }
    if (rc != ENOSPC) break;
    if (block_used_ > 0) {
      DXHUB_RETURN_IF_ERROR(flush_block());
    } else {
      size_t needed = 0;
      if (avro_value_sizeof(value, &needed) != 0 || needed <= block_.size()) break;
      block_.resize(needed);
    }
  }
  return data_error("avro-c cannot serialise the record (value does not match the schema)");
}

Status OcfWriter::append_encoded(std::string_view record_bytes) {
  if (!started_) return internal_error("OcfWriter::append_encoded before begin()");
  if (block_used_ > 0 && block_used_ + record_bytes.size() > block_target_) DXHUB_RETURN_IF_ERROR(flush_block());
  block_.resize(block_used_);
  block_.append(record_bytes.data(), record_bytes.size());
  return commit_appended(record_bytes.size());
}

Status OcfWriter::commit_appended(size_t size) {
  if (block_used_ > 0 && block_used_ + size > block_target_) {
    // As append() does: the earlier records make a block, the new one
    // starts the next.
    DXHUB_RETURN_IF_ERROR(write_block(block_used_, block_records_));
    block_.erase(0, block_used_);
    block_used_ = 0;
    block_records_ = 0;
  }
  block_used_ += size;
  ++block_records_;
  ++record_count_;
  if (block_used_ >= block_target_) return flush_block();
  return Status::ok();
}

Status OcfWriter::flush_block() {
  if (block_records_ == 0) return Status::ok();
  DXHUB_RETURN_IF_ERROR(write_block(block_used_, block_records_));
  block_used_ = 0;
  block_records_ = 0;
  return Status::ok();
}

Status OcfWriter::write_block(size_t bytes, size_t records) {
  DXHUB_RETURN_IF_ERROR(block_codec_.compress(codec_, std::string_view(block_.data(), bytes), compressed_));
  append_avro_long(file_, static_cast<int64_t>(records));
  append_avro_long(file_, static_cast<int64_t>(compressed_.size()));
  file_.append(compressed_);
  file_.append(reinterpret_cast<const char*>(sync_.data()), sync_.size());
  return Status::ok();
}

Status OcfWriter::finish(std::string& out) {
  if (!started_) return internal_error("OcfWriter::finish before begin()");
  DXHUB_RETURN_IF_ERROR(flush_block());
  out.swap(file_);
  file_.clear();  // keeps the capacity of the caller's old buffer for the next file
  started_ = false;
  return Status::ok();
}

}  // namespace dxhub::avro
