#include "core/http/nonce_cache.h"

namespace dxhub::http {

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
  // Saturating: a timestamp near INT64_MAX must not wrap into the past.
  int64_t expiry = 0;
  if (__builtin_add_overflow(timestamp_ms, window_ms_ + 1, &expiry)) expiry = INT64_MAX;
  auto stored = expiry_by_key_.emplace(std::move(key), expiry).first;
  keys_by_expiry_.emplace(expiry, &stored->first);
  return Result::kFresh;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mutex_);
  return expiry_by_key_.size();
}

void NonceCache::evict_expired(int64_t now_ms) {
  auto end = keys_by_expiry_.upper_bound(now_ms);
  // Erase by iterator: the key the pointer refers to dies with the node.
  for (auto it = keys_by_expiry_.begin(); it != end; ++it) expiry_by_key_.erase(expiry_by_key_.find(*it->second));
  keys_by_expiry_.erase(keys_by_expiry_.begin(), end);
}

}  // namespace dxhub::http
