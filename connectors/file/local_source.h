// A local drop folder (see file_connector.h for the settings).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "connectors/file/file_source.h"

namespace dxhub {

Expected<std::unique_ptr<FileSource>> open_local_source(const nlohmann::json& settings);

}  // namespace dxhub
