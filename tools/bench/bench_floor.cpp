// The floor for a single-threaded table sync: step through the source table
// and fetch every column with its typed accessor, nothing else. Prints one
// JSON line: {"rows":N,"seconds":S,"rows_per_second":R,"query":...}.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/common/sqlite_db.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dxhub-bench-floor SOURCE.db [ordered]\n");
    return 2;
  }
  bool ordered = argc > 2 && std::string(argv[2]) == "ordered";
  auto db = dxhub::SqliteDb::open(argv[1], dxhub::SqliteDb::Mode::kReadOnly, dxhub::StatusCode::kSource);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.status().to_string().c_str());
    return 3;
  }
  std::string sql = "SELECT * FROM household_population";
  if (ordered) sql += " ORDER BY gxsj, id";
  auto stmt = db->prepare(sql);
  if (!stmt) {
    std::fprintf(stderr, "%s\n", stmt.status().to_string().c_str());
    return 3;
  }
  auto started = std::chrono::steady_clock::now();
  int64_t rows = 0;
  size_t checksum = 0;  // keeps the accessors from being optimised away
  int columns = stmt->column_count();
  for (;;) {
    auto more = stmt->step();
    if (!more) {
      std::fprintf(stderr, "%s\n", more.status().to_string().c_str());
      return 3;
    }
    if (!*more) break;
    ++rows;
    for (int c = 0; c < columns; ++c) {
      switch (stmt->column_type(c)) {
        case SQLITE_INTEGER: checksum += static_cast<size_t>(stmt->column_int64(c)); break;
        case SQLITE_FLOAT: checksum += static_cast<size_t>(stmt->column_double(c)); break;
        case SQLITE_TEXT: checksum += stmt->column_text(c).size(); break;
        case SQLITE_BLOB: checksum += stmt->column_blob(c).size(); break;
        default: break;
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("{\"rows\":%lld,\"seconds\":%.4f,\"rows_per_second\":%.0f,\"ordered\":%s,\"checksum\":%zu}\n",
              static_cast<long long>(rows), seconds, rows / seconds, ordered ? "true" : "false", checksum);
  return 0;
}
