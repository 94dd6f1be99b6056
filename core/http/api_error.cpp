#include "core/http/api_error.h"

namespace dxhub::http {

ApiResponse ok_response(const nlohmann::json& data) {
  // Ordered: "code" and "message" first, as in the protocol description.
  nlohmann::ordered_json envelope;
  envelope["code"] = 0;
  envelope["message"] = "ok";
  envelope["data"] = nlohmann::ordered_json(data);
  // Replace invalid UTF-8 instead of throwing: stored text is echoed back.
  return {200, envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, {}};
}

ApiResponse error_response(const ApiError& error) {
  nlohmann::ordered_json envelope;
  envelope["code"] = error.code;
  envelope["message"] = error.message;
  return {error.http_status, envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, {}};
}

}  // namespace dxhub::http
