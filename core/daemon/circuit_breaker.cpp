#include "core/daemon/circuit_breaker.h"

#include <algorithm>

namespace dxhub {

bool CircuitBreaker::allow(int64_t now) {
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen:
      if (now < open_until_) return false;
      state_ = State::kHalfOpen;
      probe_out_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  state_ = State::kClosed;
  failures_ = 0;
  opened_ = 0;
  open_until_ = 0;
  probe_out_ = false;
}

bool CircuitBreaker::record_failure(int64_t now) {
  ++failures_;
  probe_out_ = false;
  if (state_ != State::kHalfOpen && failures_ < settings_.failures_to_open) return false;
  // Open: 1x, 2x, 4x ... the base time, capped.
  int64_t open_for = settings_.open_seconds;
  for (int i = 0; i < opened_ && open_for < settings_.max_open_seconds; ++i) open_for *= 2;
  open_for = std::min(open_for, settings_.max_open_seconds);
  ++opened_;
  state_ = State::kOpen;
  open_until_ = now + open_for;
  return true;
}

const char* circuit_state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half-open";
  }
  return "closed";
}

}  // namespace dxhub
