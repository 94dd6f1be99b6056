#include "core/ingest/event_latency.h"

#include <algorithm>
#include <cmath>

namespace dxhub {

void EventLatency::observe(int64_t ms, uint64_t events) {
  if (events == 0) return;
  ms = std::max<int64_t>(0, ms);
  std::lock_guard lock(mu_);
  counts_[static_cast<size_t>(std::min(ms, kMaxTrackedMs))] += events;
  count_ += events;
  sum_ms_ += static_cast<double>(ms) * static_cast<double>(events);
  max_ms_ = std::max(max_ms_, ms);
}

int64_t EventLatency::quantile_locked(double q) const {
  if (count_ == 0) return 0;
  // The smallest latency at or below which a share q of the events lie.
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (size_t ms = 0; ms < counts_.size(); ++ms) {
    seen += counts_[ms];
    if (seen >= std::max<uint64_t>(rank, 1)) return ms == counts_.size() - 1 ? max_ms_ : static_cast<int64_t>(ms);
  }
  return max_ms_;
}

EventLatency::Snapshot EventLatency::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot s;
  s.count = count_;
  s.sum_seconds = sum_ms_ / 1000.0;
  s.p50_ms = quantile_locked(0.5);
  s.p90_ms = quantile_locked(0.9);
  s.p99_ms = quantile_locked(0.99);
  s.max_ms = max_ms_;
  return s;
}

}  // namespace dxhub
