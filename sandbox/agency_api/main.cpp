// dxhub-agency-api: the mock agency JSON API (agency_api.h) as a process.
// Prints "listening on PORT" once bound; runs until SIGINT/SIGTERM.
// Secrets come from the environment, never from the command line:
//   DXHUB_AGENCY_CLIENT_SECRET (bearer), DXHUB_AGENCY_APP_SECRET (app_key),
//   DXHUB_AGENCY_PASSWORD (basic).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <iostream>
#include <thread>

#include "core/http/listen_address.h"
#include "sandbox/agency_api/agency_api.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dxhub mock agency JSON API: serves one SQLite table as JSON pages"};
  dxhub::agency::AgencyApiOptions options;
  std::string listen = "127.0.0.1:0";
  std::string auth = "none";
  std::string faults;
  app.add_option("--db", options.db_path, "SQLite database")->required();
  app.add_option("--table", options.table, "table to serve")->required();
  app.add_option("--key", options.key_column, "key column")->required();
  app.add_option("--updated-column", options.updated_column, "last-changed column (enables updated_since)");
  app.add_option("--listen", listen, "HOST:PORT (port 0: any)");
  app.add_option("--auth", auth, "none | bearer | app_key | basic");
  app.add_option("--client-id", options.client_id, "bearer client id");
  app.add_option("--app-key", options.app_key, "app_key: the app key");
  app.add_option("--username", options.username, "basic: the user");
  app.add_option("--token-ttl", options.token_ttl_seconds, "bearer: token lifetime, seconds");
  app.add_option("--faults", faults, "initial fault plan (JSON, as POST /control)");
  CLI11_PARSE(app, argc, argv);

  if (auth == "none") options.auth = dxhub::agency::Auth::kNone;
  else if (auth == "bearer") options.auth = dxhub::agency::Auth::kBearer;
  else if (auth == "app_key") options.auth = dxhub::agency::Auth::kAppKey;
  else if (auth == "basic") options.auth = dxhub::agency::Auth::kBasic;
  else {
    std::cerr << "--auth must be none, bearer, app_key or basic\n";
    return 2;
  }
  options.client_secret = env_or_empty("DXHUB_AGENCY_CLIENT_SECRET");
  options.app_secret = env_or_empty("DXHUB_AGENCY_APP_SECRET");
  options.password = env_or_empty("DXHUB_AGENCY_PASSWORD");
  auto where = dxhub::http::parse_listen_address(listen, "--listen");
  if (!where) {
    std::cerr << where.status().message() << "\n";
    return 2;
  }
  dxhub::agency::AgencyApi api(options);
  if (!faults.empty()) {
    auto j = nlohmann::json::parse(faults, nullptr, false);
    auto plan = dxhub::agency::FaultPlan::from_json(j.is_discarded() ? nlohmann::json() : j);
    if (!plan) {
      std::cerr << "--faults: " << plan.status().message() << "\n";
      return 2;
    }
    api.set_faults(*plan);
  }
  if (auto s = api.start(where->address, where->port); !s.is_ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("listening on %u\n", api.port());
  std::fflush(stdout);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  api.stop();
  return 0;
}
