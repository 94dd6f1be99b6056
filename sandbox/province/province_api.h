// Routes one HTTP request of the province protocol to its endpoint:
//   GET  /healthz                                  (no auth)
//   POST /api/v1/resources/{resource}/schemas
//   POST /api/v1/resources/{resource}/batches      (application/avro)
//   GET  /api/v1/resources/{resource}/batches
//   GET  /api/v1/resources/{resource}/records[?offset=&limit=&key=]
//   GET  /api/v1/resources/{resource}/manifest[?after=EPOCH:SEQ&limit=]
//   GET  /api/v1/resources/{resource}
//   GET  /api/v1/admin/faults, POST /api/v1/admin/faults  (fault injection)
// Authentication runs on the header (on_header), before the body is read.
// Every answer is the JSON envelope of api_error.h; bad input is a 4xx.
#pragma once

#include <boost/beast/http.hpp>

#include <string>

#include "core/http/api_error.h"
#include "core/http/fault_injector.h"
#include "core/http/http_handler.h"
#include "core/http/request_auth.h"
#include "sandbox/province/province_store.h"

namespace dxhub::province {

// The server side of the protocol (core/http) as the province uses it.
using http::ApiError;
using http::ApiResponse;
using http::error_response;
using http::FaultDecision;
using http::FaultInjector;
using http::FaultSettings;
using http::HandledRequest;
using http::HeaderVerdict;
using http::HttpHandler;
using http::HttpRequest;
using http::ok_response;
using http::RequestAuthenticator;
using http::SignedHeaders;

class ProvinceApi : public HttpHandler {
 public:
  static constexpr int64_t kMaxRecordsLimit = 10000;
  static constexpr int64_t kDefaultManifestLimit = 1000;
  static constexpr int64_t kMaxManifestLimit = 10000;

  ProvinceApi(ProvinceStore& store, RequestAuthenticator& auth) : store_(store), auth_(auth) {}

  // Enables the admin route /api/v1/admin/faults (404 without one).
  void set_fault_injector(FaultInjector* faults) { faults_ = faults; }

  // Both phases at once. Never throws; local failures become 500 INTERNAL.
  HandledRequest handle(const HttpRequest& request);

  // HttpHandler: route and authenticate from the header, then handle.
  HeaderVerdict on_header(const HttpRequest& header) override;
  HandledRequest handle(const HttpRequest& request, const HeaderVerdict& verdict) override;

 private:
  ApiResponse admin_faults(const HttpRequest& request);

  ApiResponse register_schema(const std::string& resource, const HttpRequest& request);
  // `caller` authenticated the request: receipts are signed for it.
  ApiResponse upload_batch(const std::string& resource, const HttpRequest& request, const SignedHeaders& caller);
  ApiResponse list_batches(const std::string& resource, const SignedHeaders& caller);
  nlohmann::json signed_receipt(const Receipt& receipt, const SignedHeaders& caller);
  ApiResponse list_records(const std::string& resource, std::string_view query);
  ApiResponse describe_resource(const std::string& resource);
  // The stored batches, one entry each, in (epoch, sequence) order, paged by `after`.
  ApiResponse list_manifest(const std::string& resource, std::string_view query);

  ProvinceStore& store_;
  RequestAuthenticator& auth_;
  FaultInjector* faults_ = nullptr;
};

}  // namespace dxhub::province
