// A random registered address (户籍地址) in Daye with the township and police
// station that go with it, shared by the household tables and the push
// events so both write addresses the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/sample_random.h"
#include "sandbox/sample/weighted_picker.h"

namespace dxhub::sample {

struct DayeAddress {
  std::string address;         // 湖北省大冶市<township><place><number>
  std::string police_station;  // 大冶市公安局<short>派出所
  std::string_view township;   // daye_townships()[i].name (static storage)
};

// Townships weighted by their share of the population.
class DayeAddressMaker {
 public:
  DayeAddressMaker();
  // Fills `out` from `rng`: a township by weight, then a place and number in it.
  void make(SampleRandom& rng, DayeAddress& out) const;

 private:
  std::vector<Weighted> township_weights_;
  WeightedPicker townships_;
};

}  // namespace dxhub::sample
