// Prints how fast odbc_table reads (not a test: nothing asserted), beside
// the floor of a bare ODBC loop (SQLFetch + SQLGetData into one buffer) over
// the same table and order, for SQLite through sqliteodbc and PostgreSQL
// (a server started here, as the tests do). Usage:
//   dxhub-odbc-bench [rows] [fetch_rows]
// One JSON line per backend: {"backend", "rows", "floor_rows_per_second",
// "connector_rows_per_second", "ratio", "open_seconds"}; both rates count
// reads only (connecting and open-time checks are reported apart).
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "connectors/odbc_table/odbc_table_connector.h"
#include "tests/connectors/odbc_pg_fixture.h"

namespace {

using dxhub::testing::OdbcSession;

constexpr const char* kColumns = "id, gmsfhm, xm, xb, mz, csrq, hjdz, sspcs, gxsj";

struct CountingSink : dxhub::RowSink {
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    for (size_t c = 0; c < row.count; ++c) checksum += static_cast<size_t>(row[c].i) + row[c].s.size();
    return dxhub::Status::ok();
  }
  long long rows = 0;
  size_t checksum = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The floor: one statement, every column fetched with SQLGetData into a
// reused buffer.
long long bare_fetch(const std::string& connection_string, double& seconds) {
  auto conn = dxhub::odbc::Connection::connect(connection_string, {}, 10);
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.status().to_string().c_str());
    return -1;
  }
  auto stmt = conn->statement();
  if (!stmt) return -1;
  const auto started = std::chrono::steady_clock::now();
  if (!stmt->exec_direct(std::string("SELECT ") + kColumns + " FROM hh ORDER BY gxsj, id").is_ok()) return -1;
  char buffer[512];  // fits every value of the table (and drivers may pad what they are given)
  long long rows = 0;
  size_t checksum = 0;
  for (;;) {
    auto row = stmt->fetch();
    if (!row || !*row) break;
    for (SQLUSMALLINT c = 1; c <= 9; ++c) {
      SQLLEN ind = 0;
      SQLGetData(stmt->get(), c, SQL_C_CHAR, buffer, sizeof buffer, &ind);
      checksum += ind > 0 ? static_cast<size_t>(ind) : 0;
    }
    ++rows;
  }
  (void)stmt->close();
  seconds = seconds_since(started);
  if (checksum == 0) std::fprintf(stderr, "(empty)\n");
  return rows;
}

long long connector_read(const std::string& connection_string, size_t fetch_rows, double& seconds,
                         double& open_seconds) {
  const auto opening = std::chrono::steady_clock::now();
  auto conn = dxhub::OdbcTableConnector::open({{"connection_string", connection_string},
                                               {"table", "hh"},
                                               {"cursor_column", "gxsj"},
                                               {"key_column", "id"},
                                               {"fetch_rows", fetch_rows}},
                                              {"id", "gmsfhm", "xm", "xb", "mz", "csrq", "hjdz", "sspcs", "gxsj"},
                                              nullptr);
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.status().to_string().c_str());
    return -1;
  }
  open_seconds = seconds_since(opening);
  // Reads only, as the floor: connecting and the open-time checks are apart.
  const auto started = std::chrono::steady_clock::now();
  CountingSink sink;
  for (;;) {
    auto n = (*conn)->read(50000, sink);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.status().to_string().c_str());
      return -1;
    }
    if (*n == 0) break;
  }
  seconds = seconds_since(started);
  return sink.rows;
}

void report(const char* backend, const std::string& connection_string, size_t fetch_rows) {
  double floor_s = 0, conn_s = 0, open_s = 0;
  const long long floor_rows = bare_fetch(connection_string, floor_s);
  const long long conn_rows = connector_read(connection_string, fetch_rows, conn_s, open_s);
  if (floor_rows < 0 || conn_rows < 0) return;
  const double floor_rate = static_cast<double>(floor_rows) / floor_s;
  const double conn_rate = static_cast<double>(conn_rows) / conn_s;
  std::printf("{\"backend\":\"%s\",\"rows\":%lld,\"fetch_rows\":%zu,\"floor_rows_per_second\":%.0f,"
              "\"connector_rows_per_second\":%.0f,\"ratio\":%.2f,\"open_seconds\":%.3f}\n",
              backend, conn_rows, fetch_rows, floor_rate, conn_rate, conn_rate / floor_rate, open_s);
  std::fflush(stdout);
}

std::string row_values(long long i) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "(%lld, '3301%014lld', 'name%lld', '%lld', '01', '1990-01-01', 'address number %lld of some "
                "county street', 'station %lld', '2024-01-%02lld %02lld:%02lld:%02lld')",
                i, i, i, i % 2, i, i % 50, 1 + (i / 86400) % 28, (i / 3600) % 24, (i / 60) % 60, i % 60);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const long long rows = argc > 1 ? std::atoll(argv[1]) : 200000;
  const size_t fetch_rows = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000;
  const char* create =
      "CREATE TABLE hh (id INTEGER PRIMARY KEY, gmsfhm VARCHAR(18), xm VARCHAR(40), xb VARCHAR(1), mz VARCHAR(2), "
      "csrq VARCHAR(10), hjdz VARCHAR(200), sspcs VARCHAR(60), gxsj TIMESTAMP NOT NULL)";

  // SQLite: filled through the C API in one transaction.
  char dir[] = "/tmp/dxhub_odbc_bench_XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  const std::string path = std::string(dir) + "/bench.db";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, create, nullptr, nullptr, nullptr);
  sqlite3_exec(db, "CREATE INDEX hh_gxsj ON hh (gxsj, id); BEGIN", nullptr, nullptr, nullptr);
  for (long long i = 1; i <= rows; ++i) {
    sqlite3_exec(db, ("INSERT INTO hh VALUES " + row_values(i)).c_str(), nullptr, nullptr, nullptr);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  report("sqlite-odbc", std::string("Driver=") + dxhub::testing::kSqliteOdbcDriver + ";Database=" + path,
         fetch_rows);
  std::remove(path.c_str());
  ::rmdir(dir);

  // PostgreSQL: a server of our own.
  auto& server = dxhub::testing::PgServer::shared();
  if (!server.ok()) {
    std::fprintf(stderr, "PostgreSQL: %s\n", server.error().c_str());
    return 1;
  }
  OdbcSession s(server.connection_string());
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().c_str());
    return 1;
  }
  (void)s.exec(create);
  (void)s.exec("INSERT INTO hh SELECT i, '3301' || lpad(i::text, 14, '0'), 'name' || i, (i % 2)::text, '01', "
               "'1990-01-01', 'address number ' || i || ' of some county street', 'station ' || (i % 50), "
               "TIMESTAMP '2024-01-01' + i * INTERVAL '1 second' FROM generate_series(1, " +
               std::to_string(rows) + ") i");
  (void)s.exec("CREATE INDEX hh_gxsj ON hh (gxsj, id); ANALYZE hh");
  report("postgresql", server.connection_string(), fetch_rows);
  return 0;
}
