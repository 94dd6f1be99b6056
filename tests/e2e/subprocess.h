// Runs a program to completion with a time limit, capturing its output.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dxhub::testing {

struct ProcessResult {
  int exit_code = -1;  // -1: killed (timeout or signal)
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          int timeout_seconds);

}  // namespace dxhub::testing
