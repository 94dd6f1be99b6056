// What the push endpoint has answered, for /metrics. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace dxhub {

class IngestCounters {
 public:
  // `outcome`: "accepted", "duplicate", or the refusal's code ("INVALID_RECORDS", ...).
  void post_answered(const std::string& outcome) {
    std::lock_guard lock(mu_);
    ++posts_[outcome];
  }
  void records_accepted(const std::string& resource, int64_t records) {
    std::lock_guard lock(mu_);
    records_[resource] += records;
  }
  std::map<std::string, int64_t> posts() const {
    std::lock_guard lock(mu_);
    return posts_;
  }
  std::map<std::string, int64_t> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> posts_;
  std::map<std::string, int64_t> records_;
};

}  // namespace dxhub
