#include "sandbox/sample/enterprise_generator.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/sample_random.h"

namespace dxhub::sample {

namespace {

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kUsccWeights = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
constexpr std::string_view kOrgCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";  // GB 11714 body (no I O S V Z)

constexpr std::string_view kCreateTable =
    "CREATE TABLE enterprise_basic ("
    "id INTEGER PRIMARY KEY, "
    "tyshxydm TEXT NOT NULL UNIQUE, "  // 统一社会信用代码
    "qymc TEXT NOT NULL, "             // 企业名称
    "qylx TEXT, "                      // 企业类型 code
    "fddbr TEXT, "                     // 法定代表人
    "zczb TEXT, "                      // 注册资本 (万元), exact decimal text
    "clrq TEXT, "                      // 成立日期 YYYY-MM-DD
    "djjg TEXT, "                      // 登记机关
    "hydm TEXT, "                      // 行业代码 (GB/T 4754)
    "jyfw TEXT, "                      // 经营范围
    "zs TEXT, "                        // 住所
    "djzt TEXT, "                      // 登记状态: 1 存续, 2 注销, 3 吊销
    "hzrq TEXT, "                      // 核准日期 YYYY-MM-DD
    "gxsj TEXT NOT NULL)";             // 更新时间, Asia/Shanghai local
constexpr std::string_view kCreateIndex = "CREATE INDEX enterprise_basic_gxsj_id ON enterprise_basic(gxsj, id)";
constexpr std::string_view kInsert =
    "INSERT INTO enterprise_basic (tyshxydm, qymc, qylx, fddbr, zczb, clrq, djjg, hydm, jyfw, zs, djzt, hzrq, gxsj) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

struct Industry {
  std::string_view code;
  std::string_view word;   // in the name
  std::string_view scope;  // 经营范围
};
constexpr std::array<Industry, 10> kIndustries = {{
    {"C3311", "金属制品", "金属结构制造；金属制品销售"},
    {"B0810", "矿业", "铁矿石开采；矿产品销售（依法须经批准的项目，经相关部门批准后方可开展经营活动）"},
    {"C3011", "建材", "水泥制品制造；建筑材料销售"},
    {"F5212", "商贸", "日用百货销售；食品经营（销售预包装食品）"},
    {"E4701", "建筑工程", "房屋建筑工程施工；市政设施管理"},
    {"H6110", "酒店管理", "住宿服务；餐饮服务"},
    {"A0141", "农业科技", "蔬菜种植；农产品初加工服务"},
    {"I6510", "信息技术", "软件开发；信息系统集成服务"},
    {"G5430", "物流", "道路货物运输（不含危险货物）；仓储服务"},
    {"C1512", "酒业", "酒制品生产；酒类经营"},
}};
struct Kind {
  std::string_view code;
  std::string_view suffix;
  unsigned weight;
};
constexpr std::array<Kind, 4> kKinds = {{
    {"1100", "有限公司", 70}, {"1200", "股份有限公司", 5}, {"4540", "商行（个人独资）", 15}, {"4530", "合伙企业（有限合伙）", 10}}};
constexpr std::array<std::string_view, 24> kTradeNameChars = {
    "鑫", "华", "冶", "铜", "兴", "盛", "达", "宏", "金", "湖", "东", "方", "磊", "恒", "泰", "安",
    "源", "昌", "福", "顺", "荣", "隆", "瑞", "祥"};

class EnterpriseFactory {
 public:
  explicit EnterpriseFactory(uint64_t seed) : rng_(seed) {}
  SampleRandom& rng() { return rng_; }

  void reserve_code(std::string_view code) { used_.insert(std::string(code)); }

  // A new unique code: 9 (市场监管) 1 (企业) 420281 + organization code + check.
  std::string new_code() {
    for (;;) {
      std::string code = "91420281";
      for (int i = 0; i < 9; ++i) code += kOrgCodeAlphabet[rng_.below(kOrgCodeAlphabet.size())];
      code += uscc_check_character(code);
      if (used_.insert(code).second) return code;
    }
  }

  std::string person_name() {
    const auto surnames = daye_surnames();
    unsigned total = 0;
    for (const auto& s : surnames) total += s.weight;
    uint64_t r = rng_.below(total);
    std::string name;
    for (const auto& s : surnames) {
      if (r < s.weight) {
        name = std::string(s.text);
        break;
      }
      r -= s.weight;
    }
    const auto chars = rng_.chance(500) ? male_name_chars() : female_name_chars();
    name += chars[rng_.below(chars.size())];
    if (rng_.chance(700)) name += chars[rng_.below(chars.size())];
    return name;
  }

  std::string address() {
    const auto townships = daye_townships();
    const auto& t = townships[rng_.below(townships.size())];
    std::string out = "湖北省大冶市";
    out += t.name;
    out += t.places[rng_.below(t.places.size())];
    char number[32];
    std::snprintf(number, sizeof number, "%d号", static_cast<int>(rng_.between(1, 388)));
    out += number;
    return out;
  }

  const Kind& kind() {
    uint64_t r = rng_.below(100);
    for (const auto& k : kKinds) {
      if (r < k.weight) return k;
      r -= k.weight;
    }
    return kKinds[0];
  }

  // 注册资本 in 万元 with 4 decimals, as registers keep it.
  std::string capital() {
    const int64_t units = rng_.chance(300) ? rng_.between(1, 50) * 10 : rng_.between(3, 5000);
    const int64_t fraction = rng_.chance(800) ? 0 : rng_.between(1, 9999);
    char text[48];
    std::snprintf(text, sizeof text, "%lld.%04lld", static_cast<long long>(units), static_cast<long long>(fraction));
    return text;
  }

 private:
  SampleRandom rng_;
  std::unordered_set<std::string> used_;
};

struct EnterpriseRow {
  std::string code, name, kind, legal_rep, capital, founded, industry, scope, address, status, approved, updated;
};

void make_enterprise(EnterpriseFactory& f, int32_t founded_days, const std::string& updated, EnterpriseRow& row) {
  SampleRandom& rng = f.rng();
  const Industry& industry = kIndustries[rng.below(kIndustries.size())];
  const Kind& kind = f.kind();
  row.code = f.new_code();
  row.name = "大冶市";
  row.name += kTradeNameChars[rng.below(kTradeNameChars.size())];
  row.name += kTradeNameChars[rng.below(kTradeNameChars.size())];
  row.name += industry.word;
  row.name += kind.suffix;
  row.kind = kind.code;
  row.legal_rep = f.person_name();
  row.capital = f.capital();
  char date[16];
  format_date(founded_days, date);
  row.founded.assign(date, 10);
  format_date(founded_days + static_cast<int32_t>(rng.between(0, 3000)), date);
  row.approved.assign(date, 10);
  row.industry = industry.code;
  row.scope = industry.scope;
  row.address = f.address();
  row.status = rng.chance(900) ? "1" : (rng.chance(600) ? "2" : "3");
  row.updated = updated;
}

Status insert_enterprise(SqliteStmt& insert, const EnterpriseRow& r) {
  const std::string* values[] = {&r.code,  &r.name,     &r.kind,  &r.legal_rep, &r.capital, &r.founded, nullptr,
                                 &r.industry, &r.scope, &r.address, &r.status, &r.approved, &r.updated};
  static const std::string kRegistrar = "大冶市市场监督管理局";
  for (int i = 0; i < 13; ++i) {
    DXHUB_RETURN_IF_ERROR(insert.bind_text_static(i + 1, values[i] ? *values[i] : kRegistrar));
  }
  DXHUB_RETURN_IF_ERROR(insert.run());
  return insert.reset();
}

}  // namespace

char uscc_check_character(std::string_view first17) {
  if (first17.size() != 17) return '\0';
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    size_t v = kUsccAlphabet.find(first17[i]);
    if (v == std::string_view::npos) return '\0';
    sum += static_cast<int>(v) * kUsccWeights[i];
  }
  return kUsccAlphabet[static_cast<size_t>((31 - sum % 31) % 31)];
}

Status generate_enterprise_db(const std::string& path, const EnterpriseOptions& opt) {
  if (opt.rows < 0) return config_error("rows must not be negative");
  DXHUB_ASSIGN_OR_RETURN(int64_t clock, parse_local_time(opt.first_update));
  if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) {
    if (!opt.overwrite) return config_error(path + " exists and is not empty (use --force to replace it)");
    std::filesystem::remove(path);
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate));
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));
  DXHUB_RETURN_IF_ERROR(db.exec(std::string(kCreateTable)));
  DXHUB_RETURN_IF_ERROR(db.exec(std::string(kCreateIndex)));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt insert, db.prepare(std::string(kInsert)));
  EnterpriseFactory factory(opt.seed);
  EnterpriseRow row;
  char stamp[24];
  const int32_t first_founding = days_of(1995, 1, 1);
  const int32_t last_founding = days_of(2025, 5, 1);
  for (int64_t i = 0; i < opt.rows; ++i) {
    if (i > 0 && factory.rng().chance(400)) clock += factory.rng().between(1, 90);  // several per second too
    format_local_time(clock, stamp);
    const auto founded = static_cast<int32_t>(factory.rng().between(first_founding, last_founding));
    make_enterprise(factory, founded, std::string(stamp, 19), row);
    DXHUB_RETURN_IF_ERROR(insert_enterprise(insert, row));
  }
  return tx.commit();
}

Status apply_enterprise_changes(const std::string& path, const EnterpriseChanges& c) {
  if (c.change < 0 || c.add < 0) return config_error("change and add must not be negative");
  const std::string timestamp = c.timestamp.empty() ? shanghai_now() : c.timestamp;
  DXHUB_ASSIGN_OR_RETURN(int64_t clock, parse_local_time(timestamp));
  if (!std::filesystem::exists(path)) return not_found_error(path + " does not exist");
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(path, SqliteDb::Mode::kReadWrite));
  DXHUB_ASSIGN_OR_RETURN(bool has_table, db.table_exists(kEnterpriseTable));
  if (!has_table) return config_error(path + " has no table enterprise_basic");
  DXHUB_ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::begin(db));
  EnterpriseFactory factory(c.seed ^ 0x656e746572707273ULL);
  std::vector<int64_t> ids;
  {
    DXHUB_ASSIGN_OR_RETURN(SqliteStmt scan, db.prepare("SELECT id, tyshxydm FROM enterprise_basic ORDER BY id"));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool more, scan.step());
      if (!more) break;
      ids.push_back(scan.column_int64(0));
      factory.reserve_code(scan.column_text(1));
    }
  }
  if (c.change > static_cast<int64_t>(ids.size())) {
    return config_error("cannot change " + std::to_string(c.change) + " rows: the table has only " +
                        std::to_string(ids.size()));
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt set_status, db.prepare("UPDATE enterprise_basic SET djzt=?1, gxsj=?2 WHERE id=?3"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt set_capital, db.prepare("UPDATE enterprise_basic SET zczb=?1, gxsj=?2 WHERE id=?3"));
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt set_address, db.prepare("UPDATE enterprise_basic SET zs=?1, gxsj=?2 WHERE id=?3"));
  SampleRandom& rng = factory.rng();
  for (int64_t i = 0; i < c.change; ++i) {
    const auto j = static_cast<size_t>(i + static_cast<int64_t>(rng.below(ids.size() - static_cast<size_t>(i))));
    std::swap(ids[static_cast<size_t>(i)], ids[j]);
    const int64_t id = ids[static_cast<size_t>(i)];
    const uint64_t kind = rng.below(3);
    SqliteStmt& stmt = kind == 0 ? set_status : kind == 1 ? set_capital : set_address;
    const std::string value = kind == 0 ? (rng.chance(500) ? "2" : "3") : kind == 1 ? factory.capital() : factory.address();
    DXHUB_RETURN_IF_ERROR(stmt.bind_text_static(1, value));
    DXHUB_RETURN_IF_ERROR(stmt.bind_text_static(2, timestamp));
    DXHUB_RETURN_IF_ERROR(stmt.bind_int64(3, id));
    DXHUB_RETURN_IF_ERROR(stmt.run());
    DXHUB_RETURN_IF_ERROR(stmt.reset());
  }
  DXHUB_ASSIGN_OR_RETURN(SqliteStmt insert, db.prepare(std::string(kInsert)));
  EnterpriseRow row;
  const auto today = static_cast<int32_t>(clock / 86400);
  for (int64_t i = 0; i < c.add; ++i) {
    make_enterprise(factory, today, timestamp, row);
    row.status = "1";
    DXHUB_RETURN_IF_ERROR(insert_enterprise(insert, row));
  }
  return tx.commit();
}

}  // namespace dxhub::sample
