// A post's body becomes staged records, or reasons -- never half of it.
#include "core/ingest/post_decoder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/avro/ocf_writer.h"
#include "core/engine/staged_batches.h"
#include "tests/ingest/ingest_records.h"

namespace dxhub {
namespace {

using nlohmann::json;

class PostDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = PostDecoder::load(testing::household_schema_path(), testing::household_mapping_path());
    ASSERT_TRUE(loaded) << loaded.status().to_string();
    decoder_ = std::move(*loaded);
  }

  Status decode(PostFormat format, const std::string& body, DecodedPost& out, int64_t max_records = 100) {
    return decoder_->decode(format, body, max_records, out);
  }

  static int64_t framed_count(const std::string& records) {
    int64_t n = 0;
    EXPECT_TRUE(for_each_staged_record(records, [&](std::string_view) {
                  ++n;
                  return Status::ok();
                }).is_ok());
    return n;
  }

  std::unique_ptr<PostDecoder> decoder_;
};

TEST_F(PostDecoderTest, JsonRecordsMapLikePolledRows) {
  DecodedPost out;
  json body = {{"records", {testing::person(1), testing::person(2), testing::person(3)}}};
  body["records"][1]["qrrq"] = nullptr;             // nullable
  body["records"][2]["unused_column"] = "ignored";  // keys the mapping does not use
  ASSERT_TRUE(decode(PostFormat::kJson, body.dump(), out).is_ok());
  EXPECT_TRUE(out.errors.empty());
  EXPECT_EQ(out.record_count, 3);
  EXPECT_EQ(framed_count(out.records), 3);
  // The bare array is the same post.
  DecodedPost bare;
  ASSERT_TRUE(decode(PostFormat::kJson, body["records"].dump(), bare).is_ok());
  EXPECT_EQ(bare.records, out.records);
}

TEST_F(PostDecoderTest, EveryBadRecordIsNamedByIndexAndNothingIsKeptOfThePost) {
  DecodedPost out;
  json records = json::array();
  for (int i = 0; i < 6; ++i) records.push_back(testing::person(i));
  records[1]["csrq"] = "1990-13-45";       // not a date
  records[3]["xb"] = "9";                  // no such code
  records[4]["hjdz"] = json::object();     // nested
  records[5] = "not an object";
  ASSERT_TRUE(decode(PostFormat::kJson, json{{"records", records}}.dump(), out).is_ok());
  ASSERT_EQ(out.invalid, 4);
  ASSERT_EQ(out.errors.size(), 4u);
  EXPECT_EQ(out.errors[0].index, 1);
  EXPECT_NE(out.errors[0].reason.find("birth_date"), std::string::npos) << out.errors[0].reason;
  EXPECT_EQ(out.errors[1].index, 3);
  EXPECT_NE(out.errors[1].reason.find("gender"), std::string::npos) << out.errors[1].reason;
  EXPECT_EQ(out.errors[2].index, 4);
  EXPECT_NE(out.errors[2].reason.find("column hjdz"), std::string::npos);
  EXPECT_EQ(out.errors[3].index, 5);
  // Reasons name fields, never the values (they are logged as counts only, but still).
  for (const auto& e : out.errors) EXPECT_EQ(e.reason.find("1990-13-45"), std::string::npos);
}

TEST_F(PostDecoderTest, BodiesOfTheWrongShapeAreRefusedWhole) {
  for (const std::string& body : {std::string("{\"records\": [1, 2"), std::string("{\"rows\": []}"),
                                 std::string("42"), std::string("\xff\xfe{}"), std::string()}) {
    DecodedPost out;
    Status s = decode(PostFormat::kJson, body, out);
    EXPECT_EQ(s.code(), StatusCode::kData) << body;
  }
  DecodedPost out;
  json records = json::array();
  for (int i = 0; i < 5; ++i) records.push_back(testing::person(i));
  Status many = decode(PostFormat::kJson, records.dump(), out, 4);
  EXPECT_EQ(many.code(), StatusCode::kData);
  EXPECT_NE(many.message().find("max_records_per_post"), std::string::npos);
}

TEST_F(PostDecoderTest, AnOcfInTheResourcesSchemaIsTakenAsItIs) {
  // The records as the mapping encodes them, in a container file.
  DecodedPost mapped;
  json records = {testing::person(7), testing::person(8)};
  ASSERT_TRUE(decode(PostFormat::kJson, records.dump(), mapped).is_ok());
  avro::OcfWriter writer(decoder_->schema(), avro::Codec::kDeflate);
  ASSERT_TRUE(writer.begin({}).is_ok());
  ASSERT_TRUE(for_each_staged_record(mapped.records, [&](std::string_view r) { return writer.append_encoded(r); })
                  .is_ok());
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());
  DecodedPost out;
  ASSERT_TRUE(decode(PostFormat::kAvroOcf, file, out).is_ok());
  EXPECT_EQ(out.record_count, 2);
  EXPECT_EQ(out.records, mapped.records);  // byte for byte what the JSON post would stage

  // Cut short, or flipped bytes: refused whole.
  DecodedPost cut;
  EXPECT_EQ(decode(PostFormat::kAvroOcf, file.substr(0, file.size() - 7), cut).code(), StatusCode::kData);
  EXPECT_EQ(cut.record_count, 0);
  std::string flipped = file;
  flipped[flipped.size() - 20] ^= 0x5a;
  DecodedPost bad;
  EXPECT_EQ(decode(PostFormat::kAvroOcf, flipped, bad).code(), StatusCode::kData);
  EXPECT_EQ(decode(PostFormat::kAvroOcf, "Obj\x01 not really", bad).code(), StatusCode::kData);
}

TEST_F(PostDecoderTest, AnOcfOfAnotherSchemaIsRefused) {
  auto other = avro::Schema::from_json(
      R"({"type":"record","name":"Other","fields":[{"name":"id_card","type":"string"}]})");
  ASSERT_TRUE(other);
  avro::OcfWriter writer(*other, avro::Codec::kNull);
  ASSERT_TRUE(writer.begin({}).is_ok());
  ASSERT_TRUE(writer.append_encoded(std::string("\x02x", 2)).is_ok());
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());
  DecodedPost out;
  Status s = decode(PostFormat::kAvroOcf, file, out);
  EXPECT_EQ(s.code(), StatusCode::kData);
  EXPECT_NE(s.message().find("fingerprint"), std::string::npos) << s.message();
}

TEST(PostFormat, ContentTypes) {
  EXPECT_EQ(post_format_for("application/json"), PostFormat::kJson);
  EXPECT_EQ(post_format_for("Application/JSON; charset=utf-8"), PostFormat::kJson);
  EXPECT_EQ(post_format_for("avro/binary"), PostFormat::kAvroOcf);
  EXPECT_EQ(post_format_for("application/vnd.apache.avro+binary"), PostFormat::kAvroOcf);
  EXPECT_FALSE(post_format_for("text/plain"));
  EXPECT_FALSE(post_format_for(""));
}

}  // namespace
}  // namespace dxhub
