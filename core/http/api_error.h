// The province's JSON envelope: {"code":0,"message":"ok","data":{...}} on
// success, {"code":"SOME_CODE","message":"..."} with a 4xx status on refusal.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace dxhub::http {

// A refusal: HTTP status, machine-readable code, human text.
struct ApiError {
  unsigned http_status = 400;
  std::string code;
  std::string message;
};

struct ApiResponse {
  unsigned http_status = 200;
  std::string body;   // JSON text (or of content_type)
  std::string allow;  // "Allow" header value for 405, empty otherwise
  std::string content_type;  // empty: application/json; charset=utf-8
  unsigned retry_after_s = 0;  // > 0: a Retry-After header (503 and 429 answers)
};

ApiResponse ok_response(const nlohmann::json& data);
ApiResponse error_response(const ApiError& error);

}  // namespace dxhub::http
