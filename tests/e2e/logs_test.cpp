// End to end, the hub's own output: what the real dxhub binary prints on
// stderr in each log format (never a source's personal data, even at debug
// level and for rows that get dead-lettered), and the progress a one-shot
// sync draws only when stderr is a terminal.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/common/sqlite_db.h"
#include "sandbox/sample/household_generator.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/subprocess.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kPlugin = testing::plugin_library("public_security");
const std::string kRunInPty = std::string(DXHUB_SOURCE_DIR) + "/tests/e2e/run_in_pty.py";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class Logs : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    source_ = (dir_ / "public_security.db").string();
  }

  json plugin_entry(const json& sources = nullptr) const {
    json entry = {{"name", "public_security"}, {"path", kPlugin}, {"settings", {{"household_db", source_}}}};
    if (!sources.is_null()) entry["sources"] = sources;
    return entry;
  }

  // The household mapping with a phone field (column lxdh) added, in a
  // mappings directory of the test's own: phone numbers are read, mapped
  // and (for bad rows) dead-lettered like the other personal data.
  std::string mappings_with_phone() {
    const fs::path dir = dir_ / "mappings" / "public_security";
    fs::create_directories(dir);
    const fs::path from = fs::path(testing::kMappingsDir) / "public_security";
    json mapping = json::parse(read_file(from / "household_population.mapping.json"));
    mapping["fields"].push_back({{"field", "phone"}, {"column", "lxdh"}});
    std::ofstream(dir / "household_population.mapping.json") << mapping.dump(2);
    json schema = json::parse(read_file(from / "household_population.avsc"));
    schema["fields"].push_back({{"name", "phone"}, {"type", "string"}, {"doc", "联系电话"}});
    std::ofstream(dir / "household_population.avsc") << schema.dump(2);
    return (dir_ / "mappings").string();
  }

  std::string source_;
};

// Every ID number, name and phone of the source, with rows that are
// dead-lettered for a bad date, a bad code and a name that is not UTF-8
// (reasons that quote the value): none of it in anything the hub prints, in
// either log format, at log level debug.
TEST_F(Logs, NoPersonalDataInTextOrJsonLogsAtDebugLevel) {
  sample::HouseholdOptions gen;
  gen.rows = 600;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  std::vector<std::string> personal;
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("ALTER TABLE household_population ADD COLUMN lxdh TEXT").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET lxdh = '139' || printf('%08d', 27000000 + id * 7)").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET csrq = '1990-02-31' WHERE id IN (5, 6, 7)").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET xb = '9' WHERE id = 11").is_ok());
    ASSERT_TRUE(db->exec("UPDATE household_population SET xm = CAST(X'E78E8BFFE4BC9F' AS TEXT) WHERE id = 13").is_ok());
    auto stmt = db->prepare("SELECT gmsfhm, xm, lxdh FROM household_population");
    ASSERT_TRUE(stmt);
    for (;;) {
      auto more = stmt->step();
      ASSERT_TRUE(more);
      if (!*more) break;
      for (int c = 0; c < 3; ++c) {
        std::string value(stmt->column_text(c));
        if (value.size() >= 6) personal.push_back(value);  // a two-character name is six bytes
      }
    }
  }
  ASSERT_GT(personal.size(), 1500u);
  start_province();
  const std::string mappings = mappings_with_phone();

  for (const std::string format : {"text", "json"}) {
    SCOPED_TRACE("log format " + format);
    json cfg = hub_config(json::array({plugin_entry()}), "state-" + format + ".db");
    cfg["mappings_dir"] = mappings;
    cfg["sync"]["batch_rows"] = 200;
    cfg["log_format"] = format;
    const std::string config = write_config_file(cfg, "dxhub-" + format + ".json");
    auto r = dxhub({"-c", config, "--log-level", "debug", "sync"});
    ASSERT_EQ(r.exit_code, 5) << r.err;  // rows were dead-lettered
    EXPECT_NE(r.err.find("5 rows dead-lettered"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("spooled batch"), std::string::npos) << "not at debug level? " << r.err;
    size_t leaks = 0;
    for (const std::string& value : personal) {
      if (r.out.find(value) != std::string::npos || r.err.find(value) != std::string::npos) ++leaks;
    }
    EXPECT_EQ(leaks, 0u) << "personal data of the source in the output (not shown here)";
    if (format == "json") {
      // Escapes could hide a value from the byte search: the decoded messages too.
      for (const std::string& line : lines_of(r.err)) {
        json event = json::parse(line, nullptr, false);
        ASSERT_FALSE(event.is_discarded()) << line;
        const std::string msg = event["msg"].get<std::string>();
        for (const std::string& value : personal) ASSERT_EQ(msg.find(value), std::string::npos);
      }
    }
  }
}

// JSON lines: every line of stderr is one object with ts, level and msg, and
// the events about the resource name it and its plugin.
TEST_F(Logs, JsonLogFormatFromTheCommandLineGivesOneObjectPerLine) {
  sample::HouseholdOptions gen;
  gen.rows = 300;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  const std::string config = write_config_file(hub_config(json::array({plugin_entry()})));  // log_format text in the file
  auto r = dxhub({"-c", config, "--log-format", "json", "--log-level", "debug", "sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  size_t about_resource = 0;
  bool summary_seen = false;
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    json event = json::parse(line, nullptr, false);
    ASSERT_TRUE(event.is_object()) << line;
    ASSERT_TRUE(event.contains("ts") && event.contains("level") && event.contains("msg")) << line;
    EXPECT_TRUE(std::regex_match(event["ts"].get<std::string>(), ts)) << line;
    const std::string msg = event["msg"].get<std::string>();
    if (msg.starts_with("resource ")) {
      ++about_resource;
      EXPECT_EQ(event.value("plugin", ""), "public_security") << line;
      EXPECT_EQ(event.value("resource", ""), "household_population") << line;
    } else {
      EXPECT_FALSE(event.contains("resource")) << line;
    }
    summary_seen = summary_seen || (msg.find("read 300 rows") != std::string::npos && event["level"] == "info");
  }
  EXPECT_GE(about_resource, 3u);
  EXPECT_TRUE(summary_seen) << r.err;
  // An unknown format is a usage error.
  auto refused = dxhub({"-c", config, "--log-format", "xml", "sync"});
  EXPECT_EQ(refused.exit_code, 2);
}

// A paced source (2000 rows/s, 4000 rows) so that a sync takes about two
// seconds: long enough for several in-place updates of its progress line.
json paced_sources(const std::string& database) {
  return {{"household_population",
           {{"connector", "sqlite_table"},
            {"settings",
             {{"database", database},
              {"table", "household_population"},
              {"cursor_column", "gxsj"},
              {"key_column", "id"},
              {"rows_per_second", 2000}}}}}};
}

TEST_F(Logs, SyncOnATerminalShowsProgressWithEtaAndNothingWhenPiped) {
  sample::HouseholdOptions gen;
  gen.rows = 4000;
  ASSERT_TRUE(sample::generate_household_db(source_, gen).is_ok());
  start_province();
  json cfg = hub_config(json::array({plugin_entry(paced_sources(source_))}));
  cfg["sync"]["batch_rows"] = 400;
  const std::string config = write_config_file(cfg);

  // dxhub on a pseudo-terminal, as from an operator's shell.
  auto on_terminal = [&](const std::string& name, std::vector<std::string> args) {
    const fs::path captured = dir_ / (name + ".screen");
    std::vector<std::string> argv = {DXHUB_PYTHON3, kRunInPty, captured.string(), "120", testing::kDxhubBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = testing::run_process(argv, {{"DXHUB_TEST_SECRET", secret_}, {"TERM", "xterm"}}, 180);
    std::string screen = read_file(captured);
    EXPECT_EQ(r.exit_code, 0) << r.err << screen;
    EXPECT_EQ(screen.find(secret_), std::string::npos);
    return screen;
  };
  auto config_with_state = [&](const std::string& state) {
    json c = cfg;
    c["state_db"] = (dir_ / state).string();
    return write_config_file(c, state + ".json");
  };

  const std::string screen = on_terminal("tty", {"-c", config_with_state("tty.db"), "sync"});
  // In place while reading, with an ETA (a first sync: the connector counted the rows) ...
  EXPECT_TRUE(std::regex_search(screen, std::regex("\rhousehold_population  [0-9]+ rows  [0-9]+ rows/s  ETA [0-9]+:[0-9]{2}")))
      << screen;
  // ... and one final line.
  EXPECT_TRUE(std::regex_search(screen, std::regex("household_population  4000 rows  [0-9]+ rows/s  done in [0-9]+:[0-9]{2}")))
      << screen;

  // stderr into a pipe (cron, systemd, a log file): not a byte of it.
  auto piped = dxhub({"-c", config_with_state("piped.db"), "sync"});
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find("rows/s"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("ETA"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
  EXPECT_NE(piped.err.find("read 4000 rows"), std::string::npos) << piped.err;  // the log is there

  // --json on a terminal: the summary's reader is a program, no progress either.
  const std::string json_screen = on_terminal("tty-json", {"-c", config_with_state("tty-json.db"), "sync", "--json"});
  EXPECT_EQ(json_screen.find("done in"), std::string::npos) << json_screen;
  EXPECT_EQ(json_screen.find("ETA"), std::string::npos) << json_screen;
  EXPECT_NE(json_screen.find("\"rows_read\": 4000"), std::string::npos) << json_screen;
}

}  // namespace
}  // namespace dxhub
