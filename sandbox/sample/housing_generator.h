// Sample data (样例数据) for the housing register (房屋信息, catalog resource
// 26) as the housing bureau exports it: one SQLite table `housing_units`,
// deterministic for a given seed. It is the file-kind resource of the demo:
// the table is exported to CSV files (GB18030, as agency exports often are)
// dropped into a folder.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"

namespace dxhub::sample {

inline constexpr const char* kHousingTable = "housing_units";

struct HousingOptions {
  uint64_t seed = 420281026;
  int64_t rows = 3000;
  std::string first_update = "2025-06-01 08:00:00";
  bool overwrite = false;
};

// Creates `path` with the housing_units table (unit code fwbm unique), in
// one transaction. An existing non-empty file is refused (kConfig) unless
// `opt.overwrite`.
Status generate_housing_db(const std::string& path, const HousingOptions& opt);

struct HousingChanges {
  uint64_t seed = 1;
  int64_t change = 20;   // use or area corrections
  int64_t add = 10;      // new units
  int64_t remove = 5;    // units removed from the register (demolished, merged)
  std::string timestamp; // gxsj for touched rows; empty = now in Asia/Shanghai
};
// Changes, appends and deletes rows: a full export afterwards differs from
// the previous one by updates, inserts and deletes (change detection).
Status apply_housing_changes(const std::string& path, const HousingChanges& c);

}  // namespace dxhub::sample
