// Test input made by avro-c's own file writer (not the hub's), so the
// province is checked against an independent encoder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dxhub::province::testing {

// {"type":"record","name":"Person", fields: id string, name string, age int,
// note ["null","string"]}; `with_city` adds a "city" string field.
std::string person_schema_json(bool with_city = false);

struct Person {
  std::string id;
  std::string name;
  int32_t age = 0;
  std::optional<std::string> note;
  std::string city;  // only written when the schema has it
};

// Writes `people` to `path` with avro_file_writer_create_with_codec and
// returns the file's bytes. Aborts the test (ADD_FAILURE) on error.
std::string write_people_file(const std::filesystem::path& path, const std::string& codec,
                              const std::vector<Person>& people, bool with_city = false);

}  // namespace dxhub::province::testing
