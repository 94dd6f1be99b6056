// dxhub-feed-bench: one line per connector -- rows/s for reading the
// enterprise register (enterprise_basic, 13 mapped columns) through the
// connector AND mapping every row to Avro binary with the real mapping file
// (the compiled encoder, as a sync does; no spooling, no delivery), beside a
// floor for that feed kind measured in the same run on the same data:
//
//   sqlite_table  the bare SQLite step loop over the same rows and order
//   odbc_table    the bare ODBC loop (SQLFetch + SQLGetData per column) via sqliteodbc
//   http_json     the same pages fetched from the mock agency API, records counted
//   soap_xml      the same SOAP pages fetched and parsed (hardened parser), rows counted
//   file csv/jsonl  the file's bytes read and its lines counted
//   file xlsx     the sheet inflated out of the archive and its rows counted
//
// and the heap allocations per row of the measured loop on the reading thread
// (open and setup included, so a figure well below 1 means none per row).
// Figures, not pass/fail.
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <libxml/tree.h>
#include <sqlite3.h>
#include <zip.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "connectors/connector_factory.h"
#include "connectors/http_json/http_fetcher.h"
#include "connectors/xml/xml_document.h"
#include "core/avro/schema.h"
#include "core/delivery/curl_handle.h"
#include "core/mapping/record_mapper.h"
#include "sandbox/agency_api/agency_api.h"
#include "sandbox/agency_soap/agency_soap_server.h"
#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/file_export.h"
#include "tests/connectors/allocation_counter.h"
// unixODBC last: its headers define macros (BOOL) that clash with others.
#include "connectors/odbc_table/odbc_api.h"

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSqliteOdbcDriver = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so";
constexpr const char* kTable = "enterprise_basic";
constexpr int kPageSize = 1000;
constexpr const char* kSoapEnvelope =
    R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRows xmlns="urn:dxhub:agency-soap">)"
    R"(<page>{{page}}</page><pageSize>{{page_size}}</pageSize></GetRows></s:Body></s:Envelope>)";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Floor {
  long long records = -1;  // -1: the floor could not be measured
  double seconds = 0;
};

// Maps every row as a sync does: encode() into a batch buffer that is
// reused, so the loop's allocations are the connector's and the mapper's.
class MappingSink final : public dxhub::RowSink {
 public:
  explicit MappingSink(const dxhub::RecordMapper& mapper) : mapper_(mapper) { batch_.reserve(4 << 20); }
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    if (!mapper_.encode(row, batch_).is_ok()) ++bad;
    return dxhub::Status::ok();
  }
  dxhub::Status on_bad_input(const dxhub::BadInput&) override {
    ++bad;
    return dxhub::Status::ok();
  }
  void end_batch() {
    bytes += batch_.size();
    batch_.clear();
  }
  long long rows = 0;
  long long bad = 0;
  size_t bytes = 0;

 private:
  const dxhub::RecordMapper& mapper_;
  std::string batch_;
};

struct Result {
  std::string connector;
  long long rows = 0;
  long long bad = 0;
  double seconds = 0;
  double allocations_per_row = 0;
  Floor floor;
  std::string error;
};

Result measure(const std::string& name, const std::string& kind, const nlohmann::json& settings,
               const dxhub::RecordMapper& prototype, const std::function<Floor()>& floor) {
  Result r;
  r.connector = name;
  r.floor = floor();
  dxhub::RecordMapper mapper = prototype;
  dxhub::ConnectorOpenOptions options;
  options.dry_run = true;  // leaves the files where they are: every run measures the same input
  options.resource_id = kTable;
  const size_t allocations_before = dxhub::testing::thread_allocation_count();
  const auto started = Clock::now();
  auto connector = dxhub::open_connector(kind, settings, mapper.source_columns(), nullptr, options);
  if (!connector) {
    r.error = connector.status().to_string();
    return r;
  }
  if (auto s = mapper.bind((*connector)->columns()); !s.is_ok()) {
    r.error = s.to_string();
    return r;
  }
  MappingSink sink(mapper);
  for (int reads = 0; reads < 1'000'000; ++reads) {
    auto n = (*connector)->read(5000, sink);
    if (!n) {
      r.error = n.status().to_string();
      return r;
    }
    sink.end_batch();
    if (*n == 0) break;
  }
  r.seconds = seconds_since(started);
  r.rows = sink.rows;
  r.bad = sink.bad;
  const size_t allocations = dxhub::testing::thread_allocation_count() - allocations_before;
  r.allocations_per_row = sink.rows > 0 ? static_cast<double>(allocations) / static_cast<double>(sink.rows) : 0;
  return r;
}

// ---- floors ----

Floor sqlite_floor(const std::string& db_path, const std::vector<std::string>& columns) {
  Floor f;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return f;
  std::string sql = "SELECT ";
  for (const auto& c : columns) sql += "\"" + c + "\", ";
  sql += "\"gxsj\", \"id\" FROM enterprise_basic ORDER BY \"gxsj\", \"id\"";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    const auto started = Clock::now();
    size_t checksum = 0;
    f.records = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      ++f.records;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) checksum += static_cast<size_t>(sqlite3_column_bytes(stmt, c));
    }
    f.seconds = seconds_since(started);
    if (checksum == 1) std::fputc(' ', stderr);  // keeps the loop
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return f;
}

Floor odbc_floor(const std::string& connection_string, const std::vector<std::string>& columns) {
  Floor f;
  auto conn = dxhub::odbc::Connection::connect(connection_string, {}, 10);
  if (!conn) return f;
  auto stmt = conn->statement();
  if (!stmt) return f;
  std::string sql = "SELECT ";
  for (const auto& c : columns) sql += "\"" + c + "\", ";
  sql += "\"gxsj\", \"id\" FROM enterprise_basic ORDER BY \"gxsj\", \"id\"";
  const auto started = Clock::now();
  if (!stmt->exec_direct(sql).is_ok()) return f;
  char buffer[4096];
  size_t checksum = 0;
  f.records = 0;
  const auto count = static_cast<SQLUSMALLINT>(columns.size() + 2);
  for (;;) {
    auto row = stmt->fetch();
    if (!row || !*row) break;
    for (SQLUSMALLINT c = 1; c <= count; ++c) {
      SQLLEN indicator = 0;
      SQLGetData(stmt->get(), c, SQL_C_CHAR, buffer, sizeof buffer, &indicator);
      checksum += indicator > 0 ? static_cast<size_t>(indicator) : 0;
    }
    ++f.records;
  }
  (void)stmt->close();
  f.seconds = seconds_since(started);
  if (checksum == 1) std::fputc(' ', stderr);
  return f;
}

Floor http_floor(const std::string& base_url) {
  Floor f;
  auto fetcher = dxhub::http_json::HttpFetcher::create({});
  if (!fetcher) return f;
  const auto started = Clock::now();
  f.records = 0;
  for (int64_t offset = 0; offset < 100'000'000; offset += kPageSize) {
    auto body = fetcher->fetch("GET", base_url + "/offset?limit=" + std::to_string(kPageSize) +
                                          "&offset=" + std::to_string(offset), {}, "floor", 64);
    if (!body) return Floor{};
    long long n = 0;
    for (size_t p = body->find("{\"id\":"); p != std::string_view::npos; p = body->find("{\"id\":", p + 1)) ++n;
    f.records += n;
    if (n == 0) break;
  }
  f.seconds = seconds_since(started);
  return f;
}

size_t collect_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t count_elements(xmlNode* node, const char* name) {
  size_t n = 0;
  for (xmlNode* c = node; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (std::strcmp(reinterpret_cast<const char*>(c->name), name) == 0) ++n;
    else n += count_elements(c->children, name);
  }
  return n;
}

Floor soap_floor(const std::string& url) {
  Floor f;
  auto easy = dxhub::curl::make_easy_handle();
  if (!easy) return f;
  dxhub::curl::HeaderList headers;
  (void)headers.append("Content-Type: text/xml; charset=utf-8");
  (void)headers.append("SOAPAction: \"GetRows\"");
  std::string body;
  const auto started = Clock::now();
  f.records = 0;
  for (int page = 1; page < 100'000; ++page) {
    std::string request = kSoapEnvelope;
    request.replace(request.find("{{page}}"), 8, std::to_string(page));
    request.replace(request.find("{{page_size}}"), 13, std::to_string(kPageSize));
    body.clear();
    CURL* h = easy->get();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(h) != CURLE_OK) return Floor{};
    auto doc = dxhub::xml::parse(body, {});
    if (!doc) return Floor{};
    const size_t n = count_elements(xmlDocGetRootElement(doc->get()), "row");
    if (n == 0) break;
    f.records += static_cast<long long>(n);
  }
  f.seconds = seconds_since(started);
  return f;
}

// Lines of a text file minus its header line: the file's bytes read in
// 1 MiB blocks and the newlines counted.
Floor lines_floor(const std::string& path, bool header) {
  Floor f;
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return f;
  std::vector<char> block(1 << 20);
  const auto started = Clock::now();
  long long lines = 0;
  for (size_t n; (n = std::fread(block.data(), 1, block.size(), in)) > 0;) {
    for (const char* p = block.data(); (p = static_cast<const char*>(std::memchr(p, '\n', block.data() + n - p)));
         ++p) {
      ++lines;
    }
  }
  std::fclose(in);
  f.seconds = seconds_since(started);
  f.records = header ? lines - 1 : lines;
  return f;
}

// The sheet inflated out of the xlsx and its <row> elements counted (the
// header row not).
Floor xlsx_floor(const std::string& path) {
  Floor f;
  const auto started = Clock::now();
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (archive == nullptr) return f;
  zip_file_t* sheet = zip_fopen(archive, "xl/worksheets/sheet1.xml", 0);
  if (sheet != nullptr) {
    std::vector<char> block(1 << 20);
    std::string window;  // the block after the last 3 bytes of the one before: no "<row" is split or counted twice
    long long rows = 0;
    for (zip_int64_t n; (n = zip_fread(sheet, block.data(), block.size())) > 0;) {
      window.append(block.data(), static_cast<size_t>(n));
      for (size_t p = window.find("<row"); p != std::string::npos; p = window.find("<row", p + 1)) ++rows;
      window.erase(0, window.size() - std::min<size_t>(window.size(), 3));
    }
    zip_fclose(sheet);
    f.records = rows - 1;
  }
  zip_close(archive);
  f.seconds = seconds_since(started);
  return f;
}

dxhub::Status export_file(const std::string& db, const std::string& format, const std::string& encoding,
                          const fs::path& out) {
  fs::create_directories(out.parent_path());
  dxhub::sample::FileExportOptions options;
  options.db = db;
  options.table = kTable;
  options.format = format;
  options.encoding = encoding;
  options.out = out.string();
  auto written = dxhub::sample::export_table_to_file(options);
  return written ? dxhub::Status::ok() : written.status();
}

nlohmann::json file_settings(const fs::path& file, const nlohmann::json& format) {
  return {{"source", {{"kind", "local"}, {"directory", file.parent_path().string()}}},
          {"format", format},
          {"pattern", file.filename().string()},
          {"stable_seconds", 0}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dxhub-feed-bench -- read + map rows/s per connector beside a floor for its feed kind"};
  int64_t rows = 100000;
  std::string work = "var/feed-bench";
  bool json_lines = false;
  std::vector<std::string> only;
  app.add_option("--rows", rows, "enterprise rows generated")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  app.add_option("--dir", work, "work directory (recreated)")->capture_default_str();
  app.add_option("--only", only, "measure only these connectors (sqlite_table, odbc_table, http_json, soap_xml, "
                                 "csv, csv-gb18030, jsonl, xlsx)");
  app.add_flag("--json", json_lines, "one JSON object per connector instead of the table");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::absolute(work);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string db = (dir / "enterprise.db").string();
  dxhub::sample::EnterpriseOptions gen;
  gen.rows = rows;
  if (auto s = dxhub::sample::generate_enterprise_db(db, gen); !s.is_ok()) {
    std::cerr << s.to_string() << "\n";
    return 3;
  }
  const std::string mappings = std::string(DXHUB_SOURCE_DIR) + "/mappings/market_regulation/";
  auto schema = dxhub::avro::Schema::from_file(mappings + "enterprise_basic.avsc");
  if (!schema) {
    std::cerr << schema.status().to_string() << "\n";
    return 2;
  }
  auto mapper = dxhub::RecordMapper::load(mappings + "enterprise_basic.mapping.json", *schema);
  if (!mapper) {
    std::cerr << mapper.status().to_string() << "\n";
    return 2;
  }
  const std::vector<std::string>& columns = mapper->source_columns();
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  std::vector<Result> results;

  const nlohmann::json table = {{"table", kTable}, {"cursor_column", "gxsj"}, {"key_column", "id"}};
  if (wanted("sqlite_table")) {
    nlohmann::json settings = table;
    settings["database"] = db;
    results.push_back(measure("sqlite_table", "sqlite_table", settings, *mapper,
                              [&] { return sqlite_floor(db, columns); }));
  }
  if (wanted("odbc_table")) {
    const std::string connection = std::string("Driver=") + kSqliteOdbcDriver + ";Database=" + db;
    nlohmann::json settings = table;
    settings["connection_string"] = connection;
    results.push_back(measure("odbc_table (sqliteodbc)", "odbc_table", settings, *mapper,
                              [&] { return odbc_floor(connection, columns); }));
  }
  if (wanted("http_json")) {
    dxhub::agency::AgencyApiOptions api_options;
    api_options.db_path = db;
    api_options.table = kTable;
    api_options.key_column = "id";
    api_options.updated_column = "gxsj";
    api_options.cache_answers = true;  // the mock API's own cost out of both measurements
    dxhub::agency::AgencyApi api(api_options);
    if (auto s = api.start("127.0.0.1", 0); !s.is_ok()) {
      std::cerr << s.to_string() << "\n";
      return 3;
    }
    (void)http_floor(api.base_url());  // fills the answer cache
    nlohmann::json settings = {{"url", api.base_url() + "/offset"},
                               {"query", {{"offset", "{offset}"}, {"limit", "{limit}"}}},
                               {"paging", {{"style", "offset"}, {"page_size", kPageSize}}},
                               {"records_path", "data.items"}};
    results.push_back(measure("http_json", "http_json", settings, *mapper, [&] { return http_floor(api.base_url()); }));
    api.stop();
  }
  if (wanted("soap_xml")) {
    dxhub::agency_soap::ServerOptions soap_options;
    soap_options.database = db;
    soap_options.table = kTable;
    soap_options.key_column = "id";
    soap_options.max_page_size = kPageSize;
    dxhub::agency_soap::Server soap(soap_options);
    if (auto s = soap.start(); !s.is_ok()) {
      std::cerr << s.to_string() << "\n";
      return 3;
    }
    const std::string url = "http://127.0.0.1:" + std::to_string(soap.port()) + "/soap";
    nlohmann::json settings = {
        {"url", url},
        {"protocol", "soap11"},
        {"soap_action", "GetRows"},
        {"body_template", kSoapEnvelope},
        {"namespaces", {{"s", "http://schemas.xmlsoap.org/soap/envelope/"}, {"a", "urn:dxhub:agency-soap"}}},
        {"records_xpath", "/s:Envelope/s:Body/a:GetRowsResponse/a:rows/a:row"},
        {"key_column", "id"},
        {"paging", "page"},
        {"page_size", kPageSize}};
    results.push_back(measure("soap_xml", "soap_xml", settings, *mapper, [&] { return soap_floor(url); }));
    soap.stop();
  }
  struct FileCase {
    const char* name;
    const char* format;
    const char* encoding;
    const char* file;
    nlohmann::json format_settings;
  };
  const FileCase files[] = {
      {"csv", "csv", "utf-8", "enterprise.csv", {{"kind", "csv"}, {"empty_as_null", true}}},
      {"csv-gb18030", "csv", "gb18030", "enterprise-gb18030.csv",
       {{"kind", "csv"}, {"encoding", "gb18030"}, {"empty_as_null", true}}},
      {"jsonl", "jsonl", "utf-8", "enterprise.jsonl", {{"kind", "jsonl"}}},
      {"xlsx", "xlsx", "utf-8", "enterprise.xlsx", {{"kind", "xlsx"}}},
  };
  for (const auto& c : files) {
    if (!wanted(c.name)) continue;
    const fs::path file = dir / "drop" / c.name / c.file;
    if (auto s = export_file(db, c.format, c.encoding, file); !s.is_ok()) {
      std::cerr << s.to_string() << "\n";
      return 3;
    }
    const bool xlsx = std::strcmp(c.format, "xlsx") == 0;
    const bool header = std::strcmp(c.format, "csv") == 0;
    results.push_back(measure(std::string("file ") + c.name, "file", file_settings(file, c.format_settings), *mapper,
                              [&] { return xlsx ? xlsx_floor(file.string()) : lines_floor(file.string(), header); }));
  }

  int rc = 0;
  if (!json_lines) {
    std::printf("read + map of %lld enterprise_basic rows (13 mapped columns), floor measured in the same run:\n",
                static_cast<long long>(rows));
    std::printf("  %-24s %10s %12s %12s %7s %11s\n", "connector", "rows", "rows/s", "floor rows/s", "ratio",
                "allocs/row");
  }
  for (const auto& r : results) {
    const double rate = r.seconds > 0 ? static_cast<double>(r.rows) / r.seconds : 0;
    const double floor_rate = r.floor.records > 0 && r.floor.seconds > 0 ? static_cast<double>(r.floor.records) /
                                                                               r.floor.seconds
                                                                         : 0;
    const double ratio = floor_rate > 0 ? rate / floor_rate : 0;
    if (!r.error.empty() || r.rows != rows || r.bad != 0 || r.floor.records != rows) rc = 1;
    if (json_lines) {
      nlohmann::json line = {{"connector", r.connector},         {"rows", r.rows},
                             {"bad", r.bad},                     {"seconds", r.seconds},
                             {"rows_per_second", rate},          {"floor_records", r.floor.records},
                             {"floor_rows_per_second", floor_rate}, {"ratio", ratio},
                             {"allocations_per_row", r.allocations_per_row}};
      if (!r.error.empty()) line["error"] = r.error;
      std::printf("%s\n", line.dump().c_str());
    } else if (!r.error.empty()) {
      std::printf("  %-24s error: %s\n", r.connector.c_str(), r.error.c_str());
    } else {
      std::printf("  %-24s %10lld %12.0f %12.0f %7.3f %11.4f%s\n", r.connector.c_str(), r.rows, rate, floor_rate,
                  ratio, r.allocations_per_row,
                  r.bad != 0 || r.floor.records != rows ? "  (row counts differ: see --json)" : "");
    }
  }
  fs::remove_all(dir, ec);
  return rc;
}
