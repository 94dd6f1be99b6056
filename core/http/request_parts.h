// Reading the parts of a request that the signed-protocol endpoints share
// (the mock province, the hub's push endpoint): header values, the target
// split into path and query, query parameters, the signature headers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/http/http_handler.h"
#include "core/http/request_auth.h"

namespace dxhub::http {

// The value of header `name` (a view into the request), empty when absent.
std::string_view header_value(const HttpRequest& request, const char* name);

struct SplitTarget {
  std::string_view target;  // as sent: path and query (what a signature covers)
  std::string_view path;
  std::string_view query;
};
SplitTarget split_target(const HttpRequest& request);

// Percent-decoding of one query component ('+' is a space); nullopt when malformed.
std::optional<std::string> url_decode(std::string_view in);
// "a=1&b=x%20y" -> {a: 1, b: "x y"}; nullopt when a component is malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// The signature headers as received (views into the request's fields).
SignedHeaders signed_headers_of(const HttpRequest& request);

// Letters, digits and `extra` only, 1..max_length characters: ids that go
// into paths, logs and SQL parameters.
bool is_plain_id(std::string_view id, size_t max_length, std::string_view extra);

}  // namespace dxhub::http
