// Prints how fast the soap_xml connector (against the mock agency SOAP
// service on 127.0.0.1) and the xml file format read, each beside a floor
// measured in the same run, and the ratio (not a test: nothing asserted).
//   soap_xml floor: the same pages fetched over HTTP and parsed by the
//                   hardened parser, record elements counted (no extraction)
//   xml file floor: the file read and parsed, record elements counted
// Usage: dxhub-xml-bench [rows] [page_size]   (defaults 100000, 1000)
// One JSON line per reader: {"reader":..., "rows":N, "rows_per_second":R,
// "floor_rows_per_second":F, "ratio":R/F, "bytes":B}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "connectors/connector_factory.h"
#include "connectors/file/file_format.h"
#include "connectors/xml/xml_document.h"
#include "core/common/sqlite_db.h"
#include "core/delivery/curl_handle.h"
#include "sandbox/agency_soap/agency_soap_server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct CountingSink : dxhub::RowSink {
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    for (size_t c = 0; c < row.count; ++c) checksum += row[c].s.size();
    return dxhub::Status::ok();
  }
  long long rows = 0;
  size_t checksum = 0;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

size_t count_named(xmlNode* node, std::string_view name) {
  size_t n = 0;
  for (xmlNode* c = node; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (dxhub::xml::local_name(c) == name) ++n;
    else n += count_named(c->children, name);
  }
  return n;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

const char* kEnvelope =
    R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRows xmlns="urn:dxhub:agency-soap">)"
    R"(<page>{{page}}</page><pageSize>{{page_size}}</pageSize></GetRows></s:Body></s:Envelope>)";

void print(const char* reader, long long rows, double secs, double floor_rows_per_s, size_t bytes) {
  const double rate = static_cast<double>(rows) / secs;
  std::printf("{\"reader\":\"%s\",\"rows\":%lld,\"seconds\":%.3f,\"rows_per_second\":%.0f,"
              "\"floor_rows_per_second\":%.0f,\"ratio\":%.3f,\"bytes\":%zu}\n",
              reader, rows, secs, rate, floor_rows_per_s, rate / floor_rows_per_s, bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int page_size = argc > 2 ? std::atoi(argv[2]) : 1000;
  const auto dir = std::filesystem::temp_directory_path() / ("dxhub_xml_bench_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string db_path = (dir / "agency.db").string();
  const std::vector<std::string> columns = {"id", "gmsfhm", "xm", "xb", "csrq", "hjdz", "sspcs", "gxsj"};
  {
    auto db = dxhub::SqliteDb::open(db_path, dxhub::SqliteDb::Mode::kReadWriteCreate);
    if (!db) return 3;
    (void)db->exec("CREATE TABLE p(id INTEGER PRIMARY KEY, gmsfhm TEXT, xm TEXT, xb TEXT, csrq TEXT, hjdz TEXT, sspcs TEXT, gxsj TEXT)");
    (void)db->exec("BEGIN");
    auto insert = db->prepare("INSERT INTO p VALUES(?1, printf('420281%012d', ?1), '测试' || ?1, '1', '1990-01-01',"
                              " '湖北省大冶市东岳路街道' || (?1 % 97) || '号', '东岳派出所', '2024-01-01 00:00:00')");
    for (int i = 1; i <= rows; ++i) {
      (void)insert->bind_int64(1, i);
      (void)insert->run();
      (void)insert->reset();
    }
    (void)db->exec("COMMIT");
  }
  dxhub::agency_soap::ServerOptions options;
  options.database = db_path;
  options.table = "p";
  options.key_column = "id";
  options.max_page_size = 100000;
  dxhub::agency_soap::Server server(options);
  if (dxhub::Status s = server.start(); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 3;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/soap";

  // Floor: the same pages, fetched and parsed, record elements counted.
  size_t bytes = 0;
  long long floor_rows = 0;
  auto started = Clock::now();
  {
    auto easy = dxhub::curl::make_easy_handle();
    dxhub::curl::HeaderList headers;
    (void)headers.append("Content-Type: text/xml; charset=utf-8");
    (void)headers.append("SOAPAction: \"GetRows\"");
    std::string body;
    for (int page = 1;; ++page) {
      std::string request = kEnvelope;
      request.replace(request.find("{{page}}"), 8, std::to_string(page));
      request.replace(request.find("{{page_size}}"), 13, std::to_string(page_size));
      body.clear();
      CURL* h = easy->get();
      curl_easy_setopt(h, CURLOPT_URL, url.c_str());
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.c_str());
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
      if (curl_easy_perform(h) != CURLE_OK) return 3;
      bytes += body.size();
      auto doc = dxhub::xml::parse(body, {});
      if (!doc) return 3;
      const size_t n = count_named(xmlDocGetRootElement(doc->get()), "row");
      if (n == 0) break;
      floor_rows += static_cast<long long>(n);
    }
  }
  const double floor_rate = static_cast<double>(floor_rows) / seconds_since(started);

  nlohmann::json config = {{"url", url},
                           {"protocol", "soap11"},
                           {"soap_action", "GetRows"},
                           {"body_template", kEnvelope},
                           {"namespaces", {{"s", "http://schemas.xmlsoap.org/soap/envelope/"}, {"a", "urn:dxhub:agency-soap"}}},
                           {"records_xpath", "/s:Envelope/s:Body/a:GetRowsResponse/a:rows/a:row"},
                           {"key_column", "id"},
                           {"paging", "page"},
                           {"page_size", page_size}};
  started = Clock::now();
  auto connector = dxhub::open_connector("soap_xml", config, columns, nullptr);
  if (!connector) {
    std::fprintf(stderr, "%s\n", connector.status().to_string().c_str());
    return 3;
  }
  CountingSink sink;
  for (;;) {
    auto n = (*connector)->read(50000, sink);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.status().to_string().c_str());
      return 3;
    }
    if (*n == 0) break;
  }
  print("soap_xml", sink.rows, seconds_since(started), floor_rate, bytes);

  // The XML file: one document of every row.
  const std::string file = (dir / "people.xml").string();
  {
    std::ofstream out(file, std::ios::binary);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?><export xmlns=\"urn:export\">";
    for (int i = 1; i <= rows; ++i) {
      out << "<row><id>" << i << "</id><gmsfhm>420281" << (100000000000LL + i) << "</gmsfhm><xm>测试" << i
          << "</xm><xb>1</xb><csrq>1990-01-01</csrq><hjdz>湖北省大冶市东岳路街道" << (i % 97)
          << "号</hjdz><sspcs>东岳派出所</sspcs><gxsj>2024-01-01 00:00:00</gxsj></row>";
    }
    out << "</export>";
  }
  const size_t file_bytes = std::filesystem::file_size(file);
  started = Clock::now();
  {
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    dxhub::xml::ParseLimits limits;
    limits.max_document_bytes = size_t{1} << 30;
    auto doc = dxhub::xml::parse(text, limits);
    if (!doc) return 3;
    floor_rows = static_cast<long long>(count_named(xmlDocGetRootElement(doc->get()), "row"));
  }
  const double file_floor = static_cast<double>(floor_rows) / seconds_since(started);
  started = Clock::now();
  auto reader = dxhub::open_file_format({{"kind", "xml"},
                                         {"records_xpath", "/e:export/e:row"},
                                         {"namespaces", {{"e", "urn:export"}}},
                                         {"max_document_bytes", 1 << 30}},
                                        {file, "people.xml", nullptr}, columns);
  if (!reader) {
    std::fprintf(stderr, "%s\n", reader.status().to_string().c_str());
    return 3;
  }
  CountingSink file_sink;
  for (;;) {
    auto n = (*reader)->read(50000, file_sink);
    if (!n || *n == 0) break;
  }
  print("xml_file", file_sink.rows, seconds_since(started), file_floor, file_bytes);
  server.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
