#include "sandbox/sample/daye_address.h"

#include <cstdio>

namespace dxhub::sample {

namespace {

std::vector<Weighted> township_weights() {
  std::vector<Weighted> out;
  for (const auto& t : daye_townships()) out.push_back({t.name, t.weight});
  return out;
}

}  // namespace

DayeAddressMaker::DayeAddressMaker() : township_weights_(township_weights()), townships_(township_weights_) {}

void DayeAddressMaker::make(SampleRandom& rng, DayeAddress& out) const {
  const auto& t = daye_townships()[townships_.pick_index(rng)];
  out.township = t.name;
  out.police_station = "大冶市公安局";
  out.police_station += t.short_name;
  out.police_station += "派出所";
  out.address = "湖北省大冶市";
  out.address += t.name;
  const std::string_view place = t.places[rng.below(t.places.size())];
  out.address += place;
  char buf[48];
  if (t.urban) {
    const int number = static_cast<int>(rng.between(1, 320));
    if (rng.chance(450)) {
      std::snprintf(buf, sizeof buf, "%d号%d栋%d单元%d0%d室", number, static_cast<int>(rng.between(1, 18)),
                    static_cast<int>(rng.between(1, 4)), static_cast<int>(rng.between(1, 18)),
                    static_cast<int>(rng.between(1, 4)));
    } else {
      std::snprintf(buf, sizeof buf, "%d号", number);
    }
  } else if (place.ends_with("村")) {
    std::snprintf(buf, sizeof buf, "%d组%d号", static_cast<int>(rng.between(1, 14)),
                  static_cast<int>(rng.between(1, 80)));
  } else {
    std::snprintf(buf, sizeof buf, "%d号", static_cast<int>(rng.between(1, 260)));
  }
  out.address += buf;
}

}  // namespace dxhub::sample
