#include "sandbox/province/request_auth.h"

#include <charconv>

namespace dxhub::province {

namespace {

ApiError unauthorized(std::string code, std::string message) { return {401, std::move(code), std::move(message)}; }

std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

RequestAuthenticator::RequestAuthenticator(std::map<std::string, AppCredential> credentials, size_t nonce_capacity)
    : credentials_(credentials.begin(), credentials.end()), nonces_(nonce_capacity, protocol::kReplayWindowMs) {}

std::optional<ApiError> RequestAuthenticator::verify(std::string_view method, std::string_view target,
                                                     const SignedHeaders& h, std::string_view body, int64_t now_ms) {
  std::string missing;
  auto require = [&missing](std::string_view value, const char* name) {
    if (value.empty()) missing += missing.empty() ? name : std::string(", ") + name;
  };
  require(h.app_key, protocol::kHeaderAppKey);
  require(h.timestamp, protocol::kHeaderTimestamp);
  require(h.nonce, protocol::kHeaderNonce);
  require(h.signature_method, protocol::kHeaderSignatureMethod);
  require(h.content_digest, protocol::kHeaderContentDigest);
  require(h.signature, protocol::kHeaderSignature);
  if (!missing.empty()) return unauthorized("AUTH_MISSING", "missing authentication headers: " + missing);

  auto credential = credentials_.find(h.app_key);
  if (credential == credentials_.end()) return unauthorized("UNKNOWN_APP_KEY", "unknown app key");

  auto signature_method = protocol::parse_signature_method(h.signature_method);
  if (!signature_method || credential->second.allowed_methods.count(*signature_method) == 0) {
    return unauthorized("SIGNATURE_METHOD_NOT_ALLOWED",
                        "signature method '" + std::string(h.signature_method) + "' is not allowed for this app key");
  }

  auto timestamp = parse_int64(h.timestamp);
  if (!timestamp) return unauthorized("TIMESTAMP_EXPIRED", "timestamp is not an integer of milliseconds");
  int64_t skew = now_ms > *timestamp ? now_ms - *timestamp : *timestamp - now_ms;
  if (skew > protocol::kReplayWindowMs) {
    return unauthorized("TIMESTAMP_EXPIRED", "timestamp is " + std::to_string(skew / 1000) +
                                                 " s away from server time (window " +
                                                 std::to_string(protocol::kReplayWindowMs / 1000) + " s)");
  }

  std::string digest = protocol::body_digest(*signature_method, body);
  if (!protocol::equal_constant_time(digest, h.content_digest)) {
    return ApiError{400, "DIGEST_MISMATCH", "content digest does not match the body"};
  }

  std::string expected = protocol::sign(
      *signature_method, credential->second.secret,
      protocol::string_to_sign(method, target, *timestamp, h.nonce, h.content_digest, h.batch));
  if (!protocol::equal_constant_time(expected, h.signature)) {
    return unauthorized("BAD_SIGNATURE", "signature does not match");
  }

  if (h.nonce.size() > kMaxNonceLength) {
    return unauthorized("BAD_NONCE", "nonce longer than " + std::to_string(kMaxNonceLength) + " characters");
  }
  switch (nonces_.check_and_remember(h.app_key, h.nonce, *timestamp, now_ms)) {
    case NonceCache::Result::kFresh: return std::nullopt;
    case NonceCache::Result::kReused: return unauthorized("NONCE_REUSED", "nonce already used");
    case NonceCache::Result::kFull:
      return ApiError{429, "TOO_MANY_REQUESTS", "too many requests within the replay window"};
  }
  return std::nullopt;
}

std::string RequestAuthenticator::sign_for(std::string_view app_key, std::string_view signature_method,
                                          std::string_view text) const {
  auto credential = credentials_.find(app_key);
  auto method = protocol::parse_signature_method(signature_method);
  if (credential == credentials_.end() || !method) return {};
  return protocol::sign(*method, credential->second.secret, text);
}

}  // namespace dxhub::province
