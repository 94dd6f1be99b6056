#include "sandbox/sample/file_export_command.h"

#include <cstdio>
#include <memory>

#include "sandbox/sample/file_export.h"

namespace dxhub::sample {

void add_export_file_subcommand(CLI::App& app) {
  auto options = std::make_shared<FileExportOptions>();
  auto* cmd = app.add_subcommand("export-file", "write a table's rows as a CSV, JSON lines or xlsx file");
  cmd->add_option("--db", options->db, "SQLite file to read")->required();
  cmd->add_option("--table", options->table, "table to export")->required();
  cmd->add_option("--format", options->format, "csv, jsonl or xlsx")->required();
  cmd->add_option("--encoding", options->encoding, "csv: utf-8, gbk or gb18030")->capture_default_str();
  cmd->add_option("--out", options->out, "file to write")->required();
  cmd->callback([options]() {
    auto rows = export_table_to_file(*options);
    if (!rows) {
      std::fprintf(stderr, "dxhub-sample: %s\n", rows.status().to_string().c_str());
      throw CLI::RuntimeError(1);
    }
    std::printf("wrote %lld %s rows as %s to %s\n", *rows, options->table.c_str(), options->format.c_str(),
                options->out.c_str());
    std::fflush(stdout);
    throw CLI::Success();
  });
}

}  // namespace dxhub::sample
