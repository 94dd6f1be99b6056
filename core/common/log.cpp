#include "core/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace dxhub {

void init_logging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("dxhub");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace dxhub
