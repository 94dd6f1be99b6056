// Runs the dxhub-province executable: --help, port file, signed request,
// request log without the secret, clean exit on SIGTERM.
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

extern char** environ;

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Spawns the binary with stdout/stderr redirected to files.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const fs::path& out,
            const fs::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits up to `limit` for the child; -1 when it is still running.
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

class ProvinceBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("province_bin_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ProvinceBinaryTest, HelpExitsZero) {
  pid_t pid = spawn({DXHUB_PROVINCE_BINARY, "--help"}, {}, dir_ / "out", dir_ / "err");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(10)), 0);
  std::string help = read_file(dir_ / "out");
  EXPECT_NE(help.find("--port-file"), std::string::npos) << help;
  EXPECT_NE(help.find("--secret-file"), std::string::npos) << help;
}

TEST_F(ProvinceBinaryTest, RefusesToStartWithoutASecret) {
  pid_t pid = spawn({DXHUB_PROVINCE_BINARY, "--app-key", "k", "--db", (dir_ / "p.db").string()}, {}, dir_ / "out",
                    dir_ / "err");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(10)), 2);
  EXPECT_NE(read_file(dir_ / "err").find("DXHUB_PROVINCE_APP_SECRET"), std::string::npos);
}

TEST_F(ProvinceBinaryTest, ServesSignedRequestsAndStopsOnSigterm) {
  fs::path port_file = dir_ / "port";
  pid_t pid = spawn({DXHUB_PROVINCE_BINARY, "--listen", "127.0.0.1:0", "--db", (dir_ / "p.db").string(),
                     "--app-key", testing::kTestAppKey, "--port-file", port_file.string()},
                    {std::string("DXHUB_PROVINCE_APP_SECRET=") + testing::kTestSecret}, dir_ / "out", dir_ / "err");
  ASSERT_GT(pid, 0);
  uint16_t port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::string text = read_file(port_file);
    if (!text.empty()) port = static_cast<uint16_t>(std::stoi(text));
    else std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "no port file; stderr: " << read_file(dir_ / "err");
  }
  {
    testing::TestClient client(port);
    EXPECT_TRUE(client.request(http::verb::get, "/healthz").ok());
    auto r = client.get("/api/v1/resources/nothing_here");
    EXPECT_EQ(r.status, 404u) << testing::describe(r);
    EXPECT_EQ(r.json["code"], "RESOURCE_NOT_FOUND");
    testing::Signing bad;
    bad.secret = "wrong";
    r = client.get("/api/v1/resources/nothing_here", bad);
    EXPECT_EQ(r.status, 401u);
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid, std::chrono::seconds(5)), 0);
  std::string log = read_file(dir_ / "err");
  EXPECT_NE(log.find("GET /healthz 200"), std::string::npos) << log;
  EXPECT_NE(log.find(std::string("app_key=") + testing::kTestAppKey), std::string::npos) << log;
  EXPECT_EQ(log.find(testing::kTestSecret), std::string::npos) << log;
}

}  // namespace
}  // namespace dxhub::province
