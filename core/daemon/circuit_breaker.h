// Pauses a resource whose province side keeps failing, without stopping
// the others: after `failures_to_open` failed deliveries in a row the
// circuit opens for `open_seconds` (doubling with every failed probe, up to
// `max_open_seconds`); then one probe is let through (half-open): success
// closes it, failure opens it again. Pure logic; the time is an argument.
#pragma once

#include <cstdint>

namespace dxhub {

class CircuitBreaker {
 public:
  struct Settings {
    int failures_to_open = 3;
    int64_t open_seconds = 30;
    int64_t max_open_seconds = 600;
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker() = default;
  explicit CircuitBreaker(Settings settings) : settings_(settings) {}

  // May work on the resource start now? Closed: yes. Open: no until
  // open_until(); after it, yes once (the probe) and no again until the
  // probe's outcome is recorded.
  bool allow(int64_t now);
  void record_success();
  // True when this failure opened the circuit (or opened it again).
  bool record_failure(int64_t now);

  State state() const { return state_; }
  int64_t open_until() const { return open_until_; }
  int consecutive_failures() const { return failures_; }

 private:
  Settings settings_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int opened_ = 0;  // times opened since the last success
  int64_t open_until_ = 0;
  bool probe_out_ = false;
};

const char* circuit_state_name(CircuitBreaker::State state);

}  // namespace dxhub
