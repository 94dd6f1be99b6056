// Sample data (样例数据) for the household registry (户籍人口信息, catalog
// resource 9) as the public security bureau's database holds it: one SQLite
// table `household_population`, deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "sandbox/sample/local_time.h"  // shanghai_now()

namespace dxhub::sample {

inline constexpr const char* kHouseholdTable = "household_population";

struct HouseholdOptions {
  uint64_t seed = 420281;
  int64_t rows = 10000;
  std::string first_update = "2025-06-01 08:00:00";  // gxsj of the first household
  bool overwrite = false;  // replace an existing non-empty file
};

// Creates `path` with the household_population table and its (gxsj, id)
// index, filled with `opt.rows` rows in one transaction. gxsj starts at
// opt.first_update and advances in small steps; whole households and often
// several of them share one second. An existing non-empty file is refused
// (kConfig) unless `opt.overwrite`.
Status generate_household_db(const std::string& path, const HouseholdOptions& opt);

struct HouseholdChanges {
  uint64_t seed = 1;
  int64_t change = 100;
  int64_t add = 50;
  std::string timestamp;  // gxsj for touched rows; empty = now in Asia/Shanghai
};

// In one transaction: changes `c.change` distinct existing rows (address
// move, status change or name correction) and appends `c.add` rows of newly
// registered households with new unique IDs, all with gxsj = c.timestamp.
Status apply_household_changes(const std::string& path, const HouseholdChanges& c);

}  // namespace dxhub::sample
