// Household-registration change events (户籍变动) as the public security
// bureau's system would push them: births, deaths, moves out, moves in and
// address changes, each carried as the person's full row after the change
// (the source columns of mappings/public_security/household_population).
// No network here: push_events_command.h posts them.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/common/status.h"
#include "sandbox/sample/daye_address.h"
#include "sandbox/sample/sample_random.h"
#include "sandbox/sample/weighted_picker.h"

namespace dxhub::sample {

// One person's row, keyed as the source table's columns.
struct PersonRecord {
  std::string gmsfhm;  // 公民身份号码
  std::string xm;      // 姓名
  std::string xb;      // 性别: "1" 男, "2" 女
  std::string mz;      // 民族
  std::string csrq;    // 出生日期 YYYY-MM-DD
  std::string hh;      // 户号
  std::string yhzgx;   // 与户主关系
  std::string hjdz;    // 户籍地址
  std::string sspcs;   // 所属派出所
  std::string xzjd;    // 乡镇/街道
  std::optional<std::string> qrrq;  // 迁入日期 YYYY-MM-DD; none when born here
  std::string ryzt;    // 人员状态: "1" NORMAL, "2" MOVED_OUT, "3" DECEASED
  std::string gxsj;    // 更新时间 YYYY-MM-DD HH:MM:SS, Asia/Shanghai

  nlohmann::json to_json() const;  // qrrq none -> null
};

inline constexpr std::string_view kStatusNormal = "1";
inline constexpr std::string_view kStatusMovedOut = "2";
inline constexpr std::string_view kStatusDeceased = "3";

enum class EventKind { kBirth, kDeath, kMoveOut, kMoveIn, kAddressChange };
inline constexpr size_t kEventKindCount = 5;
const char* event_kind_name(EventKind kind);  // "birth", "death", "move_out", "move_in", "address_change"

// Shares of each kind, per mille, in EventKind order. Roughly a county's
// registry in a year: address changes and migration outnumber births and
// deaths (Daye: ~9‰ births, ~7‰ deaths a year, migration several times that).
struct EventMix {
  std::array<unsigned, kEventKindCount> per_mille = {150, 120, 180, 200, 350};
};

struct PopulationEvent {
  EventKind kind = EventKind::kBirth;
  PersonRecord record;  // the person's full row after the change
};

// Reads every row of a sample table made by `dxhub-sample household` (in id order).
Expected<std::vector<PersonRecord>> load_residents(const std::string& db_path);

// Draws events against a population, deterministically for a seed and the
// same starting residents (the event times given to next() only fill gxsj,
// csrq of births and qrrq of arrivals). A person who died or moved out is
// never touched again; new people get fresh, valid, unique ID numbers.
class PopulationEventGenerator {
 public:
  PopulationEventGenerator(uint64_t seed, std::vector<PersonRecord> residents, EventMix mix = {});

  // The next event at `event_time` ('YYYY-MM-DD HH:MM:SS', Asia/Shanghai).
  // kConfig when the time is malformed.
  Expected<PopulationEvent> next(std::string_view event_time);

  size_t active_residents() const { return active_.size(); }

 private:
  struct Household {
    std::vector<size_t> members;  // indices into people_
    size_t head = SIZE_MAX;       // the 户主, SIZE_MAX when none is known
  };

  EventKind draw_kind();
  PopulationEvent birth(int32_t today, std::string_view gxsj);
  PopulationEvent death(int32_t today, std::string_view gxsj);
  PopulationEvent move_out(int32_t today, std::string_view gxsj);
  PopulationEvent move_in(int32_t today, std::string_view gxsj);
  PopulationEvent address_change(std::string_view gxsj);

  size_t random_active();
  int age_of(const PersonRecord& p, int32_t today) const;
  void deactivate(size_t person, std::string_view status);
  size_t add_person(PersonRecord record);
  std::string new_id(std::string_view division, int32_t birth_days, bool male);
  std::string new_name(std::string_view surname, bool male);
  std::string new_household_no();

  SampleRandom rng_;
  EventMix mix_;
  DayeAddressMaker addresses_;
  WeightedPicker surnames_;
  WeightedPicker ethnicities_;
  std::vector<PersonRecord> people_;
  std::vector<size_t> active_;           // people_ indices with status NORMAL
  std::vector<size_t> active_position_;  // people_ index -> position in active_ (SIZE_MAX: inactive)
  std::unordered_map<std::string, Household> households_;
  std::unordered_set<uint64_t> used_ids_;  // first 17 digits of every ID seen or made
  int64_t next_household_no_ = 100000001;
};

}  // namespace dxhub::sample
