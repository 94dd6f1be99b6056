// `dxhub check`: tests each resource's whole configuration without changing
// or delivering anything. It never opens the state (no lock, no file
// created), opens connectors with dry_run (no file moved, no trigger
// installed) and a null cursor (the sample is the source's first rows: the
// saved position may be at the end, with nothing left to sample), and only
// contacts the province when asked (--province: one signed GET).
//
// Per resource: the schema parses; the mapping loads against it; the
// connector opens with the settings (connection test); every column the
// mapping reads exists in the source; the connector's advisories (a cursor
// or key without an index, a repeating key); a sample of rows maps, with the
// count that would be dead-lettered and the first reasons (never a value).
// Hub-wide: plugins load, the province URL parses, the AppSecret is present.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace dxhub {

struct CheckOptions {
  std::vector<std::string> resources;  // ids or plugin/id; empty = all
  size_t sample_rows = 100;            // 0 = do not read rows
  bool contact_province = false;       // --province: signed GET of each resource
};

enum class CheckSeverity { kOk, kWarn, kError };
const char* check_severity_name(CheckSeverity severity);

// One line of the report: `<severity> <resource>: <where>: <message>`.
struct CheckFinding {
  CheckSeverity severity = CheckSeverity::kOk;
  std::string resource;  // "" for hub-wide findings
  std::string where;     // a file path, "connector <kind>", "province", "config <path>"
  std::string message;   // never a source value
  int exit_code = 0;     // what an error stands for (2, 3, 4, 5); 0 for ok/warn
};

struct CheckResourceStats {
  std::string resource;
  int64_t rows_sampled = 0;
  int64_t rows_mapped = 0;
  int64_t would_dead_letter = 0;
};

struct CheckReport {
  std::vector<CheckFinding> findings;
  std::vector<CheckResourceStats> resources;

  // 0 when no error; otherwise the first kind in the README's order
  // 2, 3, 4, 1, 6, 5 among the errors found.
  int exit_code() const;
  std::string to_text() const;
  nlohmann::json to_json() const;
};

// Loads the hub config at `config_path` (without requiring the secret: its
// absence is a finding), the plugins, and checks the selected resources.
CheckReport run_check(const std::string& config_path, const CheckOptions& options);

}  // namespace dxhub
