// dxhub-demo: the main job with nothing set up by hand, one resource of each
// feed kind. Generates three sample agencies -- the household registry read
// as a table (public_security, sqlite_table), the enterprise register served
// by the mock agency HTTP/JSON API with bearer auth (market_regulation,
// http_json) and the housing register dropped as a GB18030 CSV export
// (housing, file, snapshot change detection) -- starts the mock province
// in-process on an ephemeral loopback port with credentials made for this
// run, loads the real plugins, runs a full sync, changes every source (the
// housing bureau drops a new export with units removed) and runs an
// incremental one, printing what happened and what the province holds.
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
#include "sandbox/agency_api/agency_api.h"
#include "sandbox/province/province_server.h"
#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/file_export.h"
#include "sandbox/sample/household_generator.h"
#include "sandbox/sample/housing_generator.h"

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

struct DemoResource {
  const char* id;
  const char* kind;
};
constexpr DemoResource kResources[] = {
    {"household_population", "table"}, {"enterprise_basic", "interface"}, {"housing_units", "file"}};

// What the province holds per resource. No record is printed: sample data
// looks like personal data and is treated as such.
void print_province_view(const dxhub::HubConfig& config) {
  dxhub::ProvinceClient client(config.province);
  std::cout << "province holds:\n";
  for (const auto& r : kResources) {
    auto info = client.get(std::string("/api/v1/resources/") + r.id);
    if (!info) {
      std::cout << "  " << r.id << ": query failed: " << info.status().to_string() << "\n";
      continue;
    }
    std::cout << "  " << r.id << " (" << r.kind << "): " << info->value("records", 0) << " current records from "
              << info->value("batches", 0) << " batches (" << info->value("rows_received", 0) << " rows received, "
              << info->value("deletes_received", 0) << " deletes)\n";
  }
}

// The housing bureau's export job: the whole register as one GB18030 CSV.
dxhub::Status drop_housing_export(const std::string& housing_db, const fs::path& drop_dir, int number) {
  dxhub::sample::FileExportOptions options;
  options.db = housing_db;
  options.table = dxhub::sample::kHousingTable;
  options.format = "csv";
  options.encoding = "gb18030";
  const fs::path part = drop_dir / ("housing_units_" + std::to_string(number) + ".csv.part");
  options.out = part.string();
  auto written = dxhub::sample::export_table_to_file(options);
  if (!written) return written.status();
  std::error_code ec;  // written under an ignored name, then renamed: never read half-written
  fs::rename(part, drop_dir / ("housing_units_" + std::to_string(number) + ".csv"), ec);
  if (ec) return dxhub::io_error("cannot rename " + part.string() + ": " + ec.message());
  return dxhub::Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dxhub-demo -- full and incremental sync of three sample agencies (table, interface, file) into an "
               "embedded mock province"};
  int64_t rows = 100000;
  int64_t enterprise_rows = 10000;
  int64_t housing_rows = 10000;
  std::string codec = "snappy";
  std::string dir = "var/demo";
  std::string log_level = "info";
  app.add_option("--rows", rows, "sample household rows (table feed)")->capture_default_str()->check(CLI::Range(1, 50'000'000));
  app.add_option("--enterprise-rows", enterprise_rows, "sample enterprises (interface feed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--housing-rows", housing_rows, "sample housing units (file feed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--codec", codec, "Avro codec: null, deflate, snappy, zstandard")->capture_default_str();
  app.add_option("--dir", dir, "work directory (recreated)")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  dxhub::init_logging(log_level);

  fs::path work = fs::absolute(dir);
  const fs::path housing_drop = work / "drop" / "housing";
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(housing_drop, ec);
  if (ec) {
    std::cerr << "dxhub-demo: cannot create " << work << ": " << ec.message() << "\n";
    return dxhub::kExitConfig;
  }

  // The three agencies' sample sources (synthetic; sent unmasked to the sandbox province).
  const std::string household_db = (work / "public_security.db").string();
  const std::string enterprise_db = (work / "market_regulation.db").string();
  const std::string housing_db = (work / "housing.db").string();
  dxhub::sample::HouseholdOptions household_gen;
  household_gen.rows = rows;
  dxhub::sample::EnterpriseOptions enterprise_gen;
  enterprise_gen.rows = enterprise_rows;
  dxhub::sample::HousingOptions housing_gen;
  housing_gen.rows = housing_rows;
  for (const dxhub::Status& s : {dxhub::sample::generate_household_db(household_db, household_gen),
                                 dxhub::sample::generate_enterprise_db(enterprise_db, enterprise_gen),
                                 dxhub::sample::generate_housing_db(housing_db, housing_gen),
                                 drop_housing_export(housing_db, housing_drop, 1)}) {
    if (!s.is_ok()) {
      std::cerr << "dxhub-demo: " << s.to_string() << "\n";
      return dxhub::kExitSource;
    }
  }

  // Sandbox credentials made for this run only; never written anywhere.
  const std::string app_key = "daye-demo-" + dxhub::protocol::random_hex(4);
  const std::string secret = dxhub::protocol::random_hex(32);
  ::setenv("DXHUB_DEMO_APP_SECRET", secret.c_str(), 1);
  dxhub::agency::AgencyApiOptions api_options;
  api_options.db_path = enterprise_db;
  api_options.table = dxhub::sample::kEnterpriseTable;
  api_options.key_column = "id";
  api_options.updated_column = "gxsj";
  api_options.auth = dxhub::agency::Auth::kBearer;
  api_options.client_id = "daye-hub-demo";
  api_options.client_secret = dxhub::protocol::random_hex(16);
  ::setenv("DXHUB_DEMO_CLIENT_ID", api_options.client_id.c_str(), 1);
  ::setenv("DXHUB_DEMO_CLIENT_SECRET", api_options.client_secret.c_str(), 1);

  dxhub::agency::AgencyApi agency_api(api_options);
  if (auto s = agency_api.start("127.0.0.1", 0); !s.is_ok()) {
    std::cerr << "dxhub-demo: mock agency API: " << s.to_string() << "\n";
    return dxhub::kExitInternal;
  }
  dxhub::province::ProvinceConfig pcfg;
  pcfg.db_path = (work / "province.db").string();
  pcfg.credentials[app_key] = dxhub::province::AppCredential{secret};
  dxhub::province::ProvinceServer province(pcfg);
  if (auto s = province.start(); !s.is_ok()) {
    std::cerr << "dxhub-demo: mock province: " << s.to_string() << "\n";
    return dxhub::kExitInternal;
  }
  std::cout << "sample agencies, one feed kind each (synthetic data, sent unmasked to the sandbox province):\n"
            << "  table      public_security    household_population  " << rows << " rows in " << household_db << "\n"
            << "  interface  market_regulation  enterprise_basic      " << enterprise_rows
            << " enterprises from the mock agency API at " << agency_api.base_url() << " (bearer token)\n"
            << "  file       housing            housing_units         " << housing_rows
            << " units as a GB18030 CSV export in " << housing_drop.string() << "\n"
            << "mock province listening on http://127.0.0.1:" << province.port() << "\n";

  fs::path build = build_dir();
  auto plugin_path = [&](const char* agency) {
    return (build / "plugins" / (std::string("libdxhub_") + agency + ".so")).string();
  };
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
         {"path", plugin_path("public_security")},
         {"settings", {{"household_db", household_db}}}},
        {{"name", "market_regulation"},
         {"path", plugin_path("market_regulation")},
         {"settings",
          {{"register_api_url", agency_api.base_url()},
           {"client_id_env", "DXHUB_DEMO_CLIENT_ID"},
           {"client_secret_env", "DXHUB_DEMO_CLIENT_SECRET"},
           {"page_size", 1000},
           {"rate_limit_per_second", 100}}}},
        {{"name", "housing"},
         {"path", plugin_path("housing")},
         // The export is complete once renamed into place: no need to wait for a stable size.
         {"settings", {{"drop_dir", housing_drop.string()}, {"stable_seconds", 0}}}}}}};
  auto config = dxhub::hub_config_from_json(doc, work.string(), "demo config");
  if (!config) {
    std::cerr << "dxhub-demo: " << config.status().to_string() << "\n";
    return dxhub::kExitConfig;
  }

  int rc = run_sync(*config, "full sync");
  print_province_view(*config);
  if (rc == dxhub::kExitOk) {
    dxhub::sample::HouseholdChanges household_changes;  // 100 changed, 50 new, stamped now
    dxhub::sample::EnterpriseChanges enterprise_changes;
    dxhub::sample::HousingChanges housing_changes;
    dxhub::Status changed = dxhub::sample::apply_household_changes(household_db, household_changes);
    if (changed.is_ok()) changed = dxhub::sample::apply_enterprise_changes(enterprise_db, enterprise_changes);
    if (changed.is_ok()) changed = dxhub::sample::apply_housing_changes(housing_db, housing_changes);
    if (changed.is_ok()) changed = drop_housing_export(housing_db, housing_drop, 2);
    if (!changed.is_ok()) {
      std::cerr << "dxhub-demo: " << changed.to_string() << "\n";
      rc = dxhub::kExitSource;
    } else {
      std::cout << "\nthe agencies changed their data: " << household_changes.change << " households changed, "
                << household_changes.add << " added; " << enterprise_changes.change << " enterprises changed, "
                << enterprise_changes.add << " registered; " << housing_changes.change << " housing units changed, "
                << housing_changes.add << " added, " << housing_changes.remove
                << " removed (a new whole export dropped)\n";
      rc = run_sync(*config, "incremental sync");
      print_province_view(*config);
    }
  }
  province.stop();
  agency_api.stop();
  std::cout << "\nfiles kept in " << work.string()
            << " (state.db, province.db, the sample sources, drop/housing/archive)\n";
  return rc;
}
