// How the province's HTTP answers become Status. The protocol's envelope:
//   success (2xx): {"code": 0, "message": "ok", "data": {...}}
//   error (4xx/5xx): {"code": "SOME_CODE", "message": "..."}
//
//   2xx with the success envelope  -> ok, `data`
//   2xx that is not that envelope  -> kUnavailable: we cannot tell whether the
//                                     province accepted the request (a proxy
//                                     page, a truncated body), and re-sending
//                                     is safe because batches are idempotent
//                                     by batch id
//   408, 429, 5xx                  -> kUnavailable (Retry-After reported)
//   401 NONCE_REUSED               -> kUnavailable: libcurl re-sent an attempt
//                                     unchanged (see response_status.cpp)
//   other 4xx                      -> kRejected with the province's code and
//                                     message (or a snippet of a non-JSON body)
//   anything else (1xx, 3xx)       -> kRejected: redirects are not followed,
//                                     the base URL is wrong
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::delivery {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header's value, if any
};

struct ResponseVerdict {
  Status status;
  nlohmann::json data;       // the envelope's "data" when status is ok
  long retry_after_ms = -1;  // from Retry-After on kUnavailable; -1 if none
};

// `what` names the request in messages, e.g. "POST /api/v1/resources/x/batches".
ResponseVerdict interpret_response(const HttpResponse& response, std::string_view what);

// Retry-After given in seconds -> milliseconds; -1 when absent or not a
// number (the HTTP-date form is not used by the province).
long parse_retry_after_ms(std::string_view value);

}  // namespace dxhub::delivery
