// Small helpers shared by the file format readers to check their settings:
// refuse unknown keys and bad values with a kConfig error naming the key.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/common/status.h"

namespace dxhub::file_settings {

inline Status check_keys(const nlohmann::json& format, const char* kind, std::initializer_list<const char*> known) {
  for (auto it = format.begin(); it != format.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return config_error(std::string("file format ") + kind + ": unknown setting \"" + it.key() + "\"");
  }
  return Status::ok();
}

inline Status get_bool(const nlohmann::json& format, const char* kind, const char* key, bool& out) {
  if (!format.contains(key)) return Status::ok();
  if (!format[key].is_boolean()) return config_error(std::string("file format ") + kind + ": " + key + " must be true or false");
  out = format[key].get<bool>();
  return Status::ok();
}

inline Status get_size(const nlohmann::json& format, const char* kind, const char* key, uint64_t min, uint64_t max,
                       uint64_t& out) {
  if (!format.contains(key)) return Status::ok();
  const auto& v = format[key];
  // nlohmann keeps a parsed 5 as unsigned but a literal 5 as signed: accept both.
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<uint64_t>() < min || v.get<uint64_t>() > max) {
    return config_error(std::string("file format ") + kind + ": " + key + " must be a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max));
  }
  out = v.get<uint64_t>();
  return Status::ok();
}

inline Status get_string(const nlohmann::json& format, const char* kind, const char* key, std::string& out) {
  if (!format.contains(key)) return Status::ok();
  if (!format[key].is_string()) return config_error(std::string("file format ") + kind + ": " + key + " must be a string");
  out = format[key].get<std::string>();
  return Status::ok();
}

}  // namespace dxhub::file_settings
