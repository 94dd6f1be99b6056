#include "sandbox/sample/household_generator.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/daye_address.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/resident_id.h"
#include "sandbox/sample/sample_random.h"
#include "sandbox/sample/weighted_picker.h"

namespace dxhub::sample {

namespace {

constexpr int kMinBirthYear = 1930;
constexpr int kMaxBirthYear = 2024;
constexpr int64_t kDivisionCode = 420281;
constexpr int64_t kFirstHouseholdNo = 100000001;  // 户号 are 9 digits

constexpr std::string_view kCreateTable =
    "CREATE TABLE household_population ("
    "id INTEGER PRIMARY KEY, "
    "gmsfhm TEXT NOT NULL, "  // 公民身份号码
    "xm TEXT, "               // 姓名
    "xb TEXT, "               // 性别 (GB/T 2261.1: 1 男, 2 女)
    "mz TEXT, "               // 民族
    "csrq TEXT, "             // 出生日期 YYYY-MM-DD
    "hh TEXT, "               // 户号
    "yhzgx TEXT, "            // 与户主关系
    "hjdz TEXT, "             // 户籍地址
    "sspcs TEXT, "            // 所属派出所
    "xzjd TEXT, "             // 乡镇/街道
    "qrrq TEXT NULL, "        // 迁入日期, NULL if born here
    "ryzt TEXT, "             // 人员状态: 1 正常, 2 迁出, 3 死亡
    "gxsj TEXT NOT NULL)";    // 更新时间, Asia/Shanghai local
constexpr std::string_view kCreateIndex =
    "CREATE INDEX household_population_gxsj_id ON household_population(gxsj, id)";
constexpr std::string_view kInsert =
    "INSERT INTO household_population "
    "(gmsfhm, xm, xb, mz, csrq, hh, yhzgx, hjdz, sspcs, xzjd, qrrq, ryzt, gxsj) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

struct Member {
  std::string id;
  std::string name;
  std::string_view relation;
  std::string_view ethnicity;
  int32_t birth_days = 0;
  int32_t move_in_days = -1;  // -1: born here (qrrq NULL)
  bool male = false;
  char status = '1';
};

struct Household {
  std::string number;
  std::string address;
  std::string police_station;
  std::string_view township;
  std::vector<Member> members;
};

// Makes households of 1-6 people with consistent IDs, relations and dates.
class HouseholdFactory {
 public:
  HouseholdFactory(uint64_t seed, int32_t today, int64_t first_household_no)
      : rng_(seed),
        today_(today),
        next_household_no_(first_household_no),
        surnames_(daye_surnames()),
        ethnicities_(daye_ethnicities()) {}

  // Remembers an existing ID so that new ones never collide with it.
  void reserve_id(std::string_view id) {
    uint64_t key = 0;
    for (size_t i = 0; i < 17 && i < id.size(); ++i) key = key * 10 + static_cast<uint64_t>(id[i] - '0');
    used_ids_.insert(key);
  }
  void reserve_capacity(size_t n) { used_ids_.reserve(n); }
  void set_next_household_no(int64_t n) { next_household_no_ = n; }

  SampleRandom& rng() { return rng_; }

  // Fills `h` with a new household. `migrant_date` >= 0 makes every member
  // newly moved in on that day (registrations appended by later changes).
  void make(Household& h, int32_t migrant_date) {
    h.members.clear();
    char number[16];
    std::snprintf(number, sizeof number, "%09lld", static_cast<long long>(next_household_no_++));
    h.number = number;
    make_address(h);

    const int size = household_size();
    const std::string_view family = surnames_.pick(rng_);
    const bool head_male = rng_.chance(760);
    const int head_year =
        rng_.chance(60) ? static_cast<int>(rng_.between(1999, 2005)) : static_cast<int>(rng_.between(1936, 1998));
    add_member(h, family, head_male, "户主", head_year);
    const int32_t household_move_in = rng_.chance(300) ? random_move_in(h.members[0].birth_days) : -1;

    if (size >= 2 && rng_.chance(850)) {
      add_member(h, surnames_.pick(rng_), !head_male, "配偶", head_year + static_cast<int>(rng_.between(-4, 5)));
    }
    int children = 0;
    while (static_cast<int>(h.members.size()) < size) {
      const int head_age_now = this_year() - head_year;
      const uint64_t roll = rng_.below(100);
      if (roll < 14 && head_year >= 1962) {  // a parent living with the family
        const bool father = rng_.chance(450);
        add_member(h, father ? family : surnames_.pick(rng_), father, father ? "父亲" : "母亲",
                   head_year - static_cast<int>(rng_.between(22, 34)));
      } else if (roll < 30 && children > 0 && head_age_now >= 48) {
        const bool male = rng_.chance(520);
        add_member(h, family, male, male ? "孙子" : "孙女", head_year + static_cast<int>(rng_.between(46, 62)));
      } else if (roll < 36) {
        const bool male = rng_.chance(500);
        const int offset = static_cast<int>(rng_.between(-10, 10));
        const bool older = offset <= 0;
        add_member(h, family, male, male ? (older ? "兄" : "弟") : (older ? "姐" : "妹"), head_year + offset);
      } else if (roll < 39) {
        add_member(h, surnames_.pick(rng_), rng_.chance(500), "其他", static_cast<int>(rng_.between(1940, 2010)));
      } else if (head_year + 22 <= kMaxBirthYear) {
        const bool male = rng_.chance(515);
        add_member(h, family, male, male ? "子" : "女",
                   std::min(kMaxBirthYear, head_year + static_cast<int>(rng_.between(22, 36))));
        ++children;
      } else {  // the head is too young for children: a sibling instead
        const bool male = rng_.chance(500);
        add_member(h, family, male, male ? "弟" : "妹", std::min(kMaxBirthYear, head_year + 2));
      }
    }

    for (Member& m : h.members) {
      if (migrant_date >= 0) {
        m.move_in_days = migrant_date;
      } else if (household_move_in >= 0 && household_move_in >= m.birth_days) {
        m.move_in_days = household_move_in;  // came with the family; children born later are locals
      } else if (m.relation == "配偶" && rng_.chance(550)) {
        m.move_in_days = random_move_in(m.birth_days);  // married in
      }
      m.status = migrant_date >= 0 ? '1' : random_status(m.birth_days);  // newcomers are alive and here
    }
  }

  // A fresh given name for `male`, for name corrections.
  void given_name(bool male, std::string& out) {
    const auto chars = male ? male_name_chars() : female_name_chars();
    out += chars[rng_.below(chars.size())];
    if (rng_.chance(720)) out += chars[rng_.below(chars.size())];
  }

  // A new address (and its township and police station) for `h`.
  void make_address(Household& h) {
    addresses_.make(rng_, address_);
    h.address = address_.address;
    h.police_station = address_.police_station;
    h.township = address_.township;
  }

 private:
  int this_year() const { return static_cast<int>(ymd_of(today_).year()); }

  int household_size() {
    static constexpr unsigned kShare[] = {150, 250, 250, 180, 110, 60};  // sizes 1..6, per mille
    uint64_t r = rng_.below(1000);
    for (int i = 0; i < 6; ++i) {
      if (r < kShare[i]) return i + 1;
      r -= kShare[i];
    }
    return 6;
  }

  void add_member(Household& h, std::string_view surname, bool male, std::string_view relation, int year) {
    year = std::clamp(year, kMinBirthYear, kMaxBirthYear);
    const int32_t first = days_of(year, 1, 1);
    const int32_t last = std::min(days_of(year, 12, 31), today_);
    int32_t birth = first + static_cast<int32_t>(rng_.below(static_cast<uint64_t>(std::max(1, last - first + 1))));
    Member& m = h.members.emplace_back();
    m.male = male;
    m.relation = relation;
    m.ethnicity = ethnicities_.pick(rng_);
    m.name.assign(surname);
    given_name(male, m.name);
    m.id = new_id(birth, male);
    m.birth_days = birth;  // new_id may move it to a less crowded day
  }

  // 17 digits from division, birth date and a free sequence (odd for men),
  // plus the check character. Moves to the next day when a day is crowded.
  std::string new_id(int32_t& birth, bool male) {
    for (;;) {
      const auto ymd = ymd_of(birth);
      const int64_t date = static_cast<int>(ymd.year()) * 10000 + static_cast<unsigned>(ymd.month()) * 100 +
                           static_cast<unsigned>(ymd.day());
      for (int attempt = 0; attempt < 64; ++attempt) {
        const int64_t half = static_cast<int64_t>(rng_.below(499));
        const int64_t sequence = male ? half * 2 + 1 : half * 2 + 2;
        const uint64_t key = static_cast<uint64_t>((kDivisionCode * 100000000 + date) * 1000 + sequence);
        if (used_ids_.insert(key).second) {
          char digits[19];
          std::snprintf(digits, sizeof digits, "%017llu", static_cast<unsigned long long>(key));
          digits[17] = resident_id_check_char(std::string_view(digits, 17));
          return std::string(digits, 18);
        }
      }
      birth = birth > days_of(kMinBirthYear, 1, 1) ? birth - 1 : birth + 1;
    }
  }

  int32_t random_move_in(int32_t birth) {
    const int32_t earliest = std::min(today_, birth + 18 * 365);
    return earliest + static_cast<int32_t>(rng_.below(static_cast<uint64_t>(today_ - earliest + 1)));
  }

  char random_status(int32_t birth) {
    const int age = this_year() - static_cast<int>(ymd_of(birth).year());
    const unsigned deceased = age >= 85 ? 220 : age >= 70 ? 45 : 4;
    const uint64_t r = rng_.below(1000);
    if (r < deceased) return '3';
    if (r < deceased + 30) return '2';
    return '1';
  }

  SampleRandom rng_;
  int32_t today_;
  int64_t next_household_no_;
  DayeAddressMaker addresses_;
  DayeAddress address_;  // scratch, reused
  WeightedPicker surnames_;
  WeightedPicker ethnicities_;
  std::unordered_set<uint64_t> used_ids_;
};

// Writes members through one prepared INSERT, reused for every row.
class HouseholdWriter {
 public:
  static Expected<HouseholdWriter> prepare(SqliteDb& db) {
    DXHUB_ASSIGN_OR_RETURN(SqliteStmt insert, db.prepare(kInsert));
    return HouseholdWriter(std::move(insert));
  }

  Status write(const Household& h, const Member& m, std::string_view updated_at) {
    char birth[10];
    format_date(m.birth_days, birth);
    char move_in[10];
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(1, m.id));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(2, m.name));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(3, m.male ? "1" : "2"));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(4, m.ethnicity));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(5, std::string_view(birth, 10)));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(6, h.number));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(7, m.relation));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(8, h.address));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(9, h.police_station));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(10, h.township));
    if (m.move_in_days >= 0) {
      format_date(m.move_in_days, move_in);
      DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(11, std::string_view(move_in, 10)));
    } else {
      DXHUB_RETURN_IF_ERROR(insert_.bind_null(11));
    }
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(12, std::string_view(&m.status, 1)));
    DXHUB_RETURN_IF_ERROR(insert_.bind_text_static(13, updated_at));
    DXHUB_RETURN_IF_ERROR(insert_.run());
    return insert_.reset();
  }

 private:
  explicit HouseholdWriter(SqliteStmt insert) : insert_(std::move(insert)) {}
  SqliteStmt insert_;
};

Status prepare_target_file(const std::string& path, bool overwrite) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::ok();  // does not exist (or is not a regular file: sqlite will say)
  if (size > 0 && !overwrite) {
    return config_error(path + " exists and is not empty (use --force to replace it)");
  }
  std::filesystem::remove(path, ec);
  if (ec) return io_error("cannot remove " + path + ": " + ec.message());
  for (const char* suffix : {"-journal", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  return Status::ok();
}

}  // namespace

Status generate_household_db(const std::string& path, const HouseholdOptions& opt) {
  if (opt.rows < 0) return config_error("rows must not be negative");
  DXHUB_ASSIGN_OR_RETURN(int64_t clock, parse_local_time(opt.first_update));
  DXHUB_RETURN_IF_ERROR(prepare_target_file(path, opt.overwrite));
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate));
  // A fresh file that is rebuilt on failure needs no rollback journal.
  DXHUB_RETURN_IF_ERROR(db.exec("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF"));
  DXHUB_RETURN_IF_ERROR(db.exec(kCreateTable));
  DXHUB_ASSIGN_OR_RETURN(HouseholdWriter writer, HouseholdWriter::prepare(db));
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));

  HouseholdFactory factory(opt.seed, static_cast<int32_t>(clock / 86400), kFirstHouseholdNo);
  factory.reserve_capacity(static_cast<size_t>(opt.rows));
  Household h;
  char updated_at[20];
  int64_t written = 0;
  while (written < opt.rows) {
    factory.make(h, -1);
    // Most households share the second of the one before (many gxsj ties);
    // 1M rows span about two months, so later changes stamped "now" sort last.
    if (written > 0 && factory.rng().chance(350)) clock += factory.rng().between(1, 120);
    format_local_time(clock, updated_at);
    for (const Member& m : h.members) {
      if (written == opt.rows) break;
      DXHUB_RETURN_IF_ERROR(writer.write(h, m, std::string_view(updated_at, 19)));
      ++written;
    }
  }
  DXHUB_RETURN_IF_ERROR(db.exec(kCreateIndex));
  return tx.commit();
}

Status apply_household_changes(const std::string& path, const HouseholdChanges& c) {
  if (c.change < 0 || c.add < 0) return config_error("change and add must not be negative");
  const std::string timestamp = c.timestamp.empty() ? shanghai_now() : c.timestamp;
  DXHUB_ASSIGN_OR_RETURN(int64_t clock, parse_local_time(timestamp));
  if (!std::filesystem::exists(path)) return not_found_error(path + " does not exist");
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWrite));
  DXHUB_ASSIGN_OR_RETURN(bool has_table, db.table_exists(kHouseholdTable));
  if (!has_table) return config_error(path + " has no table household_population");
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));

  const int32_t today = static_cast<int32_t>(clock / 86400);
  // Different streams than generation with the same seed would give.
  HouseholdFactory factory(c.seed ^ 0x6368616e67657321ULL, today, 0);
  std::vector<int64_t> ids;
  int64_t max_household_no = kFirstHouseholdNo - 1;
  {
    DXHUB_ASSIGN_OR_RETURN(SqliteStmt scan,
                           db.prepare("SELECT id, gmsfhm, CAST(hh AS INTEGER) FROM household_population ORDER BY id"));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool more, scan.step());
      if (!more) break;
      ids.push_back(scan.column_int64(0));
      factory.reserve_id(scan.column_text(1));
      max_household_no = std::max(max_household_no, scan.column_int64(2));
    }
  }
  if (c.change > static_cast<int64_t>(ids.size())) {
    return config_error("cannot change " + std::to_string(c.change) + " rows: the table has only " +
                        std::to_string(ids.size()));
  }

  DXHUB_ASSIGN_OR_RETURN(SqliteStmt read_person, db.prepare("SELECT xm, xb FROM household_population WHERE id=?1"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt move, db.prepare("UPDATE household_population SET hjdz=?1, sspcs=?2, xzjd=?3, "
                                                     "gxsj=?4 WHERE id=?5"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt set_status,
                         db.prepare("UPDATE household_population SET ryzt=CASE ryzt WHEN '1' THEN ?1 ELSE '1' END, "
                                    "gxsj=?2 WHERE id=?3"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt rename,
                         db.prepare("UPDATE household_population SET xm=?1, gxsj=?2 WHERE id=?3"));
  SampleRandom& rng = factory.rng();
  Household scratch;
  std::string name;
  for (int64_t i = 0; i < c.change; ++i) {
    // Partial Fisher-Yates: ids[0..change) become distinct random rows.
    const auto j = static_cast<size_t>(i + static_cast<int64_t>(rng.below(ids.size() - static_cast<size_t>(i))));
    std::swap(ids[static_cast<size_t>(i)], ids[j]);
    const int64_t id = ids[static_cast<size_t>(i)];
    const uint64_t kind = rng.below(100);
    if (kind < 50) {  // moved within Daye
      factory.make_address(scratch);
      DXHUB_RETURN_IF_ERROR(move.bind_text_static(1, scratch.address));
      DXHUB_RETURN_IF_ERROR(move.bind_text_static(2, scratch.police_station));
      DXHUB_RETURN_IF_ERROR(move.bind_text_static(3, scratch.township));
      DXHUB_RETURN_IF_ERROR(move.bind_text_static(4, timestamp));
      DXHUB_RETURN_IF_ERROR(move.bind_int64(5, id));
      DXHUB_RETURN_IF_ERROR(move.run());
      DXHUB_RETURN_IF_ERROR(move.reset());
    } else if (kind < 75) {  // moved out or died; a non-normal status is corrected back
      DXHUB_RETURN_IF_ERROR(set_status.bind_text_static(1, rng.chance(600) ? "2" : "3"));
      DXHUB_RETURN_IF_ERROR(set_status.bind_text_static(2, timestamp));
      DXHUB_RETURN_IF_ERROR(set_status.bind_int64(3, id));
      DXHUB_RETURN_IF_ERROR(set_status.run());
      DXHUB_RETURN_IF_ERROR(set_status.reset());
    } else {  // name correction: same surname, new given name
      DXHUB_RETURN_IF_ERROR(read_person.bind_int64(1, id));
      DXHUB_ASSIGN_OR_RETURN(bool found, read_person.step());
      if (!found) return internal_error("row " + std::to_string(id) + " vanished");
      const std::string_view old_name = read_person.column_text(0);
      const size_t surname_bytes = old_name.starts_with("欧阳") ? 6 : std::min<size_t>(3, old_name.size());
      name.assign(old_name.substr(0, surname_bytes));
      factory.given_name(read_person.column_text(1) == "1", name);
      DXHUB_RETURN_IF_ERROR(read_person.reset());
      DXHUB_RETURN_IF_ERROR(rename.bind_text_static(1, name));
      DXHUB_RETURN_IF_ERROR(rename.bind_text_static(2, timestamp));
      DXHUB_RETURN_IF_ERROR(rename.bind_int64(3, id));
      DXHUB_RETURN_IF_ERROR(rename.run());
      DXHUB_RETURN_IF_ERROR(rename.reset());
    }
  }

  // Newly registered households (迁入) take the next free 户号.
  factory.set_next_household_no(max_household_no + 1);
  DXHUB_ASSIGN_OR_RETURN(HouseholdWriter writer, HouseholdWriter::prepare(db));
  Household h;
  int64_t added = 0;
  while (added < c.add) {
    factory.make(h, today);
    for (const Member& m : h.members) {
      if (added == c.add) break;
      DXHUB_RETURN_IF_ERROR(writer.write(h, m, timestamp));
      ++added;
    }
  }
  return tx.commit();
}

}  // namespace dxhub::sample
