#include "core/state/state_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dxhub_state_lock_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string db() const { return (dir_ / "state.db").string(); }
  fs::path dir_;
};

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

TEST_F(StateLockTest, SecondHolderIsRefusedWithTheFirstNamed) {
  auto first = StateLock::acquire(db(), "sync");
  ASSERT_TRUE(first) << first.status().to_string();
  EXPECT_TRUE(fs::exists(db() + ".lock"));
  auto second = StateLock::acquire(db(), "sync");  // another open file description: flock refuses it
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  const std::string& m = second.status().message();
  EXPECT_NE(m.find("state " + db() + " is in use by dxhub pid " + std::to_string(getpid())), std::string::npos) << m;
  EXPECT_NE(m.find("on host " + host_name()), std::string::npos) << m;
  EXPECT_NE(m.find(" since 20"), std::string::npos) << m;
  EXPECT_NE(m.find("Z (sync)"), std::string::npos) << m;
}

TEST_F(StateLockTest, ReleasedWhenTheHolderIsDestroyed) {
  {
    auto first = StateLock::acquire(db(), "sync");
    ASSERT_TRUE(first);
  }
  auto again = StateLock::acquire(db(), "outbox retry");
  EXPECT_TRUE(again) << again.status().to_string();
}

TEST_F(StateLockTest, WaitGivesUpAfterItsSecondsAndSaysSo) {
  auto first = StateLock::acquire(db(), "sync");
  ASSERT_TRUE(first);
  auto start = std::chrono::steady_clock::now();
  auto second = StateLock::acquire(db(), "sync", 1);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_NE(second.status().message().find("waited 1 s"), std::string::npos);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));  // it did wait
}

TEST_F(StateLockTest, WaitSucceedsOnceTheHolderLetsGo) {
  auto first = StateLock::acquire(db(), "sync");
  ASSERT_TRUE(first);
  std::thread releaser([held = std::move(first).value()]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    StateLock dropped = std::move(held);  // released when this scope ends
  });
  auto second = StateLock::acquire(db(), "sync", 60);
  releaser.join();
  EXPECT_TRUE(second) << second.status().to_string();
}

// flock belongs to the open file: a holder killed with SIGKILL (no
// destructor, no cleanup) releases the lock with its process.
TEST_F(StateLockTest, KilledHolderReleasesTheLock) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto held = StateLock::acquire(db(), "sync");
    char c = held ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    for (;;) pause();
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto busy = StateLock::acquire(db(), "sync");
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.status().message().find("pid " + std::to_string(child)), std::string::npos)
      << busy.status().message();
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  auto after = StateLock::acquire(db(), "sync");
  EXPECT_TRUE(after) << after.status().to_string();
}

TEST_F(StateLockTest, MissingDirectoryIsAnIoError) {
  auto lock = StateLock::acquire((dir_ / "nope" / "state.db").string(), "sync");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.status().code(), StatusCode::kIo);
  EXPECT_NE(lock.status().message().find("directory " + (dir_ / "nope").string() + " does not exist"),
            std::string::npos)
      << lock.status().message();
}

TEST(IsoTimeMs, FormatsMillisecondsInUtc) {
  EXPECT_EQ(iso_time_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_time_ms(1796119200123), "2026-12-01T10:00:00.123Z");
}

}  // namespace
}  // namespace dxhub
