#include "tests/province/avro_c_files.h"

#include <avro.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/avro/schema.h"

namespace dxhub::province::testing {

namespace {

void set_string(avro_value_t* record, const char* field, const std::string& text) {
  avro_value_t v;
  ASSERT_EQ(avro_value_get_by_name(record, field, &v, nullptr), 0) << field;
  // The length passed to avro-c includes the terminating NUL.
  ASSERT_EQ(avro_value_set_string_len(&v, text.c_str(), text.size() + 1), 0) << field;
}

}  // namespace

std::string person_schema_json(bool with_city) {
  std::string json = R"({"type":"record","name":"Person","namespace":"cn.daye.test","fields":[)"
                     R"({"name":"id","type":"string"},)"
                     R"({"name":"name","type":"string"},)"
                     R"({"name":"age","type":"int"},)"
                     R"({"name":"note","type":["null","string"],"default":null})";
  if (with_city) json += R"(,{"name":"city","type":"string"})";
  return json + "]}";
}

std::string write_people_file(const std::filesystem::path& path, const std::string& codec,
                              const std::vector<Person>& people, bool with_city) {
  auto schema = avro::Schema::from_json(person_schema_json(with_city));
  if (!schema) {
    ADD_FAILURE() << schema.status().to_string();
    return {};
  }
  auto value = schema->new_value();
  if (!value) {
    ADD_FAILURE() << value.status().to_string();
    return {};
  }
  avro_file_writer_t writer = nullptr;
  if (avro_file_writer_create_with_codec(path.c_str(), schema->get(), &writer, codec.c_str(), 64 * 1024) != 0) {
    ADD_FAILURE() << "avro_file_writer_create_with_codec failed for codec " << codec;
    return {};
  }
  for (const Person& p : people) {
    avro_value_t* record = value->get();
    avro_value_reset(record);
    set_string(record, "id", p.id);
    set_string(record, "name", p.name);
    avro_value_t age;
    EXPECT_EQ(avro_value_get_by_name(record, "age", &age, nullptr), 0);
    EXPECT_EQ(avro_value_set_int(&age, p.age), 0);
    avro_value_t note;
    avro_value_t branch;
    EXPECT_EQ(avro_value_get_by_name(record, "note", &note, nullptr), 0);
    if (p.note) {
      EXPECT_EQ(avro_value_set_branch(&note, 1, &branch), 0);
      EXPECT_EQ(avro_value_set_string_len(&branch, p.note->c_str(), p.note->size() + 1), 0);
    } else {
      EXPECT_EQ(avro_value_set_branch(&note, 0, &branch), 0);
      EXPECT_EQ(avro_value_set_null(&branch), 0);
    }
    if (with_city) set_string(record, "city", p.city);
    EXPECT_EQ(avro_file_writer_append_value(writer, record), 0);
  }
  EXPECT_EQ(avro_file_writer_close(writer), 0);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace dxhub::province::testing
