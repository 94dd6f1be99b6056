// dxhub: the hub's command line. Subcommands: sync, plugins, state, outbox, dead-letters, check, discover,
// reconcile.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "core/cli/check_command.h"
#include "core/cli/discover_command.h"
#include "core/cli/operator_commands.h"
#include "core/cli/reconcile_command.h"
#include "core/cli/state_report.h"
#include "core/cli/sync_progress_view.h"
#include "core/common/json_text.h"
#include "core/common/log.h"
#include "core/daemon/daemon.h"
#include "core/daemon/resource_plan.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_engine.h"
#include "core/plugin/plugin_host.h"
#include "core/state/state_lock.h"

namespace {

std::string default_config_path() {
  const char* env = std::getenv("DXHUB_CONFIG");
  return env != nullptr ? env : "dxhub.json";
}

int fail(const dxhub::Status& s) {
  std::cerr << "dxhub: " << s.to_string() << "\n";
  switch (s.code()) {
    case dxhub::StatusCode::kConfig:
    case dxhub::StatusCode::kNotFound: return dxhub::kExitConfig;  // the operator named something that is not there
    case dxhub::StatusCode::kBusy: return dxhub::kExitBusy;
    default: return dxhub::kExitInternal;
  }
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "dxhub -- carries Daye agencies' public data to the Hubei provincial authorized-operation platform.\n"
      "Exit codes: 0 ok, 1 internal error, 2 configuration error, 3 source error, 4 delivery failure,\n"
      "5 rows dead-lettered (or a dead-letter threshold failed the run), 6 state in use by another dxhub;\n"
      "reconcile only: 7 gaps, 8 duplicates, 9 digest or count mismatches (the highest found wins)."};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand: `dxhub sync -c hub.json`
  app.set_version_flag("--version", "dxhub 0.1.0 (plugin ABI 1)");
  std::string config_path = default_config_path();
  std::string log_level;
  app.add_option("-c,--config", config_path, "hub configuration file (default: $DXHUB_CONFIG or ./dxhub.json)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off (default: from config, info)");
  std::string log_format;
  app.add_option("--log-format", log_format,
                 "text (default) or json: one JSON object per log line (default: from config log_format)")
      ->check(CLI::IsMember({"text", "json"}));
  int wait_seconds = 0;
  auto add_wait = [&](CLI::App* cmd) {
    cmd->add_option("--wait", wait_seconds, "if another dxhub holds the state, wait up to SECONDS for it (default 0)")
        ->check(CLI::Range(0, 86400));
  };

  auto* sync = app.add_subcommand("sync", "one-shot sync of one resource or all: read, spool, deliver, report");
  std::vector<std::string> resources;
  bool sync_json = false;
  sync->add_option("-r,--resource", resources, "resource id (or plugin/resource); repeatable; default: all");
  sync->add_flag("--json", sync_json, "print the run summary as JSON instead of a table");
  add_wait(sync);

  auto* run = app.add_subcommand(
      "run", "daemon: sync every resource on its schedule until SIGTERM (SIGHUP reloads the configuration)");
  add_wait(run);

  auto* plugins = app.add_subcommand("plugins", "list loaded plugins and the resources they declare");
  auto* state = app.add_subcommand("state", "show cursors, the outbox spool, quarantine, dead letters and last runs");
  bool state_json = false;
  int runs = 5;
  state->add_flag("--json", state_json, "print as JSON");
  state->add_option("--runs", runs, "how many recent runs to show")->check(CLI::Range(1, 1000));

  bool json = false;
  std::string resource;
  std::string reason;
  std::string batch_id;
  auto* outbox = app.add_subcommand("outbox", "spooled and quarantined batches: list, retry, drop");
  outbox->require_subcommand(1);
  auto* outbox_list = outbox->add_subcommand("list", "pending and quarantined batches");
  outbox_list->add_flag("--json", json, "print as JSON");
  outbox_list->add_option("-r,--resource", resource, "only this resource");
  auto* outbox_retry = outbox->add_subcommand("retry", "put quarantined batches back into the outbox (attempts reset)");
  bool all_quarantined = false;
  auto* retry_id = outbox_retry->add_option("batch_id", batch_id, "the quarantined batch");
  auto* retry_all = outbox_retry->add_flag("--all-quarantined", all_quarantined, "every quarantined batch");
  retry_id->excludes(retry_all);
  outbox_retry->add_option("-r,--resource", resource, "with --all-quarantined: only this resource");
  outbox_retry->add_flag("--json", json, "print as JSON");
  add_wait(outbox_retry);
  auto* outbox_drop = outbox->add_subcommand("drop", "delete a spooled or quarantined batch for good");
  outbox_drop->add_option("batch_id", batch_id, "the batch")->required();
  outbox_drop->add_option("--reason", reason, "why (recorded in run history)")->required();
  outbox_drop->add_flag("--json", json, "print as JSON");
  add_wait(outbox_drop);

  auto* dead = app.add_subcommand("dead-letters", "rows that did not map: list, show, discard, replay");
  dead->require_subcommand(1);
  size_t limit = 50;
  int64_t dead_id = 0;
  bool all = false;
  auto* dead_list = dead->add_subcommand("list", "newest first");
  dead_list->add_option("-r,--resource", resource, "only this resource");
  dead_list->add_option("--limit", limit, "at most N (0 = all; default 50)");
  dead_list->add_flag("--json", json, "print as JSON");
  auto* dead_show = dead->add_subcommand("show", "one dead letter: its row and reason (JSON)");
  dead_show->add_option("id", dead_id, "dead letter id")->required()->check(CLI::PositiveNumber);
  auto* dead_discard = dead->add_subcommand("discard", "mark dead letters discarded (kept, with the reason)");
  auto* discard_id = dead_discard->add_option("id", dead_id, "dead letter id")->check(CLI::PositiveNumber);
  auto* discard_all = dead_discard->add_flag("--all", all, "every open dead letter of -r RESOURCE");
  discard_id->excludes(discard_all);
  dead_discard->add_option("-r,--resource", resource, "the resource (required with --all)");
  dead_discard->add_option("--reason", reason, "why (stored with each dead letter)")->required();
  dead_discard->add_flag("--json", json, "print as JSON");
  add_wait(dead_discard);
  auto* dead_replay = dead->add_subcommand("replay", "re-map open dead letters through the current mapping");
  dead_replay->add_option("-r,--resource", resource, "only this resource");
  dead_replay->add_flag("--json", json, "print as JSON");
  add_wait(dead_replay);

  auto* check = app.add_subcommand(
      "check",
      "test resources without changing or delivering anything: connection and settings, schema, mapping,\n"
      "source columns, the connector's advisories (cursor/key without an index, a repeating key), a mapped\n"
      "sample of rows from the source's beginning, the province URL and AppSecret. Never opens the state,\n"
      "moves no file, writes nothing. One line per finding: SEVERITY RESOURCE: FILE-OR-PART: MESSAGE.\n"
      "Exit codes: 0 ok (warnings allowed), 2 configuration error (config, plugin, schema, mapping, a source\n"
      "column missing, settings refused), 3 source unreachable, 4 province refused (--province only),\n"
      "5 sample rows would be dead-lettered; the first in the order 2, 3, 4, 1, 5 wins.");
  std::vector<std::string> check_resources;
  size_t check_sample = 100;
  bool check_json = false;
  bool check_province = false;
  check->add_option("-r,--resource", check_resources, "resource id (or plugin/resource); repeatable; default: all");
  check->add_option("--sample", check_sample, "rows to read and map from the start of each source (0 = none; default 100)")
      ->check(CLI::Range(size_t{0}, size_t{1000000}));
  check->add_flag("--json", check_json, "print the findings as JSON");
  check->add_flag("--province", check_province,
                  "also make one signed GET of each resource at the province (tests URL, key, secret, clock);\n"
                  "without it the province is never contacted");

  auto* reconcile = app.add_subcommand(
      "reconcile",
      "compare the batches the province acknowledged to this hub (receipts in the state) with the province's\n"
      "manifest of stored batches: gaps (acknowledged, not at the province), duplicates (one sequence under two\n"
      "batch ids, or one batch id twice), mismatches (same batch id, other digest or record count) and batches\n"
      "unknown at the hub (in the outbox awaiting their receipt, or not sent by this hub: not a failure).\n"
      "Reads the state read-only without the lock; needs the AppSecret. One line per finding, then a summary.\n"
      "Exit codes: 0 consistent, 2 configuration error, 4 province unreachable or refusing, 7 gaps,\n"
      "8 duplicates, 9 digest or count mismatches; when several occur, the highest.");
  std::vector<std::string> reconcile_resources;
  bool reconcile_json = false;
  reconcile->add_option("-r,--resource", reconcile_resources,
                        "resource id; repeatable; default: every resource with receipts or spooled batches in the state");
  reconcile->add_flag("--json", reconcile_json, "print the findings as JSON");

  auto* discover = app.add_subcommand(
      "discover",
      "read a sample of a source and print a draft Avro schema (.avsc, a TODO doc per field) and mapping file\n"
      "for it: types inferred (long, double, string, bytes, decimal from text, date and timestamp-millis from\n"
      "text), every field nullable but the drafted primary key. Changes nothing at the source.");
  std::string discover_kind, discover_settings, discover_declared, discover_name, discover_out;
  std::vector<std::string> discover_columns;
  size_t discover_sample = 1000;
  auto* kind_opt = discover->add_option("--connector", discover_kind, "connector kind (sqlite_table, ...)");
  discover->add_option("--settings", discover_settings, "the connector's settings: JSON text, or @FILE")
      ->needs(kind_opt);
  auto* declared_opt = discover->add_option("-r,--from-resource", discover_declared,
                                            "use this declared resource's connector and settings (needs the hub config)");
  declared_opt->excludes(kind_opt);
  discover->add_option("--resource", discover_name, "resource id for the drafts (default: -r, the settings' table, or draft)");
  discover->add_option("--sample", discover_sample, "rows to sample (default 1000)")->check(CLI::Range(size_t{1}, size_t{10000000}));
  discover->add_option("--columns", discover_columns, "source columns to read, for a connector that cannot list its own")
      ->delimiter(',');
  discover->add_option("--out-dir", discover_out, "write <resource>.avsc and <resource>.mapping.json here (never overwrites)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : dxhub::kExitConfig;
  }

  // --log-format wins over the config's log_format; text when neither says.
  auto format_for = [&](const dxhub::Expected<dxhub::HubConfig>* config) {
    if (!log_format.empty()) return *dxhub::parse_log_format(log_format);
    return config != nullptr && *config ? (*config)->log_format : dxhub::LogFormat::kText;
  };
  auto format_from_config_file = [&] {
    if (!log_format.empty()) return format_for(nullptr);
    auto probe = dxhub::load_hub_config(config_path, /*need_secret=*/false);
    return format_for(&probe);
  };

  if (*check) {
    // Needs no lock and never opens the state: it changes nothing.
    dxhub::init_logging(!log_level.empty() ? log_level : "warn", format_from_config_file());
    dxhub::CheckOptions options{check_resources, check_sample, check_province};
    dxhub::CheckReport report = dxhub::run_check(config_path, options);
    std::cout << (check_json ? dxhub::dump_json_safely(report.to_json(), 2) + "\n" : report.to_text());
    return report.exit_code();
  }
  if (*reconcile) {
    // Read-only: no state lock, and the state file is never created.
    auto config = dxhub::load_hub_config(config_path, /*need_secret=*/true);
    dxhub::init_logging(!log_level.empty() ? log_level : "warn");
    if (!config) return fail(config.status());
    dxhub::ReconcileOptions options;
    options.resources = reconcile_resources;
    auto report = dxhub::run_reconcile(config->state_db, config->province, options);
    if (!report) return fail(report.status());
    std::cout << (reconcile_json ? dxhub::dump_json_safely(report->to_json(), 2) + "\n" : report->to_text());
    return report->exit_code();
  }
  if (*discover) {
    dxhub::init_logging(!log_level.empty() ? log_level : "warn", format_from_config_file());
    dxhub::DiscoverRequest request;
    request.connector_kind = discover_kind;
    request.config_path = config_path;
    request.declared_resource = discover_declared;
    request.columns = discover_columns;
    request.options.resource = discover_name;
    request.options.sample_rows = discover_sample;
    if (!discover_kind.empty()) {
      auto settings = dxhub::parse_settings_argument(discover_settings.empty() ? "{}" : discover_settings);
      if (!settings) return fail(settings.status());
      request.settings = *settings;
    }
    auto draft = dxhub::run_discover(std::move(request));
    if (!draft) return fail(draft.status());
    if (discover_out.empty()) {
      std::cout << dxhub::format_drafts(*draft);
      for (const auto& note : draft->notes) std::cerr << "note: " << note << "\n";
    } else {
      dxhub::Status written = dxhub::write_drafts(*draft, discover_out);
      if (!written.is_ok()) return fail(written);
      std::cout << "wrote " << discover_out << "/" << draft->schema_file << " and " << discover_out << "/"
                << draft->mapping_file << " from " << draft->rows_sampled << " sample rows\n";
      for (const auto& note : draft->notes) std::cout << "note: " << note << "\n";
    }
    return draft->rows_not_mapping > 0 ? dxhub::kExitDeadLetters : 0;
  }

  if (*run) {
    // The daemon loads (and on SIGHUP reloads) the configuration itself.
    auto probe = dxhub::load_hub_config(config_path, /*need_secret=*/false);
    dxhub::init_logging(!log_level.empty() ? log_level : (probe ? probe->log_level : "info"), format_for(&probe));
    return dxhub::run_daemon(dxhub::DaemonOptions{config_path, wait_seconds});
  }

  auto config = dxhub::load_hub_config(config_path, /*need_secret=*/sync->parsed());
  dxhub::init_logging(!log_level.empty() ? log_level : (config ? config->log_level : "info"), format_for(&config));
  if (!config) return fail(config.status());

  if (*state) {
    auto report = dxhub::state_report(config->state_db, runs);
    if (!report) return fail(report.status());
    // Each resource's schedule, last and next run as the daemon plans them.
    std::vector<dxhub::Status> load_errors;
    dxhub::PluginHost host = dxhub::PluginHost::load(config->plugins, config->mappings_dir, load_errors);
    for (const auto& e : load_errors) spdlog::error("{}", e.message());
    auto plan = dxhub::plan_resources(*config, host.resources());
    (*report)["schedules"] = nlohmann::json::array();
    if (plan) {
      std::map<std::string, int64_t> starts;
      if (report->contains("last_starts_ms")) starts = (*report)["last_starts_ms"].get<std::map<std::string, int64_t>>();
      dxhub::apply_last_starts(*plan, starts);
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
      (*report)["schedules"] = dxhub::schedule_view(*plan, now);
    } else {
      (*report)["schedules_error"] = plan.status().message();
    }
    std::cout << (state_json ? dxhub::dump_json_safely(*report, 2) + "\n" : dxhub::format_state_report(*report));
    return 0;
  }
  dxhub::OperatorOptions options{json, wait_seconds};
  if (*outbox) {
    dxhub::Status done;
    if (*outbox_list) {
      done = dxhub::outbox_list(*config, resource, options);
    } else if (*outbox_retry) {
      if (batch_id.empty() && !all_quarantined) return fail(dxhub::config_error("outbox retry: give BATCH_ID or --all-quarantined"));
      done = dxhub::outbox_retry(*config, all_quarantined ? "" : batch_id, resource, options);
    } else {
      done = dxhub::outbox_drop(*config, batch_id, reason, options);
    }
    return done.is_ok() ? 0 : fail(done);
  }
  if (*dead && !*dead_replay) {
    dxhub::Status done;
    if (*dead_list) {
      done = dxhub::dead_letters_list(*config, resource, limit, options);
    } else if (*dead_show) {
      done = dxhub::dead_letters_show(*config, dead_id, options);
    } else {
      if (dead_id == 0 && !all) return fail(dxhub::config_error("dead-letters discard: give ID or --all -r RESOURCE"));
      done = dxhub::dead_letters_discard(*config, all ? 0 : dead_id, resource, reason, options);
    }
    return done.is_ok() ? 0 : fail(done);
  }

  // One writer per state file: taken before plugins load, held until exit.
  std::optional<dxhub::StateLock> lock;
  // (`dead-letters replay` takes it itself once the plugins are loaded.)
  if (*sync) {
    auto taken = dxhub::StateLock::acquire(config->state_db, "sync", wait_seconds);
    if (!taken) return fail(taken.status());
    lock.emplace(std::move(taken).value());
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
  if (*dead_replay) {
    dxhub::Status done = dxhub::dead_letters_replay(*config, host, resource, options);
    return done.is_ok() ? 0 : fail(done);
  }

  dxhub::SyncEngine engine(*config, host);
  // Progress is for a person watching a terminal: never into a pipe or a
  // log file (cron, systemd), and not beside --json, whose reader is a program.
  std::unique_ptr<dxhub::TerminalProgress> progress;
  if (!sync_json && ::isatty(STDERR_FILENO) == 1) {
    progress = dxhub::TerminalProgress::on_stderr();
    engine.set_progress_observer(progress.get());
  }
  dxhub::RunSummary summary = engine.run(resources, std::move(load_errors));
  std::cout << (sync_json ? dxhub::dump_json_safely(summary.to_json(), 2) + "\n" : summary.to_text());
  return summary.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing may escape as an exception: it would abort without a message.
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dxhub: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "dxhub: internal error: unknown exception\n";
  }
  return dxhub::kExitInternal;
}
