// Reference vocabulary for Daye (大冶市, division 420281) sample rows: the
// real towns and sub-districts, their police stations, place names, and name
// and ethnicity pools with rough weights.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace dxhub::sample {

struct DayeTownship {
  std::string_view name;        // 东岳路街道, 金山店镇, ... (catalog/daye_divisions.csv)
  std::string_view short_name;  // used for the police station: 大冶市公安局<short>派出所
  bool urban;                   // 街道: addresses are road + number; else village + group + number
  std::span<const std::string_view> places;  // 村/社区 (rural) or roads (urban)
  unsigned weight;              // share of the population, relative
};

std::span<const DayeTownship> daye_townships();

struct Weighted {
  std::string_view text;
  unsigned weight;
};

std::span<const Weighted> daye_surnames();
std::span<const Weighted> daye_ethnicities();
std::span<const std::string_view> male_name_chars();
std::span<const std::string_view> female_name_chars();

}  // namespace dxhub::sample
