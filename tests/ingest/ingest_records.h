// Household-registration records as an agency system would push them
// (source columns of mappings/public_security/household_population.mapping.json).
// Synthetic values only.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace dxhub::testing {

inline std::string household_schema_path() {
  return std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security/household_population.avsc";
}
inline std::string household_mapping_path() {
  return std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security/household_population.mapping.json";
}

// Person `i`: a distinct made-up id_card, valid codes and dates.
inline nlohmann::json person(int64_t i, const std::string& status = "1") {
  char id[32];
  std::snprintf(id, sizeof id, "9%017lld", static_cast<long long>(i));
  return {{"gmsfhm", id},
          {"xm", "测试" + std::to_string(i)},
          {"xb", i % 2 == 0 ? "1" : "2"},
          {"mz", "汉族"},
          {"csrq", "1990-01-01"},
          {"hh", "H" + std::to_string(i / 3)},
          {"yhzgx", "户主"},
          {"hjdz", "湖北省大冶市测试路" + std::to_string(i) + "号"},
          {"sspcs", "东岳派出所"},
          {"xzjd", "东岳路街道"},
          {"qrrq", "2020-05-01"},
          {"ryzt", status},
          {"gxsj", "2026-12-01 10:00:00"}};
}

}  // namespace dxhub::testing
