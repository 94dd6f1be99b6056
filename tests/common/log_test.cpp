// The log line formats: JSON lines that parse whatever bytes a message holds,
// the resource and plugin taken from the message, the text format as before,
// and a progress line cleared before a log line.
#include "core/common/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace dxhub {
namespace {

using nlohmann::json;

// A logger of its own writing into a string, with the production formatter.
class CapturedLog {
 public:
  explicit CapturedLog(LogFormat format)
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)), logger_("test", sink_) {
    logger_.set_formatter(make_log_formatter(format));
    logger_.set_level(spdlog::level::trace);
  }
  spdlog::logger& logger() { return logger_; }
  std::string text() const { return out_.str(); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::logger logger_;
};

json parse_line(const std::string& line) {
  json event = json::parse(line, nullptr, false);
  EXPECT_TRUE(event.is_object()) << line;
  return event;
}

TEST(JsonLogLines, OneObjectPerEventWithUtcTimestampLevelAndMessage) {
  CapturedLog log(LogFormat::kJson);
  log.logger().info("sync of {} resources", 3);
  log.logger().warn("careful");
  log.logger().error("broken");
  log.logger().debug("detail");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 4u);
  const std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  const std::vector<std::string> levels = {"info", "warn", "error", "debug"};
  for (size_t i = 0; i < lines.size(); ++i) {
    json event = parse_line(lines[i]);
    EXPECT_TRUE(std::regex_match(event["ts"].get<std::string>(), ts)) << lines[i];
    EXPECT_EQ(event["level"], levels[i]);
    EXPECT_FALSE(event.contains("resource"));
    EXPECT_FALSE(event.contains("plugin"));
  }
  EXPECT_EQ(parse_line(lines[0])["msg"], "sync of 3 resources");
  EXPECT_TRUE(lines[0].starts_with("{\"ts\":")) << lines[0];
}

TEST(JsonLogLines, TimestampIsUtcWithMilliseconds) {
  // 2026-12-02T10:00:00.123Z
  spdlog::details::log_msg msg(spdlog::source_loc{}, "test", spdlog::level::info, "at a known time");
  msg.time = spdlog::log_clock::time_point(std::chrono::milliseconds(1796205600123LL));
  spdlog::memory_buf_t buf;
  make_log_formatter(LogFormat::kJson)->format(msg, buf);
  json event = parse_line(std::string(buf.data(), buf.size()));
  EXPECT_EQ(event["ts"], "2026-12-02T10:00:00.123Z");
}

TEST(JsonLogLines, HostileMessageBytesStayOneValidLine) {
  CapturedLog log(LogFormat::kJson);
  const std::vector<std::string> hostile = {
      std::string("invalid \xff\xfe utf-8"),
      std::string("cut inside a character \xe6\x88"),
      std::string("overlong \xc0\xaf and surrogate \xed\xa0\x80"),
      std::string("embedded\nnewline\r\nand\ttab"),
      std::string("nul \0 byte", 10),
      std::string("escape \x1b[31mred\x1b[0m bell \x07 del \x7f"),
      std::string("quotes \" and backslash \\ and }{ braces"),
      std::string("line separator \xe2\x80\xa8 paragraph \xe2\x80\xa9"),
      std::string("resource bad\xff/name\xfe: hostile subject"),
      std::string("中文 消息 \xf0\x9f\x98\x80"),
  };
  for (const auto& m : hostile) log.logger().warn("{}", m);
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), hostile.size()) << log.text();
  for (size_t i = 0; i < lines.size(); ++i) {
    json event = parse_line(lines[i]);
    ASSERT_TRUE(event["msg"].is_string());
    // What was valid UTF-8 comes back byte for byte; invalid bytes become U+FFFD.
    const std::string msg = event["msg"].get<std::string>();
    const bool valid_input = i >= 3 && i != 8;
    if (valid_input) {
      EXPECT_EQ(msg, hostile[i]) << i;
    } else {
      EXPECT_NE(msg.find("\xef\xbf\xbd"), std::string::npos) << i;
    }
  }
  EXPECT_EQ(parse_line(lines[0])["msg"], "invalid \xef\xbf\xbd\xef\xbf\xbd utf-8");
  // The subject survives the same way (never breaks the line).
  json hostile_subject = parse_line(lines[8]);
  EXPECT_EQ(hostile_subject["plugin"], "bad\xef\xbf\xbd");
  EXPECT_EQ(hostile_subject["resource"], "name\xef\xbf\xbd");
  // Control characters never reach the line raw.
  for (char c : log.text()) {
    if (c == '\n') continue;
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << "raw control byte " << int(c);
  }
}

TEST(JsonLogLines, PluginAndResourceComeFromTheMessagePrefix) {
  note_log_resource("public_security", "household_population");
  CapturedLog log(LogFormat::kJson);
  log.logger().info("resource public_security/household_population: sync started");
  log.logger().info("resource household_population: spooled batch b1");
  log.logger().info("daemon: resource household_population: run ended: ok");
  log.logger().info("resource never_declared_here: read through connector x");
  log.logger().info("loaded plugin public_security 1.0.0");
  log.logger().info("resources: 3 of them");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    json event = parse_line(lines[static_cast<size_t>(i)]);
    EXPECT_EQ(event["plugin"], "public_security") << lines[static_cast<size_t>(i)];
    EXPECT_EQ(event["resource"], "household_population") << lines[static_cast<size_t>(i)];
  }
  // The message is kept whole.
  EXPECT_EQ(parse_line(lines[1])["msg"], "resource household_population: spooled batch b1");
  json unknown_plugin = parse_line(lines[3]);
  EXPECT_EQ(unknown_plugin["resource"], "never_declared_here");
  EXPECT_FALSE(unknown_plugin.contains("plugin"));
  EXPECT_FALSE(parse_line(lines[4]).contains("resource"));
  EXPECT_FALSE(parse_line(lines[5]).contains("resource"));
}

TEST(LogSubject, OnlyTheConventionalPrefixNamesAResource) {
  EXPECT_EQ(log_subject_of("resource a/b: x").plugin, "a");
  EXPECT_EQ(log_subject_of("resource a/b: x").resource, "b");
  EXPECT_EQ(log_subject_of("resource r:").resource, "r");
  EXPECT_EQ(log_subject_of("daemon: resource r: next run").resource, "r");
  EXPECT_EQ(log_subject_of("resource r:x").resource, "");       // not the convention
  EXPECT_EQ(log_subject_of("resource a b: x").resource, "");     // no spaces in an id
  EXPECT_EQ(log_subject_of("resource : x").resource, "");
  EXPECT_EQ(log_subject_of("resource /b: x").resource, "");
  EXPECT_EQ(log_subject_of("resource a/: x").resource, "");
  EXPECT_EQ(log_subject_of("resourceful: x").resource, "");
  EXPECT_EQ(log_subject_of("delivery: resource r: x").resource, "");
  EXPECT_EQ(log_subject_of("resource r").resource, "");
  EXPECT_EQ(log_subject_of("").resource, "");
}

TEST(TextLogLines, FormatIsUnchanged) {
  CapturedLog log(LogFormat::kText);
  log.logger().info("resource household_population: hello");
  log.logger().warn("second");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info  resource household_population: hello)")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(\S+ warning second)"))) << lines[1];
}

TEST(TerminalLine, AnOpenProgressLineIsClearedOnceBeforeTheNextLogLine) {
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    CapturedLog log(format);
    note_terminal_line_open(true);
    log.logger().info("first");
    log.logger().info("second");
    const std::string text = log.text();
    ASSERT_TRUE(text.starts_with("\r\x1b[K")) << text;
    EXPECT_EQ(text.find("\r\x1b[K", 1), std::string::npos) << "cleared twice";
    if (format == LogFormat::kJson) {
      auto lines = log.lines();
      ASSERT_EQ(lines.size(), 2u);
      EXPECT_EQ(parse_line(lines[0].substr(4))["msg"], "first");
      EXPECT_EQ(parse_line(lines[1])["msg"], "second");
    }
  }
  note_terminal_line_open(false);
}

TEST(LogFormatName, TextAndJsonOnly) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::kText);
  EXPECT_EQ(parse_log_format("json"), LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("JSON"));
  EXPECT_FALSE(parse_log_format(""));
}

}  // namespace
}  // namespace dxhub
