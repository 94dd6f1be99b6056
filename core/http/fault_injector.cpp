#include "core/http/fault_injector.h"

#include <cmath>
#include <string>

namespace dxhub::http {

namespace {

bool valid_ratio(double r) { return std::isfinite(r) && r >= 0 && r <= 1; }

}  // namespace

Status FaultSettings::validate() const {
  const std::pair<const char*, double> ratios[] = {
      {"error_5xx", error_5xx}, {"rate_limit_429", rate_limit_429}, {"drop", drop}, {"lose_response", lose_response}};
  for (const auto& [name, value] : ratios) {
    if (!valid_ratio(value)) return config_error(std::string(name) + " must be a ratio in [0,1]");
  }
  if (retry_after_s < 0 || retry_after_s > kMaxRetryAfterS) {
    return config_error("retry_after_s must be in [0," + std::to_string(kMaxRetryAfterS) + "]");
  }
  if (latency_ms < 0 || latency_ms > kMaxLatencyMs) {
    return config_error("latency_ms must be in [0," + std::to_string(kMaxLatencyMs) + "]");
  }
  return Status::ok();
}

nlohmann::json FaultSettings::to_json() const {
  return {{"error_5xx", error_5xx},       {"rate_limit_429", rate_limit_429},
          {"retry_after_s", retry_after_s}, {"latency_ms", latency_ms},
          {"drop", drop},                 {"lose_response", lose_response}};
}

Expected<FaultSettings> FaultSettings::from_json(const nlohmann::json& json) {
  if (!json.is_object()) return config_error("the body must be a JSON object");
  FaultSettings s;
  s.retry_after_s = 0;  // missing keys are 0, this one too
  for (const auto& [key, value] : json.items()) {
    if (key == "error_5xx" || key == "rate_limit_429" || key == "drop" || key == "lose_response") {
      if (!value.is_number()) return config_error(key + " must be a number");
      double ratio = value.get<double>();
      if (key == "error_5xx") s.error_5xx = ratio;
      else if (key == "rate_limit_429") s.rate_limit_429 = ratio;
      else if (key == "drop") s.drop = ratio;
      else s.lose_response = ratio;
    } else if (key == "retry_after_s" || key == "latency_ms") {
      if (!value.is_number_integer()) return config_error(key + " must be an integer");
      // Unsigned JSON integers above INT64_MAX would wrap: refuse them as out of range.
      if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return config_error(key + " is out of range");
      }
      (key == "retry_after_s" ? s.retry_after_s : s.latency_ms) = value.get<int64_t>();
    } else {
      return config_error("unknown fault setting '" + key + "'");
    }
  }
  if (Status st = s.validate(); !st.is_ok()) return st;
  return s;
}

FaultInjector::FaultInjector(FaultSettings settings, uint64_t seed) : settings_(settings), rng_(seed) {}

void FaultInjector::set(const FaultSettings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
}

FaultSettings FaultInjector::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void FaultInjector::reseed(uint64_t seed) {
  std::lock_guard lock(mutex_);
  rng_.seed(seed);
}

FaultDecision FaultInjector::decide() {
  std::lock_guard lock(mutex_);
  FaultDecision d;
  if (!settings_.any()) return d;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // Always four draws, so one kind's ratio does not shift the others' sequence.
  const double drop = unit(rng_);
  const double error = unit(rng_);
  const double limited = unit(rng_);
  const double lose = unit(rng_);
  d.latency_ms = settings_.latency_ms;
  if (drop < settings_.drop) {
    d.drop = true;
  } else if (error < settings_.error_5xx) {
    d.error_status = 503;
  } else if (limited < settings_.rate_limit_429) {
    d.error_status = 429;
    d.retry_after_s = settings_.retry_after_s;
  } else if (lose < settings_.lose_response) {
    d.lose_response = true;
  }
  return d;
}

}  // namespace dxhub::http
