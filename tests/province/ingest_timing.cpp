// Measures ProvinceStore::ingest_batch throughput (not a ctest: figures,
// not pass/fail). Batches are written by the hub's OcfWriter with the
// household_population schema, keyed by id_card, as in tools/bench.
//   province_ingest_timing [--records-per-batch N] [--batches N] [--codec C] [--dir D]
//                          [--stages no]  (skip the per-stage figures, e.g. under perf)
//                          [--keys sequential]  (default: scrambled, as resident ids arrive)
#include <avro.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/avro/avro_c_reader.h"
#include "core/avro/codec.h"
#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/protocol/signing.h"
#include "sandbox/province/province_store.h"

namespace {

namespace fs = std::filesystem;
using dxhub::Status;
namespace avro = dxhub::avro;

void set_text(avro_value_t* record, size_t index, const char* text) {
  avro_value_t v;
  avro_value_get_by_index(record, index, &v, nullptr);
  avro_value_set_string_len(&v, text, std::strlen(text) + 1);  // len includes the NUL
}

void set_int(avro_value_t* record, size_t index, int32_t x) {
  avro_value_t v;
  avro_value_get_by_index(record, index, &v, nullptr);
  avro_value_set_int(&v, x);
}

void set_enum(avro_value_t* record, size_t index, int symbol) {
  avro_value_t v;
  avro_value_get_by_index(record, index, &v, nullptr);
  avro_value_set_enum(&v, symbol);
}

// One household_population row; `i` makes the key and a few fields vary.
void fill(avro_value_t* record, int64_t i, bool sequential_keys) {
  // Keys in no particular order, as real resident ids arrive: a bijective
  // scramble of i (odd multiplier modulo 2^32), so each key comes once.
  const uint32_t scrambled = sequential_keys ? static_cast<uint32_t>(i) : static_cast<uint32_t>(i) * 2654435761u;
  char id_card[32];
  std::snprintf(id_card, sizeof id_card, "42028119%010u", scrambled);
  char household[32];
  std::snprintf(household, sizeof household, "HH%08lld", static_cast<long long>(i / 4));
  set_text(record, 0, id_card);
  set_text(record, 1, "张三丰");
  set_enum(record, 2, static_cast<int>(i % 2));
  set_text(record, 3, "汉族");
  set_int(record, 4, static_cast<int32_t>(i % 30000));
  set_text(record, 5, household);
  set_text(record, 6, "户主");
  set_text(record, 7, "湖北省大冶市东岳路街道新冶社区12栋3单元401室");
  set_text(record, 8, "大冶市公安局东岳派出所");
  set_text(record, 9, "东岳路街道");
  avro_value_t move_in, branch;
  avro_value_get_by_index(record, 10, &move_in, nullptr);
  if (i % 3 == 0) {
    avro_value_set_branch(&move_in, 0, &branch);
    avro_value_set_null(&branch);
  } else {
    avro_value_set_branch(&move_in, 1, &branch);
    avro_value_set_int(&branch, static_cast<int32_t>(15000 + i % 5000));
  }
  set_enum(record, 11, static_cast<int>(i % 3));
  avro_value_t updated;
  avro_value_get_by_index(record, 12, &updated, nullptr);
  avro_value_set_long(&updated, 1717200000000LL + i);
}

int fail(const Status& s, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t per_batch = 50'000;
  int64_t batches = 20;
  std::string codec_text = "snappy";
  bool stages = true;
  bool sequential_keys = false;
  fs::path dir = fs::temp_directory_path() / ("province_ingest_timing_" + std::to_string(::getpid()));
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--records-per-batch") per_batch = std::atoll(argv[i + 1]);
    else if (flag == "--batches") batches = std::atoll(argv[i + 1]);
    else if (flag == "--codec") codec_text = argv[i + 1];
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--stages") stages = std::string(argv[i + 1]) != "no";
    else if (flag == "--keys") sequential_keys = std::string(argv[i + 1]) == "sequential";
  }
  auto codec = avro::parse_codec(codec_text);
  if (!codec) return fail(dxhub::config_error("unknown codec " + codec_text), "codec");

  std::ifstream in(fs::path(DXHUB_SOURCE_DIR) / "mappings/public_security/household_population.avsc");
  std::stringstream text;
  text << in.rdbuf();
  auto schema = avro::Schema::from_json(text.str());
  if (!schema) return fail(schema.status(), "schema");
  auto value = schema->new_value();
  if (!value) return fail(value.status(), "value");

  // Files are made first, so only the ingest is timed.
  std::vector<std::string> files(static_cast<size_t>(batches));
  avro::OcfWriter writer(*schema, *codec);
  size_t total_bytes = 0;
  for (int64_t b = 0; b < batches; ++b) {
    if (Status s = writer.begin({{"dxhub.batch_id", "b" + std::to_string(b)}}); !s.is_ok())
      return fail(s, "begin");
    for (int64_t i = 0; i < per_batch; ++i) {
      avro_value_reset(value->get());
      fill(value->get(), b * per_batch + i, sequential_keys);
      if (Status s = writer.append(value->get()); !s.is_ok()) return fail(s, "append");
    }
    if (Status s = writer.finish(files[static_cast<size_t>(b)]); !s.is_ok()) return fail(s, "finish");
    total_bytes += files[static_cast<size_t>(b)].size();
  }

  // Where the time goes: the stages of an ingest, each over all files.
  auto time_stage = [&](const char* name, auto&& stage) {
    if (!stages) return;
    std::clock_t cpu0 = std::clock();
    for (const std::string& file : files) stage(file);
    double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    std::printf("  stage %-28s %.3f s CPU (%.0f ns/record)\n", name, cpu_s,
                cpu_s * 1e9 / static_cast<double>(batches * per_batch));
  };
  size_t sink = 0;
  time_stage("sha256 of the body", [&](const std::string& f) { sink += dxhub::protocol::sha256_hex(f).size(); });
  time_stage("own check only (no avro-c)", [&](const std::string& f) {
    avro::OcfReadCallbacks stop_after_check;
    stop_after_check.on_checked = [](const avro::DecodedFile&, avro_schema_t) {
      return dxhub::rejected_error("stop");
    };
    sink += avro::read_ocf_with_avro_c(f, stop_after_check).status().message().size();
  });
  time_stage("avro-c decode, no-op callback", [&](const std::string& f) {
    auto r = avro::read_ocf_with_avro_c(f, [](avro_value_t*) { return Status::ok(); });
    sink += r ? static_cast<size_t>(r->record_count) : 0;
  });

  fs::remove_all(dir);
  fs::create_directories(dir);
  auto store = dxhub::province::ProvinceStore::open((dir / "province.db").string());
  if (!store) return fail(store.status(), "open");
  auto registered = (*store)->register_schema("household_population", *schema, "id_card", "户籍人口");
  if (!registered) return fail(registered.status(), "register");

  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  int64_t accepted = 0;
  for (int64_t b = 0; b < batches; ++b) {
    std::string batch_id = "b" + std::to_string(b);
    auto outcome = (*store)->ingest_batch({"household_population", batch_id, 1, b + 1, files[static_cast<size_t>(b)]});
    if (!outcome) return fail(outcome.status(), "ingest");
    if (outcome->kind != dxhub::province::IngestOutcome::Kind::kStored)
      return fail(dxhub::data_error(outcome->detail), "ingest refused");
    accepted += outcome->receipt.records_accepted;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::printf("%lld batches x %lld records (%s, %.1f bytes/record in files): %lld accepted in %.3f s wall, "
              "%.3f s CPU -> %.0f records/s wall, %.0f records/s CPU\n",
              static_cast<long long>(batches), static_cast<long long>(per_batch), codec_text.c_str(),
              static_cast<double>(total_bytes) / static_cast<double>(batches * per_batch),
              static_cast<long long>(accepted), wall, cpu, static_cast<double>(accepted) / wall,
              static_cast<double>(accepted) / cpu);
  store->reset();
  if (stages && sink == 0) std::printf("(nothing decoded)\n");
  fs::remove_all(dir);
  return accepted == batches * per_batch ? 0 : 1;
}
