// read_ocf_with_avro_c / AvroCOcfReader: the record slices it hands on, the
// on_checked hook, and reuse of one reader across files.
#include "core/avro/avro_c_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"

namespace dxhub::avro {
namespace {

const char* kSchema = R"({"type":"record","name":"Row","namespace":"t","fields":[
  {"name":"id","type":"string"},
  {"name":"n","type":"long"},
  {"name":"tags","type":{"type":"array","items":"string"}},
  {"name":"note","type":["null","string"]},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}}]})";

const char* kOtherSchema = R"({"type":"record","name":"Other","fields":[
  {"name":"x","type":"int"}, {"name":"y","type":"double"}]})";

void set_text(avro_value_t* v, const std::string& text) {
  ASSERT_EQ(avro_value_set_string_len(v, text.c_str(), text.size() + 1), 0);  // len includes the NUL
}

// Record i varies in length (tags, note) so slices differ in size.
void fill_row(avro_value_t* record, int i) {
  avro_value_reset(record);
  avro_value_t field, item, branch;
  ASSERT_EQ(avro_value_get_by_index(record, 0, &field, nullptr), 0);
  set_text(&field, "行-" + std::to_string(i));
  ASSERT_EQ(avro_value_get_by_index(record, 1, &field, nullptr), 0);
  ASSERT_EQ(avro_value_set_long(&field, int64_t{i} * 1000003 - 500), 0);
  ASSERT_EQ(avro_value_get_by_index(record, 2, &field, nullptr), 0);
  for (int t = 0; t < i % 4; ++t) {
    ASSERT_EQ(avro_value_append(&field, &item, nullptr), 0);
    set_text(&item, std::string(static_cast<size_t>(t + 1), 'x'));
  }
  ASSERT_EQ(avro_value_get_by_index(record, 3, &field, nullptr), 0);
  if (i % 3 == 0) {
    ASSERT_EQ(avro_value_set_branch(&field, 0, &branch), 0);
    ASSERT_EQ(avro_value_set_null(&branch), 0);
  } else {
    ASSERT_EQ(avro_value_set_branch(&field, 1, &branch), 0);
    set_text(&branch, "备注 " + std::string(static_cast<size_t>(i % 7), 'y'));
  }
  ASSERT_EQ(avro_value_get_by_index(record, 4, &field, nullptr), 0);
  ASSERT_EQ(avro_value_set_enum(&field, i % 3), 0);
}

// avro-c's own encoding of a decoded value.
std::string encoding_of(avro_value_t* value) {
  size_t size = 0;
  EXPECT_EQ(avro_value_sizeof(value, &size), 0);
  std::string bytes(size, '\0');
  AvroWriterPtr writer(avro_writer_memory(bytes.data(), static_cast<int64_t>(size)));
  EXPECT_EQ(avro_value_write(writer.get(), value), 0);
  return bytes;
}

// A file of `count` rows in small blocks, plus each row's encoding.
std::string write_rows(Codec codec, int count, std::vector<std::string>* encodings = nullptr) {
  auto schema = Schema::from_json(kSchema);
  EXPECT_TRUE(schema.has_value());
  auto value = schema->new_value();
  EXPECT_TRUE(value.has_value());
  OcfWriter writer(*schema, codec, 300);
  EXPECT_TRUE(writer.begin({}).is_ok());
  for (int i = 0; i < count; ++i) {
    fill_row(value->get(), i);
    if (encodings) encodings->push_back(encoding_of(value->get()));
    EXPECT_TRUE(writer.append(value->get()).is_ok());
  }
  std::string file;
  EXPECT_TRUE(writer.finish(file).is_ok());
  return file;
}

class AvroCReaderTest : public ::testing::TestWithParam<Codec> {};

TEST_P(AvroCReaderTest, HandsOnEachRecordsExactBytesAfterTheFileIsChecked) {
  constexpr int kRecords = 200;
  std::vector<std::string> expected;
  const std::string file = write_rows(GetParam(), kRecords, &expected);

  int checked_calls = 0;
  std::vector<std::string_view> views;
  OcfReadCallbacks callbacks;
  callbacks.on_checked = [&](const DecodedFile& header, avro_schema_t schema) {
    ++checked_calls;
    EXPECT_TRUE(views.empty()) << "on_checked must come before any record";
    EXPECT_EQ(header.record_count, kRecords);
    EXPECT_GT(header.block_count, 5);
    EXPECT_EQ(header.codec, codec_name(GetParam()));
    EXPECT_EQ(avro_typeof(schema), AVRO_RECORD);
    return Status::ok();
  };
  callbacks.on_record = [&](const DecodedRecord& record) {
    EXPECT_EQ(record.index, static_cast<int64_t>(views.size()));
    // The slice is what avro-c decoded: re-encoding the value gives it back.
    EXPECT_EQ(std::string(record.bytes), encoding_of(record.value)) << "record " << record.index;
    views.push_back(record.bytes);
    if (record.index + 1 == kRecords) {
      // Earlier slices are still valid while the read is running.
      for (size_t i = 0; i < views.size(); ++i) EXPECT_EQ(views[i], expected[i]) << "record " << i;
    }
    return Status::ok();
  };
  auto decoded = read_ocf_with_avro_c(file, callbacks);
  ASSERT_TRUE(decoded.has_value()) << decoded.status().to_string();
  EXPECT_EQ(checked_calls, 1);
  EXPECT_EQ(views.size(), static_cast<size_t>(kRecords));
}

TEST_P(AvroCReaderTest, OnCheckedErrorStopsBeforeAnyRecord) {
  const std::string file = write_rows(GetParam(), 20);
  int records = 0;
  OcfReadCallbacks callbacks;
  callbacks.on_checked = [](const DecodedFile&, avro_schema_t) { return rejected_error("not registered"); };
  callbacks.on_record = [&](const DecodedRecord&) {
    ++records;
    return Status::ok();
  };
  auto decoded = read_ocf_with_avro_c(file, callbacks);
  EXPECT_EQ(decoded.status().code(), StatusCode::kRejected);
  EXPECT_EQ(records, 0);
}

TEST_P(AvroCReaderTest, CorruptFileNeverReachesOnChecked) {
  std::string file = write_rows(GetParam(), 50);
  file.resize(file.size() - 20);  // cuts into the last block's sync marker
  bool checked = false;
  OcfReadCallbacks callbacks;
  callbacks.on_checked = [&](const DecodedFile&, avro_schema_t) {
    checked = true;
    return Status::ok();
  };
  EXPECT_EQ(read_ocf_with_avro_c(file, callbacks).status().code(), StatusCode::kData);
  EXPECT_FALSE(checked);
}

INSTANTIATE_TEST_SUITE_P(Codecs, AvroCReaderTest,
                         ::testing::Values(Codec::kNull, Codec::kDeflate, Codec::kSnappy, Codec::kZstandard),
                         [](const auto& param_info) { return std::string(codec_name(param_info.param)); });

TEST(AvroCOcfReader, OneReaderReadsFilesOfOtherSchemasCodecsAndSizesInTurn) {
  std::vector<std::string> big_expected;
  const std::string big = write_rows(Codec::kSnappy, 300, &big_expected);
  const std::string small = write_rows(Codec::kNull, 3);
  auto other_schema = Schema::from_json(kOtherSchema);
  ASSERT_TRUE(other_schema.has_value());
  auto other_value = other_schema->new_value();
  ASSERT_TRUE(other_value.has_value());
  OcfWriter other_writer(*other_schema, Codec::kZstandard);
  ASSERT_TRUE(other_writer.begin({}).is_ok());
  avro_value_t field;
  ASSERT_EQ(avro_value_get_by_index(other_value->get(), 0, &field, nullptr), 0);
  ASSERT_EQ(avro_value_set_int(&field, 7), 0);
  ASSERT_EQ(avro_value_get_by_index(other_value->get(), 1, &field, nullptr), 0);
  ASSERT_EQ(avro_value_set_double(&field, 2.5), 0);
  ASSERT_TRUE(other_writer.append(other_value->get()).is_ok());
  std::string other;
  ASSERT_TRUE(other_writer.finish(other).is_ok());
  std::string corrupt = big;
  corrupt[corrupt.size() / 2] ^= 0x5a;

  AvroCOcfReader reader;
  auto read_all = [&](const std::string& file, std::vector<std::string>& out) {
    out.clear();
    OcfReadCallbacks callbacks;
    callbacks.on_record = [&](const DecodedRecord& record) {
      out.emplace_back(record.bytes);
      return Status::ok();
    };
    return reader.read(file, callbacks);
  };
  std::vector<std::string> seen;
  ASSERT_TRUE(read_all(big, seen).has_value());
  EXPECT_EQ(seen, big_expected);
  ASSERT_TRUE(read_all(small, seen).has_value());
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], big_expected[0]);  // the first rows are the same rows
  auto other_read = read_all(other, seen);
  ASSERT_TRUE(other_read.has_value()) << other_read.status().to_string();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::string("\x0e", 1) + std::string("\0\0\0\0\0\0\x04\x40", 8));  // 7, 2.5
  EXPECT_FALSE(read_all(corrupt, seen).has_value());
  ASSERT_TRUE(read_all(big, seen).has_value());
  EXPECT_EQ(seen, big_expected);
}

}  // namespace
}  // namespace dxhub::avro
