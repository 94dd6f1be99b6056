// The `export-file` subcommand of dxhub-sample (see file_export.h).
#pragma once

#include <CLI/CLI.hpp>

namespace dxhub::sample {

// Adds `export-file --db FILE --table T --format csv|jsonl|xlsx
// [--encoding utf-8|gbk|gb18030] --out PATH`. The export runs as the
// subcommand's CLI11 callback during parsing and ends it through CLI11's
// own exit exceptions (CLI::Success, CLI::RuntimeError(1)), which
// CLI11_PARSE turns into main's return value: main needs no other change.
void add_export_file_subcommand(CLI::App& app);

}  // namespace dxhub::sample
