// Verifies the province protocol's request signature (core/protocol/signing.h)
// in two phases, so a request is authenticated before its body is read:
//   header phase: presence of the headers, known app key, allowed method,
//     replay window, HMAC (over the signed content digest) in constant time,
//     then the nonce -- remembered only once the signature verified;
//   body phase: the body's digest equals the signed content digest.
// Secrets never appear in the refusals.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/protocol/signing.h"
#include "core/http/api_error.h"
#include "core/http/nonce_cache.h"

namespace dxhub::http {

struct AppCredential {
  std::string secret;
  std::set<protocol::SignatureMethod> allowed_methods = {protocol::SignatureMethod::kHmacSha256,
                                                         protocol::SignatureMethod::kHmacSm3};
};

// The signature headers of one request, as received (empty when absent).
struct SignedHeaders {
  std::string_view app_key;
  std::string_view timestamp;
  std::string_view nonce;
  std::string_view signature_method;
  std::string_view content_digest;
  std::string_view signature;
  protocol::SignedBatch batch;  // the X-Dxhub-Batch-* headers (empty when absent)
};

class RequestAuthenticator {
 public:
  static constexpr size_t kDefaultNonceCapacity = 1'000'000;
  static constexpr size_t kMaxNonceLength = 128;

  explicit RequestAuthenticator(std::map<std::string, AppCredential> credentials,
                                size_t nonce_capacity = kDefaultNonceCapacity);

  // What the header phase established, for the body phase.
  struct VerifiedHeader {
    std::string app_key;
    protocol::SignatureMethod method = protocol::SignatureMethod::kHmacSha256;
    std::string content_digest;  // as signed
  };

  // Both phases at once: nullopt when the request is authentic; otherwise
  // why it is refused. `target` is the request target as sent (path and query).
  std::optional<ApiError> verify(std::string_view method, std::string_view target, const SignedHeaders& headers,
                                 std::string_view body, int64_t now_ms);

  // HMAC of `text` with the app key's secret and the named method, for
  // answers the caller must be able to authenticate (receipts); empty when
  // the key or method is unknown.
  std::string sign_for(std::string_view app_key, std::string_view signature_method, std::string_view text) const;

  // The header phase; fills `verified` when it returns nullopt. Consumes the nonce.
  std::optional<ApiError> verify_header(std::string_view method, std::string_view target,
                                        const SignedHeaders& headers, int64_t now_ms, VerifiedHeader& verified);
  // The body phase, once the body is in.
  static std::optional<ApiError> verify_body(const VerifiedHeader& verified, std::string_view body);

  size_t remembered_nonces() const { return nonces_.size(); }

 private:
  std::map<std::string, AppCredential, std::less<>> credentials_;
  NonceCache nonces_;
};

}  // namespace dxhub::http
