#include "core/avro/ocf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/avro/avro_c_reader.h"
#include "core/avro/schema.h"

namespace dxhub::avro {
namespace {

namespace fs = std::filesystem;

const char* kSchemaJson = R"({
  "type": "record", "name": "HouseholdMember",
  "namespace": "cn.gov.hubei.daye.public_security", "doc": "户籍人口",
  "fields": [
    {"name": "id_card", "type": "string", "doc": "公民身份号码"},
    {"name": "name", "type": "string"},
    {"name": "address", "type": "string"},
    {"name": "birth_date", "type": {"type": "int", "logicalType": "date"}},
    {"name": "updated_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "gender", "type": {"type": "enum", "name": "Gender", "symbols": ["MALE", "FEMALE", "UNKNOWN"]}},
    {"name": "phone", "type": ["null", "string"], "default": null},
    {"name": "household_size", "type": "long"},
    {"name": "income", "type": "double"},
    {"name": "is_head", "type": "boolean"}
  ]
})";
const char* kGenders[] = {"MALE", "FEMALE", "UNKNOWN"};

struct Person {
  std::string id_card, name, address;
  int32_t birth_days = 0;
  int64_t updated_ms = 0;
  int gender = 0;
  std::optional<std::string> phone;
  int64_t household_size = 0;
  double income = 0;
  bool is_head = false;
};

Person person(int i, size_t address_padding = 0) {
  static const char* kNames[] = {"张三", "李四", "欧阳·娜娜"};
  Person p;
  char id[32];
  std::snprintf(id, sizeof id, "42028119850301%04d", i % 10000);
  p.id_card = id;
  p.name = kNames[i % 3];
  p.address = "湖北省大冶市东岳路街道" + std::to_string(i) + "号" + std::string(address_padding, 'x');
  p.birth_days = -3000 + i * 37;  // before and after 1970
  p.updated_ms = 1717200000123LL + i * 86400001LL;
  p.gender = i % 3;
  if (i % 2 == 0) p.phone = "1380000" + std::to_string(1000 + i);
  p.household_size = i % 5 == 0 ? -i : (int64_t{1} << 40) + i;
  p.income = i * 1234.5 + 0.25;
  p.is_head = i % 4 == 0;
  return p;
}

std::string iso_date(int32_t days) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string iso_timestamp(int64_t ms) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds{ms}};
  auto day = floor<std::chrono::days>(tp);
  year_month_day ymd{day};
  hh_mm_ss hms{tp - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

void set_string(avro_value_t* record, const char* field, const std::string& s) {
  avro_value_t v;
  ASSERT_EQ(avro_value_get_by_name(record, field, &v, nullptr), 0) << field;
  ASSERT_EQ(avro_value_set_string_len(&v, s.c_str(), s.size() + 1), 0);  // len counts the NUL
}

void fill(avro_value_t* record, const Person& p) {
  avro_value_reset(record);
  set_string(record, "id_card", p.id_card);
  set_string(record, "name", p.name);
  set_string(record, "address", p.address);
  avro_value_t v, branch;
  ASSERT_EQ(avro_value_get_by_name(record, "birth_date", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_int(&v, p.birth_days), 0);
  ASSERT_EQ(avro_value_get_by_name(record, "updated_at", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_long(&v, p.updated_ms), 0);
  ASSERT_EQ(avro_value_get_by_name(record, "gender", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_enum(&v, p.gender), 0);
  ASSERT_EQ(avro_value_get_by_name(record, "phone", &v, nullptr), 0);
  if (p.phone) {
    ASSERT_EQ(avro_value_set_branch(&v, 1, &branch), 0);
    ASSERT_EQ(avro_value_set_string_len(&branch, p.phone->c_str(), p.phone->size() + 1), 0);
  } else {
    ASSERT_EQ(avro_value_set_branch(&v, 0, &branch), 0);
    ASSERT_EQ(avro_value_set_null(&branch), 0);
  }
  ASSERT_EQ(avro_value_get_by_name(record, "household_size", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_long(&v, p.household_size), 0);
  ASSERT_EQ(avro_value_get_by_name(record, "income", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_double(&v, p.income), 0);
  ASSERT_EQ(avro_value_get_by_name(record, "is_head", &v, nullptr), 0);
  ASSERT_EQ(avro_value_set_boolean(&v, p.is_head), 0);
}

std::string get_string(avro_value_t* v) {
  const char* s = nullptr;
  size_t size = 0;
  if (avro_value_get_string(v, &s, &size) != 0 || size == 0) return "<not a string>";
  return std::string(s, size - 1);  // size counts the NUL
}

// Compares one record decoded by avro-c with what was written.
void expect_avro_c_record(avro_value_t* record, const Person& p, int index) {
  SCOPED_TRACE("avro-c record " + std::to_string(index));
  avro_value_t v, branch;
  auto field = [&](const char* name) {
    EXPECT_EQ(avro_value_get_by_name(record, name, &v, nullptr), 0) << name;
    return &v;
  };
  EXPECT_EQ(get_string(field("id_card")), p.id_card);
  EXPECT_EQ(get_string(field("name")), p.name);
  EXPECT_EQ(get_string(field("address")), p.address);
  int32_t i32 = 0;
  int64_t i64 = 0;
  int e = -1, disc = -1, b = -1;
  double d = 0;
  EXPECT_EQ(avro_value_get_int(field("birth_date"), &i32), 0);  // avro-c: date is an int
  EXPECT_EQ(i32, p.birth_days);
  EXPECT_EQ(avro_value_get_long(field("updated_at"), &i64), 0);
  EXPECT_EQ(i64, p.updated_ms);
  EXPECT_EQ(avro_value_get_enum(field("gender"), &e), 0);
  EXPECT_EQ(e, p.gender);
  EXPECT_EQ(avro_value_get_discriminant(field("phone"), &disc), 0);
  EXPECT_EQ(avro_value_get_current_branch(&v, &branch), 0);
  EXPECT_EQ(disc, p.phone ? 1 : 0);
  if (p.phone) {
    EXPECT_EQ(get_string(&branch), *p.phone);
  }
  EXPECT_EQ(avro_value_get_long(field("household_size"), &i64), 0);
  EXPECT_EQ(i64, p.household_size);
  EXPECT_EQ(avro_value_get_double(field("income"), &d), 0);
  EXPECT_EQ(d, p.income);
  EXPECT_EQ(avro_value_get_boolean(field("is_head"), &b), 0);
  EXPECT_EQ(b != 0, p.is_head);
}

void expect_python_record(const nlohmann::json& r, const Person& p, int index) {
  SCOPED_TRACE("python record " + std::to_string(index) + ": " + r.dump());
  EXPECT_EQ(r.at("id_card"), p.id_card);
  EXPECT_EQ(r.at("name"), p.name);
  EXPECT_EQ(r.at("address"), p.address);
  // The "date:"/"timestamp:" prefixes prove python saw the logical types.
  EXPECT_EQ(r.at("birth_date"), "date:" + iso_date(p.birth_days));
  EXPECT_EQ(r.at("updated_at"), "timestamp:" + iso_timestamp(p.updated_ms));
  EXPECT_EQ(r.at("gender"), kGenders[p.gender]);
  if (p.phone) {
    EXPECT_EQ(r.at("phone"), *p.phone);
  } else {
    EXPECT_TRUE(r.at("phone").is_null());
  }
  EXPECT_EQ(r.at("household_size").get<int64_t>(), p.household_size);
  EXPECT_EQ(r.at("income").get<double>(), p.income);
  EXPECT_EQ(r.at("is_head").get<bool>(), p.is_head);
}

class OcfWriterTest : public ::testing::TestWithParam<Codec> {
 protected:
  void SetUp() override {
    auto parsed = Schema::from_json(kSchemaJson);
    ASSERT_TRUE(parsed.has_value()) << parsed.status().to_string();
    schema_.emplace(std::move(parsed).value());
    auto value = schema_->new_value();
    ASSERT_TRUE(value.has_value());
    value_.emplace(std::move(value).value());
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    dir_ = fs::path(::testing::TempDir()) / ("dxhub_avro_" + name + "_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Writes persons [0, n) (with `padding` extra address bytes on record
  // `big_index`) and returns the file.
  std::string write_file(OcfWriter& writer, int n, int big_index = -1, size_t padding = 0) {
    std::string out;
    EXPECT_TRUE(writer.begin({{"dxhub.resource", "household_population"},
                              {"dxhub.batch_id", "batch-42"},
                              {"dxhub.sequence", "7"}})
                    .is_ok());
    for (int i = 0; i < n; ++i) {
      fill(value_->get(), person(i, i == big_index ? padding : 0));
      Status st = writer.append(value_->get());
      EXPECT_TRUE(st.is_ok()) << st.to_string();
    }
    EXPECT_EQ(writer.record_count(), static_cast<size_t>(n));
    Status st = writer.finish(out);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return out;
  }

  nlohmann::json read_with_python(const std::string& bytes, const std::string& file_name) {
    fs::path path = dir_ / file_name;
    {
      std::ofstream f(path, std::ios::binary);
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::string command = std::string(DXHUB_PYTHON3) + " " + DXHUB_SOURCE_DIR +
                          "/tests/avro/read_ocf.py " + path.string();
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return {};
    std::string output;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) output.append(buf, n);
    int rc = pclose(pipe.release());
    EXPECT_EQ(rc, 0) << "python reader failed on " << path;
    auto parsed = nlohmann::json::parse(output, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << output.substr(0, 500);
    return parsed;
  }

  // Decodes with avro-c and compares every record with person(i).
  DecodedFile read_with_avro_c(const std::string& bytes, int big_index = -1, size_t padding = 0) {
    int index = 0;
    auto decoded = read_ocf_with_avro_c(bytes, [&](avro_value_t* record) {
      expect_avro_c_record(record, person(index, index == big_index ? padding : 0), index);
      ++index;
      return Status::ok();
    });
    EXPECT_TRUE(decoded.has_value()) << decoded.status().to_string();
    if (!decoded) return {};
    EXPECT_EQ(index, decoded->record_count);
    return *decoded;
  }

  std::optional<Schema> schema_;
  std::optional<avro::Value> value_;
  fs::path dir_;
};

TEST_P(OcfWriterTest, MultiBlockFileReadsBackInPythonAndAvroC) {
  constexpr int kRecords = 300;
  OcfWriter writer(*schema_, GetParam(), /*block_target_bytes=*/2048);
  const std::string bytes = write_file(writer, kRecords);

  const nlohmann::json py = read_with_python(bytes, "multi.avro");
  ASSERT_TRUE(py.is_object());
  const auto& meta = py.at("meta");
  EXPECT_EQ(meta.at("avro.schema"), kSchemaJson);  // verbatim, logicalType and doc kept
  EXPECT_EQ(meta.at("avro.codec"), codec_name(GetParam()));
  EXPECT_EQ(meta.at("dxhub.resource"), "household_population");
  EXPECT_EQ(meta.at("dxhub.batch_id"), "batch-42");
  EXPECT_EQ(meta.at("dxhub.sequence"), "7");
  ASSERT_EQ(py.at("records").size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) expect_python_record(py.at("records")[i], person(i), i);

  const DecodedFile decoded = read_with_avro_c(bytes);
  EXPECT_EQ(decoded.record_count, kRecords);
  EXPECT_GT(decoded.block_count, 5);
  EXPECT_EQ(decoded.codec, codec_name(GetParam()));
  EXPECT_EQ(decoded.schema_json, kSchemaJson);
  EXPECT_EQ(decoded.metadata.at("dxhub.batch_id"), "batch-42");
  EXPECT_EQ(decoded.metadata.at("dxhub.resource"), "household_population");
}

TEST_P(OcfWriterTest, RecordLargerThanBlockTargetGetsItsOwnBlock) {
  OcfWriter writer(*schema_, GetParam(), /*block_target_bytes=*/1024);
  constexpr int kBig = 5;
  constexpr size_t kPadding = 20000;
  const std::string bytes = write_file(writer, 12, kBig, kPadding);
  const DecodedFile decoded = read_with_avro_c(bytes, kBig, kPadding);
  EXPECT_EQ(decoded.record_count, 12);
  const nlohmann::json py = read_with_python(bytes, "big.avro");
  ASSERT_EQ(py.at("records").size(), 12u);
  EXPECT_EQ(py.at("records")[kBig].at("address").get<std::string>().size(),
            person(kBig, kPadding).address.size());

  // Blocks never exceed the target except the one holding the big record.
  // Re-walk the framing: with ~110-byte records and a 1 KiB target, the
  // big record must have forced at least three blocks.
  EXPECT_GE(decoded.block_count, 3);
}

TEST_P(OcfWriterTest, ZeroRecordFileIsValid) {
  OcfWriter writer(*schema_, GetParam());
  const std::string bytes = write_file(writer, 0);
  const DecodedFile decoded = read_with_avro_c(bytes);
  EXPECT_EQ(decoded.record_count, 0);
  EXPECT_EQ(decoded.block_count, 0);
  const nlohmann::json py = read_with_python(bytes, "empty.avro");
  EXPECT_TRUE(py.at("records").empty());
  EXPECT_EQ(py.at("meta").at("dxhub.sequence"), "7");
}

TEST_P(OcfWriterTest, WriterIsReusableAndSyncMarkersDiffer) {
  OcfWriter writer(*schema_, GetParam(), 4096);
  const std::string first = write_file(writer, 20);
  const std::string second = write_file(writer, 20);
  const DecodedFile a = read_with_avro_c(first);
  const DecodedFile b = read_with_avro_c(second);
  EXPECT_EQ(a.sync_marker.size(), 16u);
  EXPECT_NE(a.sync_marker, b.sync_marker);
  EXPECT_EQ(b.record_count, 20);
  const nlohmann::json py = read_with_python(second, "second.avro");
  EXPECT_EQ(py.at("sync_marker").get<std::string>().size(), 32u);
  EXPECT_EQ(py.at("records").size(), 20u);
}

TEST_P(OcfWriterTest, CorruptOrTruncatedFilesAreDataErrorsNeverCrashes) {
  OcfWriter writer(*schema_, GetParam(), 512);
  const std::string bytes = write_file(writer, 10);
  auto ignore = [](avro_value_t*) { return Status::ok(); };

  // A strict prefix is refused unless it ends exactly after a block's sync
  // marker: then it is a valid file with fewer records (framing alone cannot
  // tell; the hub's batch metadata carries the expected count).
  const std::string sync(reinterpret_cast<const char*>(writer.sync_marker().data()), 16);
  int block_boundaries = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = read_ocf_with_avro_c(std::string_view(bytes).substr(0, len), ignore);
    if (r.has_value()) {
      ASSERT_GE(len, 16u);
      ASSERT_EQ(bytes.substr(len - 16, 16), sync) << "prefix " << len << " accepted mid-block";
      ASSERT_LT(r->record_count, 10);
      ++block_boundaries;
      continue;
    }
    ASSERT_EQ(r.status().code(), StatusCode::kData) << r.status().to_string();
  }
  EXPECT_GE(block_boundaries, 2);  // header end and at least one inner block end
  // Every single flipped byte either still decodes or is a kData error.
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      auto r = read_ocf_with_avro_c(bad, ignore);
      if (!r) {
        ASSERT_EQ(r.status().code(), StatusCode::kData) << "pos " << pos << ": " << r.status().to_string();
      }
    }
  }
  // Specific breakages are caught.
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(read_ocf_with_avro_c(bad_magic, ignore).status().code(), StatusCode::kData);
  std::string bad_sync = bytes;
  bad_sync[bad_sync.size() - 1] ^= 0x55;  // the last block's trailing sync marker
  auto r = read_ocf_with_avro_c(bad_sync, ignore);
  EXPECT_EQ(r.status().code(), StatusCode::kData);
  EXPECT_NE(r.status().message().find("sync"), std::string::npos) << r.status().message();
  EXPECT_EQ(read_ocf_with_avro_c(bytes + "\x02", ignore).status().code(), StatusCode::kData);
}

TEST_P(OcfWriterTest, CallbackErrorStopsDecoding) {
  OcfWriter writer(*schema_, GetParam(), 512);
  const std::string bytes = write_file(writer, 10);
  int seen = 0;
  auto r = read_ocf_with_avro_c(bytes, [&](avro_value_t*) {
    return ++seen == 3 ? io_error("sink full") : Status::ok();
  });
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(r.status().code(), StatusCode::kIo);
}

// The bytes avro-c writes for `record`: what an encoder hands append_encoded().
std::string encoded(avro_value_t* record) {
  size_t size = 0;
  EXPECT_EQ(avro_value_sizeof(record, &size), 0);
  std::string bytes(size, '\0');
  AvroWriterPtr w(avro_writer_memory(bytes.data(), static_cast<int64_t>(size)));
  EXPECT_EQ(avro_value_write(w.get(), record), 0);
  return bytes;
}

TEST_P(OcfWriterTest, PreEncodedRecordsMakeTheSameBlocksAsAppend) {
  constexpr int kRecords = 200, kBig = 50;
  constexpr size_t kPadding = 5000;  // larger than the block target: a block of its own
  OcfWriter reference(*schema_, GetParam(), 2048);
  const std::string reference_file = write_file(reference, kRecords, kBig, kPadding);
  const DecodedFile expected = read_with_avro_c(reference_file, kBig, kPadding);
  ASSERT_GT(expected.block_count, 5);

  // 0: append_encoded, 1: append_with, 2: the three entry points in turn.
  for (int how = 0; how < 3; ++how) {
    SCOPED_TRACE("way " + std::to_string(how));
    OcfWriter writer(*schema_, GetParam(), 2048);
    ASSERT_TRUE(writer.begin({{"dxhub.resource", "household_population"},
                              {"dxhub.batch_id", "batch-42"},
                              {"dxhub.sequence", "7"}})
                    .is_ok());
    for (int i = 0; i < kRecords; ++i) {
      fill(value_->get(), person(i, i == kBig ? kPadding : 0));
      const std::string bytes = encoded(value_->get());
      const int way = how < 2 ? how : i % 3;
      Status s = way == 0   ? writer.append_encoded(bytes)
                 : way == 1 ? writer.append_with([&](std::string& block) {
                                block += bytes;
                                return Status::ok();
                              })
                            : writer.append(value_->get());
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    EXPECT_EQ(writer.record_count(), static_cast<size_t>(kRecords));
    std::string file;
    ASSERT_TRUE(writer.finish(file).is_ok());
    const DecodedFile decoded = read_with_avro_c(file, kBig, kPadding);
    EXPECT_EQ(decoded.record_count, kRecords);
    EXPECT_EQ(decoded.block_count, expected.block_count);
    EXPECT_EQ(file.size(), reference_file.size());  // same blocks, only the sync marker differs
    if (how == 1) {
      const nlohmann::json py = read_with_python(file, "append_with.avro");
      ASSERT_EQ(py.at("records").size(), static_cast<size_t>(kRecords));
      for (int i = 0; i < kRecords; ++i) {
        expect_python_record(py.at("records")[i], person(i, i == kBig ? kPadding : 0), i);
      }
    }
  }
}

TEST_P(OcfWriterTest, FailedAppendWithLeavesNoTrace) {
  OcfWriter writer(*schema_, GetParam(), 1024);
  ASSERT_TRUE(writer.begin({}).is_ok());
  for (int i = 0; i < 30; ++i) {
    fill(value_->get(), person(i));
    const std::string bytes = encoded(value_->get());
    ASSERT_TRUE(writer.append_encoded(bytes).is_ok());
    // A failing encoder, even one that wrote half a record first.
    Status s = writer.append_with([](std::string& block) {
      block += "\x02garbage";
      return data_error("bad row");
    });
    EXPECT_EQ(s.code(), StatusCode::kData);
    EXPECT_EQ(s.message(), "bad row");
  }
  EXPECT_EQ(writer.record_count(), 30u);
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());
  EXPECT_EQ(read_with_avro_c(file).record_count, 30);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, OcfWriterTest,
                         ::testing::Values(Codec::kNull, Codec::kDeflate, Codec::kSnappy,
                                           Codec::kZstandard),
                         [](const auto& param_info) { return std::string(codec_name(param_info.param)); });

TEST(OcfWriter, ReservedOrRepeatedMetadataKeysAreRefused) {
  auto schema = Schema::from_json(R"("long")");
  ASSERT_TRUE(schema.has_value());
  OcfWriter writer(*schema, Codec::kNull);
  EXPECT_EQ(writer.begin({{"avro.codec", "x"}}).code(), StatusCode::kConfig);
  EXPECT_EQ(writer.begin({{"k", "1"}, {"k", "2"}}).code(), StatusCode::kConfig);
  std::string out;
  EXPECT_FALSE(writer.finish(out).is_ok());  // no begin() succeeded
}

TEST(OcfWriter, ValueOfAnotherSchemaIsRefused) {
  auto long_schema = Schema::from_json(R"("long")");
  auto string_schema = Schema::from_json(R"("string")");
  ASSERT_TRUE(long_schema.has_value() && string_schema.has_value());
  OcfWriter writer(*long_schema, Codec::kNull);
  ASSERT_TRUE(writer.begin({}).is_ok());
  auto text = string_schema->new_value();
  ASSERT_TRUE(text.has_value());
  ASSERT_EQ(avro_value_set_string_len(text->get(), "x", 2), 0);
  EXPECT_EQ(writer.append(text->get()).code(), StatusCode::kData);
  // An equal schema parsed separately is accepted.
  auto other_long = Schema::from_json(R"({"type":"long"})");
  ASSERT_TRUE(other_long.has_value());
  auto number = other_long->new_value();
  ASSERT_TRUE(number.has_value());
  ASSERT_EQ(avro_value_set_long(number->get(), -5), 0);
  EXPECT_TRUE(writer.append(number->get()).is_ok());
  std::string bytes;
  ASSERT_TRUE(writer.finish(bytes).is_ok());
  int64_t seen = 0;
  auto r = read_ocf_with_avro_c(bytes, [&](avro_value_t* v) {
    return avro_value_get_long(v, &seen) == 0 ? Status::ok() : data_error("not a long");
  });
  ASSERT_TRUE(r.has_value()) << r.status().to_string();
  EXPECT_EQ(r->record_count, 1);
  EXPECT_EQ(seen, -5);
}

TEST(OcfWriter, EncodedAppendsNeedBegin) {
  auto schema = Schema::from_json(R"("long")");
  ASSERT_TRUE(schema.has_value());
  OcfWriter writer(*schema, Codec::kNull);
  EXPECT_EQ(writer.append_encoded("\x02").code(), StatusCode::kInternal);
  bool called = false;
  EXPECT_EQ(writer.append_with([&](std::string&) {
                    called = true;
                    return Status::ok();
                  }).code(),
            StatusCode::kInternal);
  EXPECT_FALSE(called);
}

TEST(OcfWriter, UnknownCodecInHeaderIsRefusedBeforeAvroC) {
  auto schema = Schema::from_json(R"("long")");
  ASSERT_TRUE(schema.has_value());
  OcfWriter writer(*schema, Codec::kNull);
  ASSERT_TRUE(writer.begin({}).is_ok());
  std::string bytes;
  ASSERT_TRUE(writer.finish(bytes).is_ok());
  // Same length as "null", so the framing stays intact: only the name is bad.
  const size_t at = bytes.find("null");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 4, "lzma");
  auto r = read_ocf_with_avro_c(bytes, [](avro_value_t*) { return Status::ok(); });
  EXPECT_EQ(r.status().code(), StatusCode::kData);
  EXPECT_NE(r.status().message().find("lzma"), std::string::npos);
}

}  // namespace
}  // namespace dxhub::avro
