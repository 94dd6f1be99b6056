// Request targets as they may appear in a log: the path, and of the query
// only the parameter names -- values can be personal data (?key=<ID number>).
#pragma once

#include <string>
#include <string_view>

namespace dxhub::http {

// "/a/b?key=…&limit=…"; "/a/b?[3 params]" when the names themselves look
// odd (not [A-Za-z_.-] -- no digits --, long, or many); the path cut at kMaxLoggedPath.
std::string redact_target(std::string_view target);

inline constexpr size_t kMaxLoggedPath = 200;

}  // namespace dxhub::http
