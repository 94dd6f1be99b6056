#include "core/delivery/response_status.h"

#include <charconv>

#include "core/common/utf8.h"

namespace dxhub::delivery {

namespace {

constexpr size_t kMaxQuotedChars = 300;

// A printable, bounded excerpt of a peer's text for error messages: valid
// UTF-8 whatever the peer sent (an HTML page in GBK, a body cut inside a
// Chinese character), so it can go into logs and JSON.
std::string excerpt(std::string_view text) { return printable_utf8(text, kMaxQuotedChars); }

std::string describe_error_body(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("code")) {
    const auto& code = json["code"];
    std::string text = code.is_string() ? code.get<std::string>() : code.dump();
    auto message = json.find("message");
    if (message != json.end() && message->is_string()) text += ": " + message->get<std::string>();
    return excerpt(text);
  }
  if (body.empty()) return "(empty body)";
  return "(body is not the JSON error envelope: " + excerpt(body) + ")";
}

bool is_success_envelope(const nlohmann::json& json) {
  if (!json.is_object()) return false;
  auto code = json.find("code");
  return code != json.end() && code->is_number_integer() && code->get<int64_t>() == 0;
}

bool is_error_code(const std::string& body, std::string_view code) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;
  auto it = json.find("code");
  return it != json.end() && it->is_string() && it->get<std::string>() == code;
}

}  // namespace

long parse_retry_after_ms(std::string_view value) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
  long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || seconds < 0) return -1;
  constexpr long kMaxSeconds = 24L * 3600;  // keeps the multiplication far from overflow
  return (seconds > kMaxSeconds ? kMaxSeconds : seconds) * 1000;
}

ResponseVerdict interpret_response(const HttpResponse& response, std::string_view what) {
  ResponseVerdict verdict;
  std::string prefix = std::string(what) + ": HTTP " + std::to_string(response.status);
  if (response.status >= 200 && response.status < 300) {
    auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!is_success_envelope(json)) {
      verdict.status = unavailable_error(prefix + " with an unexpected body " + describe_error_body(response.body));
      return verdict;
    }
    auto data = json.find("data");
    verdict.data = data != json.end() ? *data : nlohmann::json(nullptr);
    return verdict;
  }
  std::string detail = prefix + " " + describe_error_body(response.body);
  if (response.status == 408 || response.status == 429 || response.status >= 500) {
    verdict.status = unavailable_error(std::move(detail));
    verdict.retry_after_ms = parse_retry_after_ms(response.retry_after);
    return verdict;
  }
  // NONCE_REUSED: the province saw this very attempt before. The client
  // never reuses a nonce itself, but libcurl silently re-sends a request
  // whose reused keep-alive connection died without an answer -- same
  // headers, same nonce -- e.g. when the first copy was handled and its
  // answer lost. Its outcome is unknown: retry with a fresh nonce (uploads
  // are idempotent by batch id).
  if (response.status == 401 && is_error_code(response.body, "NONCE_REUSED")) {
    verdict.status = unavailable_error(std::move(detail));
    return verdict;
  }
  if (response.status >= 400) {
    verdict.status = rejected_error(std::move(detail));
    return verdict;
  }
  verdict.status = rejected_error(prefix + " is not an answer the province protocol uses (check base_url)");
  return verdict;
}

}  // namespace dxhub::delivery
