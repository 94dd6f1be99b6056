#include "core/http/request_auth.h"

#include <charconv>

namespace dxhub::http {

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
  VerifiedHeader verified;
  if (auto refusal = verify_header(method, target, h, now_ms, verified)) return refusal;
  return verify_body(verified, body);
}

std::optional<ApiError> RequestAuthenticator::verify_body(const VerifiedHeader& verified, std::string_view body) {
  std::string digest = protocol::body_digest(verified.method, body);
  if (!protocol::equal_constant_time(digest, verified.content_digest)) {
    return ApiError{400, "DIGEST_MISMATCH", "content digest does not match the body"};
  }
  return std::nullopt;
}

std::optional<ApiError> RequestAuthenticator::verify_header(std::string_view method, std::string_view target,
                                                            const SignedHeaders& h, int64_t now_ms,
                                                            VerifiedHeader& verified) {
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
  // `now - ts` overflows for timestamps near INT64_MIN/MAX: such a
  // difference is out of any window, so an overflow is a refusal.
  int64_t skew = 0;
  const bool overflow = __builtin_sub_overflow(now_ms, *timestamp, &skew);
  if (overflow || skew < -protocol::kReplayWindowMs || skew > protocol::kReplayWindowMs) {
    std::string how_far = overflow ? "far" : std::to_string(skew < 0 ? -(skew / 1000) : skew / 1000) + " s";
    return unauthorized("TIMESTAMP_EXPIRED", "timestamp is " + how_far + " away from server time (window " +
                                                 std::to_string(protocol::kReplayWindowMs / 1000) + " s)");
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
    case NonceCache::Result::kFresh: break;
    case NonceCache::Result::kReused: return unauthorized("NONCE_REUSED", "nonce already used");
    case NonceCache::Result::kFull:
      return ApiError{429, "TOO_MANY_REQUESTS", "too many requests within the replay window"};
  }
  verified.app_key = std::string(h.app_key);
  verified.method = *signature_method;
  verified.content_digest = std::string(h.content_digest);
  return std::nullopt;
}

std::string RequestAuthenticator::sign_for(std::string_view app_key, std::string_view signature_method,
                                          std::string_view text) const {
  auto credential = credentials_.find(app_key);
  auto method = protocol::parse_signature_method(signature_method);
  if (credential == credentials_.end() || !method) return {};
  return protocol::sign(*method, credential->second.secret, text);
}

}  // namespace dxhub::http
