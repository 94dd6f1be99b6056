// Logging goes through spdlog to stderr; stdout is kept for command output.
//
// Two line formats (hub config "log_format", CLI --log-format):
//   text (default): 2026-12-02T18:00:00.123 info  resource household_population: ...
//   json: one object per line for log shippers,
//         {"ts":"2026-12-02T10:00:00.123Z","level":"info","msg":"...",
//          "plugin":"public_security","resource":"household_population"}
//         ts in UTC; plugin/resource only when the event concerns one.
// Which resource an event concerns is read from the message itself: the
// codebase's convention is that such messages begin "resource <plugin>/<id>: ",
// "resource <id>: " or "daemon: resource <id>: " (so no call site passes
// anything extra); the plugin of a bare id comes from the resources the
// loaded plugins declared (note_log_resource).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dxhub {

enum class LogFormat { kText, kJson };

// "text" | "json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view name);

// Sets up the process-wide logger once. `level` is one of
// trace, debug, info, warn, error, off.
void init_logging(std::string_view level, LogFormat format = LogFormat::kText);

// The formatter init_logging installs for `format` (tests attach it to their own sink).
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

// The resource (and plugin, when the message names it or it is known) an
// event's message concerns, from its leading "resource ...: " (see above).
struct LogSubject {
  std::string plugin;    // "" when unknown
  std::string resource;  // "" when the event concerns none
};
LogSubject log_subject_of(std::string_view msg);

// A progress line (core/cli/sync_progress_view.h) stands on stderr without
// its newline: the next log line first clears it ("\r", erase line) so the
// two never share a line. Thread-safe.
void note_terminal_line_open(bool open);

// Remembers that `plugin` declares `resource`, so that JSON lines of
// messages naming only the resource carry the plugin too. Thread-safe;
// the plugin host calls it for every resource it loads.
void note_log_resource(const std::string& plugin, const std::string& resource);

}  // namespace dxhub
