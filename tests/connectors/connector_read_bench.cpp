// Prints how fast the sqlite_table connector reads a table (not a test:
// nothing asserted). Usage:
//   dxhub-connector-bench SOURCE.db [batch_rows] [chunk_rows] [mode]
// Reads household_population by (gxsj, id) through the connector (mode
// incremental, the default; or full_refresh by id), one connector for the
// whole table as one sync run does, and prints one JSON line:
// {"rows":N,"seconds":S,"rows_per_second":R,"cursor_bytes":B,
//  "floor_rows_per_second":F,"ratio":R/F}. The floor is the bare SQLite
// step loop over the same statement, touching every column once: what any
// reader of this table pays.
#include <sqlite3.h>

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

const char* const kColumns[] = {"id",  "gmsfhm", "xm",   "xb",   "mz",   "csrq", "hh",
                                "yhzgx", "hjdz", "sspcs", "xzjd", "qrrq", "ryzt", "gxsj"};

// The bare fetch loop: one statement over the table in the connector's order.
double floor_rows_per_second(const char* path, bool full_refresh, long long& rows) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return 0;
  std::string sql = "SELECT ";
  for (const char* c : kColumns) sql += std::string("\"") + c + "\", ";
  sql += full_refresh ? "NULL, \"id\" FROM household_population ORDER BY \"id\""
                      : "\"gxsj\", \"id\" FROM household_population WHERE \"gxsj\" IS NOT NULL ORDER BY \"gxsj\", \"id\"";
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  const auto started = std::chrono::steady_clock::now();
  size_t checksum = 0;
  rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ++rows;
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      if (sqlite3_column_type(stmt, c) == SQLITE_INTEGER) checksum += static_cast<size_t>(sqlite3_column_int64(stmt, c));
      else checksum += static_cast<size_t>(sqlite3_column_bytes(stmt, c));
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (checksum == 1) std::fprintf(stderr, " ");  // keep the loop
  return static_cast<double>(rows) / seconds;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dxhub-connector-bench SOURCE.db [batch_rows] [chunk_rows] [incremental|full_refresh]\n");
    return 2;
  }
  const size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 50000;
  const std::string mode = argc > 4 ? argv[4] : "incremental";
  nlohmann::json config = {{"database", argv[1]}, {"table", "household_population"}, {"key_column", "id"},
                           {"mode", mode}};
  if (mode == "incremental") config["cursor_column"] = "gxsj";
  if (argc > 3) config["chunk_rows"] = std::strtoul(argv[3], nullptr, 10);
  const std::vector<std::string> columns(std::begin(kColumns), std::end(kColumns));
  long long floor_rows = 0;
  const double floor = floor_rows_per_second(argv[1], mode == "full_refresh", floor_rows);
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
  const double rate = static_cast<double>(sink.rows) / seconds;
  std::printf("{\"mode\":\"%s\",\"rows\":%lld,\"seconds\":%.4f,\"rows_per_second\":%.0f,\"cursor_bytes\":%zu,"
              "\"floor_rows_per_second\":%.0f,\"ratio\":%.3f,\"checksum\":%zu}\n",
              mode.c_str(), sink.rows, seconds, rate, cursor_bytes, floor, floor > 0 ? rate / floor : 0.0,
              sink.checksum);
  return 0;
}
