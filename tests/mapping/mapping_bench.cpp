// Measures RecordMapper::map() over a generated household table:
//   mapping_bench [rows=1000000] [work_dir=/tmp]
// Reads every row into a reused FieldValue array, then maps it into one
// reused avro value; prints generation, read-only and read+map rates.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "sandbox/sample/household_generator.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reads the whole table; maps each row when `mapper` is set. Returns rows.
dxhub::Expected<int64_t> scan(dxhub::SqliteDb& db, const dxhub::RecordMapper* mapper, avro_value_t* record) {
  DXHUB_ASSIGN_OR_RETURN(dxhub::SqliteStmt stmt, db.prepare("SELECT * FROM household_population ORDER BY gxsj, id"));
  std::vector<dxhub::FieldValue> cells(static_cast<size_t>(stmt.column_count()));
  int64_t rows = 0;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, stmt.step());
    if (!more) break;
    for (int c = 0; c < stmt.column_count(); ++c) {
      switch (stmt.column_type(c)) {
        case SQLITE_NULL: cells[c] = dxhub::FieldValue::null(); break;
        case SQLITE_INTEGER: cells[c] = dxhub::FieldValue::integer(stmt.column_int64(c)); break;
        default: cells[c] = dxhub::FieldValue::text(stmt.column_text(c)); break;
      }
    }
    if (mapper != nullptr) {
      avro_value_reset(record);
      DXHUB_RETURN_IF_ERROR(mapper->map(dxhub::RowView{cells.data(), cells.size()}, record));
    }
    ++rows;
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const std::filesystem::path dir = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
  const std::string db_path = (dir / ("dxhub_mapping_bench_" + std::to_string(::getpid()) + ".db")).string();
  const std::string mappings = std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security/";

  dxhub::sample::HouseholdOptions opt;
  opt.rows = rows;
  auto start = Clock::now();
  if (auto s = dxhub::sample::generate_household_db(db_path, opt); !s) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  const double generate_s = seconds_since(start);

  auto schema = dxhub::avro::Schema::from_file(mappings + "household_population.avsc");
  if (!schema) return std::fprintf(stderr, "%s\n", schema.status().to_string().c_str()), 1;
  auto mapper = dxhub::RecordMapper::load(mappings + "household_population.mapping.json", *schema);
  if (!mapper) return std::fprintf(stderr, "%s\n", mapper.status().to_string().c_str()), 1;
  auto value = schema->new_value();
  auto db = dxhub::SqliteDb::open(db_path, dxhub::SqliteDb::Mode::kReadOnly);
  if (!value || !db) return std::fprintf(stderr, "setup failed\n"), 1;
  {
    auto stmt = db->prepare("SELECT * FROM household_population LIMIT 0");
    std::vector<std::string> columns;
    for (int c = 0; c < stmt->column_count(); ++c) columns.emplace_back(stmt->column_name(c));
    if (auto s = mapper->bind(columns); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  }

  start = Clock::now();
  auto read_only = scan(*db, nullptr, nullptr);
  const double read_s = seconds_since(start);
  start = Clock::now();
  auto mapped = scan(*db, &*mapper, value->get());
  const double map_s = seconds_since(start);
  std::filesystem::remove(db_path);
  if (!read_only || !mapped) {
    std::fprintf(stderr, "%s\n", (!read_only ? read_only.status() : mapped.status()).to_string().c_str());
    return 1;
  }
  std::printf("generate: %lld rows in %.2f s (%.0f rows/s)\n", static_cast<long long>(rows), generate_s,
              rows / generate_s);
  std::printf("read only: %.2f s (%.0f rows/s)\n", read_s, *read_only / read_s);
  std::printf("read + map: %.2f s (%.0f rows/s); map alone ~%.0f rows/s\n", map_s, *mapped / map_s,
              *mapped / std::max(1e-9, map_s - read_s));
  return 0;
}
