// Prints how fast the file format readers turn files into rows, beside a
// floor for the same file measured in the same run (not a test: nothing
// asserted). Usage: dxhub-file-format-bench WORK_DIR [rows]
// Generates a household table of `rows` (default 200000), exports it with
// the sample exporter as CSV (UTF-8 and GBK), JSON lines and xlsx, then per
// file prints one JSON line: the reader's rows/s (rows handed to a counting
// sink), the floor's rows/s and reader/floor. Floors: CSV and JSON lines:
// read() the file in 1 MiB chunks and count newlines with memchr; xlsx:
// inflate the sheet with libzip and count "<row" with memmem. Best of 3
// runs, in process CPU seconds.
#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "connectors/file/file_format.h"
#include "sandbox/sample/file_export.h"
#include "sandbox/sample/household_generator.h"

namespace {

struct CountingSink : dxhub::RowSink {
  dxhub::Status on_row(const dxhub::RowView& row) override {
    ++rows;
    for (size_t c = 0; c < row.count; ++c) checksum += static_cast<size_t>(row[c].i) + row[c].s.size();
    return dxhub::Status::ok();
  }
  dxhub::Status on_bad_input(const dxhub::BadInput&) override {
    ++bad;
    return dxhub::Status::ok();
  }
  long long rows = 0, bad = 0;
  size_t checksum = 0;
};

// Process CPU time, not wall time: the machine may be shared, and both the
// reader and its floor are single-threaded.
double now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long long count_newlines(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  std::vector<char> buf(1 << 20);
  long long lines = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    const char* p = buf.data();
    const char* end = p + n;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) != nullptr) {
      ++lines;
      ++p;
    }
  }
  ::close(fd);
  return lines;
}

long long count_xlsx_rows(const std::string& path) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (z == nullptr) return -1;
  zip_file_t* f = zip_fopen(z, "xl/worksheets/sheet1.xml", 0);
  long long rows = 0;
  std::vector<char> buf((1 << 20) + 8);
  size_t carry = 0;
  for (;;) {
    zip_int64_t n = zip_fread(f, buf.data() + carry, buf.size() - carry);
    if (n <= 0) break;
    const size_t size = carry + static_cast<size_t>(n);
    const char* p = buf.data();
    const char* end = p + size;
    while ((p = static_cast<const char*>(memmem(p, static_cast<size_t>(end - p), "<row", 4))) != nullptr) {
      ++rows;
      p += 4;
    }
    carry = std::min<size_t>(3, size);  // "<row" split across reads
    std::memmove(buf.data(), buf.data() + size - carry, carry);
  }
  zip_fclose(f);
  zip_discard(z);
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dxhub-file-format-bench WORK_DIR [rows]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const long long rows = argc > 2 ? std::atoll(argv[2]) : 200000;
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/bench.db";
  dxhub::sample::HouseholdOptions household;
  household.rows = rows;
  household.overwrite = true;
  std::filesystem::remove(db);
  if (auto st = dxhub::sample::generate_household_db(db, household); !st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 3;
  }
  struct Case {
    const char* label;
    const char* format;
    const char* encoding;
    nlohmann::json reader;
  };
  const Case cases[] = {
      {"csv", "csv", "utf-8", {{"kind", "csv"}}},
      {"csv-gbk", "csv", "gbk", {{"kind", "csv"}, {"encoding", "gbk"}}},
      {"jsonl", "jsonl", "utf-8", {{"kind", "jsonl"}}},
      {"xlsx", "xlsx", "utf-8", {{"kind", "xlsx"}}},
  };
  for (const Case& c : cases) {
    const std::string out = dir + "/bench." + c.label + "." + c.format;
    auto written = dxhub::sample::export_table_to_file({db, "household_population", c.format, c.encoding, out});
    if (!written) {
      std::fprintf(stderr, "%s\n", written.status().to_string().c_str());
      return 3;
    }
    double best_reader = 1e99, best_floor = 1e99;
    long long got = 0, bad = 0, floor_count = 0;
    for (int run = 0; run < 3; ++run) {
      double t0 = now();
      auto reader = dxhub::open_file_format(c.reader, {out, "bench", nullptr}, {});
      if (!reader) {
        std::fprintf(stderr, "%s\n", reader.status().to_string().c_str());
        return 3;
      }
      CountingSink sink;
      for (;;) {
        auto n = (*reader)->read(10000, sink);
        if (!n) {
          std::fprintf(stderr, "%s\n", n.status().to_string().c_str());
          return 3;
        }
        if (*n == 0) break;
      }
      best_reader = std::min(best_reader, now() - t0);
      got = sink.rows;
      bad = sink.bad;
      t0 = now();
      floor_count = std::string(c.format) == "xlsx" ? count_xlsx_rows(out) : count_newlines(out);
      best_floor = std::min(best_floor, now() - t0);
    }
    const double reader_rps = static_cast<double>(got) / best_reader;
    const double floor_rps = static_cast<double>(floor_count) / best_floor;
    std::printf(
        "{\"format\":\"%s\",\"rows\":%lld,\"bad\":%lld,\"bytes\":%llu,\"reader_rows_per_second\":%.0f,"
        "\"floor_rows_per_second\":%.0f,\"floor\":\"%s\",\"ratio\":%.3f}\n",
        c.label, got, bad, static_cast<unsigned long long>(std::filesystem::file_size(out)), reader_rps, floor_rps,
        std::string(c.format) == "xlsx" ? "inflate sheet + count <row" : "read + count newlines",
        reader_rps / floor_rps);
  }
  return 0;
}
