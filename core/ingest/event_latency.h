// How long pushed events take from being accepted by the endpoint to their
// batch's receipt being recorded at the hub, over the daemon's lifetime:
// counts in 1 ms steps up to a minute (beyond, in one overflow count), so
// quantiles are exact to the millisecond. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

namespace dxhub {

class EventLatency {
 public:
  static constexpr int64_t kMaxTrackedMs = 60'000;

  // `events` events took `ms` milliseconds each.
  void observe(int64_t ms, uint64_t events);

  struct Snapshot {
    uint64_t count = 0;
    double sum_seconds = 0;
    int64_t p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  };
  Snapshot snapshot() const;

 private:
  int64_t quantile_locked(double q) const;

  mutable std::mutex mu_;
  std::array<uint64_t, kMaxTrackedMs + 1> counts_{};  // the last slot: over a minute
  uint64_t count_ = 0;
  double sum_ms_ = 0;
  int64_t max_ms_ = 0;
};

}  // namespace dxhub
