// The province protocol's request signature, shared by the hub's client and
// the mock province's verifier (see docs/architecture.md, "Province protocol").
//
//   string_to_sign = METHOD "\n" PATH_AND_QUERY "\n" TIMESTAMP_MS "\n" NONCE "\n" BODY_DIGEST
//   BODY_DIGEST    = lowercase hex of SHA-256 (or SM3) of the request body
//   signature      = lowercase hex of HMAC-SHA256 (or HMAC-SM3) keyed by the AppSecret
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::protocol {

inline constexpr const char* kHeaderAppKey = "X-Dxhub-AppKey";
inline constexpr const char* kHeaderTimestamp = "X-Dxhub-Timestamp";
inline constexpr const char* kHeaderNonce = "X-Dxhub-Nonce";
inline constexpr const char* kHeaderSignatureMethod = "X-Dxhub-Signature-Method";
inline constexpr const char* kHeaderContentDigest = "X-Dxhub-Content-Digest";
inline constexpr const char* kHeaderSignature = "X-Dxhub-Signature";
inline constexpr const char* kHeaderBatchId = "X-Dxhub-Batch-Id";
inline constexpr const char* kHeaderBatchSeq = "X-Dxhub-Batch-Seq";

// Requests older or newer than this (against the server clock) are refused.
inline constexpr int64_t kReplayWindowMs = 5 * 60 * 1000;

enum class SignatureMethod { kHmacSha256, kHmacSm3 };

const char* signature_method_name(SignatureMethod m);  // "HMAC-SHA256" / "HMAC-SM3"
Expected<SignatureMethod> parse_signature_method(std::string_view name);

// Hex digest of `data` with the method's hash (SHA-256 or SM3).
std::string body_digest(SignatureMethod m, std::string_view data);
std::string sha256_hex(std::string_view data);

std::string string_to_sign(std::string_view method, std::string_view path_and_query, int64_t timestamp_ms,
                           std::string_view nonce, std::string_view body_digest_hex);
std::string sign(SignatureMethod m, std::string_view secret, std::string_view string_to_sign);

// Constant-time comparison for signatures.
bool equal_constant_time(std::string_view a, std::string_view b);

// 32 hex characters from the OS random source (nonces, batch ids).
std::string random_hex(size_t bytes = 16);

int64_t now_ms();

}  // namespace dxhub::protocol
