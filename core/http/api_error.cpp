#include "core/http/api_error.h"

namespace dxhub::http {

ApiResponse ok_response(const nlohmann::json& data) {
  // Ordered: "code" and "message" first, as in the protocol description.
  nlohmann::ordered_json envelope;
  envelope["code"] = 0;
  envelope["message"] = "ok";
  envelope["data"] = nlohmann::ordered_json(data);
  // Replace invalid UTF-8 instead of throwing: stored text is echoed back.
  ApiResponse response;
  response.body = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

ApiResponse error_response(const ApiError& error) {
  nlohmann::ordered_json envelope;
  envelope["code"] = error.code;
  envelope["message"] = error.message;
  ApiResponse response;
  response.http_status = error.http_status;
  response.body = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace dxhub::http
