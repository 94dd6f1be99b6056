// Picks from a weighted list (daye_reference.h) in O(log n) via cumulative
// weights, drawing from a SampleRandom so picks follow the seed.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/sample_random.h"

namespace dxhub::sample {

class WeightedPicker {
 public:
  explicit WeightedPicker(std::span<const Weighted> items) : items_(items) {
    unsigned total = 0;
    for (const auto& item : items) cumulative_.push_back(total += item.weight);
  }
  size_t pick_index(SampleRandom& rng) const {
    const uint64_t r = rng.below(cumulative_.back());
    size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (r < cumulative_[mid]) hi = mid; else lo = mid + 1;
    }
    return lo;
  }
  std::string_view pick(SampleRandom& rng) const { return items_[pick_index(rng)].text; }

 private:
  std::span<const Weighted> items_;
  std::vector<unsigned> cumulative_;
};

}  // namespace dxhub::sample
