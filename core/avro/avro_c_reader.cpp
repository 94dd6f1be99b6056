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

// The writer schema flattened once per file, so the per-record walk needs
// no avro-c accessor calls (record fields are looked up through hash
// tables there). Named types are compiled once; links point back at them,
// so recursive schemas compile too.
class CompiledSchema {
 public:
  explicit CompiledSchema(avro_schema_t schema) { root_ = compile(schema); }

  // Walks one datum, checking every length, index and count against the
  // bytes left: what avro-c would otherwise trust blindly.
  bool check(Cursor& in) const { return check(root_, in, 0); }

 private:
  struct Node {
    avro_type_t type = AVRO_NULL;
    int64_t limit = 0;       // fixed: size in bytes; enum: number of symbols
    size_t first_child = 0;  // into children_: fields, branches, or the item type
    size_t child_count = 0;
  };

  size_t compile(avro_schema_t schema) {
    while (avro_typeof(schema) == AVRO_LINK) schema = avro_schema_link_target(schema);
    if (auto it = compiled_.find(schema); it != compiled_.end()) return it->second;
    const size_t index = nodes_.size();
    nodes_.push_back({avro_typeof(schema), 0, 0, 0});
    compiled_.emplace(schema, index);
    std::vector<avro_schema_t> parts;
    switch (avro_typeof(schema)) {
      case AVRO_FIXED: nodes_[index].limit = avro_schema_fixed_size(schema); break;
      case AVRO_ENUM: nodes_[index].limit = avro_schema_enum_number_of_symbols(schema); break;
      case AVRO_UNION:
        for (size_t i = 0; i < avro_schema_union_size(schema); ++i)
          parts.push_back(avro_schema_union_branch(schema, static_cast<int>(i)));
        break;
      case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(schema); ++i)
          parts.push_back(avro_schema_record_field_get_by_index(schema, static_cast<int>(i)));
        break;
      case AVRO_ARRAY: parts.push_back(avro_schema_array_items(schema)); break;
      case AVRO_MAP: parts.push_back(avro_schema_map_values(schema)); break;
      default: break;
    }
    // Children first (they may append nodes), then their indexes side by side.
    std::vector<size_t> child_nodes;
    for (avro_schema_t part : parts) child_nodes.push_back(compile(part));
    nodes_[index].first_child = children_.size();
    nodes_[index].child_count = child_nodes.size();
    children_.insert(children_.end(), child_nodes.begin(), child_nodes.end());
    return index;
  }

  bool check(size_t node_index, Cursor& in, int depth) const {
    if (depth > kMaxNesting) return false;
    const Node& node = nodes_[node_index];
    int64_t n = 0;
    std::string_view bytes;
    switch (node.type) {
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
      case AVRO_FIXED: return in.skip(static_cast<size_t>(node.limit));
      case AVRO_ENUM: return in.read_long(n) && n >= 0 && n < node.limit;
      case AVRO_UNION:
        return in.read_long(n) && n >= 0 && static_cast<size_t>(n) < node.child_count &&
               check(children_[node.first_child + static_cast<size_t>(n)], in, depth + 1);
      case AVRO_RECORD:
        for (size_t i = 0; i < node.child_count; ++i)
          if (!check(children_[node.first_child + i], in, depth + 1)) return false;
        return true;
      case AVRO_ARRAY:
      case AVRO_MAP: {
        const bool is_map = node.type == AVRO_MAP;
        const size_t item = children_[node.first_child];
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
            if (!check(item, in, depth + 1)) return false;
          }
        }
      }
      case AVRO_LINK: return false;  // resolved by compile()
    }
    return false;
  }

  std::vector<Node> nodes_;
  std::vector<size_t> children_;
  std::map<avro_schema_t, size_t> compiled_;
  size_t root_ = 0;
};

// What our own parser found: every block decompressed, one after another,
// and where each record ends in that text.
struct CheckedRecords {
  void clear() {
    plain.clear();
    record_ends.clear();
  }
  std::string plain;
  std::vector<size_t> record_ends;  // record i is [ends[i-1] (or 0), ends[i])

  std::string_view record(size_t i) const {
    size_t begin = i == 0 ? 0 : record_ends[i - 1];
    return std::string_view(plain).substr(begin, record_ends[i] - begin);
  }
};

// Parses the header and all blocks; fills `file`, returns the writer schema
// and the records' decompressed bytes.
Status parse_and_check(std::string_view bytes, DecodedFile& file, SchemaPtr& schema,
                       Codec& codec, CheckedRecords& records, BlockCodec& block_codec,
                       std::string& unpacked_block) {
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

  const CompiledSchema checker(schema.get());
  while (!in.at_end()) {
    auto block_error = [&](const std::string& what) {
      return data_error("block " + std::to_string(file.block_count) + ": " + what);
    };
    int64_t count = 0, size = 0;
    std::string_view data, block_sync;
    if (!in.read_long(count) || !in.read_long(size)) return block_error("truncated block header");
    if (count <= 0 || count > INT32_MAX) return block_error("invalid object count");
    if (size < 0 || !in.read_raw(static_cast<size_t>(size), data))
      return block_error("block size exceeds the remaining bytes (truncated file?)");
    if (!in.read_raw(kSyncBytes, block_sync)) return block_error("truncated sync marker");
    if (block_sync != sync) return block_error("sync marker does not match the header");
    std::string_view plain = data;
    if (codec != Codec::kNull) {
      Status unpacked = block_codec.decompress(codec, data, unpacked_block);
      if (!unpacked.is_ok()) return block_error(unpacked.message());
      plain = unpacked_block;
    }
    const size_t block_begin = records.plain.size();
    records.plain.append(plain);
    Cursor cursor(plain);
    for (int64_t i = 0; i < count; ++i) {
      if (!checker.check(cursor))
        return block_error("record " + std::to_string(i) + " is not a valid encoding of the schema");
      records.record_ends.push_back(block_begin + plain.size() - cursor.remaining());
    }
    if (!cursor.at_end()) return block_error("bytes left over after the last record");
    file.record_count += count;
    ++file.block_count;
  }
  return Status::ok();
}

}  // namespace

struct AvroCOcfReader::Buffers {
  CheckedRecords checked;
  BlockCodec block_codec;
  std::string unpacked_block;
};

AvroCOcfReader::AvroCOcfReader() : buffers_(std::make_unique<Buffers>()) {}
AvroCOcfReader::~AvroCOcfReader() = default;
AvroCOcfReader::AvroCOcfReader(AvroCOcfReader&&) noexcept = default;
AvroCOcfReader& AvroCOcfReader::operator=(AvroCOcfReader&&) noexcept = default;

Expected<DecodedFile> AvroCOcfReader::read(std::string_view bytes, const OcfReadCallbacks& callbacks) {
  DecodedFile file;
  SchemaPtr schema;
  Codec codec = Codec::kNull;
  CheckedRecords& checked = buffers_->checked;
  checked.clear();
  DXHUB_RETURN_IF_ERROR(parse_and_check(bytes, file, schema, codec, checked, buffers_->block_codec,
                                        buffers_->unpacked_block));
  if (callbacks.on_checked) DXHUB_RETURN_IF_ERROR(callbacks.on_checked(file, schema.get()));

  ValueIfacePtr iface(avro_generic_class_from_schema(schema.get()));
  if (!iface) return internal_error("avro-c cannot build a value class for the header schema");
  avro_value_t value;
  if (avro_generic_value_new(iface.get(), &value) != 0)
    return internal_error("avro-c cannot allocate a value for the header schema");
  struct ValueDecref {
    avro_value_t* v;
    ~ValueDecref() { avro_value_decref(v); }
  } value_guard{&value};

  DecodedRecord record;
  record.value = &value;
  auto hand_on = [&](int64_t index) -> Status {
    record.index = index;
    record.bytes = checked.record(static_cast<size_t>(index));
    return callbacks.on_record ? callbacks.on_record(record) : Status::ok();
  };
  int64_t decoded = 0;
  if (codec == Codec::kZstandard) {
    // The unpacked blocks back to back are the records back to back.
    std::unique_ptr<std::remove_pointer_t<avro_reader_t>, ReaderFree> reader(
        avro_reader_memory(checked.plain.data(), static_cast<int64_t>(checked.plain.size())));
    if (!reader) return internal_error("avro-c cannot create a memory reader");
    for (; decoded < file.record_count; ++decoded) {
      avro_value_reset(&value);
      if (avro_value_read(reader.get(), &value) != 0)
        return data_error("avro-c cannot decode record " + std::to_string(decoded));
      DXHUB_RETURN_IF_ERROR(hand_on(decoded));
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
      if (decoded == file.record_count) {  // more than the blocks declare: refused below
        ++decoded;
        break;
      }
      DXHUB_RETURN_IF_ERROR(hand_on(decoded));
      ++decoded;
    }
  }
  if (decoded != file.record_count)
    return data_error("avro-c decoded " + std::to_string(decoded) + " records, blocks declare " +
                      std::to_string(file.record_count));
  return file;
}

Expected<DecodedFile> read_ocf_with_avro_c(std::string_view bytes, const OcfReadCallbacks& callbacks) {
  AvroCOcfReader reader;
  return reader.read(bytes, callbacks);
}

Expected<DecodedFile> read_ocf_with_avro_c(
    std::string_view bytes, const std::function<Status(avro_value_t*)>& on_record) {
  OcfReadCallbacks callbacks;
  callbacks.on_record = [&](const DecodedRecord& record) { return on_record(record.value); };
  return read_ocf_with_avro_c(bytes, callbacks);
}

}  // namespace dxhub::avro
