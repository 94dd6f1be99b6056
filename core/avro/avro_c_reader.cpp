#include "core/avro/avro_c_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/avro/codec.h"
#include "core/avro/schema.h"

namespace dxhub::avro {
namespace {

constexpr size_t kSyncBytes = 16;
constexpr int kMaxNesting = 64;
constexpr int64_t kMaxItemsPerBlock = int64_t{1} << 24;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct FileReaderCloser {
  void operator()(avro_file_reader_t r) const { avro_file_reader_close(r); }
};
struct ReaderFree {
  void operator()(avro_reader_t r) const { avro_reader_free(r); }
};

// Bounds-checked reading of Avro's binary encoding.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  bool read_long(int64_t& out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_end()) return false;
      auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        out = static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
        return true;
      }
    }
    return false;  // more than 10 bytes: not a long
  }
  bool read_raw(size_t n, std::string_view& out) {
    if (n > remaining()) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool read_bytes(std::string_view& out) {
    int64_t n = 0;
    return read_long(n) && n >= 0 && read_raw(static_cast<size_t>(n), out);
  }
  bool skip(size_t n) {
    std::string_view ignored;
    return read_raw(n, ignored);
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Walks one datum of `schema`, checking every length, index and count
// against the bytes left: what avro-c would otherwise trust blindly.
bool check_datum(avro_schema_t schema, Cursor& in, int depth) {
  if (depth > kMaxNesting) return false;
  int64_t n = 0;
  std::string_view bytes;
  switch (avro_typeof(schema)) {
    case AVRO_NULL: return true;
    case AVRO_BOOLEAN:
      return in.read_raw(1, bytes) && (bytes[0] == 0 || bytes[0] == 1);
    case AVRO_INT32:
      return in.read_long(n) && n >= INT32_MIN && n <= INT32_MAX;
    case AVRO_INT64: return in.read_long(n);
    case AVRO_FLOAT: return in.skip(4);
    case AVRO_DOUBLE: return in.skip(8);
    case AVRO_STRING:
    case AVRO_BYTES: return in.read_bytes(bytes);
    case AVRO_FIXED: return in.skip(static_cast<size_t>(avro_schema_fixed_size(schema)));
    case AVRO_ENUM:
      return in.read_long(n) && n >= 0 && n < avro_schema_enum_number_of_symbols(schema);
    case AVRO_UNION:
      return in.read_long(n) && n >= 0 &&
             static_cast<size_t>(n) < avro_schema_union_size(schema) &&
             check_datum(avro_schema_union_branch(schema, static_cast<int>(n)), in, depth + 1);
    case AVRO_RECORD: {
      size_t fields = avro_schema_record_size(schema);
      for (size_t i = 0; i < fields; ++i)
        if (!check_datum(avro_schema_record_field_get_by_index(schema, static_cast<int>(i)), in,
                         depth + 1))
          return false;
      return true;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
      bool is_map = avro_typeof(schema) == AVRO_MAP;
      avro_schema_t item = is_map ? avro_schema_map_values(schema) : avro_schema_array_items(schema);
      for (;;) {
        int64_t count = 0;
        if (!in.read_long(count)) return false;
        if (count == 0) return true;
        if (count < 0) {
          int64_t block_size = 0;
          if (!in.read_long(block_size) || block_size < 0) return false;
          count = -count;
        }
        if (count > kMaxItemsPerBlock) return false;
        for (int64_t i = 0; i < count; ++i) {
          if (is_map && !in.read_bytes(bytes)) return false;
          if (!check_datum(item, in, depth + 1)) return false;
        }
      }
    }
    case AVRO_LINK: return check_datum(avro_schema_link_target(schema), in, depth + 1);
  }
  return false;
}

struct Block {
  int64_t count = 0;
  std::string data;  // decompressed
};

// Parses the header and all blocks; fills `file`, returns the writer schema
// and, for zstandard (which avro-c cannot unpack), the decompressed blocks.
Status parse_and_check(std::string_view bytes, DecodedFile& file, SchemaPtr& schema,
                       Codec& codec, std::vector<Block>& zstd_blocks) {
  Cursor in(bytes);
  std::string_view magic;
  if (!in.read_raw(4, magic) || magic != std::string_view("Obj\x01", 4))
    return data_error("not an Avro object container file (bad magic)");
  for (;;) {
    int64_t count = 0;
    if (!in.read_long(count)) return data_error("truncated header metadata");
    if (count == 0) break;
    if (count < 0) {
      int64_t block_size = 0;
      if (!in.read_long(block_size)) return data_error("truncated header metadata");
      count = -count;
    }
    if (count > static_cast<int64_t>(in.remaining()))
      return data_error("header metadata count exceeds the file size");
    for (int64_t i = 0; i < count; ++i) {
      std::string_view key, value;
      if (!in.read_bytes(key) || !in.read_bytes(value))
        return data_error("truncated header metadata entry");
      file.metadata[std::string(key)] = std::string(value);
    }
  }
  std::string_view sync;
  if (!in.read_raw(kSyncBytes, sync)) return data_error("truncated header sync marker");
  file.sync_marker.assign(sync);

  auto schema_it = file.metadata.find("avro.schema");
  if (schema_it == file.metadata.end()) return data_error("header has no avro.schema");
  file.schema_json = schema_it->second;
  auto codec_it = file.metadata.find("avro.codec");
  file.codec = codec_it == file.metadata.end() ? "null" : codec_it->second;
  auto parsed_codec = parse_codec(file.codec);
  if (!parsed_codec) return data_error("header names unsupported codec \"" + file.codec + "\"");
  codec = *parsed_codec;

  avro_schema_t raw_schema = nullptr;
  if (avro_schema_from_json_length(file.schema_json.data(), file.schema_json.size(),
                                   &raw_schema) != 0 ||
      raw_schema == nullptr)
    return data_error("header avro.schema does not parse with avro-c");
  schema.reset(raw_schema);

  BlockCodec block_codec;
  std::string plain;
  while (!in.at_end()) {
    const std::string where = "block " + std::to_string(file.block_count);
    int64_t count = 0, size = 0;
    std::string_view data, block_sync;
    if (!in.read_long(count) || !in.read_long(size)) return data_error(where + ": truncated block header");
    if (count <= 0 || count > INT32_MAX) return data_error(where + ": invalid object count");
    if (size < 0 || !in.read_raw(static_cast<size_t>(size), data))
      return data_error(where + ": block size exceeds the remaining bytes (truncated file?)");
    if (!in.read_raw(kSyncBytes, block_sync)) return data_error(where + ": truncated sync marker");
    if (block_sync != sync) return data_error(where + ": sync marker does not match the header");
    Status unpacked = block_codec.decompress(codec, data, plain);
    if (!unpacked.is_ok()) return data_error(where + ": " + unpacked.message());
    Cursor records(plain);
    for (int64_t i = 0; i < count; ++i)
      if (!check_datum(schema.get(), records, 0))
        return data_error(where + ": record " + std::to_string(i) +
                          " is not a valid encoding of the schema");
    if (!records.at_end()) return data_error(where + ": bytes left over after the last record");
    file.record_count += count;
    ++file.block_count;
    if (codec == Codec::kZstandard) zstd_blocks.push_back({count, plain});
  }
  return Status::ok();
}

}  // namespace

Expected<DecodedFile> read_ocf_with_avro_c(
    std::string_view bytes, const std::function<Status(avro_value_t*)>& on_record) {
  DecodedFile file;
  SchemaPtr schema;
  Codec codec = Codec::kNull;
  // Only zstandard blocks are kept: the other codecs are unpacked by avro-c.
  std::vector<Block> zstd_blocks;
  DXHUB_RETURN_IF_ERROR(parse_and_check(bytes, file, schema, codec, zstd_blocks));

  ValueIfacePtr iface(avro_generic_class_from_schema(schema.get()));
  if (!iface) return internal_error("avro-c cannot build a value class for the header schema");
  avro_value_t value;
  if (avro_generic_value_new(iface.get(), &value) != 0)
    return internal_error("avro-c cannot allocate a value for the header schema");
  struct ValueDecref {
    avro_value_t* v;
    ~ValueDecref() { avro_value_decref(v); }
  } value_guard{&value};

  int64_t decoded = 0;
  if (codec == Codec::kZstandard) {
    std::unique_ptr<std::remove_pointer_t<avro_reader_t>, ReaderFree> reader(
        avro_reader_memory(nullptr, 0));
    if (!reader) return internal_error("avro-c cannot create a memory reader");
    for (Block& block : zstd_blocks) {
      avro_reader_memory_set_source(reader.get(), block.data.data(),
                                    static_cast<int64_t>(block.data.size()));
      for (int64_t i = 0; i < block.count; ++i) {
        avro_value_reset(&value);
        if (avro_value_read(reader.get(), &value) != 0)
          return data_error("avro-c cannot decode record " + std::to_string(decoded));
        ++decoded;
        DXHUB_RETURN_IF_ERROR(on_record(&value));
      }
    }
  } else {
    // avro-c reads FILE*s only; fmemopen in read mode never writes the buffer.
    std::unique_ptr<FILE, FileCloser> fp(
        fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb"));
    if (!fp) return internal_error(std::string("fmemopen failed: ") + std::strerror(errno));
    avro_file_reader_t raw_reader = nullptr;
    if (avro_file_reader_fp(fp.get(), "<memory>", 0, &raw_reader) != 0 || raw_reader == nullptr)
      return data_error("avro-c's file reader refuses the container header");
    std::unique_ptr<std::remove_pointer_t<avro_file_reader_t>, FileReaderCloser> reader(raw_reader);
    for (;;) {
      avro_value_reset(&value);
      int rc = avro_file_reader_read_value(reader.get(), &value);
      if (rc == EOF) break;
      if (rc != 0) return data_error("avro-c cannot decode record " + std::to_string(decoded));
      ++decoded;
      DXHUB_RETURN_IF_ERROR(on_record(&value));
      if (decoded > file.record_count) break;
    }
  }
  if (decoded != file.record_count)
    return data_error("avro-c decoded " + std::to_string(decoded) + " records, blocks declare " +
                      std::to_string(file.record_count));
  return file;
}

}  // namespace dxhub::avro
