// The province protocol's request signature, shared by the hub's client and
// the mock province's verifier (see docs/architecture.md, "Province protocol").
//
//   string_to_sign = METHOD "\n" PATH_AND_QUERY "\n" TIMESTAMP_MS "\n" NONCE "\n" BODY_DIGEST
//                    "\n" BATCH_ID "\n" BATCH_EPOCH "\n" BATCH_SEQ
//   BODY_DIGEST    = lowercase hex of SHA-256 (or SM3) of the request body
//   BATCH_*        = the X-Dxhub-Batch-Id / -Epoch / -Seq header values as sent
//                    (empty for requests that carry no batch), so a batch's
//                    identity and order cannot be changed without the secret
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
inline constexpr const char* kHeaderBatchEpoch = "X-Dxhub-Batch-Epoch";

// Requests older or newer than this (against the server clock) are refused.
inline constexpr int64_t kReplayWindowMs = 5 * 60 * 1000;

enum class SignatureMethod { kHmacSha256, kHmacSm3 };

const char* signature_method_name(SignatureMethod m);  // "HMAC-SHA256" / "HMAC-SM3"
Expected<SignatureMethod> parse_signature_method(std::string_view name);

// Hex digest of `data` with the method's hash (SHA-256 or SM3).
std::string body_digest(SignatureMethod m, std::string_view data);
std::string sha256_hex(std::string_view data);

// The batch headers of an upload, as sent; all empty for other requests.
struct SignedBatch {
  std::string_view id;
  std::string_view epoch;
  std::string_view sequence;
};

std::string string_to_sign(std::string_view method, std::string_view path_and_query, int64_t timestamp_ms,
                           std::string_view nonce, std::string_view body_digest_hex, const SignedBatch& batch = {});

// What the province signs in a receipt, so the hub can tell a real receipt
// from any 200 that echoes the right numbers: every field, in this order.
struct ReceiptFields {
  std::string receipt_id;
  std::string batch_id;
  std::string resource;
  int64_t epoch = 0;
  int64_t sequence = 0;
  int64_t records_accepted = 0;
  int64_t duplicate_keys = 0;  // records of the batch whose primary key an earlier record of it already had
  int64_t deleted = 0;         // tombstones among records_accepted (all of them in a delete batch, else 0)
  std::string digest;          // lowercase hex SHA-256 of the uploaded body
  std::string fingerprint;     // of the writer schema
  std::string received_at;
};
//   "dxhub-receipt-v2" "\n" RECEIPT_ID "\n" BATCH_ID "\n" RESOURCE "\n" EPOCH "\n" SEQUENCE
//   "\n" RECORDS_ACCEPTED "\n" DUPLICATE_KEYS "\n" DELETED "\n" DIGEST "\n" FINGERPRINT "\n" RECEIVED_AT
// (v2 added DELETED; a v1 signature does not verify as v2.)
std::string receipt_string_to_sign(const ReceiptFields& receipt);
std::string sign(SignatureMethod m, std::string_view secret, std::string_view string_to_sign);

// Constant-time comparison for signatures.
bool equal_constant_time(std::string_view a, std::string_view b);

// 32 hex characters from the OS random source (nonces, batch ids).
std::string random_hex(size_t bytes = 16);

int64_t now_ms();

}  // namespace dxhub::protocol
