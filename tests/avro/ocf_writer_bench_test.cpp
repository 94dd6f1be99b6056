// Encode-rate measurement, disabled by default (it takes seconds):
//   avro_test --gtest_also_run_disabled_tests --gtest_filter='*EncodeRate*'
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"

namespace dxhub::avro {
namespace {

const char* kThirteenFields = R"({"type":"record","name":"Registry","namespace":"bench","fields":[
  {"name":"id_card","type":"string"}, {"name":"name","type":"string"},
  {"name":"address","type":"string"}, {"name":"village_code","type":"string"},
  {"name":"ethnicity","type":"string"},
  {"name":"birth_date","type":{"type":"int","logicalType":"date"}},
  {"name":"updated_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"registered_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"gender","type":{"type":"enum","name":"Gender","symbols":["MALE","FEMALE","UNKNOWN"]}},
  {"name":"phone","type":["null","string"]}, {"name":"household_size","type":"long"},
  {"name":"income","type":"double"}, {"name":"is_head","type":"boolean"}]})";

void set_text(avro_value_t* rec, size_t index, const char* s, size_t len) {
  avro_value_t v;
  avro_value_get_by_index(rec, index, &v, nullptr);
  avro_value_set_string_len(&v, s, len + 1);
}

void fill(avro_value_t* rec, int64_t i, char* id_buf) {
  std::snprintf(id_buf, 19, "42028119%010lld", static_cast<long long>(i));
  set_text(rec, 0, id_buf, 18);
  static const char kName[] = "张三";
  static const char kAddress[] = "湖北省大冶市东岳路街道新冶社区12栋3单元401室";
  static const char kVillage[] = "420281001001";
  static const char kEthnicity[] = "汉族";
  set_text(rec, 1, kName, sizeof kName - 1);
  set_text(rec, 2, kAddress, sizeof kAddress - 1);
  set_text(rec, 3, kVillage, sizeof kVillage - 1);
  set_text(rec, 4, kEthnicity, sizeof kEthnicity - 1);
  avro_value_t v, branch;
  avro_value_get_by_index(rec, 5, &v, nullptr);
  avro_value_set_int(&v, static_cast<int32_t>(i % 30000));
  avro_value_get_by_index(rec, 6, &v, nullptr);
  avro_value_set_long(&v, 1717200000000LL + i);
  avro_value_get_by_index(rec, 7, &v, nullptr);
  avro_value_set_long(&v, 1500000000000LL + i * 1000);
  avro_value_get_by_index(rec, 8, &v, nullptr);
  avro_value_set_enum(&v, static_cast<int>(i % 3));
  avro_value_get_by_index(rec, 9, &v, nullptr);
  avro_value_set_branch(&v, 1, &branch);
  avro_value_set_string_len(&branch, "13800001234", 12);
  avro_value_get_by_index(rec, 10, &v, nullptr);
  avro_value_set_long(&v, i % 7);
  avro_value_get_by_index(rec, 11, &v, nullptr);
  avro_value_set_double(&v, static_cast<double>(i) * 0.5);
  avro_value_get_by_index(rec, 12, &v, nullptr);
  avro_value_set_boolean(&v, i % 2);
}

TEST(OcfWriterBench, DISABLED_EncodeRate) {
  auto schema = Schema::from_json(kThirteenFields);
  ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  constexpr int64_t kRecords = 1'000'000;
  constexpr int64_t kPerFile = 50'000;
  char id_buf[32];

  for (Codec codec : {Codec::kNull, Codec::kSnappy, Codec::kZstandard, Codec::kDeflate}) {
    OcfWriter writer(*schema, codec);
    std::string file;
    size_t total_bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < kRecords; ++i) {
      if (i % kPerFile == 0) {
        ASSERT_TRUE(writer.begin({{"dxhub.batch_id", "b"}}).is_ok());
      }
      fill(value->get(), i, id_buf);
      ASSERT_TRUE(writer.append(value->get()).is_ok());
      if ((i + 1) % kPerFile == 0) {
        ASSERT_TRUE(writer.finish(file).is_ok());
        total_bytes += file.size();
      }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-9s %7.0f records/s (fill + encode + %s), %.1f bytes/record in files\n",
                codec_name(codec), kRecords / seconds, codec_name(codec),
                static_cast<double>(total_bytes) / kRecords);
  }

  // Cost of fill alone, and of avro_value_sizeof, to compare with the
  // write-then-retry strategy OcfWriter uses.
  auto start = std::chrono::steady_clock::now();
  size_t sum = 0;
  for (int64_t i = 0; i < kRecords; ++i) fill(value->get(), i, id_buf);
  double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < kRecords; ++i) {
    size_t size = 0;
    avro_value_sizeof(value->get(), &size);
    sum += size;
  }
  double sizeof_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fill only %.0f records/s; avro_value_sizeof %.0f calls/s (%zu bytes/record)\n",
              kRecords / fill_s, kRecords / sizeof_s, sum / kRecords);
}

}  // namespace
}  // namespace dxhub::avro
