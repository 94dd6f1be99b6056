// Routes one HTTP request of the province protocol to its endpoint:
//   GET  /healthz                                  (no auth)
//   POST /api/v1/resources/{resource}/schemas
//   POST /api/v1/resources/{resource}/batches      (application/avro)
//   GET  /api/v1/resources/{resource}/batches
//   GET  /api/v1/resources/{resource}/records[?offset=&limit=&key=]
//   GET  /api/v1/resources/{resource}
// Every answer is the JSON envelope of api_error.h; bad input is a 4xx.
#pragma once

#include <boost/beast/http.hpp>

#include <string>

#include "sandbox/province/api_error.h"
#include "sandbox/province/province_store.h"
#include "sandbox/province/request_auth.h"

namespace dxhub::province {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HandledRequest {
  ApiResponse response;
  std::string app_key;  // the verified app key, for the request log
};

class ProvinceApi {
 public:
  static constexpr int64_t kMaxRecordsLimit = 10000;

  ProvinceApi(ProvinceStore& store, RequestAuthenticator& auth) : store_(store), auth_(auth) {}

  // Never throws; local failures become 500 INTERNAL.
  HandledRequest handle(const HttpRequest& request);

 private:
  ApiResponse register_schema(const std::string& resource, const HttpRequest& request);
  // `caller` authenticated the request: receipts are signed for it.
  ApiResponse upload_batch(const std::string& resource, const HttpRequest& request, const SignedHeaders& caller);
  ApiResponse list_batches(const std::string& resource, const SignedHeaders& caller);
  nlohmann::json signed_receipt(const Receipt& receipt, const SignedHeaders& caller);
  ApiResponse list_records(const std::string& resource, std::string_view query);
  ApiResponse describe_resource(const std::string& resource);

  ProvinceStore& store_;
  RequestAuthenticator& auth_;
};

}  // namespace dxhub::province
