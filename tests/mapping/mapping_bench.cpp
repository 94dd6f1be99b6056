// Measures the mapping hot path over a generated household table:
//   mapping_bench [rows=1000000] [work_dir=/tmp] [codec=snappy]
// Reads every row into a reused FieldValue array, then (per pass) maps it
// into one reused avro value, or maps and appends it to an OCF writer
// (avro-c path), or encodes it with the compiled encoder and appends the
// bytes (copy) or encodes straight into the block (append_with). Prints
// rows/s per pass; the OCF passes also print the file size, which must be
// the same for both encoders.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "sandbox/sample/household_generator.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

enum class Pass { kReadOnly, kMap, kMapAppend, kEncode, kEncodeAppendCopy, kEncodeAppendWith };

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::kReadOnly: return "read only";
    case Pass::kMap: return "read + map";
    case Pass::kMapAppend: return "read + map + append (avro-c)";
    case Pass::kEncode: return "read + encode";
    case Pass::kEncodeAppendCopy: return "read + encode + append_encoded";
    case Pass::kEncodeAppendWith: return "read + encode into block (append_with)";
  }
  return "?";
}

struct Context {
  dxhub::SqliteDb* db;
  const dxhub::RecordMapper* mapper;
  avro_value_t* record;
  dxhub::avro::OcfWriter* writer;
};

// Reads the whole table, doing `pass` per row. Returns rows.
dxhub::Expected<int64_t> scan(const Context& ctx, Pass pass) {
  DXHUB_ASSIGN_OR_RETURN(dxhub::SqliteStmt stmt,
                         ctx.db->prepare("SELECT * FROM household_population ORDER BY gxsj, id"));
  std::vector<dxhub::FieldValue> cells(static_cast<size_t>(stmt.column_count()));
  std::string scratch;
  int64_t rows = 0;
  if (pass != Pass::kReadOnly && pass != Pass::kMap && pass != Pass::kEncode) {
    DXHUB_RETURN_IF_ERROR(ctx.writer->begin({{"dxhub.resource", "household_population"}}));
  }
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
    const dxhub::RowView row{cells.data(), cells.size()};
    switch (pass) {
      case Pass::kReadOnly: break;
      case Pass::kMap:
      case Pass::kMapAppend:
        avro_value_reset(ctx.record);
        DXHUB_RETURN_IF_ERROR(ctx.mapper->map(row, ctx.record));
        if (pass == Pass::kMapAppend) DXHUB_RETURN_IF_ERROR(ctx.writer->append(ctx.record));
        break;
      case Pass::kEncode:
      case Pass::kEncodeAppendCopy:
        scratch.clear();
        DXHUB_RETURN_IF_ERROR(ctx.mapper->encode(row, scratch));
        if (pass == Pass::kEncodeAppendCopy) DXHUB_RETURN_IF_ERROR(ctx.writer->append_encoded(scratch));
        break;
      case Pass::kEncodeAppendWith:
        DXHUB_RETURN_IF_ERROR(
            ctx.writer->append_with([&](std::string& block) { return ctx.mapper->encode(row, block); }));
        break;
    }
    ++rows;
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const std::filesystem::path dir = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
  const std::string codec_name = argc > 3 ? argv[3] : "snappy";
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

  auto codec = dxhub::avro::parse_codec(codec_name);
  if (!codec) return std::fprintf(stderr, "%s\n", codec.status().to_string().c_str()), 1;
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
  dxhub::avro::OcfWriter writer(*schema, *codec);
  const Context ctx{&*db, &*mapper, value->get(), &writer};

  std::printf("generate: %lld rows in %.2f s (%.0f rows/s); codec %s\n", static_cast<long long>(rows), generate_s,
              rows / generate_s, codec_name.c_str());
  double read_s = 0;
  int status = 0;
  for (Pass pass : {Pass::kReadOnly, Pass::kMap, Pass::kEncode, Pass::kMapAppend, Pass::kEncodeAppendCopy,
                    Pass::kEncodeAppendWith}) {
    start = Clock::now();
    auto scanned = scan(ctx, pass);
    const double s = seconds_since(start);
    if (!scanned) {
      std::fprintf(stderr, "%s: %s\n", pass_name(pass), scanned.status().to_string().c_str());
      status = 1;
      break;
    }
    std::string file;
    if (pass != Pass::kReadOnly && pass != Pass::kMap && pass != Pass::kEncode) {
      if (auto f = writer.finish(file); !f) return std::fprintf(stderr, "%s\n", f.to_string().c_str()), 1;
    }
    if (pass == Pass::kReadOnly) read_s = s;
    std::printf("%-42s %.2f s  %9.0f rows/s  (without the read ~%9.0f rows/s)", pass_name(pass), s, *scanned / s,
                pass == Pass::kReadOnly ? 0.0 : *scanned / std::max(1e-9, s - read_s));
    if (!file.empty()) std::printf("  file %zu bytes", file.size());
    std::printf("\n");
  }
  std::filesystem::remove(db_path);
  return status;
}
