// `dxhub run`: the hub as a long-running service. One Boost.Asio event loop
// (the calling thread) owns the schedule planner and a timer; due resources
// are synced on a bounded pool of worker threads (daemon.workers), each run
// one resource through the same SyncEngine as `dxhub sync`, so every
// guarantee of a one-shot sync holds per run. The state lock is held for the
// daemon's lifetime: a one-shot `dxhub sync` on the same state is refused
// (exit 6) while it runs.
//
// Signals:
//   SIGTERM, SIGINT  no new runs; running ones stop reading after their
//                    current chunk is durable and deliver what they spooled;
//                    exit 0 once they are done, or after
//                    daemon.shutdown_grace_seconds at the latest (the state is
//                    consistent at every commit, so the next start resumes).
//   SIGHUP           reload the configuration and plugins; a config that does
//                    not load (or whose plugins do not) is refused with one
//                    log line and the old one kept. Runs in progress finish on
//                    the configuration they started with.
#pragma once

#include <string>

namespace dxhub {

struct DaemonOptions {
  std::string config_path;
  int lock_wait_seconds = 0;  // --wait-lock
};

// Runs until SIGTERM/SIGINT; returns the process exit code (0 after a
// clean stop; 2 when the configuration does not load at start; 6 when the
// state is in use).
int run_daemon(const DaemonOptions& options);

}  // namespace dxhub
