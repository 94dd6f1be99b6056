// Block codecs of Avro Object Container Files, as the Avro spec defines them:
// deflate is raw RFC 1951 (no zlib header), snappy is the compressed block
// followed by the big-endian CRC32 of the uncompressed bytes, zstandard is
// one zstd frame.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::avro {

enum class Codec { kNull, kDeflate, kSnappy, kZstandard };

// "null", "deflate", "snappy", "zstandard"; anything else is kConfig.
Expected<Codec> parse_codec(std::string_view name);
const char* codec_name(Codec codec);

// Holds the zlib and zstd contexts so that each block reuses them instead of
// setting up a new context. Not thread-safe: one per thread or writer.
class BlockCodec {
 public:
  BlockCodec();
  ~BlockCodec();
  BlockCodec(BlockCodec&&) noexcept;
  BlockCodec& operator=(BlockCodec&&) noexcept;
  BlockCodec(const BlockCodec&) = delete;
  BlockCodec& operator=(const BlockCodec&) = delete;

  // Both REPLACE the contents of `out` (its capacity is reused).
  // Compression failures are kInternal; undecodable input is kData.
  Status compress(Codec codec, std::string_view in, std::string& out);
  Status decompress(Codec codec, std::string_view in, std::string& out);

  // Decompressed blocks larger than this are refused as kData (guards
  // against corrupt sizes and decompression bombs).
  static constexpr size_t kMaxBlockBytes = size_t{1} << 30;

 private:
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
};

// Convenience forms using one BlockCodec per thread. Both REPLACE `out`.
Status compress_block(Codec codec, std::string_view in, std::string& out);
Status decompress_block(Codec codec, std::string_view in, std::string& out);

}  // namespace dxhub::avro
