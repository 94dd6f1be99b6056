// The mock agency API as a process (dxhub-agency-api): the connector reads
// it, faults are switched through its /control endpoint, and -- with the
// server's allocations out of this process -- reading more records per page
// costs no more heap allocations (none per record).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/http_json_test_support.h"

extern char** environ;

namespace dxhub::testing {
namespace {

class AgencyProcess {
 public:
  AgencyProcess(const std::string& db, const std::string& out_file) {
    const std::string binary = std::string(DXHUB_BINARY_DIR) + "/bin/dxhub-agency-api";
    std::vector<std::string> args = {binary, "--db", db, "--table", "rows", "--key", "id", "--updated-column", "gxsj",
                                     "--listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    for (int k = 0; k < 200 && pid_ > 0 && port_ == 0; ++k) {  // up to 20 s
      std::ifstream in(out_file);
      std::string word1, word2;
      unsigned port = 0;
      if (in >> word1 >> word2 >> port) port_ = static_cast<uint16_t>(port);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~AgencyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

nlohmann::json token_config(const std::string& base_url, int64_t page_size) {
  return {{"url", base_url + "/token"},
          {"query", {{"token", "{cursor_token}"}, {"limit", "{limit}"}}},
          {"paging", {{"style", "token"}, {"page_size", page_size}, {"token_path", "data.next_token"}}},
          {"records_path", "data.items"},
          {"backoff_initial_ms", 10}};
}

TEST(HttpJsonProcess, ReadsTheBinaryAndSwitchesFaultsThroughControl) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(30);
  AgencyProcess api(table.path(), dir.file("api.out"));
  ASSERT_NE(api.port(), 0) << "dxhub-agency-api did not print its port";

  // Two 503s on the next data requests, set over HTTP.
  {
    auto control = http_json::HttpFetcher::create({});
    ASSERT_TRUE(control.has_value());
    // fetch() only sends a body with POST: the plan goes as the body.
    auto answer = control->fetch("POST", api.base_url() + "/control",
                                 R"({"rules":[{"kind":"5xx","skip":0,"count":2}]})", "control", 0);
    ASSERT_TRUE(answer.has_value()) << answer.status().message();
  }
  auto conn = open_http(token_config(api.base_url(), 10));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  EXPECT_EQ(sink.rows.size(), 30u);
  EXPECT_EQ((*conn)->fetch_stats().retries, 2u);
}

// Allocations of reading two pages after a first one warmed the buffers.
size_t allocations_for_two_pages(const std::string& base_url, int64_t page_size) {
  auto conn = open_http(token_config(base_url, page_size), {"id", "name", "gxsj", "score"});
  EXPECT_TRUE(conn.has_value());
  if (!conn) return 0;
  class NullSink : public RowSink {
    Status on_row(const RowView&) override { return Status::ok(); }
  } sink;
  EXPECT_TRUE((*conn)->read(static_cast<size_t>(page_size), sink).has_value());
  const size_t before = allocation_count();
  auto n = (*conn)->read(static_cast<size_t>(page_size) * 2, sink);
  const size_t used = allocation_count() - before;
  EXPECT_TRUE(n.has_value());
  EXPECT_EQ(*n, static_cast<size_t>(page_size) * 2);
  return used;
}

TEST(HttpJsonProcess, NoHeapAllocationPerRecord) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(7000);
  AgencyProcess api(table.path(), dir.file("api.out"));
  ASSERT_NE(api.port(), 0);
  const size_t small = allocations_for_two_pages(api.base_url(), 100);
  const size_t large = allocations_for_two_pages(api.base_url(), 2000);
  // 3800 more records; per-page work (URL, headers, token) is the same.
  EXPECT_LT(large, small + 40) << "small pages: " << small << ", large pages: " << large;
}

}  // namespace
}  // namespace dxhub::testing
