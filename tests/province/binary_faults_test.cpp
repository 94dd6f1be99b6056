// The dxhub-province executable's abuse and fault flags: --help names them
// (other tests and tools use these exact names), out-of-range values are
// refused, and faults given on the command line hit the resource routes
// only, until switched off through the admin endpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/province/test_client.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

pid_t spawn_province(const std::vector<std::string>& args, const fs::path& dir) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (dir / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> all = {DXHUB_PROVINCE_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string secret = std::string("DXHUB_PROVINCE_APP_SECRET=") + testing::kTestSecret;
  char* envp[] = {secret.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, all[0].c_str(), &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

class BinaryFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("province_binf_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(BinaryFaultsTest, HelpNamesEveryFlag) {
  pid_t pid = spawn_province({"--help"}, dir_);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(10)), 0);
  std::string help = slurp(dir_ / "out");
  for (const char* flag : {"--header-timeout", "--request-timeout", "--idle-timeout", "--max-connections",
                           "--max-body-mib", "--fault-5xx", "--fault-429", "--fault-retry-after", "--fault-latency-ms",
                           "--fault-drop", "--fault-lose-response", "--fault-seed"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag << "\n" << help;
  }
}

TEST_F(BinaryFaultsTest, RefusesOutOfRangeFaults) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"--fault-5xx", "1.5"}, {"--fault-drop", "-0.1"},
                                       {"--fault-latency-ms", "-5"}, {"--max-connections", "0"}}) {
    bad.insert(bad.end(), {"--app-key", "k", "--db", (dir_ / "p.db").string()});
    pid_t pid = spawn_province(bad, dir_);
    ASSERT_GT(pid, 0);
    EXPECT_NE(wait_exit(pid, std::chrono::seconds(10)), 0) << bad[0];
  }
}

TEST_F(BinaryFaultsTest, CommandLineFaultsHitResourcesUntilSwitchedOff) {
  fs::path port_file = dir_ / "port";
  pid_t pid = spawn_province({"--listen", "127.0.0.1:0", "--db", (dir_ / "p.db").string(), "--app-key",
                              testing::kTestAppKey, "--port-file", port_file.string(), "--fault-429", "1",
                              "--fault-retry-after", "4", "--fault-seed", "9"},
                             dir_);
  ASSERT_GT(pid, 0);
  uint16_t port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::string text = slurp(port_file);
    if (!text.empty()) port = static_cast<uint16_t>(std::stoi(text));
    else std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "no port file; stderr: " << slurp(dir_ / "err");
  }
  {
    testing::TestClient client(port);
    auto r = client.get("/api/v1/resources/nothing_here");
    EXPECT_EQ(r.status, 429u) << testing::describe(r);
    EXPECT_EQ(r.json["code"], "INJECTED_FAULT");
    EXPECT_EQ(r.headers["Retry-After"], "4");
    EXPECT_TRUE(client.request(http::verb::get, "/healthz").ok());
    r = client.get("/api/v1/admin/faults");
    ASSERT_TRUE(r.ok()) << testing::describe(r);
    EXPECT_EQ(r.json["data"]["rate_limit_429"], 1.0);
    EXPECT_EQ(r.json["data"]["retry_after_s"], 4);
    r = client.post_json("/api/v1/admin/faults", nlohmann::json::object());
    ASSERT_TRUE(r.ok()) << testing::describe(r);
    r = client.get("/api/v1/resources/nothing_here");
    EXPECT_EQ(r.json["code"], "RESOURCE_NOT_FOUND") << testing::describe(r);
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(5)), 0);
  std::string log = slurp(dir_ / "err");
  EXPECT_NE(log.find("fault injection on"), std::string::npos) << log;
  EXPECT_EQ(log.find(testing::kTestSecret), std::string::npos) << log;
}

}  // namespace
}  // namespace dxhub::province
