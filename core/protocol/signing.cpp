#include "core/protocol/signing.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace dxhub::protocol {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

const char* digest_name(SignatureMethod m) { return m == SignatureMethod::kHmacSm3 ? "SM3" : "SHA256"; }

std::string to_hex(const unsigned char* data, size_t len) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(len * 2, '\0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

// OpenSSL failures here mean a broken installation (SM3 and SHA-256 ship
// with OpenSSL 3's default provider); they are programming errors.
[[noreturn]] void openssl_failed(const char* what) { throw std::runtime_error(std::string("OpenSSL: ") + what); }

}  // namespace

const char* signature_method_name(SignatureMethod m) {
  return m == SignatureMethod::kHmacSm3 ? "HMAC-SM3" : "HMAC-SHA256";
}

Expected<SignatureMethod> parse_signature_method(std::string_view name) {
  if (name == "HMAC-SHA256") return SignatureMethod::kHmacSha256;
  if (name == "HMAC-SM3") return SignatureMethod::kHmacSm3;
  return config_error("unknown signature method '" + std::string(name) + "' (expected HMAC-SHA256 or HMAC-SM3)");
}

std::string body_digest(SignatureMethod m, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_MD* md = EVP_MD_fetch(nullptr, digest_name(m), nullptr);
  if (!ctx || md == nullptr) openssl_failed("digest unavailable");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 && EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out, &len) == 1;
  EVP_MD_free(md);
  if (!ok) openssl_failed("digest failed");
  return to_hex(out, len);
}

std::string sha256_hex(std::string_view data) { return body_digest(SignatureMethod::kHmacSha256, data); }

std::string string_to_sign(std::string_view method, std::string_view path_and_query, int64_t timestamp_ms,
                           std::string_view nonce, std::string_view body_digest_hex, const SignedBatch& batch) {
  std::string s;
  s.reserve(method.size() + path_and_query.size() + nonce.size() + body_digest_hex.size() + batch.id.size() +
            batch.epoch.size() + batch.sequence.size() + 40);
  s.append(method).append("\n").append(path_and_query).append("\n").append(std::to_string(timestamp_ms));
  s.append("\n").append(nonce).append("\n").append(body_digest_hex);
  s.append("\n").append(batch.id).append("\n").append(batch.epoch).append("\n").append(batch.sequence);
  return s;
}

std::string receipt_string_to_sign(const ReceiptFields& r) {
  std::string s = "dxhub-receipt-v2";
  for (std::string_view field : {std::string_view(r.receipt_id), std::string_view(r.batch_id),
                                 std::string_view(r.resource)}) {
    s.append("\n").append(field);
  }
  for (int64_t number : {r.epoch, r.sequence, r.records_accepted, r.duplicate_keys, r.deleted}) {
    s.append("\n").append(std::to_string(number));
  }
  for (std::string_view field : {std::string_view(r.digest), std::string_view(r.fingerprint),
                                 std::string_view(r.received_at)}) {
    s.append("\n").append(field);
  }
  return s;
}

std::string sign(SignatureMethod m, std::string_view secret, std::string_view to_sign) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) openssl_failed("HMAC unavailable");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) openssl_failed("HMAC context");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(m)), 0),
      OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1) {
    openssl_failed("HMAC failed");
  }
  return to_hex(out, len);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    openssl_failed("RAND_bytes");
  }
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace dxhub::protocol
