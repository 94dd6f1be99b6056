// Per-resource progress of `dxhub sync` on a terminal: one line per
// resource, redrawn in place ("\r") at most every min_interval, and a final
// line when the resource is done:
//   household_population  120000 rows  85000 rows/s  ETA 0:12
//   household_population  200000 rows  86000 rows/s  done in 0:02
// ETA only when the connector could count the rows of a full load. The
// caller decides whether to show it at all (stderr a TTY, no --json).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/engine/sync_progress.h"

namespace dxhub {

struct ProgressFigures {
  std::string resource;
  int64_t rows = 0;
  double elapsed_seconds = 0;
  std::optional<int64_t> estimated_rows;  // full loads whose connector counted them
  bool finished = false;
  bool ok = true;  // with finished: "done in" or "failed after"
};

// "0:07", "12:34", "1:02:03".
std::string format_progress_duration(double seconds);
// The line's text, without "\r" or newline.
std::string format_progress_line(const ProgressFigures& figures);

class TerminalProgress final : public SyncProgressObserver {
 public:
  using Writer = std::function<void(std::string_view)>;
  using SecondsClock = std::function<double()>;  // monotonic seconds

  TerminalProgress(Writer write, SecondsClock now, double min_interval_seconds = 0.25);
  // Draws on file descriptor 2 with the steady clock.
  static std::unique_ptr<TerminalProgress> on_stderr();

  void on_resource_started(const std::string& plugin, const std::string& resource,
                           std::optional<int64_t> estimated_rows) override;
  void on_rows_read(const std::string& resource, int64_t rows_read) override;
  void on_resource_finished(const std::string& resource, int64_t rows_read, bool ok) override;

 private:
  void begin(const std::string& resource, std::optional<int64_t> estimated_rows);
  void draw(bool final_line);

  Writer write_;
  SecondsClock now_;
  double min_interval_;
  ProgressFigures current_;
  bool active_ = false;
  double started_at_ = 0;
  double drawn_at_ = 0;
  bool drawn_once_ = false;
  size_t drawn_width_ = 0;  // of the line on screen, to blank a longer earlier one
};

}  // namespace dxhub
