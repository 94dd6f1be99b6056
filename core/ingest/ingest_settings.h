// The hub config's "ingest" section: the push-ingest endpoint of `dxhub run`
// (core/ingest/ingest_service.h), where agency systems post change events
// for resources whose source is "push".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dxhub {

// One agency's credentials for the endpoint. The secret never sits in the
// config file: secret_env names an environment variable, secret_file a file.
struct IngestAppKey {
  std::string app_key;
  std::string secret_env;   // read only by `dxhub run` (load_ingest_secrets), so that
  std::string secret_file;  // other commands need no ingest secret
  std::string secret;       // filled by load_ingest_secrets
  std::string plugin;                  // the agency (plugin name) whose push resources it may post
  std::vector<std::string> resources;  // a subset of them; empty = all of the plugin's push resources
};

struct IngestSettings {
  std::string listen;  // "ADDRESS:PORT"; "" (default) = no endpoint
  // A micro-batch closes at batch_rows records or linger_ms after its first
  // record was accepted, whichever comes first, and is delivered at once.
  int64_t linger_ms = 200;
  int64_t batch_rows = 5000;
  int64_t max_post_bytes = int64_t{4} << 20;  // larger posts: 413
  int64_t max_records_per_post = 10000;       // more: 413
  // Posts are refused (503 BACKLOG_FULL, Retry-After) while this many
  // records of the resource wait undelivered in staging.
  int64_t max_staged_records = 1'000'000;
  int64_t post_id_retention_hours = 72;  // how long a post_id is recognised as a repeat
  int threads = 2;                       // the endpoint's I/O threads
  std::vector<IngestAppKey> app_keys;
};

}  // namespace dxhub
