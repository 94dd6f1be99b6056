// Prints how fast the file connector reads a drop folder with the "lines"
// format, beside a floor measured in the same run: reading the same files'
// bytes and counting their lines. Not a test: nothing asserted.
// Usage: dxhub-file-connector-bench [files] [lines_per_file] [batch_rows]
// One JSON line: {"files", "rows", "floor_rows_per_second",
// "rows_per_second", "files_per_second", "ratio"} (ratio = connector / floor).
// The connector's cost includes each file's SHA-256 (the ledger) and its
// move to the archive.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "connectors/file/file_connector.h"

namespace {

namespace fs = std::filesystem;

struct CountingSink : dxhub::RowSink {
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    checksum += row[0].s.size();
    return dxhub::Status::ok();
  }
  long long rows = 0;
  size_t checksum = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int files = argc > 1 ? std::atoi(argv[1]) : 200;
  const int lines = argc > 2 ? std::atoi(argv[2]) : 5000;
  const size_t batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 50000;
  fs::path dir = fs::temp_directory_path() / ("dxhub-file-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<fs::path> paths;
  for (int f = 0; f < files; ++f) {
    paths.push_back(dir / ("export-" + std::to_string(f) + ".txt"));
    std::ofstream out(paths.back(), std::ios::binary);
    for (int i = 0; i < lines; ++i) {
      out << "420281," << f << "," << i << ",2026-12-01 10:00:00,sample record payload " << (i * 7919 % 100000)
          << "\n";
    }
  }

  // Floor: the bytes of every file, lines counted.
  auto started = std::chrono::steady_clock::now();
  long long floor_rows = 0;
  std::vector<char> buffer(1 << 18);
  for (const auto& p : paths) {
    int fd = ::open(p.c_str(), O_RDONLY);
    for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) > 0;) {
      for (const char* c = buffer.data(); (c = static_cast<const char*>(std::memchr(c, '\n', buffer.data() + n - c)));
           ++c) {
        ++floor_rows;
      }
    }
    ::close(fd);
  }
  const double floor_seconds = seconds_since(started);

  nlohmann::json config = {{"source", {{"kind", "local"}, {"directory", dir.string()}}},
                           {"format", {{"kind", "lines"}}},
                           {"stable_seconds", 0}};
  started = std::chrono::steady_clock::now();
  auto conn = dxhub::FileConnector::open(config, {"line"}, nullptr, dxhub::ConnectorOpenOptions{});
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
  const double seconds = seconds_since(started);
  const double floor_rate = static_cast<double>(floor_rows) / floor_seconds;
  const double rate = static_cast<double>(sink.rows) / seconds;
  std::printf("{\"files\":%zu,\"rows\":%lld,\"floor_rows\":%lld,\"floor_rows_per_second\":%.0f,"
              "\"rows_per_second\":%.0f,\"files_per_second\":%.1f,\"ratio\":%.3f,\"cursor_bytes\":%zu}\n",
              (*conn)->stats().files_read, sink.rows, floor_rows, floor_rate, rate,
              static_cast<double>((*conn)->stats().files_read) / seconds, rate / floor_rate, cursor_bytes);
  fs::remove_all(dir);
  return 0;
}
