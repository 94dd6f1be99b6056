#include "sandbox/province/nonce_cache.h"

namespace dxhub::province {

NonceCache::Result NonceCache::check_and_remember(std::string_view app_key, std::string_view nonce,
                                                  int64_t timestamp_ms, int64_t now_ms) {
  std::string key;
  key.reserve(app_key.size() + 1 + nonce.size());
  key.append(app_key).append("\n").append(nonce);

  std::lock_guard lock(mutex_);
  evict_expired(now_ms);
  if (expiry_by_key_.count(key) != 0) return Result::kReused;
  if (expiry_by_key_.size() >= capacity_) return Result::kFull;
  // After timestamp + window the timestamp check refuses the request anyway.
  int64_t expiry = timestamp_ms + window_ms_ + 1;
  expiry_by_key_.emplace(key, expiry);
  keys_by_expiry_.emplace(expiry, std::move(key));
  return Result::kFresh;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mutex_);
  return expiry_by_key_.size();
}

void NonceCache::evict_expired(int64_t now_ms) {
  auto end = keys_by_expiry_.upper_bound(now_ms);
  for (auto it = keys_by_expiry_.begin(); it != end; ++it) expiry_by_key_.erase(it->second);
  keys_by_expiry_.erase(keys_by_expiry_.begin(), end);
}

}  // namespace dxhub::province
