// The `push-events` subcommand of dxhub-sample: posts household-registration
// change events (population_events.h) to the hub's push-ingest endpoint
// (ingest_client.h), paced at a rate, from one or more connections, and
// reports what was accepted. Exit codes: 0 every post accepted, 2 bad
// arguments, 4 some posts undelivered after the attempts, 5 some refused
// (5 wins when both happen: a refusal needs a fix, not a rerun).
#pragma once

#include <cstdint>
#include <string>

namespace dxhub::sample {

inline constexpr int kPushExitOk = 0;
inline constexpr int kPushExitBadArguments = 2;
inline constexpr int kPushExitUndelivered = 4;
inline constexpr int kPushExitRefused = 5;

struct PushEventsOptions {
  std::string url;
  std::string app_key;
  std::string secret_env = "DXHUB_INGEST_SECRET";
  std::string resource = "household_population";
  std::string household_db;         // empty: a generated population of initial_residents
  int64_t initial_residents = 2000;
  int64_t events = -1;              // -1: see seconds (neither: 100 events)
  double seconds = 0;               // > 0: generate for this long instead of a count
  double rate = 0;                  // events per second; 0 = as fast as possible
  int records_per_post = 1;
  int concurrency = 1;
  int max_attempts = 20;
  uint64_t seed = 1;
  std::string post_id_prefix;       // empty: a random one, so runs never collide
  std::string expect_out;
  std::string latency_out;
  bool json = false;
};

// Runs the command with the secret `secret` (read from the environment by
// the caller); prints the summary on stdout. Returns the exit code.
int push_events(const PushEventsOptions& options, const std::string& secret);

// `argv[0]` is "push-events": parses the options (exit 2 on bad ones, 0 for
// --help), reads the secret from the named environment variable and runs.
int run_push_events_command(int argc, char** argv);

}  // namespace dxhub::sample
