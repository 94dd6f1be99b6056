#include "core/cli/sync_progress_view.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/common/log.h"

namespace dxhub {

std::string format_progress_duration(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // also NaN
  const auto total = static_cast<long long>(std::llround(std::min(seconds, 1e9)));
  char text[80];  // room for any value the compiler cannot rule out
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

std::string format_progress_line(const ProgressFigures& f) {
  const double rate = f.elapsed_seconds > 0 ? static_cast<double>(f.rows) / f.elapsed_seconds : 0;
  const auto shown_rate = static_cast<long long>(std::llround(std::min(rate, 1e15)));
  std::string line = f.resource + "  " + std::to_string(f.rows) + " rows  " + std::to_string(shown_rate) + " rows/s";
  if (f.finished) {
    line += (f.ok ? "  done in " : "  failed after ") + format_progress_duration(f.elapsed_seconds);
  } else if (f.estimated_rows && rate > 0) {
    const int64_t left = *f.estimated_rows > f.rows ? *f.estimated_rows - f.rows : 0;
    line += "  ETA " + format_progress_duration(static_cast<double>(left) / rate);
  }
  return line;
}

TerminalProgress::TerminalProgress(Writer write, SecondsClock now, double min_interval_seconds)
    : write_(std::move(write)), now_(std::move(now)), min_interval_(min_interval_seconds) {}

std::unique_ptr<TerminalProgress> TerminalProgress::on_stderr() {
  auto write = [](std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a terminal that went away: progress is not worth failing for
      text.remove_prefix(static_cast<size_t>(n));
    }
  };
  auto now = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  return std::make_unique<TerminalProgress>(write, now);
}

void TerminalProgress::begin(const std::string& resource, std::optional<int64_t> estimated_rows) {
  current_ = ProgressFigures{};
  current_.resource = resource;
  current_.estimated_rows = estimated_rows;
  active_ = true;
  started_at_ = now_();
  drawn_once_ = false;
}

void TerminalProgress::on_resource_started(const std::string& /*plugin*/, const std::string& resource,
                                           std::optional<int64_t> estimated_rows) {
  begin(resource, estimated_rows);
  draw(false);
}

void TerminalProgress::on_rows_read(const std::string& resource, int64_t rows_read) {
  if (!active_ || current_.resource != resource) begin(resource, std::nullopt);
  current_.rows = rows_read;
  if (drawn_once_ && now_() - drawn_at_ < min_interval_) return;
  draw(false);
}

void TerminalProgress::on_resource_finished(const std::string& resource, int64_t rows_read, bool ok) {
  if (!active_ || current_.resource != resource) begin(resource, std::nullopt);  // failed before its source opened
  current_.rows = rows_read;
  current_.finished = true;
  current_.ok = ok;
  draw(true);
  active_ = false;
}

void TerminalProgress::draw(bool final_line) {
  const double now = now_();
  current_.elapsed_seconds = now - started_at_;
  std::string text = format_progress_line(current_);
  const size_t width = text.size();
  std::string out = "\r" + text;
  if (drawn_width_ > width) out.append(drawn_width_ - width, ' ');  // blank what a longer line left
  if (final_line) out += '\n';
  write_(out);
  drawn_width_ = final_line ? 0 : width;
  drawn_at_ = now;
  drawn_once_ = true;
  // A log line printed while this line stands first clears it (core/common/log.h).
  note_terminal_line_open(!final_line);
}

}  // namespace dxhub
