// What the HTTP server (province_server.h) asks of the application behind
// it, in two phases, so a request can be refused -- unauthenticated, unknown
// path -- from its header alone, before its body is read or buffered.
// The mock province's ProvinceApi is one; the hub's push-ingest endpoint can
// be another on the same server code.
#pragma once

#include <boost/beast/http.hpp>

#include <functional>
#include <optional>
#include <string>

#include "core/http/api_error.h"
#include "core/http/request_auth.h"

namespace dxhub::http {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HandledRequest {
  ApiResponse response;
  std::string app_key;  // the verified app key, for the request log
};

// Decided from the header, before any body byte is read.
struct HeaderVerdict {
  // Answered at once; the body is not read and, when there is one, the
  // connection is closed after the answer.
  std::optional<ApiResponse> refusal;
  // Set when the header was authenticated: the body phase checks the digest.
  std::optional<RequestAuthenticator::VerifiedHeader> verified;
  std::string app_key;     // for the request log, once verified
  bool faultable = false;  // injected faults (fault_injector.h) may hit this request
};

class HttpHandler {
 public:
  using Completion = std::function<void(HandledRequest)>;

  virtual ~HttpHandler() = default;
  // `header` has an empty body. Never throws.
  virtual HeaderVerdict on_header(const HttpRequest& header) = 0;
  // The whole request, after on_header accepted it. Never throws.
  virtual HandledRequest handle(const HttpRequest& request, const HeaderVerdict& verdict) = 0;
  // The same for a handler that answers later (the push endpoint answers
  // once a post is durable): `done` is called exactly once, from any thread,
  // while the server runs; `request` stays valid until then. Never throws.
  // The default answers at once with handle().
  virtual void handle_async(const HttpRequest& request, const HeaderVerdict& verdict, Completion done) {
    done(handle(request, verdict));
  }
};

}  // namespace dxhub::http
