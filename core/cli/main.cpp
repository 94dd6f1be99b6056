// dxhub: the hub's command line. Subcommands: sync, plugins, state.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "core/cli/state_report.h"
#include "core/common/log.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_engine.h"
#include "core/plugin/plugin_host.h"

namespace {

std::string default_config_path() {
  const char* env = std::getenv("DXHUB_CONFIG");
  return env != nullptr ? env : "dxhub.json";
}

int fail(const dxhub::Status& s) {
  std::cerr << "dxhub: " << s.to_string() << "\n";
  return s.code() == dxhub::StatusCode::kConfig ? dxhub::kExitConfig : dxhub::kExitInternal;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "dxhub -- carries Daye agencies' public data to the Hubei provincial authorized-operation platform.\n"
      "Exit codes: 0 ok, 1 internal error, 2 configuration error, 3 source error, 4 delivery failure."};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand: `dxhub sync -c hub.json`
  app.set_version_flag("--version", "dxhub 0.1.0 (plugin ABI 1)");
  std::string config_path = default_config_path();
  std::string log_level;
  app.add_option("-c,--config", config_path, "hub configuration file (default: $DXHUB_CONFIG or ./dxhub.json)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off (default: from config, info)");

  auto* sync = app.add_subcommand("sync", "one-shot sync of one resource or all: read, spool, deliver, report");
  std::vector<std::string> resources;
  bool sync_json = false;
  sync->add_option("-r,--resource", resources, "resource id (or plugin/resource); repeatable; default: all");
  sync->add_flag("--json", sync_json, "print the run summary as JSON instead of a table");

  auto* plugins = app.add_subcommand("plugins", "list loaded plugins and the resources they declare");
  auto* state = app.add_subcommand("state", "show cursors, the outbox spool, dead letters and the last runs");
  bool state_json = false;
  int runs = 5;
  state->add_flag("--json", state_json, "print as JSON");
  state->add_option("--runs", runs, "how many recent runs to show")->check(CLI::Range(1, 1000));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : dxhub::kExitConfig;
  }

  auto config = dxhub::load_hub_config(config_path, /*need_secret=*/sync->parsed());
  dxhub::init_logging(!log_level.empty() ? log_level : (config ? config->log_level : "info"));
  if (!config) return fail(config.status());

  if (*state) {
    auto report = dxhub::state_report(config->state_db, runs);
    if (!report) return fail(report.status());
    std::cout << (state_json ? report->dump(2) + "\n" : dxhub::format_state_report(*report));
    return 0;
  }

  std::vector<dxhub::Status> load_errors;
  dxhub::PluginHost host = dxhub::PluginHost::load(config->plugins, config->mappings_dir, load_errors);
  for (const auto& e : load_errors) spdlog::error("{}", e.message());

  if (*plugins) {
    for (const auto& p : host.plugins()) {
      std::cout << p.name << " " << p.version << "  (ABI " << p.abi_major << "." << p.abi_minor << ", " << p.path
                << ")\n";
      for (const auto& r : p.resources) {
        std::cout << "  " << r.resource_id << "  " << r.name_zh << "  connector=" << r.connector
                  << "  schedule=" << r.schedule << "\n";
      }
    }
    return load_errors.empty() ? 0 : dxhub::kExitConfig;
  }

  dxhub::SyncEngine engine(*config, host);
  dxhub::RunSummary summary = engine.run(resources, std::move(load_errors));
  std::cout << (sync_json ? summary.to_json().dump(2) + "\n" : summary.to_text());
  return summary.exit_code();
}
