#include "core/common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

namespace dxhub {

namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v";

std::atomic<bool> terminal_line_open{false};

// Carriage return and ANSI erase-in-line: what a progress line left is gone.
void clear_open_terminal_line(spdlog::memory_buf_t& dest) {
  if (!terminal_line_open.exchange(false)) return;
  constexpr std::string_view kClear = "\r\x1b[K";
  dest.append(kClear.data(), kClear.data() + kClear.size());
}

// The text pattern, after clearing a progress line if one stands.
class TextLineFormatter final : public spdlog::formatter {
 public:
  TextLineFormatter() : pattern_(kTextPattern) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    clear_open_terminal_line(dest);
    pattern_.format(msg, dest);  // its colour range is taken from dest's size: the prefix is accounted for
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextLineFormatter>(); }

 private:
  spdlog::pattern_formatter pattern_;
};

// resource id -> plugin ("" when two plugins declare the same id: then unknown).
std::mutex& known_resources_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, std::string, std::less<>>& known_resources() {
  static std::map<std::string, std::string, std::less<>> resources;
  return resources;
}

std::string plugin_declaring(std::string_view resource) {
  std::lock_guard<std::mutex> lock(known_resources_mutex());
  auto it = known_resources().find(resource);
  return it == known_resources().end() ? std::string() : it->second;
}

// A resource reference as messages spell it: no spaces or controls, bounded.
bool plausible_reference(std::string_view token) {
  if (token.empty() || token.size() > 256) return false;
  for (unsigned char c : token) {
    if (c <= ' ' || c == 0x7f || c == '"') return false;
  }
  return true;
}

std::string utc_timestamp(spdlog::log_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  if (millis < 0) {  // before 1970: keep the fraction positive
    millis += 1000;
    t -= 1;
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[80];  // room for any int the compiler cannot rule out
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
}

// The names --log-level takes ("warn", not spdlog's "warning").
const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

// One JSON object per event and line. Whatever bytes the message holds
// (a source's invalid UTF-8, control characters, newlines), the line is
// valid JSON: invalid bytes become U+FFFD, controls are escaped, so no
// event spans two lines.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    nlohmann::ordered_json line;
    line["ts"] = utc_timestamp(msg.time);
    line["level"] = level_name(msg.level);
    line["msg"] = std::string(text);
    LogSubject subject = log_subject_of(text);
    if (!subject.plugin.empty()) line["plugin"] = std::move(subject.plugin);
    if (!subject.resource.empty()) line["resource"] = std::move(subject.resource);
    const std::string out = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    clear_open_terminal_line(dest);
    dest.append(out.data(), out.data() + out.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

LogSubject log_subject_of(std::string_view msg) {
  std::string_view rest = msg;
  if (rest.starts_with("daemon: ")) rest.remove_prefix(8);
  constexpr std::string_view kResource = "resource ";
  if (!rest.starts_with(kResource)) return {};
  rest.remove_prefix(kResource.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return {};
  if (colon + 1 < rest.size() && rest[colon + 1] != ' ') return {};
  const std::string_view reference = rest.substr(0, colon);
  if (!plausible_reference(reference)) return {};
  LogSubject subject;
  if (const size_t slash = reference.find('/'); slash != std::string_view::npos) {
    if (slash == 0 || slash + 1 == reference.size()) return {};
    subject.plugin = std::string(reference.substr(0, slash));
    subject.resource = std::string(reference.substr(slash + 1));
  } else {
    subject.resource = std::string(reference);
    subject.plugin = plugin_declaring(reference);
  }
  return subject;
}

void note_log_resource(const std::string& plugin, const std::string& resource) {
  std::lock_guard<std::mutex> lock(known_resources_mutex());
  auto [it, inserted] = known_resources().emplace(resource, plugin);
  if (!inserted && it->second != plugin) it->second.clear();  // declared twice: the plugin is ambiguous
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonLineFormatter>();
  return std::make_unique<TextLineFormatter>();
}

void note_terminal_line_open(bool open) { terminal_line_open.store(open); }

void init_logging(std::string_view level, LogFormat format) {
  // JSON lines carry no colour codes: a shipper reads them as they are.
  auto logger = format == LogFormat::kJson ? spdlog::stderr_logger_mt("dxhub") : spdlog::stderr_color_mt("dxhub");
  logger->set_formatter(make_log_formatter(format));
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace dxhub
