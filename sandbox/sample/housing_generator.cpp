#include "sandbox/sample/housing_generator.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/sample_random.h"

namespace dxhub::sample {

namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE housing_units ("
    "id INTEGER PRIMARY KEY, "
    "fwbm TEXT NOT NULL UNIQUE, "  // 房屋编码
    "zl TEXT NOT NULL, "           // 坐落
    "xzjd TEXT, "                  // 乡镇/街道
    "zh TEXT, "                    // 幢号
    "dy TEXT, "                    // 单元
    "szlc INTEGER, "               // 所在楼层
    "fh TEXT, "                    // 房号
    "jzmj TEXT, "                  // 建筑面积 (m2), exact decimal text
    "tnmj TEXT, "                  // 套内建筑面积 (m2)
    "fwyt TEXT, "                  // 房屋用途: 10 住宅, 20 商业, 30 办公, 40 工业
    "fwjg TEXT, "                  // 房屋结构: 1 钢混, 2 砖混, 3 砖木, 4 其他
    "jcnf INTEGER, "               // 建成年份
    "gxsj TEXT NOT NULL)";         // 更新时间, Asia/Shanghai local
constexpr std::string_view kInsert =
    "INSERT INTO housing_units (fwbm, zl, xzjd, zh, dy, szlc, fh, jzmj, tnmj, fwyt, fwjg, jcnf, gxsj) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

constexpr std::array<std::string_view, 8> kEstates = {"金湖花园", "东岳新村", "罗桥小区", "熊家洲安置小区",
                                                      "雨润国际", "华新家园", "湖景城", "铜都人家"};

struct UnitFactory {
  explicit UnitFactory(uint64_t seed) : rng(seed) {}
  SampleRandom rng;
  int64_t next_code = 1;

  // Writes hundredths of a square metre as exact decimal text.
  static void area_text(int64_t centi, std::string& out) {
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(centi / 100),
                  static_cast<long long>(centi % 100));
    out = text;
  }
};

struct UnitRow {
  std::string code, location, township, building, unit, number, area, inner_area, use, structure, updated;
  int64_t floor = 1, built = 2000;
};

void make_unit(UnitFactory& f, const std::string& updated, UnitRow& r) {
  const auto townships = daye_townships();
  const auto& t = townships[f.rng.below(townships.size())];
  char text[96];
  std::snprintf(text, sizeof text, "420281%08lld", static_cast<long long>(f.next_code++));
  r.code = text;
  r.township = std::string(t.name);
  const auto estate = kEstates[f.rng.below(kEstates.size())];
  const auto building = f.rng.between(1, 30);
  const auto unit = f.rng.between(1, 4);
  r.floor = f.rng.between(1, 26);
  const auto room = f.rng.between(1, 4);
  std::snprintf(text, sizeof text, "%lld", static_cast<long long>(building));
  r.building = text;
  std::snprintf(text, sizeof text, "%lld", static_cast<long long>(unit));
  r.unit = text;
  std::snprintf(text, sizeof text, "%lld%02lld", static_cast<long long>(r.floor), static_cast<long long>(room));
  r.number = text;
  r.location = "湖北省大冶市" + r.township + std::string(estate) + r.building + "栋" + r.unit + "单元" + r.number + "室";
  const uint64_t use = f.rng.below(100);
  r.use = use < 82 ? "10" : use < 92 ? "20" : use < 97 ? "30" : "40";
  const int64_t total = f.rng.between(4500, 18000);
  UnitFactory::area_text(total, r.area);
  UnitFactory::area_text(total * f.rng.between(75, 88) / 100, r.inner_area);
  r.structure = f.rng.chance(800) ? "1" : f.rng.chance(800) ? "2" : f.rng.chance(500) ? "3" : "4";
  r.built = f.rng.between(1985, 2024);
  r.updated = updated;
}

Status insert_unit(SqliteStmt& insert, const UnitRow& r) {
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(1, r.code));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(2, r.location));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(3, r.township));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(4, r.building));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(5, r.unit));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(6, r.floor));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(7, r.number));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(8, r.area));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(9, r.inner_area));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(10, r.use));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(11, r.structure));
  DXHUB_RETURN_IF_ERROR(insert.bind_int64(12, r.built));
  DXHUB_RETURN_IF_ERROR(insert.bind_text_static(13, r.updated));
  DXHUB_RETURN_IF_ERROR(insert.run());
  return insert.reset();
}

}  // namespace

Status generate_housing_db(const std::string& path, const HousingOptions& opt) {
  if (opt.rows < 0) return config_error("rows must not be negative");
  DXHUB_ASSIGN_OR_RETURN(int64_t clock, parse_local_time(opt.first_update));
  if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) {
    if (!opt.overwrite) return config_error(path + " exists and is not empty (use --force to replace it)");
    std::filesystem::remove(path);
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate));
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));
  DXHUB_RETURN_IF_ERROR(db.exec(std::string(kCreateTable)));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt insert, db.prepare(std::string(kInsert)));
  UnitFactory factory(opt.seed);
  UnitRow row;
  char stamp[24];
  for (int64_t i = 0; i < opt.rows; ++i) {
    if (i > 0 && factory.rng.chance(300)) clock += factory.rng.between(1, 120);
    format_local_time(clock, stamp);
    make_unit(factory, std::string(stamp, 19), row);
    DXHUB_RETURN_IF_ERROR(insert_unit(insert, row));
  }
  return tx.commit();
}

Status apply_housing_changes(const std::string& path, const HousingChanges& c) {
  if (c.change < 0 || c.add < 0 || c.remove < 0) return config_error("change, add and remove must not be negative");
  const std::string timestamp = c.timestamp.empty() ? shanghai_now() : c.timestamp;
  DXHUB_RETURN_IF_ERROR(parse_local_time(timestamp).status());
  if (!std::filesystem::exists(path)) return not_found_error(path + " does not exist");
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWrite));
  DXHUB_ASSIGN_OR_RETURN(bool has_table, db.table_exists(kHousingTable));
  if (!has_table) return config_error(path + " has no table housing_units");
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));
  UnitFactory factory(c.seed ^ 0x686f7573696e6721ULL);
  std::vector<int64_t> ids;
  {
    DXHUB_ASSIGN_OR_RETURN(SqliteStmt scan, db.prepare("SELECT id, CAST(substr(fwbm, 7) AS INTEGER) FROM housing_units "
                                                       "ORDER BY id"));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool more, scan.step());
      if (!more) break;
      ids.push_back(scan.column_int64(0));
      factory.next_code = std::max(factory.next_code, scan.column_int64(1) + 1);
    }
  }
  if (c.change + c.remove > static_cast<int64_t>(ids.size())) {
    return config_error("cannot change and remove " + std::to_string(c.change + c.remove) +
                        " rows: the table has only " + std::to_string(ids.size()));
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt set_use, db.prepare("UPDATE housing_units SET fwyt=?1, gxsj=?2 WHERE id=?3"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt remove, db.prepare("DELETE FROM housing_units WHERE id=?1"));
  const int64_t touched = c.change + c.remove;
  for (int64_t i = 0; i < touched; ++i) {
    const auto j = static_cast<size_t>(i + static_cast<int64_t>(factory.rng.below(ids.size() - static_cast<size_t>(i))));
    std::swap(ids[static_cast<size_t>(i)], ids[j]);
    const int64_t id = ids[static_cast<size_t>(i)];
    if (i < c.change) {
      DXHUB_RETURN_IF_ERROR(set_use.bind_text_static(1, factory.rng.chance(500) ? "20" : "10"));
      DXHUB_RETURN_IF_ERROR(set_use.bind_text_static(2, timestamp));
      DXHUB_RETURN_IF_ERROR(set_use.bind_int64(3, id));
      DXHUB_RETURN_IF_ERROR(set_use.run());
      DXHUB_RETURN_IF_ERROR(set_use.reset());
    } else {
      DXHUB_RETURN_IF_ERROR(remove.bind_int64(1, id));
      DXHUB_RETURN_IF_ERROR(remove.run());
      DXHUB_RETURN_IF_ERROR(remove.reset());
    }
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt insert, db.prepare(std::string(kInsert)));
  UnitRow row;
  for (int64_t i = 0; i < c.add; ++i) {
    make_unit(factory, timestamp, row);
    DXHUB_RETURN_IF_ERROR(insert_unit(insert, row));
  }
  return tx.commit();
}

}  // namespace dxhub::sample
