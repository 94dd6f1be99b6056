// Prints how fast the sqlite_table connector reads a table (not a test:
// nothing asserted). Usage: dxhub-connector-bench SOURCE.db [batch_rows]
// Reads household_population by (gxsj, id) through the connector, one
// connector for the whole table as one sync run does, and prints one JSON
// line: {"rows":N,"seconds":S,"rows_per_second":R,"cursor_bytes":B}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "connectors/sqlite_table/sqlite_table_connector.h"

namespace {
struct CountingSink : dxhub::RowSink {
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    for (size_t c = 0; c < row.count; ++c) checksum += static_cast<size_t>(row[c].i) + row[c].s.size();
    return dxhub::Status::ok();
  }
  long long rows = 0;
  size_t checksum = 0;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dxhub-connector-bench SOURCE.db [batch_rows]\n");
    return 2;
  }
  const size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 50000;
  nlohmann::json config = {{"database", argv[1]},
                           {"table", "household_population"},
                           {"cursor_column", "gxsj"},
                           {"key_column", "id"}};
  const std::vector<std::string> columns = {"id",  "gmsfhm", "xm",   "xb",   "mz",   "csrq", "hh",
                                            "yhzgx", "hjdz", "sspcs", "xzjd", "qrrq", "ryzt", "gxsj"};
  auto started = std::chrono::steady_clock::now();
  auto conn = dxhub::SqliteTableConnector::open(config, columns, nullptr);
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.status().to_string().c_str());
    return 3;
  }
  CountingSink sink;
  size_t cursor_bytes = 0;
  for (;;) {
    auto n = (*conn)->read(batch, sink);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.status().to_string().c_str());
      return 3;
    }
    if (*n == 0) break;
    cursor_bytes = (*conn)->cursor().dump().size();  // as the engine persists it per batch
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("{\"rows\":%lld,\"seconds\":%.4f,\"rows_per_second\":%.0f,\"cursor_bytes\":%zu,\"checksum\":%zu}\n",
              sink.rows, seconds, static_cast<double>(sink.rows) / seconds, cursor_bytes, sink.checksum);
  return 0;
}
