// The file connector over a local drop folder, with the "lines" format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "connectors/connector_factory.h"
#include "connectors/file/file_connector.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/file_test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using testing::CollectingSink;
using testing::drain;
using testing::names_in;
using testing::TempDir;
using testing::texts;
using testing::write_file;

class FileConnectorTest : public ::testing::Test {
 protected:
  fs::path drop() const { return tmp_.path() / "drop"; }

  // A clock far after every file's mtime: everything is stable.
  nlohmann::json config(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json c = {{"source", {{"kind", "local"}, {"directory", drop().string()}}},
                        {"format", {{"kind", "lines"}}},
                        {"pattern", "*.txt"},
                        {"now_ms", testing::wall_ms() + 3600 * 1000}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    return c;
  }

  Expected<std::unique_ptr<FileConnector>> open(const nlohmann::json& cfg, const nlohmann::json& cursor = nullptr,
                                                bool dry_run = false, std::vector<std::string> columns = {"line"}) {
    ConnectorOpenOptions options;
    options.dry_run = dry_run;
    options.resource_id = "test";
    return FileConnector::open(cfg, columns, cursor, options);
  }

  TempDir tmp_;
};

TEST_F(FileConnectorTest, ReadsMatchingFilesOldestFirstThenArchivesThem) {
  write_file(drop() / "b.txt", "b1\nb2\n");
  write_file(drop() / "a.txt", "a1\r\na2");  // CRLF, no final newline
  write_file(drop() / "c.csv", "not matched\n");
  write_file(drop() / ".hidden.txt", "never\n");
  write_file(drop() / "d.txt.part", "never\n");
  testing::set_mtime(drop() / "b.txt", 1000);
  testing::set_mtime(drop() / "a.txt", 2000);
  auto conn = open(config());
  ASSERT_TRUE(conn) << conn.status().to_string();
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), (std::vector<std::string>{"b1", "b2", "a1", "a2"}));
  EXPECT_EQ(names_in(drop()), (std::vector<std::string>{".hidden.txt", "c.csv", "d.txt.part"}));
  EXPECT_EQ(names_in(drop() / "archive"), (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ((*conn)->stats().files_read, 2u);
  nlohmann::json cursor = (*conn)->cursor();
  ASSERT_EQ(cursor["files"].size(), 2u);
  EXPECT_EQ(cursor["files"][0][0], "b.txt");
  EXPECT_EQ(cursor["files"][0][1], 6);
  EXPECT_EQ(cursor["files"][0][2].get<std::string>().size(), 64u);
}

TEST_F(FileConnectorTest, FileIsMovedOnlyAfterItsRowsWereHandedOutAndTheNextReadStarts) {
  write_file(drop() / "a.txt", "1\n2\n3\n4\n");
  auto conn = open(config());
  ASSERT_TRUE(conn);
  CollectingSink sink;
  auto n = (*conn)->read(4, sink);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(names_in(drop()), std::vector<std::string>{"a.txt"}) << "rows not durable yet: the file stays";
  // The reader finds the end: the file is in the ledger; read() says 1 so
  // the engine persists that cursor; the file still stays.
  n = (*conn)->read(4, sink);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(sink.rows.size(), 4u);
  EXPECT_EQ((*conn)->cursor()["files"].size(), 1u);
  EXPECT_FALSE((*conn)->cursor().contains("current"));
  EXPECT_EQ(names_in(drop()), std::vector<std::string>{"a.txt"});
  n = (*conn)->read(4, sink);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(names_in(drop()).empty());
  EXPECT_EQ(names_in(drop() / "archive"), std::vector<std::string>{"a.txt"});
}

TEST_F(FileConnectorTest, WaitsUntilTheFileIsStable) {
  write_file(drop() / "a.txt", "x\n");
  const int64_t now = testing::wall_ms();
  {
    auto conn = open(config({{"stable_seconds", 30}, {"now_ms", now}}));
    ASSERT_TRUE(conn);
    CollectingSink sink;
    ASSERT_TRUE(drain(**conn, sink));
    EXPECT_TRUE(sink.rows.empty());
    EXPECT_EQ((*conn)->stats().files_waiting, 1u);
    ASSERT_EQ((*conn)->advisories().size(), 1u);
    EXPECT_NE((*conn)->advisories()[0].find("not complete"), std::string::npos);
    EXPECT_EQ(names_in(drop()), std::vector<std::string>{"a.txt"});
  }
  auto conn = open(config({{"stable_seconds", 30}, {"now_ms", now + 31000}}));
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"x"});
}

TEST_F(FileConnectorTest, StableSecondsWithTheRealClockWaitsOnceForAFreshFile) {
  write_file(drop() / "a.txt", "x\n");
  nlohmann::json cfg = config({{"stable_seconds", 1}});
  cfg.erase("now_ms");
  auto conn = open(cfg);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"x"});
}

TEST_F(FileConnectorTest, DoneMarkerGatesTheFileAndTravelsWithIt) {
  write_file(drop() / "a.txt", "a\n");
  write_file(drop() / "b.txt", "b\n");
  write_file(drop() / "b.txt.done", "");
  auto conn = open(config({{"done_suffix", ".done"}}));
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"b"});
  EXPECT_EQ(names_in(drop()), std::vector<std::string>{"a.txt"});
  EXPECT_EQ(names_in(drop() / "archive"), (std::vector<std::string>{"b.txt", "b.txt.done"}));

  // Marker "a.done" (extension replaced).
  write_file(drop() / "a.done", "");
  auto again = open(config({{"done_suffix", ".done"}, {"done_replaces_extension", true}}), (*conn)->cursor());
  ASSERT_TRUE(again);
  CollectingSink sink2;
  ASSERT_TRUE(drain(**again, sink2));
  EXPECT_EQ(texts(sink2), std::vector<std::string>{"a"});
  EXPECT_TRUE(names_in(drop()).empty());
}

TEST_F(FileConnectorTest, AFileIsNeverReadTwiceEvenAfterARestart) {
  write_file(drop() / "a.txt", "one\ntwo\n");
  auto conn = open(config());
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  ASSERT_EQ(sink.rows.size(), 2u);
  const nlohmann::json cursor = (*conn)->cursor();

  // The same file dropped again while the connector is still open, and then
  // after a restart with the saved cursor: skipped and archived unread.
  write_file(drop() / "a.txt", "one\ntwo\n");
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ((*conn)->stats().files_skipped, 1u);
  EXPECT_TRUE(names_in(drop()).empty());
  EXPECT_EQ(names_in(drop() / "archive").size(), 2u);

  write_file(drop() / "a.txt", "one\ntwo\n");
  auto restarted = open(config(), nlohmann::json::parse(cursor.dump()));
  ASSERT_TRUE(restarted);
  CollectingSink sink2;
  ASSERT_TRUE(drain(**restarted, sink2));
  EXPECT_TRUE(sink2.rows.empty());
  EXPECT_EQ((*restarted)->stats().files_skipped, 1u);
  EXPECT_EQ(names_in(drop() / "archive").size(), 3u) << "name kept, digest suffix when taken";

  // Same name, other bytes: a new file.
  write_file(drop() / "a.txt", "one\ntwo\nthree\n");
  ASSERT_TRUE(drain(**restarted, sink2));
  EXPECT_EQ(texts(sink2), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(FileConnectorTest, ACrashMidFileResumesAtTheReadersPosition) {
  std::string content;
  for (int i = 1; i <= 10; ++i) content += "line" + std::to_string(i) + "\n";
  write_file(drop() / "a.txt", content);
  write_file(drop() / "b.txt", "b\n");
  testing::set_mtime(drop() / "a.txt", 1000);
  testing::set_mtime(drop() / "b.txt", 500);  // older, but the half-read file goes first
  nlohmann::json cursor;
  {
    auto conn = open(config());
    ASSERT_TRUE(conn);
    CollectingSink sink;
    ASSERT_TRUE((*conn)->read(1, sink));  // b.txt: "b"
    ASSERT_TRUE((*conn)->read(1, sink));  // b.txt ends, a.txt: line1
    auto n = (*conn)->read(3, sink);      // line2..line4
    ASSERT_TRUE(n);
    ASSERT_EQ(sink.rows.size(), 5u);
    cursor = (*conn)->cursor();  // the engine persisted this; then the process died
  }
  ASSERT_TRUE(cursor.contains("current")) << cursor.dump();
  EXPECT_EQ(cursor["current"]["name"], "a.txt");
  auto resumed = open(config(), cursor);
  ASSERT_TRUE(resumed);
  CollectingSink sink;
  ASSERT_TRUE(drain(**resumed, sink, 3));
  std::vector<std::string> expected;
  for (int i = 5; i <= 10; ++i) expected.push_back("line" + std::to_string(i));
  EXPECT_EQ(texts(sink), expected);
  EXPECT_TRUE(names_in(drop()).empty());
}

TEST_F(FileConnectorTest, AHalfReadFileThatChangedStartsOver) {
  write_file(drop() / "a.txt", "1\n2\n3\n");
  nlohmann::json cursor;
  {
    auto conn = open(config());
    ASSERT_TRUE(conn);
    CollectingSink sink;
    ASSERT_TRUE((*conn)->read(2, sink));
    cursor = (*conn)->cursor();
  }
  write_file(drop() / "a.txt", "x\ny\nz\n");  // same size, other bytes
  auto conn = open(config(), cursor);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), (std::vector<std::string>{"x", "y", "z"}));
}

TEST_F(FileConnectorTest, ARefusedFileGoesToTheErrorFolderWithItsReasonAndTheRunGoesOn) {
  write_file(drop() / "bin.txt", std::string("\x01\x00\x02", 3));
  write_file(drop() / "good.txt", "ok\n");
  testing::set_mtime(drop() / "bin.txt", 1000);
  testing::set_mtime(drop() / "good.txt", 2000);
  auto conn = open(config());
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"ok"});
  EXPECT_EQ(names_in(drop() / "error"), (std::vector<std::string>{"bin.txt", "bin.txt.reason.txt"}));
  std::ifstream reason(drop() / "error" / "bin.txt.reason.txt");
  std::string text((std::istreambuf_iterator<char>(reason)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("not a text file"), std::string::npos) << text;
  EXPECT_EQ(names_in(drop() / "archive"), std::vector<std::string>{"good.txt"});
  EXPECT_EQ((*conn)->stats().files_refused, 1u);
}

TEST_F(FileConnectorTest, BadLinesAreBadInputWithTheirLineAndTheFileGoesOn) {
  write_file(drop() / "a.txt", "good\n\xff\xfe\nalso good\n");
  auto conn = open(config());
  ASSERT_TRUE(conn);
  testing::BadInputSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), (std::vector<std::string>{"good", "also good"}));
  EXPECT_EQ(sink.refs(), std::vector<std::string>{"a.txt line 2"});
}

TEST_F(FileConnectorTest, DryRunReadsButMovesNothing) {
  write_file(drop() / "a.txt", "a\n");
  write_file(drop() / "bin.txt", std::string("\0", 1));
  auto conn = open(config(), nullptr, /*dry_run=*/true);
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"a"});
  EXPECT_EQ(names_in(drop()), (std::vector<std::string>{"a.txt", "bin.txt"}));
  EXPECT_FALSE(fs::exists(drop() / "archive"));
  EXPECT_FALSE(fs::exists(drop() / "error"));
}

TEST_F(FileConnectorTest, EmptyColumnListTakesTheFirstFilesColumns) {
  write_file(drop() / "a.txt", "a\n");
  auto conn = open(config(), nullptr, true, {});
  ASSERT_TRUE(conn) << conn.status().to_string();
  EXPECT_EQ((*conn)->columns(), std::vector<std::string>{"line"});
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"a"});
}

TEST_F(FileConnectorTest, LedgerIsBounded) {
  nlohmann::json cursor;
  for (int i = 0; i < 4; ++i) {
    write_file(drop() / ("f" + std::to_string(i) + ".txt"), "x" + std::to_string(i) + "\n");
    auto conn = open(config({{"ledger_max_files", 2}}), cursor);
    ASSERT_TRUE(conn);
    CollectingSink sink;
    ASSERT_TRUE(drain(**conn, sink));
    ASSERT_EQ(sink.rows.size(), 1u);
    cursor = (*conn)->cursor();
  }
  ASSERT_EQ(cursor["files"].size(), 2u);
  EXPECT_EQ(cursor["files"][0][0], "f2.txt");
  EXPECT_EQ(cursor["files"][1][0], "f3.txt");
  // By age: entries older than ledger_max_days go at open.
  auto aged = open(config({{"ledger_max_days", 1}, {"now_ms", testing::wall_ms() + 3 * 86400 * 1000LL}}), cursor);
  ASSERT_TRUE(aged);
  EXPECT_TRUE((*aged)->cursor().is_null());
}

TEST_F(FileConnectorTest, RecursiveReadsSubfoldersButNotTheArchive) {
  write_file(drop() / "sub" / "a.txt", "a\n");
  write_file(drop() / "archive" / "old.txt", "old\n");
  auto conn = open(config({{"source", {{"kind", "local"}, {"directory", drop().string()}, {"recursive", true}}}}));
  ASSERT_TRUE(conn);
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"a"});
  EXPECT_EQ(names_in(drop() / "archive" / "sub"), std::vector<std::string>{"a.txt"});
}

TEST_F(FileConnectorTest, AMissingDropFolderIsASourceError) {
  auto conn = open(config({{"source", {{"kind", "local"}, {"directory", (drop() / "nope").string()}}}}));
  ASSERT_TRUE(conn);
  CollectingSink sink;
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kSource);
}

TEST_F(FileConnectorTest, BadSettingsAreConfigErrorsNamingTheKey) {
  struct Case {
    nlohmann::json extra;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"surprise", 1}}, "surprise"},
      {{{"stable_seconds", -1}}, "stable_seconds"},
      {{{"pattern", ""}}, "pattern"},
      {{{"source", {{"kind", "local"}}}}, "directory"},
      {{{"source", {{"kind", "local"}, {"directory", "/x"}, {"after", "keep"}}}}, "after"},
      {{{"source", {{"kind", "smb"}}}}, "smb"},
      {{{"source", {{"kind", "ftp"}, {"host", "127.0.0.1"}, {"password", "secret-value"}}}}, "password_env"},
      {{{"source", {{"kind", "ftp"}, {"host", "127.0.0.1"}, {"password_env", "DXHUB_TEST_UNSET_VARIABLE"}}}},
       "password_env"},
      {{{"ledger_max_files", 0}}, "ledger_max_files"},
  };
  for (const auto& c : cases) {
    auto conn = open(config(c.extra));
    ASSERT_FALSE(conn) << c.extra.dump();
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig) << c.extra.dump();
    EXPECT_NE(conn.status().message().find(c.key), std::string::npos) << conn.status().message();
    EXPECT_EQ(conn.status().message().find("secret-value"), std::string::npos);
  }
}

TEST_F(FileConnectorTest, TheFactoryOpensKindFile) {
  write_file(drop() / "a.txt", "a\n");
  ConnectorOpenOptions options;
  auto conn = open_connector("file", config(), {"line"}, nullptr, options);
  ASSERT_TRUE(conn) << conn.status().to_string();
  CollectingSink sink;
  ASSERT_TRUE(drain(**conn, sink));
  EXPECT_EQ(texts(sink), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace dxhub

namespace dxhub {
namespace {

TEST(FileConnectorAllocations, ReadingLinesDoesNotAllocatePerRow) {
  testing::TempDir tmp;
  std::string content;
  for (int i = 0; i < 5000; ++i) content += "record " + std::to_string(i) + ",some payload text\n";
  testing::write_file(tmp.path() / "a.txt", content);
  nlohmann::json cfg = {{"source", {{"kind", "local"}, {"directory", tmp.path().string()}}},
                        {"format", {{"kind", "lines"}}},
                        {"stable_seconds", 0}};
  ConnectorOpenOptions options;
  options.dry_run = true;
  auto conn = FileConnector::open(cfg, {"line"}, nullptr, options);
  ASSERT_TRUE(conn);
  struct CountingSink : RowSink {
    Status on_row(const RowView& row) override {
      ++rows;
      bytes += row[0].s.size() + row.source_ref.size();
      return Status::ok();
    }
    size_t rows = 0, bytes = 0;
  } sink;
  ASSERT_EQ(*(*conn)->read(10, sink), 10u);  // warm-up: file opened, buffers sized
  const size_t before = testing::allocation_count();
  ASSERT_EQ(*(*conn)->read(4000, sink), 4000u);
  const size_t allocations = testing::allocation_count() - before;
  EXPECT_LT(allocations, 40u) << "per-row allocations on the hot path";
}

// The sandbox's drop-folder source writes each export in pieces while the
// connector polls: every file is read once, whole, never half-written
// (with stable_seconds 0 this test fails: cut lines).
TEST(FileConnectorWithSampleDropper, ReadsEachSlowlyWrittenFileOnceAndWhole) {
  testing::TempDir tmp;
  const std::string script = std::string(DXHUB_SOURCE_DIR) + "/sandbox/file_drop/drop_exports.py";
  const std::string command = "/usr/bin/python3 " + script + " --dir " + (tmp.path() / "drop").string() +
                              " --files 3 --rows 400 --interval 0.3 --write-pieces 4 --piece-delay 0.2"
                              " --format lines >/dev/null";
  int dropper_rc = -1;
  std::thread dropper([&] { dropper_rc = std::system(command.c_str()); });
  nlohmann::json cfg = {{"source", {{"kind", "local"}, {"directory", (tmp.path() / "drop").string()}}},
                        {"format", {{"kind", "lines"}}},
                        {"pattern", "export-*.txt"},
                        {"stable_seconds", 2}};
  nlohmann::json cursor;
  std::set<std::string> records;
  size_t rows = 0, files = 0;
  for (int run = 0; run < 60 && files < 3; ++run) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!std::filesystem::exists(tmp.path() / "drop")) continue;
    auto conn = FileConnector::open(cfg, {"line"}, cursor, ConnectorOpenOptions{});
    ASSERT_TRUE(conn) << conn.status().to_string();
    testing::CollectingSink sink;
    ASSERT_TRUE(testing::drain(**conn, sink, 100));
    for (const auto& text : testing::texts(sink)) {
      EXPECT_EQ(std::count(text.begin(), text.end(), ','), 4) << "a cut line: a half-written file was read";
      records.insert(text.substr(0, text.find(',')));
    }
    rows += sink.rows.size();
    files += (*conn)->stats().files_read;
    cursor = (*conn)->cursor();
  }
  dropper.join();
  EXPECT_EQ(dropper_rc, 0);
  EXPECT_EQ(files, 3u);
  EXPECT_EQ(rows, 1200u);
  EXPECT_EQ(records.size(), 1200u) << "no record twice";
  EXPECT_EQ(testing::names_in(tmp.path() / "drop" / "archive").size(), 3u);
}

}  // namespace
}  // namespace dxhub

namespace dxhub {
namespace {

TEST(FileConnectorResume, AHalfReadFileMovedAwayIsForgotten) {
  testing::TempDir tmp;
  testing::write_file(tmp.path() / "a.txt", "1\n2\n3\n");
  nlohmann::json cfg = {{"source", {{"kind", "local"}, {"directory", tmp.path().string()}}},
                        {"format", {{"kind", "lines"}}},
                        {"stable_seconds", 0}};
  nlohmann::json cursor;
  {
    auto conn = FileConnector::open(cfg, {"line"}, nullptr, ConnectorOpenOptions{});
    ASSERT_TRUE(conn);
    testing::CollectingSink sink;
    ASSERT_TRUE((*conn)->read(1, sink));
    cursor = (*conn)->cursor();
  }
  ASSERT_TRUE(cursor.contains("current"));
  std::filesystem::remove(tmp.path() / "a.txt");
  auto conn = FileConnector::open(cfg, {"line"}, cursor, ConnectorOpenOptions{});
  ASSERT_TRUE(conn);
  testing::CollectingSink sink;
  ASSERT_TRUE(testing::drain(**conn, sink));
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_TRUE((*conn)->cursor().is_null()) << (*conn)->cursor().dump();
}

}  // namespace
}  // namespace dxhub

namespace dxhub {
namespace {

TEST(FileConnectorSink, ASinkThatStopsTheReadDoesNotGetTheFileRefused) {
  testing::TempDir tmp;
  testing::write_file(tmp.path() / "a.txt", "good\n\xff\n");
  nlohmann::json cfg = {{"source", {{"kind", "local"}, {"directory", tmp.path().string()}}},
                        {"format", {{"kind", "lines"}}},
                        {"stable_seconds", 0}};
  auto conn = FileConnector::open(cfg, {"line"}, nullptr, ConnectorOpenOptions{});
  ASSERT_TRUE(conn);
  testing::CollectingSink sink;  // keeps no dead letters: bad input stops the read (kData)
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kData);
  EXPECT_EQ((*conn)->stats().files_refused, 0u);
  (void)(*conn)->read(10, sink);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "error"));
  EXPECT_EQ(testing::names_in(tmp.path()), std::vector<std::string>{"a.txt"});
}

}  // namespace
}  // namespace dxhub
