#include "core/state/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/common/json_text.h"

namespace dxhub {

namespace fs = std::filesystem;

namespace {

constexpr int kPollsPerSecond = 10;

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

// The holder's description, read from the lock file ("" if unreadable or not yet written).
std::string describe_holder(int fd) {
  std::string text;
  char buf[1024];
  for (off_t offset = 0; text.size() < 4096;) {
    ssize_t n = pread(fd, buf, sizeof buf, offset);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  auto field = [&](const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end()) return "?";
    return it->is_string() ? it->get<std::string>() : dump_json_safely(*it);
  };
  return "dxhub pid " + field("pid") + " on host " + field("host") + " since " + field("since") + " (" +
         field("command") + ")";
}

Status write_holder(int fd, const std::string& command) {
  nlohmann::json holder = {{"pid", static_cast<int64_t>(getpid())},
                           {"host", host_name()},
                           {"since", iso_time_ms(wall_clock_ms())},
                           {"command", command}};
  std::string text = dump_json_safely(holder) + "\n";
  if (ftruncate(fd, 0) != 0) return io_error(std::string("truncate: ") + std::strerror(errno));
  if (pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return io_error(std::string("write: ") + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

std::string iso_time_ms(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Expected<StateLock> StateLock::acquire(const std::string& state_db, const std::string& command, int wait_seconds) {
  std::string path = lock_path(state_db);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT) {
      return io_error("state lock " + path + ": directory " + fs::path(path).parent_path().string() +
                      " does not exist");
    }
    return io_error("state lock " + path + ": cannot open: " + std::strerror(error));
  }
  StateLock lock(fd, path);  // closes fd on every early return
  const int polls = wait_seconds > 0 ? wait_seconds * kPollsPerSecond : 0;
  for (int poll = 0;; ++poll) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return io_error("state lock " + path + ": flock: " + std::strerror(errno));
    }
    if (poll >= polls) {
      // The holder writes its description just after it took the lock: give
      // it a moment (bounded) rather than report "another process".
      std::string holder = describe_holder(fd);
      for (int tries = 0; holder.empty() && tries < 50; ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        holder = describe_holder(fd);
      }
      std::string message = "state " + state_db + " is in use by " + (holder.empty() ? "another dxhub process" : holder);
      if (wait_seconds > 0) message += " (waited " + std::to_string(wait_seconds) + " s)";
      return busy_error(message + "; run again when it has finished, or pass --wait SECONDS");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 / kPollsPerSecond));
  }
  if (Status written = write_holder(fd, command); !written.is_ok()) {
    return written.with_context("state lock " + path);
  }
  return lock;
}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

StateLock::~StateLock() { release(); }

void StateLock::release() {
  if (fd_ >= 0) {
    ::close(fd_);  // drops the flock with the last descriptor
    fd_ = -1;
  }
}

}  // namespace dxhub
