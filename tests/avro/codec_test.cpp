#include "core/avro/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace dxhub::avro {
namespace {

std::string sample_block(size_t n) {
  std::string s;
  const std::string unit = "湖北省大冶市东岳路街道 record-";
  for (size_t i = 0; s.size() < n; ++i) s += unit + std::to_string(i * 7919 % 1000);
  s.resize(n);
  return s;
}

class CodecRoundTrip : public ::testing::TestWithParam<Codec> {};

TEST_P(CodecRoundTrip, RestoresTheInput) {
  BlockCodec codec;
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{300000}}) {
    const std::string in = sample_block(n);
    std::string packed = "stale", unpacked = "stale";
    ASSERT_TRUE(codec.compress(GetParam(), in, packed).is_ok());
    ASSERT_TRUE(codec.decompress(GetParam(), packed, unpacked).is_ok());
    EXPECT_EQ(unpacked, in) << "size " << n;
    if (GetParam() != Codec::kNull && n == 300000) {
      EXPECT_LT(packed.size(), in.size() / 2);
    }
  }
  // The thread-local convenience functions give the same bytes back.
  const std::string in = sample_block(5000);
  std::string packed, unpacked;
  ASSERT_TRUE(compress_block(GetParam(), in, packed).is_ok());
  ASSERT_TRUE(decompress_block(GetParam(), packed, unpacked).is_ok());
  EXPECT_EQ(unpacked, in);
}

TEST_P(CodecRoundTrip, TruncatedInputIsDataErrorWhenFramed) {
  const std::string in = sample_block(50000);
  std::string packed, out;
  ASSERT_TRUE(compress_block(GetParam(), in, packed).is_ok());
  packed.resize(packed.size() / 2);
  Status status = decompress_block(GetParam(), packed, out);
  if (GetParam() == Codec::kNull) {
    // null has no framing: the bytes pass through as they are.
    EXPECT_TRUE(status.is_ok());
    EXPECT_EQ(out, in.substr(0, in.size() / 2));
  } else {
    EXPECT_EQ(status.code(), StatusCode::kData) << status.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecRoundTrip,
                         ::testing::Values(Codec::kNull, Codec::kDeflate, Codec::kSnappy,
                                           Codec::kZstandard),
                         [](const auto& param_info) { return std::string(codec_name(param_info.param)); });

TEST(Codec, NamesRoundTripAndUnknownIsConfig) {
  for (Codec c : {Codec::kNull, Codec::kDeflate, Codec::kSnappy, Codec::kZstandard}) {
    auto parsed = parse_codec(codec_name(c));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_EQ(parse_codec("lzma").status().code(), StatusCode::kConfig);
  EXPECT_EQ(parse_codec("xz").status().code(), StatusCode::kConfig);
  EXPECT_EQ(parse_codec("").status().code(), StatusCode::kConfig);
}

TEST(Codec, DeflateIsRawWithoutZlibHeader) {
  std::string packed;
  ASSERT_TRUE(compress_block(Codec::kDeflate, sample_block(1000), packed).is_ok());
  ASSERT_GE(packed.size(), 2u);
  // A zlib stream starts with CMF 0x78 and (CMF*256+FLG) % 31 == 0.
  const auto cmf = static_cast<unsigned char>(packed[0]);
  const auto flg = static_cast<unsigned char>(packed[1]);
  EXPECT_FALSE(cmf == 0x78 && (cmf * 256 + flg) % 31 == 0);
}

TEST(Codec, SnappyCarriesBigEndianCrcOfUncompressedData) {
  const std::string in = "123456789";  // CRC-32 check value 0xCBF43926
  std::string packed;
  ASSERT_TRUE(compress_block(Codec::kSnappy, in, packed).is_ok());
  ASSERT_GT(packed.size(), 4u);
  EXPECT_EQ(packed.substr(packed.size() - 4), std::string("\xCB\xF4\x39\x26", 4));
}

TEST(Codec, SnappyCrcMismatchIsDetected) {
  const std::string in = sample_block(4000);
  std::string packed, out;
  ASSERT_TRUE(compress_block(Codec::kSnappy, in, packed).is_ok());
  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 1] ^= 0x01;
  Status status = decompress_block(Codec::kSnappy, bad_crc, out);
  EXPECT_EQ(status.code(), StatusCode::kData);
  EXPECT_NE(status.message().find("CRC"), std::string::npos) << status.message();

  // A flipped literal byte in the payload still decompresses, but to other
  // data: the CRC must catch it. The first literal follows the varint
  // length and the tag byte.
  std::string bad_data = packed;
  bad_data[4] ^= 0x20;
  status = decompress_block(Codec::kSnappy, bad_data, out);
  EXPECT_EQ(status.code(), StatusCode::kData) << status.to_string();
}

TEST(Codec, GarbageIsDataErrorNotCrash) {
  const std::string garbage = "\x01\x02\x03\x04\x05garbage-not-compressed\xff\xfe";
  std::string out;
  EXPECT_EQ(decompress_block(Codec::kDeflate, garbage, out).code(), StatusCode::kData);
  EXPECT_EQ(decompress_block(Codec::kSnappy, garbage, out).code(), StatusCode::kData);
  EXPECT_EQ(decompress_block(Codec::kZstandard, garbage, out).code(), StatusCode::kData);
  EXPECT_EQ(decompress_block(Codec::kSnappy, "ab", out).code(), StatusCode::kData);
  EXPECT_EQ(decompress_block(Codec::kZstandard, "", out).code(), StatusCode::kData);
}

}  // namespace
}  // namespace dxhub::avro
