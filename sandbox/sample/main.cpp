// dxhub-sample: writes sample source databases (样例数据) for testers.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <string_view>

#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/household_generator.h"
#include "sandbox/sample/housing_generator.h"
#include "sandbox/sample/push_events_command.h"

namespace {

int report(const dxhub::Status& status) {
  if (status.is_ok()) return 0;
  std::fprintf(stderr, "dxhub-sample: %s\n", status.to_string().c_str());
  return 1;
}

}  // namespace

// sandbox/sample/file_export_command.h (declared here to keep this file's includes as they are).
namespace dxhub::sample {
void add_export_file_subcommand(CLI::App& app);
}  // namespace dxhub::sample

int main(int argc, char** argv) {
  // push-events has exit codes of its own (2 for bad arguments), so it
  // parses its own command line.
  if (argc >= 2 && std::string_view(argv[1]) == "push-events") {
    return dxhub::sample::run_push_events_command(argc - 1, argv + 1);
  }
  CLI::App app{"dxhub-sample: sample source databases for the dxhub sandbox"};
  app.require_subcommand(1);
  app.add_subcommand("push-events", "post household change events to the hub's push ingest (see push-events --help)");
  dxhub::sample::add_export_file_subcommand(app);  // runs while parsing and ends the program

  dxhub::sample::HouseholdOptions household;
  std::string household_db;
  auto* generate = app.add_subcommand("household", "create a household_population table (户籍人口信息)");
  generate->add_option("--db", household_db, "SQLite file to create")->required();
  generate->add_option("--rows", household.rows, "number of people")->required()->check(CLI::NonNegativeNumber);
  generate->add_option("--seed", household.seed, "random seed (same seed, same rows)")->capture_default_str();
  generate->add_option("--first-update", household.first_update, "gxsj of the first rows, 'YYYY-MM-DD HH:MM:SS'")
      ->capture_default_str();
  generate->add_flag("--force", household.overwrite, "replace an existing file");

  dxhub::sample::HouseholdChanges changes;
  std::string changes_db;
  auto* change = app.add_subcommand("household-changes", "update and append rows as the source system would");
  change->add_option("--db", changes_db, "SQLite file made by `household`")->required();
  change->add_option("--change", changes.change, "existing rows to change")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  change->add_option("--add", changes.add, "rows to append")->capture_default_str()->check(CLI::NonNegativeNumber);
  change->add_option("--seed", changes.seed, "random seed")->capture_default_str();
  change->add_option("--timestamp", changes.timestamp,
                     "gxsj for touched rows, 'YYYY-MM-DD HH:MM:SS' (default: now in +08:00)");

  dxhub::sample::EnterpriseOptions enterprise;
  std::string enterprise_db;
  auto* enterprises = app.add_subcommand("enterprise", "create an enterprise_basic table (企业基本信息)");
  enterprises->add_option("--db", enterprise_db, "SQLite file to create")->required();
  enterprises->add_option("--rows", enterprise.rows, "number of enterprises")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  enterprises->add_option("--seed", enterprise.seed, "random seed (same seed, same rows)")->capture_default_str();
  enterprises->add_option("--first-update", enterprise.first_update, "gxsj of the first rows")->capture_default_str();
  enterprises->add_flag("--force", enterprise.overwrite, "replace an existing file");

  dxhub::sample::EnterpriseChanges enterprise_changes;
  std::string enterprise_changes_db;
  auto* enterprise_change =
      app.add_subcommand("enterprise-changes", "change and register enterprises as the register would");
  enterprise_change->add_option("--db", enterprise_changes_db, "SQLite file made by `enterprise`")->required();
  enterprise_change->add_option("--change", enterprise_changes.change, "existing rows to change")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  enterprise_change->add_option("--add", enterprise_changes.add, "rows to append")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  enterprise_change->add_option("--seed", enterprise_changes.seed, "random seed")->capture_default_str();
  enterprise_change->add_option("--timestamp", enterprise_changes.timestamp,
                                "gxsj for touched rows (default: now in +08:00)");

  dxhub::sample::HousingOptions housing;
  std::string housing_db;
  auto* housing_cmd = app.add_subcommand("housing", "create a housing_units table (房屋信息)");
  housing_cmd->add_option("--db", housing_db, "SQLite file to create")->required();
  housing_cmd->add_option("--rows", housing.rows, "number of units")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  housing_cmd->add_option("--seed", housing.seed, "random seed (same seed, same rows)")->capture_default_str();
  housing_cmd->add_flag("--force", housing.overwrite, "replace an existing file");

  dxhub::sample::HousingChanges housing_changes;
  std::string housing_changes_db;
  auto* housing_change = app.add_subcommand("housing-changes", "change, add and remove housing units");
  housing_change->add_option("--db", housing_changes_db, "SQLite file made by `housing`")->required();
  housing_change->add_option("--change", housing_changes.change, "rows to change")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  housing_change->add_option("--add", housing_changes.add, "rows to append")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  housing_change->add_option("--remove", housing_changes.remove, "rows to delete")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  housing_change->add_option("--seed", housing_changes.seed, "random seed")->capture_default_str();
  housing_change->add_option("--timestamp", housing_changes.timestamp, "gxsj for touched rows (default: now)");

  CLI11_PARSE(app, argc, argv);

  if (*housing_cmd) {
    if (int rc = report(dxhub::sample::generate_housing_db(housing_db, housing)); rc != 0) return rc;
    std::printf("wrote %lld housing_units rows (seed %llu) to %s\n", static_cast<long long>(housing.rows),
                static_cast<unsigned long long>(housing.seed), housing_db.c_str());
    return 0;
  }
  if (*housing_change) {
    if (int rc = report(dxhub::sample::apply_housing_changes(housing_changes_db, housing_changes)); rc != 0) return rc;
    std::printf("changed %lld, added %lld and removed %lld housing_units rows in %s\n",
                static_cast<long long>(housing_changes.change), static_cast<long long>(housing_changes.add),
                static_cast<long long>(housing_changes.remove), housing_changes_db.c_str());
    return 0;
  }

  if (*enterprises) {
    if (int rc = report(dxhub::sample::generate_enterprise_db(enterprise_db, enterprise)); rc != 0) return rc;
    std::printf("wrote %lld enterprise_basic rows (seed %llu) to %s\n", static_cast<long long>(enterprise.rows),
                static_cast<unsigned long long>(enterprise.seed), enterprise_db.c_str());
    return 0;
  }
  if (*enterprise_change) {
    if (int rc = report(dxhub::sample::apply_enterprise_changes(enterprise_changes_db, enterprise_changes)); rc != 0) {
      return rc;
    }
    std::printf("changed %lld and added %lld enterprise_basic rows in %s\n",
                static_cast<long long>(enterprise_changes.change), static_cast<long long>(enterprise_changes.add),
                enterprise_changes_db.c_str());
    return 0;
  }

  if (*generate) {
    if (int rc = report(dxhub::sample::generate_household_db(household_db, household)); rc != 0) return rc;
    std::printf("wrote %lld household_population rows (seed %llu, first gxsj %s) to %s\n",
                static_cast<long long>(household.rows), static_cast<unsigned long long>(household.seed),
                household.first_update.c_str(), household_db.c_str());
    return 0;
  }
  if (changes.timestamp.empty()) changes.timestamp = dxhub::sample::shanghai_now();
  if (int rc = report(dxhub::sample::apply_household_changes(changes_db, changes)); rc != 0) return rc;
  std::printf("changed %lld and added %lld household_population rows with gxsj %s in %s\n",
              static_cast<long long>(changes.change), static_cast<long long>(changes.add),
              changes.timestamp.c_str(), changes_db.c_str());
  return 0;
}
