// JSON text from values that may hold outside data (cursor values, the
// province's error messages cut inside a UTF-8 character, dead-lettered
// rows). nlohmann's dump() throws on invalid UTF-8; these never throw:
// invalid bytes become U+FFFD.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace dxhub {

std::string dump_json_safely(const nlohmann::json& value, int indent = -1);
std::string dump_json_safely(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace dxhub
