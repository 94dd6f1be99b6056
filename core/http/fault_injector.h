// Switchable fault injection for the mock province, so the hub's retry and
// idempotency paths can be tested against the failures a real network and a
// real platform produce: 5xx answers, 429 with Retry-After, latency,
// connections dropped mid-request, and requests handled whose answer is lost.
//
// Each request draws once per fault kind from one seeded RNG (the same seed
// and request order give the same faults); the kinds are independent, and a
// request gets at most one of drop / 5xx / 429 / lose-response, checked in
// that order. Thread-safe; the settings change at run time (set()).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <random>

#include "core/common/status.h"

namespace dxhub::http {

struct FaultSettings {
  double error_5xx = 0;       // fraction answered 503 {code:"INJECTED_FAULT"}
  double rate_limit_429 = 0;  // fraction answered 429 with Retry-After
  int64_t retry_after_s = 1;  // the Retry-After value of those 429s
  int64_t latency_ms = 0;     // added before every answer to a faultable route
  double drop = 0;            // fraction closed after the header: no body read, no answer
  double lose_response = 0;   // fraction handled in full (stored), then closed without answer

  static constexpr int64_t kMaxRetryAfterS = 3600;
  static constexpr int64_t kMaxLatencyMs = 60'000;

  bool any() const {
    return error_5xx > 0 || rate_limit_429 > 0 || latency_ms > 0 || drop > 0 || lose_response > 0;
  }
  // Ratios in [0,1], retry_after_s in [0, kMaxRetryAfterS], latency in [0, kMaxLatencyMs].
  Status validate() const;
  nlohmann::json to_json() const;
  // The admin endpoint's body: every key optional (missing = 0), unknown
  // keys and out-of-range values refused.
  static Expected<FaultSettings> from_json(const nlohmann::json& json);
};

// What happens to one request.
struct FaultDecision {
  bool drop = false;           // close the connection right after the header
  unsigned error_status = 0;   // 0, 503 or 429: answer this instead of handling
  bool lose_response = false;  // handle, then close without answering
  int64_t latency_ms = 0;
  int64_t retry_after_s = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(FaultSettings settings = {}, uint64_t seed = 1);

  void set(const FaultSettings& settings);
  FaultSettings settings() const;
  void reseed(uint64_t seed);
  // Draws the faults of the next request.
  FaultDecision decide();

 private:
  mutable std::mutex mutex_;
  FaultSettings settings_;
  std::mt19937_64 rng_;
};

}  // namespace dxhub::http
