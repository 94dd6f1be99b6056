// dxhub-sample: writes sample source databases (样例数据) for testers.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "sandbox/sample/household_generator.h"

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
  CLI::App app{"dxhub-sample: sample source databases for the dxhub sandbox"};
  app.require_subcommand(1);
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

  CLI11_PARSE(app, argc, argv);

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
