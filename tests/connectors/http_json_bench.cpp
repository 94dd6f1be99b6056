// Not a test: dxhub-http-json-bench prints
//  1. the JSON parsers on one realistic page (1000 records x 20 fields with
//     Chinese text): parse + pick every field of every record, for
//     nlohmann::json, RapidJSON and simdjson (DOM, as the connector uses it);
//  2. the http_json connector reading + extracting rows from the mock agency
//     API (in-process, 127.0.0.1) beside a floor measured in the same run:
//     fetching the same pages' bytes with the same fetcher and counting the
//     records (a substring count), and the ratio. The API serves cached
//     answers (cache_answers, filled by an unmeasured pass), so both sides
//     measure the client: transfer on 127.0.0.1 plus what is done per page.
// Usage: dxhub-http-json-bench [rows (default 100000)] [page_size (default 1000)]
#include <rapidjson/document.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "connectors/http_json/http_json_connector.h"
#include "core/common/sqlite_db.h"
#include "sandbox/agency_api/agency_api.h"

using namespace dxhub;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kFields = 20;

std::string field_name(int f) { return "field_" + std::to_string(f); }

// Column f: text for even f (Chinese), integers for f % 4 == 1, reals otherwise.
std::string make_page(int records) {
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (int r = 0; r < records; ++r) {
    nlohmann::ordered_json item;
    for (int f = 0; f < kFields; ++f) {
      if (f % 2 == 0) item[field_name(f)] = "湖北省黄石市大冶市罗家桥街道" + std::to_string(r * 31 + f) + "号居民";
      else if (f % 4 == 1) item[field_name(f)] = int64_t{r} * 1000 + f;
      else item[field_name(f)] = r * 0.25 + f;
    }
    items.push_back(std::move(item));
  }
  return nlohmann::ordered_json{{"code", 0}, {"data", {{"total", records}, {"items", std::move(items)}}}}.dump();
}

struct Timing {
  double seconds = 0;
  uint64_t checksum = 0;
};

template <typename F>
Timing repeat(int times, F&& once) {
  Timing t;
  const auto start = Clock::now();
  for (int k = 0; k < times; ++k) t.checksum += once();
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return t;
}

void bench_parsers() {
  const int records = 1000;
  const std::string page = make_page(records);
  std::vector<std::string> names;
  for (int f = 0; f < kFields; ++f) names.push_back(field_name(f));
  const int times = 100;

  Timing nl = repeat(times, [&] {
    uint64_t sum = 0;
    nlohmann::json doc = nlohmann::json::parse(page);
    for (const auto& item : doc["data"]["items"]) {
      for (const auto& n : names) {
        auto it = item.find(n);
        if (it == item.end()) continue;
        if (it->is_string()) sum += it->get_ref<const std::string&>().size();
        else if (it->is_number_integer()) sum += static_cast<uint64_t>(it->get<int64_t>());
        else sum += 1;
      }
    }
    return sum;
  });

  rapidjson::Document rdoc;
  std::string insitu;
  Timing rj = repeat(times, [&] {
    uint64_t sum = 0;
    insitu = page;  // in-situ parsing writes into the buffer: a fresh copy each time (as a fetched page would be)
    rdoc.ParseInsitu(insitu.data());
    const auto& items = rdoc["data"]["items"];
    for (const auto& item : items.GetArray()) {
      for (const auto& n : names) {
        auto it = item.FindMember(rapidjson::StringRef(n.data(), n.size()));
        if (it == item.MemberEnd()) continue;
        if (it->value.IsString()) sum += it->value.GetStringLength();
        else if (it->value.IsInt64()) sum += static_cast<uint64_t>(it->value.GetInt64());
        else sum += 1;
      }
    }
    return sum;
  });

  simdjson::dom::parser parser;
  simdjson::padded_string padded(page);
  Timing sj = repeat(times, [&] {
    uint64_t sum = 0;
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) return sum;
    simdjson::dom::array items;
    if (root["data"]["items"].get_array().get(items) != simdjson::SUCCESS) return sum;
    for (simdjson::dom::element item : items) {
      simdjson::dom::object obj;
      if (item.get_object().get(obj) != simdjson::SUCCESS) continue;
      for (const auto& n : names) {
        simdjson::dom::element v;
        if (obj.at_key(n).get(v) != simdjson::SUCCESS) continue;
        std::string_view s;
        int64_t i = 0;
        if (v.get_string().get(s) == simdjson::SUCCESS) sum += s.size();
        else if (v.get_int64().get(i) == simdjson::SUCCESS) sum += static_cast<uint64_t>(i);
        else sum += 1;
      }
    }
    return sum;
  });

  // As the connector extracts: one pass over the keys, each compared with
  // the key at the same position in the record before.
  std::vector<std::string> position_keys;
  std::vector<int> position_columns;
  Timing sj1 = repeat(times, [&] {
    uint64_t sum = 0;
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) return sum;
    simdjson::dom::array items;
    if (root["data"]["items"].get_array().get(items) != simdjson::SUCCESS) return sum;
    for (simdjson::dom::element item : items) {
      simdjson::dom::object obj;
      if (item.get_object().get(obj) != simdjson::SUCCESS) continue;
      size_t k = 0;
      for (auto field : obj) {
        int col = -1;
        if (k < position_keys.size() && position_keys[k] == field.key) {
          col = position_columns[k];
        } else {
          for (size_t c = 0; c < names.size(); ++c) {
            if (names[c] == field.key) col = static_cast<int>(c);
          }
          position_keys.resize(std::max(position_keys.size(), k + 1));
          position_columns.resize(position_keys.size());
          position_keys[k].assign(field.key);
          position_columns[k] = col;
        }
        ++k;
        if (col < 0) continue;
        std::string_view sv;
        int64_t i = 0;
        if (field.value.get_string().get(sv) == simdjson::SUCCESS) sum += sv.size();
        else if (field.value.get_int64().get(i) == simdjson::SUCCESS) sum += static_cast<uint64_t>(i);
        else sum += 1;
      }
    }
    return sum;
  });
  Timing parse_only = repeat(times, [&] {
    simdjson::dom::element root;
    return static_cast<uint64_t>(parser.parse(padded).get(root) == simdjson::SUCCESS);
  });

  const double mb = static_cast<double>(page.size()) * times / 1e6;
  std::printf("parse + extract, page of %d records x %d fields, %.2f MB, %d times:\n", records, kFields,
              static_cast<double>(page.size()) / 1e6, times);
  auto line = [&](const char* name, const Timing& t) {
    std::printf("  %-10s %8.0f MB/s  %10.0f records/s  (checksum %llu)\n", name, mb / t.seconds,
                records * times / t.seconds, static_cast<unsigned long long>(t.checksum));
  };
  line("nlohmann", nl);
  line("rapidjson", rj);
  line("simdjson", sj);
  line("simdjson1", sj1);
  line("(parse)", parse_only);
  std::printf("  simdjson (at_key per column) / nlohmann %.1fx, / rapidjson %.1fx; one pass (simdjson1, the "
              "connector's way) / at_key %.2fx\n",
              nl.seconds / sj.seconds, rj.seconds / sj.seconds, sj.seconds / sj1.seconds);
}

class CountingSink : public RowSink {
 public:
  Status on_row(const RowView& row) override {
    ++rows;
    bytes += row[0].s.size();
    return Status::ok();
  }
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

int bench_connector(int64_t rows, int64_t page_size) {
  const std::string dir = std::filesystem::temp_directory_path() / ("dxhub_http_json_bench_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db_path = dir + "/agency.db";
  {
    auto db = SqliteDb::open(db_path, SqliteDb::Mode::kReadWriteCreate);
    if (!db) return 1;
    std::string ddl = "CREATE TABLE rows(id INTEGER PRIMARY KEY";
    for (int f = 1; f < kFields; ++f) ddl += ", " + field_name(f) + (f % 2 == 0 ? " TEXT" : (f % 4 == 1 ? " INTEGER" : " REAL"));
    ddl += ")";
    (void)db->exec(ddl);
    (void)db->exec("BEGIN");
    std::string sql = "INSERT INTO rows VALUES (?1";
    for (int f = 2; f <= kFields; ++f) sql += ", ?" + std::to_string(f);
    sql += ")";
    auto stmt = db->prepare(sql);
    if (!stmt) return 1;
    for (int64_t r = 1; r <= rows; ++r) {
      (void)stmt->bind_int64(1, r);
      for (int f = 1; f < kFields; ++f) {
        if (f % 2 == 0) (void)stmt->bind_text(f + 1, "湖北省黄石市大冶市罗家桥街道" + std::to_string(r * 31 + f) + "号居民");
        else if (f % 4 == 1) (void)stmt->bind_int64(f + 1, r * 1000 + f);
        else (void)stmt->bind_double(f + 1, static_cast<double>(r) * 0.25 + f);
      }
      (void)stmt->step();
      (void)stmt->reset();
    }
    (void)db->exec("COMMIT");
  }
  agency::AgencyApiOptions options;
  options.db_path = db_path;
  options.table = "rows";
  options.key_column = "id";
  options.cache_answers = true;  // the API's own cost out of both measurements
  agency::AgencyApi api(options);
  if (Status s = api.start("127.0.0.1", 0); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::vector<std::string> columns{"id"};
  for (int f = 1; f < kFields; ++f) columns.push_back(field_name(f));

  // Floor: the same pages, fetched with the same fetcher, records counted.
  auto fetcher = http_json::HttpFetcher::create({});
  if (!fetcher) return 1;
  uint64_t floor_records = 0, floor_bytes = 0;
  auto floor_start = Clock::now();
  // Pass 0 fills the API's answer cache; pass 1 is measured.
  for (int pass = 0; pass < 2; ++pass) {
  floor_records = 0;
  floor_bytes = 0;
  floor_start = Clock::now();
  for (int64_t offset = 0;; offset += page_size) {
    const std::string url = api.base_url() + "/offset?limit=" + std::to_string(page_size) + "&offset=" + std::to_string(offset);
    auto body = fetcher->fetch("GET", url, {}, "floor", 64);
    if (!body) {
      std::fprintf(stderr, "%s\n", body.status().message().c_str());
      return 1;
    }
    floor_bytes += body->size();
    uint64_t n = 0;
    for (size_t p = body->find("{\"id\":"); p != std::string_view::npos; p = body->find("{\"id\":", p + 1)) ++n;
    floor_records += n;
    if (n == 0) break;
  }
  }
  const double floor_s = std::chrono::duration<double>(Clock::now() - floor_start).count();

  nlohmann::json config = {{"url", api.base_url() + "/offset"},
                           {"query", {{"offset", "{offset}"}, {"limit", "{limit}"}}},
                           {"paging", {{"style", "offset"}, {"page_size", page_size}}},
                           {"records_path", "data.items"}};
  auto conn = HttpJsonConnector::open(config, columns, nullptr, ConnectorOpenOptions{true, "bench", ""});
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.status().message().c_str());
    return 1;
  }
  CountingSink sink;
  const auto start = Clock::now();
  for (;;) {
    auto n = (*conn)->read(5000, sink);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.status().message().c_str());
      return 1;
    }
    if (*n == 0) break;
  }
  const double conn_s = std::chrono::duration<double>(Clock::now() - start).count();
  api.stop();
  std::filesystem::remove_all(dir);

  const double floor_rate = static_cast<double>(floor_records) / floor_s;
  const double conn_rate = static_cast<double>(sink.rows) / conn_s;
  std::printf("mock agency API, %lld rows x %d columns, pages of %lld (%.1f MB of JSON):\n", static_cast<long long>(rows),
              kFields, static_cast<long long>(page_size), static_cast<double>(floor_bytes) / 1e6);
  std::printf("  floor (fetch + count)        %10.0f rows/s  (%llu rows)\n", floor_rate,
              static_cast<unsigned long long>(floor_records));
  std::printf("  http_json (fetch + extract)  %10.0f rows/s  (%llu rows)\n", conn_rate,
              static_cast<unsigned long long>(sink.rows));
  std::printf("  ratio connector / floor      %10.2f\n", conn_rate / floor_rate);
  return sink.rows == floor_records ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 100'000;
  const int64_t page_size = argc > 2 ? std::atoll(argv[2]) : 1000;
  bench_parsers();
  return bench_connector(rows, page_size);
}
