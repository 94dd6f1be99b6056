#include "sandbox/sample/population_events.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/resident_id.h"

namespace dxhub::sample {

namespace {

constexpr std::string_view kDayeDivision = "420281";
// Where people moving in were born: the rest of Huangshi, Wuhan, Ezhou,
// Huanggang and Xianning (real division codes), and Daye itself (people
// coming back).
constexpr std::array<std::string_view, 10> kArrivalDivisions = {
    "420202", "420203", "420204", "420222", "420102", "420111", "420702", "421102", "421202", kDayeDivision};

// 'YYYY-MM-DD' as days since 1970-01-01; nullopt when it is not a date.
std::optional<int32_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  int part = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7) {
      ++part;
      continue;
    }
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    parts[part] = parts[part] * 10 + (text[i] - '0');
  }
  const std::chrono::year_month_day ymd{std::chrono::year{parts[0]}, std::chrono::month{static_cast<unsigned>(parts[1])},
                                        std::chrono::day{static_cast<unsigned>(parts[2])}};
  if (!ymd.ok()) return std::nullopt;
  return days_of(parts[0], static_cast<unsigned>(parts[1]), static_cast<unsigned>(parts[2]));
}

std::string date_text(int32_t days) {
  char text[10];
  format_date(days, text);
  return std::string(text, 10);
}

uint64_t id_key(std::string_view id) {
  uint64_t key = 0;
  for (size_t i = 0; i < 17 && i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    key = key * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  return key;
}

// 欧阳 is the one two-character surname in the pools (daye_reference.cpp).
std::string_view surname_of(std::string_view name) {
  if (name.starts_with("欧阳")) return name.substr(0, 6);
  return name.substr(0, std::min<size_t>(3, name.size()));
}

}  // namespace

nlohmann::json PersonRecord::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["gmsfhm"] = gmsfhm;
  j["xm"] = xm;
  j["xb"] = xb;
  j["mz"] = mz;
  j["csrq"] = csrq;
  j["hh"] = hh;
  j["yhzgx"] = yhzgx;
  j["hjdz"] = hjdz;
  j["sspcs"] = sspcs;
  j["xzjd"] = xzjd;
  j["qrrq"] = qrrq ? nlohmann::json(*qrrq) : nlohmann::json(nullptr);
  j["ryzt"] = ryzt;
  j["gxsj"] = gxsj;
  return j;
}

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kBirth: return "birth";
    case EventKind::kDeath: return "death";
    case EventKind::kMoveOut: return "move_out";
    case EventKind::kMoveIn: return "move_in";
    case EventKind::kAddressChange: return "address_change";
  }
  return "unknown";
}

Expected<std::vector<PersonRecord>> load_residents(const std::string& db_path) {
  if (!std::filesystem::exists(db_path)) return not_found_error(db_path + " does not exist");
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(db_path, SqliteDb::Mode::kReadOnly));
  DXHUB_ASSIGN_OR_RETURN(bool has_table, db.table_exists("household_population"));
  if (!has_table) return config_error(db_path + " has no table household_population");
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt scan,
                         db.prepare("SELECT gmsfhm, xm, xb, mz, csrq, hh, yhzgx, hjdz, sspcs, xzjd, qrrq, ryzt, gxsj "
                                    "FROM household_population ORDER BY id"));
  std::vector<PersonRecord> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, scan.step());
    if (!more) break;
    PersonRecord& p = out.emplace_back();
    std::string* text_columns[] = {&p.gmsfhm, &p.xm, &p.xb, &p.mz, &p.csrq, &p.hh, &p.yhzgx, &p.hjdz, &p.sspcs, &p.xzjd};
    for (int c = 0; c < 10; ++c) text_columns[c]->assign(scan.column_text(c));
    if (!scan.column_is_null(10)) p.qrrq = std::string(scan.column_text(10));
    p.ryzt.assign(scan.column_text(11));
    p.gxsj.assign(scan.column_text(12));
  }
  return out;
}

PopulationEventGenerator::PopulationEventGenerator(uint64_t seed, std::vector<PersonRecord> residents, EventMix mix)
    : rng_(seed ^ 0x7075736865766e74ULL),  // its own stream: not the rows `household` makes with this seed
      mix_(mix),
      surnames_(daye_surnames()),
      ethnicities_(daye_ethnicities()),
      people_(std::move(residents)) {
  active_position_.assign(people_.size(), SIZE_MAX);
  used_ids_.reserve(people_.size() * 2);
  for (size_t i = 0; i < people_.size(); ++i) {
    const PersonRecord& p = people_[i];
    used_ids_.insert(id_key(p.gmsfhm));
    Household& household = households_[p.hh];
    household.members.push_back(i);
    if (p.yhzgx == "户主") household.head = i;
    if (p.ryzt == kStatusNormal) {
      active_position_[i] = active_.size();
      active_.push_back(i);
    }
    long long number = 0;
    if (std::sscanf(p.hh.c_str(), "%lld", &number) == 1) {
      next_household_no_ = std::max<int64_t>(next_household_no_, number + 1);
    }
  }
}

Expected<PopulationEvent> PopulationEventGenerator::next(std::string_view event_time) {
  DXHUB_ASSIGN_OR_RETURN(int64_t seconds, parse_local_time(event_time));
  const auto today = static_cast<int32_t>(seconds / 86400);
  EventKind kind = draw_kind();
  // Nobody left to act: people can only arrive.
  if (active_.empty()) kind = EventKind::kMoveIn;
  switch (kind) {
    case EventKind::kBirth: return birth(today, event_time);
    case EventKind::kDeath: return death(today, event_time);
    case EventKind::kMoveOut: return move_out(today, event_time);
    case EventKind::kMoveIn: return move_in(today, event_time);
    case EventKind::kAddressChange: return address_change(event_time);
  }
  return internal_error("unknown event kind");
}

EventKind PopulationEventGenerator::draw_kind() {
  unsigned total = 0;
  for (unsigned share : mix_.per_mille) total += share;
  uint64_t r = rng_.below(std::max(1u, total));
  for (size_t k = 0; k < kEventKindCount; ++k) {
    if (r < mix_.per_mille[k]) return static_cast<EventKind>(k);
    r -= mix_.per_mille[k];
  }
  return EventKind::kAddressChange;
}

size_t PopulationEventGenerator::random_active() { return active_[rng_.below(active_.size())]; }

int PopulationEventGenerator::age_of(const PersonRecord& p, int32_t today) const {
  const auto birth = parse_date(p.csrq);
  if (!birth) return 0;
  return static_cast<int>((today - *birth) / 365);
}

void PopulationEventGenerator::deactivate(size_t person, std::string_view status) {
  people_[person].ryzt = status;
  const size_t position = active_position_[person];
  if (position == SIZE_MAX) return;
  const size_t last = active_.back();
  active_[position] = last;
  active_position_[last] = position;
  active_.pop_back();
  active_position_[person] = SIZE_MAX;
}

size_t PopulationEventGenerator::add_person(PersonRecord record) {
  const size_t index = people_.size();
  Household& household = households_[record.hh];
  household.members.push_back(index);
  if (record.yhzgx == "户主") household.head = index;
  people_.push_back(std::move(record));
  active_position_.push_back(active_.size());
  active_.push_back(index);
  return index;
}

std::string PopulationEventGenerator::new_id(std::string_view division, int32_t birth_days, bool male) {
  for (;;) {
    char date[10];
    format_date(birth_days, date);
    for (int attempt = 0; attempt < 64; ++attempt) {
      const uint64_t half = rng_.below(499);
      const uint64_t sequence = male ? half * 2 + 1 : half * 2 + 2;  // odd for men
      char digits[19];
      std::snprintf(digits, sizeof digits, "%.6s%.4s%.2s%.2s%03llu", division.data(), date, date + 5, date + 8,
                    static_cast<unsigned long long>(sequence));
      if (used_ids_.insert(id_key(std::string_view(digits, 17))).second) {
        digits[17] = resident_id_check_char(std::string_view(digits, 17));
        return std::string(digits, 18);
      }
    }
    --birth_days;  // a crowded day (never in practice): the day before
  }
}

std::string PopulationEventGenerator::new_name(std::string_view surname, bool male) {
  std::string name(surname);
  const auto chars = male ? male_name_chars() : female_name_chars();
  name += chars[rng_.below(chars.size())];
  if (rng_.chance(720)) name += chars[rng_.below(chars.size())];
  return name;
}

std::string PopulationEventGenerator::new_household_no() {
  char number[16];
  std::snprintf(number, sizeof number, "%09lld", static_cast<long long>(next_household_no_++));
  return number;
}

PopulationEvent PopulationEventGenerator::birth(int32_t today, std::string_view gxsj) {
  // A child is born into a household whose head is of parenting age; a few
  // draws find one in any realistic population, else the last one drawn.
  size_t parent = random_active();
  for (int attempt = 0; attempt < 32; ++attempt) {
    const Household& h = households_.at(people_[parent].hh);
    if (h.head != SIZE_MAX && people_[h.head].ryzt == kStatusNormal) {
      const int age = age_of(people_[h.head], today);
      if (age >= 22 && age <= 45) {
        parent = h.head;
        break;
      }
    }
    parent = random_active();
  }
  const PersonRecord& head = people_[parent];
  const bool male = rng_.chance(515);
  PersonRecord child;
  child.gmsfhm = new_id(kDayeDivision, today, male);
  child.xm = new_name(surname_of(head.xm), male);
  child.xb = male ? "1" : "2";
  child.mz = head.mz;
  child.csrq = date_text(today);
  child.hh = head.hh;
  child.yhzgx = male ? "子" : "女";
  child.hjdz = head.hjdz;
  child.sspcs = head.sspcs;
  child.xzjd = head.xzjd;
  child.ryzt = kStatusNormal;
  child.gxsj = gxsj;
  return {EventKind::kBirth, people_[add_person(std::move(child))]};
}

PopulationEvent PopulationEventGenerator::death(int32_t today, std::string_view gxsj) {
  // Mortality rises with age: the oldest of three random residents.
  size_t person = random_active();
  for (int draw = 0; draw < 2; ++draw) {
    const size_t other = random_active();
    if (age_of(people_[other], today) > age_of(people_[person], today)) person = other;
  }
  deactivate(person, kStatusDeceased);
  people_[person].gxsj = gxsj;
  return {EventKind::kDeath, people_[person]};
}

PopulationEvent PopulationEventGenerator::move_out(int32_t today, std::string_view gxsj) {
  // Mostly young adults leave (work, study, marriage): of two residents, the one nearer 28.
  size_t person = random_active();
  const size_t other = random_active();
  if (std::abs(age_of(people_[other], today) - 28) < std::abs(age_of(people_[person], today) - 28)) person = other;
  deactivate(person, kStatusMovedOut);
  people_[person].gxsj = gxsj;
  return {EventKind::kMoveOut, people_[person]};
}

PopulationEvent PopulationEventGenerator::move_in(int32_t today, std::string_view gxsj) {
  const bool male = rng_.chance(500);
  const int age = static_cast<int>(rng_.between(18, 60));
  int32_t birth_days = today - age * 365 - static_cast<int32_t>(rng_.below(365));
  const std::string_view division = kArrivalDivisions[rng_.below(kArrivalDivisions.size())];
  PersonRecord p;
  p.gmsfhm = new_id(division, birth_days, male);
  p.xm = new_name(surnames_.pick(rng_), male);
  p.xb = male ? "1" : "2";
  p.mz = ethnicities_.pick(rng_);
  p.csrq = p.gmsfhm.substr(6, 4) + "-" + p.gmsfhm.substr(10, 2) + "-" + p.gmsfhm.substr(12, 2);
  // A third marry into or join an existing household; the rest register a new one.
  const bool join = !active_.empty() && rng_.chance(350);
  if (join) {
    const PersonRecord& host = people_[random_active()];
    p.hh = host.hh;
    const Household& h = households_.at(host.hh);
    const bool head_present = h.head != SIZE_MAX && people_[h.head].ryzt == kStatusNormal;
    p.yhzgx = head_present && people_[h.head].xb != p.xb && rng_.chance(700) ? "配偶" : "其他";
    p.hjdz = host.hjdz;
    p.sspcs = host.sspcs;
    p.xzjd = host.xzjd;
  } else {
    DayeAddress address;
    addresses_.make(rng_, address);
    p.hh = new_household_no();
    p.yhzgx = "户主";
    p.hjdz = std::move(address.address);
    p.sspcs = std::move(address.police_station);
    p.xzjd = address.township;
  }
  p.qrrq = date_text(today);
  p.ryzt = kStatusNormal;
  p.gxsj = gxsj;
  return {EventKind::kMoveIn, people_[add_person(std::move(p))]};
}

PopulationEvent PopulationEventGenerator::address_change(std::string_view gxsj) {
  // A move within Daye: a new address, and with it perhaps a new township and police station.
  const size_t person = random_active();
  DayeAddress address;
  addresses_.make(rng_, address);
  PersonRecord& p = people_[person];
  p.hjdz = std::move(address.address);
  p.sspcs = std::move(address.police_station);
  p.xzjd = address.township;
  p.gxsj = gxsj;
  return {EventKind::kAddressChange, p};
}

}  // namespace dxhub::sample
