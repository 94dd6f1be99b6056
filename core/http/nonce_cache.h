// Remembers (app key, nonce) pairs until their timestamp leaves the replay
// window, so a captured request cannot be sent twice. Bounded: when full of
// unexpired nonces, new requests are refused rather than forgetting old ones.
// Memory: at most `capacity` entries of one key string (app key + nonce,
// both bounded by the authenticator) plus two map nodes; expired entries are
// evicted on every call, so the size follows the request rate times the
// window, never more than the capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dxhub::http {

class NonceCache {
 public:
  enum class Result { kFresh, kReused, kFull };

  NonceCache(size_t capacity, int64_t window_ms) : capacity_(capacity), window_ms_(window_ms) {}

  // Records the nonce when it is fresh. Thread-safe.
  Result check_and_remember(std::string_view app_key, std::string_view nonce, int64_t timestamp_ms,
                            int64_t now_ms);
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  void evict_expired(int64_t now_ms);

  size_t capacity_;
  int64_t window_ms_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int64_t> expiry_by_key_;
  // Points at the keys of expiry_by_key_ (node-based: stable under rehash).
  std::multimap<int64_t, const std::string*> keys_by_expiry_;
};

}  // namespace dxhub::http
