// Logging goes through spdlog to stderr; stdout is kept for command output.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace dxhub {

// Sets up the process-wide logger once. `level` is one of
// trace, debug, info, warn, error, off.
void init_logging(std::string_view level);

}  // namespace dxhub
