// Runs a program to completion with a time limit, capturing its output.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dxhub::testing {

struct ProcessResult {
  int exit_code = -1;  // -1: killed (timeout or signal)
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          int timeout_seconds);

// A program left running (a daemon): its output goes to `log_path`
// (stdout and stderr together); SIGKILLed on destruction if still running.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                    std::string log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  void signal(int signal_number) const;
  // The exit code once it exited within `timeout_seconds` (-1: killed by
  // a signal); nullopt if it is still running then.
  std::optional<int> wait(int timeout_seconds);
  bool running();
  std::string log() const;  // what it printed so far
  int log_count(const std::string& text) const;  // occurrences of `text` in it
  // Waits (bounded) until the log holds `text` `times` times; false on timeout or exit.
  bool wait_for_log(const std::string& text, int times, int timeout_seconds);

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

}  // namespace dxhub::testing
