// Sample data (样例数据) for the enterprise register (企业基本信息, catalog
// resource 14) as the market regulation bureau's system holds it: one
// SQLite table `enterprise_basic`, deterministic for a given seed. It is the
// interface-kind resource of the demo: the mock agency API serves this table.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"

namespace dxhub::sample {

inline constexpr const char* kEnterpriseTable = "enterprise_basic";

struct EnterpriseOptions {
  uint64_t seed = 420281014;
  int64_t rows = 2000;
  std::string first_update = "2025-06-01 08:00:00";  // gxsj of the first enterprise
  bool overwrite = false;
};

// Creates `path` with the enterprise_basic table (unique unified social
// credit codes with valid check characters, GB 32100) and its (gxsj, id)
// index, in one transaction. An existing non-empty file is refused (kConfig)
// unless `opt.overwrite`.
Status generate_enterprise_db(const std::string& path, const EnterpriseOptions& opt);

struct EnterpriseChanges {
  uint64_t seed = 1;
  int64_t change = 20;    // status changes, capital increases, address moves
  int64_t add = 10;       // newly registered enterprises
  std::string timestamp;  // gxsj for touched rows; empty = now in Asia/Shanghai
};
Status apply_enterprise_changes(const std::string& path, const EnterpriseChanges& c);

// The GB 32100 check character for the first 17 characters of a code, or
// '\0' when a character is outside the code's alphabet.
char uscc_check_character(std::string_view first17);

}  // namespace dxhub::sample
