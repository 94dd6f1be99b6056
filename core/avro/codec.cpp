#include "core/avro/codec.h"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>

namespace dxhub::avro {
namespace {

constexpr int kZstdLevel = 3;  // zstd's default: fast, good ratio
constexpr size_t kSnappyCrcBytes = 4;

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// A z_stream initialised once and reset per block.
class ZStream {
 public:
  enum class Kind { kDeflate, kInflate };
  explicit ZStream(Kind kind) : kind_(kind) {}
  ~ZStream() {
    if (!initialised_) return;
    if (kind_ == Kind::kDeflate) deflateEnd(&stream_);
    else inflateEnd(&stream_);
  }
  ZStream(const ZStream&) = delete;
  ZStream& operator=(const ZStream&) = delete;

  // Returns the stream ready for a new block, or nullptr when zlib fails.
  z_stream* ready() {
    if (initialised_) {
      int rc = kind_ == Kind::kDeflate ? deflateReset(&stream_) : inflateReset(&stream_);
      return rc == Z_OK ? &stream_ : nullptr;
    }
    stream_ = {};
    // Negative window bits: raw deflate, as the Avro spec requires.
    int rc = kind_ == Kind::kDeflate
                 ? deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                                Z_DEFAULT_STRATEGY)
                 : inflateInit2(&stream_, -15);
    if (rc != Z_OK) return nullptr;
    initialised_ = true;
    return &stream_;
  }

 private:
  Kind kind_;
  z_stream stream_{};
  bool initialised_ = false;
};

void append_be32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

uint32_t read_be32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

uint32_t crc32_of(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large inputs in pieces.
  while (!data.empty()) {
    uInt piece = static_cast<uInt>(std::min<size_t>(data.size(), UINT_MAX));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), piece);
    data.remove_prefix(piece);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

struct BlockCodec::Contexts {
  ZStream deflater{ZStream::Kind::kDeflate};
  ZStream inflater{ZStream::Kind::kInflate};
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> zstd_c{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> zstd_d{ZSTD_createDCtx()};

  Status deflate_block(std::string_view in, std::string& out);
  Status inflate_block(std::string_view in, std::string& out);
  Status zstd_compress(std::string_view in, std::string& out);
  Status zstd_decompress(std::string_view in, std::string& out);
};

Expected<Codec> parse_codec(std::string_view name) {
  if (name == "null") return Codec::kNull;
  if (name == "deflate") return Codec::kDeflate;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "zstandard") return Codec::kZstandard;
  return config_error("unknown Avro codec \"" + std::string(name) +
                      "\" (expected null, deflate, snappy or zstandard)");
}

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kNull: return "null";
    case Codec::kDeflate: return "deflate";
    case Codec::kSnappy: return "snappy";
    case Codec::kZstandard: return "zstandard";
  }
  return "unknown";
}

BlockCodec::BlockCodec() : contexts_(std::make_unique<Contexts>()) {}
BlockCodec::~BlockCodec() = default;
BlockCodec::BlockCodec(BlockCodec&&) noexcept = default;
BlockCodec& BlockCodec::operator=(BlockCodec&&) noexcept = default;

Status BlockCodec::Contexts::deflate_block(std::string_view in, std::string& out) {
  z_stream* zs = deflater.ready();
  if (zs == nullptr) return internal_error("zlib deflate initialisation failed");
  if (in.size() > UINT_MAX) return internal_error("deflate block larger than 4 GiB");
  out.resize(deflateBound(zs, static_cast<uLong>(in.size())));
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs->avail_in = static_cast<uInt>(in.size());
  zs->next_out = reinterpret_cast<Bytef*>(out.data());
  zs->avail_out = static_cast<uInt>(out.size());
  int rc = deflate(zs, Z_FINISH);
  if (rc != Z_STREAM_END) return internal_error("zlib deflate failed (code " + std::to_string(rc) + ")");
  out.resize(zs->total_out);
  return Status::ok();
}

Status BlockCodec::Contexts::inflate_block(std::string_view in, std::string& out) {
  z_stream* zs = inflater.ready();
  if (zs == nullptr) return internal_error("zlib inflate initialisation failed");
  if (in.size() > UINT_MAX) return data_error("deflate block larger than 4 GiB");
  out.resize(std::max<size_t>(in.size() * 4, 1024));
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs->avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  for (;;) {
    size_t room = std::min<size_t>(out.size() - produced, UINT_MAX);
    zs->next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs->avail_out = static_cast<uInt>(room);
    int rc = inflate(zs, Z_NO_FLUSH);
    produced += room - zs->avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs->avail_in == 0)
      return data_error("deflate block is truncated");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return data_error("deflate block is corrupt (zlib code " + std::to_string(rc) + ")");
    if (zs->avail_out == 0) {
      if (out.size() >= kMaxBlockBytes) return data_error("deflate block inflates beyond 1 GiB");
      out.resize(std::min(out.size() * 2, kMaxBlockBytes));
    }
  }
  if (zs->avail_in != 0) return data_error("deflate block has trailing bytes");
  out.resize(produced);
  return Status::ok();
}

Status BlockCodec::Contexts::zstd_compress(std::string_view in, std::string& out) {
  if (!zstd_c) return internal_error("zstd context allocation failed");
  out.resize(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compressCCtx(zstd_c.get(), out.data(), out.size(), in.data(), in.size(),
                               kZstdLevel);
  if (ZSTD_isError(n)) return internal_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return Status::ok();
}

Status BlockCodec::Contexts::zstd_decompress(std::string_view in, std::string& out) {
  if (!zstd_d) return internal_error("zstd context allocation failed");
  ZSTD_DCtx_reset(zstd_d.get(), ZSTD_reset_session_only);
  // Streaming, so frames without a declared content size work too.
  out.resize(std::max<size_t>(ZSTD_DStreamOutSize(), in.size() * 4));
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t produced = 0;
  size_t last = 1;
  while (input.pos < input.size || last != 0) {
    if (produced == out.size()) {
      if (out.size() >= kMaxBlockBytes) return data_error("zstandard block expands beyond 1 GiB");
      out.resize(std::min(out.size() * 2, kMaxBlockBytes));
    }
    ZSTD_outBuffer output{out.data(), out.size(), produced};
    size_t in_before = input.pos;
    last = ZSTD_decompressStream(zstd_d.get(), &output, &input);
    if (ZSTD_isError(last))
      return data_error(std::string("zstandard block is corrupt: ") + ZSTD_getErrorName(last));
    bool progressed = input.pos != in_before || output.pos != produced;
    produced = output.pos;
    if (!progressed && input.pos == input.size && produced < out.size())
      return data_error("zstandard block is truncated");
  }
  out.resize(produced);
  return Status::ok();
}

Status BlockCodec::compress(Codec codec, std::string_view in, std::string& out) {
  switch (codec) {
    case Codec::kNull:
      out.assign(in.data(), in.size());
      return Status::ok();
    case Codec::kDeflate:
      return contexts_->deflate_block(in, out);
    case Codec::kSnappy: {
      size_t length = snappy_max_compressed_length(in.size());
      out.resize(length + kSnappyCrcBytes);
      if (snappy_compress(in.data(), in.size(), out.data(), &length) != SNAPPY_OK)
        return internal_error("snappy compression failed");
      out.resize(length);
      append_be32(out, crc32_of(in));
      return Status::ok();
    }
    case Codec::kZstandard:
      return contexts_->zstd_compress(in, out);
  }
  return internal_error("unknown codec");
}

Status BlockCodec::decompress(Codec codec, std::string_view in, std::string& out) {
  switch (codec) {
    case Codec::kNull:
      out.assign(in.data(), in.size());
      return Status::ok();
    case Codec::kDeflate:
      return contexts_->inflate_block(in, out);
    case Codec::kSnappy: {
      if (in.size() < kSnappyCrcBytes) return data_error("snappy block shorter than its CRC");
      std::string_view body = in.substr(0, in.size() - kSnappyCrcBytes);
      size_t length = 0;
      if (snappy_uncompressed_length(body.data(), body.size(), &length) != SNAPPY_OK ||
          snappy_validate_compressed_buffer(body.data(), body.size()) != SNAPPY_OK)
        return data_error("snappy block is corrupt");
      if (length > kMaxBlockBytes) return data_error("snappy block expands beyond 1 GiB");
      out.resize(length);
      if (snappy_uncompress(body.data(), body.size(), out.data(), &length) != SNAPPY_OK)
        return data_error("snappy block is corrupt");
      out.resize(length);
      if (crc32_of(out) != read_be32(in.data() + body.size()))
        return data_error("snappy block fails its CRC32 check");
      return Status::ok();
    }
    case Codec::kZstandard:
      return contexts_->zstd_decompress(in, out);
  }
  return internal_error("unknown codec");
}

namespace {
BlockCodec& thread_codec() {
  thread_local BlockCodec codec;
  return codec;
}
}  // namespace

Status compress_block(Codec codec, std::string_view in, std::string& out) {
  return thread_codec().compress(codec, in, out);
}

Status decompress_block(Codec codec, std::string_view in, std::string& out) {
  return thread_codec().decompress(codec, in, out);
}

}  // namespace dxhub::avro
