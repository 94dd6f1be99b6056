// One writer per state file: `dxhub sync`, the outbox and dead-letter
// commands (and later the daemon) hold an exclusive flock(2) on
// `<state_db>.lock` for as long as they may write. The lock file names its
// holder (pid, host, start time, command) so a refused second process can
// say who is in the way. flock belongs to the open file: a holder that is
// killed releases it with its last descriptor, so a crash never leaves the
// state locked. The file itself stays (removing it would race with a
// process that has just opened it).
#pragma once

#include <string>

#include "core/common/status.h"

namespace dxhub {

class StateLock {
 public:
  // Takes the lock beside `state_db`. When another process holds it: waits
  // up to `wait_seconds` (0 = not at all), polling, then kBusy naming the
  // holder ("state var/x.db is in use by dxhub pid 1234 on host h since
  // 2026-12-01T10:00:00.000Z (sync)"). Other failures are kIo.
  static Expected<StateLock> acquire(const std::string& state_db, const std::string& command, int wait_seconds = 0);

  static std::string lock_path(const std::string& state_db) { return state_db + ".lock"; }

  StateLock(StateLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();  // releases

  const std::string& path() const { return path_; }

 private:
  StateLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void release();

  int fd_ = -1;
  std::string path_;
};

// "2026-12-01T10:00:00.123Z" for a wall-clock time in ms since the Unix epoch.
std::string iso_time_ms(int64_t ms);

}  // namespace dxhub
