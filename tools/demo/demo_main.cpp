// dxhub-demo: the main job with nothing set up by hand. Generates the sample
// household registry, starts the mock province in-process on an ephemeral
// loopback port with credentials made for this run, loads the real
// public_security plugin, runs a full sync and then an incremental one after
// changing some rows, and prints what happened and what the province holds.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "core/common/log.h"
#include "core/delivery/province_client.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_engine.h"
#include "core/plugin/plugin_host.h"
#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "sandbox/sample/household_generator.h"

namespace fs = std::filesystem;

namespace {

// The build tree: this binary is build/bin/dxhub-demo, plugins are in build/plugins.
fs::path build_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path().parent_path();
}

int run_sync(const dxhub::HubConfig& config, const char* title) {
  std::vector<dxhub::Status> load_errors;
  dxhub::PluginHost host = dxhub::PluginHost::load(config.plugins, config.mappings_dir, load_errors);
  for (const auto& e : load_errors) spdlog::error("{}", e.message());
  dxhub::SyncEngine engine(config, host);
  dxhub::RunSummary summary = engine.run({}, std::move(load_errors));
  std::cout << "\n== " << title << " (run " << summary.run_id << ") ==\n" << summary.to_text();
  return summary.exit_code();
}

void print_province_view(const dxhub::HubConfig& config, bool show_first_record) {
  dxhub::ProvinceClient client(config.province);
  auto info = client.get("/api/v1/resources/household_population");
  if (!info) {
    std::cout << "province query failed: " << info.status().to_string() << "\n";
    return;
  }
  std::cout << "province holds: " << info->value("records", 0) << " current household_population records from "
            << info->value("batches", 0) << " batches (" << info->value("rows_received", 0) << " rows received)\n";
  if (!show_first_record) return;
  auto one = client.get("/api/v1/resources/household_population/records?limit=1");
  if (one && one->contains("records") && !(*one)["records"].empty()) {
    std::cout << "first record: " << (*one)["records"][0].dump() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dxhub-demo -- full sync of the sample agency into an embedded mock province"};
  int64_t rows = 100000;
  std::string codec = "snappy";
  std::string dir = "var/demo";
  std::string log_level = "info";
  app.add_option("--rows", rows, "sample household rows to generate")->check(CLI::Range(1, 50'000'000));
  app.add_option("--codec", codec, "Avro codec: null, deflate, snappy, zstandard");
  app.add_option("--dir", dir, "work directory (recreated)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  dxhub::init_logging(log_level);

  fs::path work = fs::absolute(dir);
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  if (ec) {
    std::cerr << "dxhub-demo: cannot create " << work << ": " << ec.message() << "\n";
    return dxhub::kExitConfig;
  }

  const std::string source_db = (work / "public_security.db").string();
  dxhub::sample::HouseholdOptions gen;
  gen.rows = rows;
  if (auto s = dxhub::sample::generate_household_db(source_db, gen); !s.is_ok()) {
    std::cerr << "dxhub-demo: " << s.to_string() << "\n";
    return dxhub::kExitSource;
  }
  std::cout << "sample agency source: " << rows << " synthetic household rows in " << source_db << "\n"
            << "(sample data only, sent unmasked to the sandbox province; grants and masking come later)\n";

  // Sandbox credentials made for this run only; never written anywhere.
  const std::string app_key = "daye-demo-" + dxhub::protocol::random_hex(4);
  const std::string secret = dxhub::protocol::random_hex(32);
  ::setenv("DXHUB_DEMO_APP_SECRET", secret.c_str(), 1);

  dxhub::province::ProvinceConfig pcfg;
  pcfg.db_path = (work / "province.db").string();
  pcfg.credentials[app_key] = dxhub::province::AppCredential{secret};
  dxhub::province::ProvinceServer province(pcfg);
  if (auto s = province.start(); !s.is_ok()) {
    std::cerr << "dxhub-demo: mock province: " << s.to_string() << "\n";
    return dxhub::kExitInternal;
  }
  std::cout << "mock province listening on http://127.0.0.1:" << province.port() << "\n";

  fs::path build = build_dir();
  nlohmann::json doc = {
      {"state_db", (work / "state.db").string()},
      {"mappings_dir", (fs::path(DXHUB_SOURCE_DIR) / "mappings").string()},
      {"province",
       {{"url", "http://127.0.0.1:" + std::to_string(province.port())},
        {"app_key", app_key},
        {"app_secret_env", "DXHUB_DEMO_APP_SECRET"},
        {"signature_method", "HMAC-SM3"}}},
      {"sync", {{"codec", codec}}},
      {"plugins",
       {{{"name", "public_security"},
         {"path", (build / "plugins" / "libdxhub_public_security.so").string()},
         {"settings", {{"household_db", source_db}}}}}}};
  auto config = dxhub::hub_config_from_json(doc, work.string(), "demo config");
  if (!config) {
    std::cerr << "dxhub-demo: " << config.status().to_string() << "\n";
    return dxhub::kExitConfig;
  }

  int rc = run_sync(*config, "full sync");
  print_province_view(*config, true);
  if (rc == dxhub::kExitOk) {
    dxhub::sample::HouseholdChanges changes;  // 100 changed, 50 new, stamped now
    if (auto s = dxhub::sample::apply_household_changes(source_db, changes); !s.is_ok()) {
      std::cerr << "dxhub-demo: " << s.to_string() << "\n";
      rc = dxhub::kExitSource;
    } else {
      std::cout << "\nagency changed " << changes.change << " rows and added " << changes.add << "\n";
      rc = run_sync(*config, "incremental sync");
      print_province_view(*config, false);
    }
  }
  province.stop();
  std::cout << "\nfiles kept in " << work.string() << " (state.db, province.db, public_security.db)\n";
  return rc;
}
