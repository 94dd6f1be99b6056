// dxhub-province: the mock provincial platform as a standalone process.
// The app secret comes from $DXHUB_PROVINCE_APP_SECRET or --secret-file,
// never from the command line (it would show in `ps`), and is never logged.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/common/log.h"
#include "core/http/listen_address.h"
#include "sandbox/province/province_server.h"

namespace {

using dxhub::Expected;
using dxhub::Status;

Expected<std::string> read_secret(const std::string& secret_file) {
  std::string secret;
  if (!secret_file.empty()) {
    std::ifstream in(secret_file, std::ios::binary);
    if (!in) return dxhub::config_error("cannot read secret file " + secret_file);
    std::ostringstream text;
    text << in.rdbuf();
    secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  } else if (const char* env = std::getenv("DXHUB_PROVINCE_APP_SECRET"); env != nullptr) {
    secret = env;
  }
  if (secret.empty()) {
    return dxhub::config_error("no app secret: set DXHUB_PROVINCE_APP_SECRET or pass --secret-file");
  }
  return secret;
}

Status parse_listen(const std::string& listen, dxhub::province::ProvinceConfig& config) {
  DXHUB_ASSIGN_OR_RETURN(dxhub::http::ListenAddress where, dxhub::http::parse_listen_address(listen, "--listen"));
  config.listen_address = where.address;
  config.port = where.port;
  return Status::ok();
}

Status write_port_file(const std::string& path, uint16_t port) {
  // Written to a temporary name and renamed, so readers never see half a file.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return dxhub::io_error("cannot write port file " + tmp);
    out << port << "\n";
    if (!out.flush()) return dxhub::io_error("cannot write port file " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return dxhub::io_error("cannot rename port file to " + path + ": " + ec.message());
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dxhub-province: mock provincial data platform (signed HTTP API, Avro uploads, SQLite storage)"};
  std::string listen = "127.0.0.1:8750";
  std::string db_path = "province.db";
  std::string app_key;
  std::string secret_file;
  std::string port_file;
  std::string log_level = "info";
  uint64_t max_body_mib = 256;
  int timeout_s = 30;
  int header_timeout_s = 10;
  int request_timeout_s = 120;
  int idle_timeout_s = 30;
  size_t max_connections = 512;
  int threads = 2;
  dxhub::province::FaultSettings faults;
  uint64_t fault_seed = 1;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: ephemeral)")->capture_default_str();
  app.add_option("--db", db_path, "SQLite database file")->capture_default_str();
  app.add_option("--app-key", app_key, "the AppKey clients sign with")->required();
  app.add_option("--secret-file", secret_file,
                 "file holding the AppSecret (default: $DXHUB_PROVINCE_APP_SECRET)");
  app.add_option("--port-file", port_file, "write the bound port here once listening");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")->capture_default_str();
  app.add_option("--max-body-mib", max_body_mib, "largest accepted request body, MiB")->capture_default_str();
  app.add_option("--timeout", timeout_s, "longest silence inside a request body, and per response write, seconds")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--header-timeout", header_timeout_s,
                 "a request's header must arrive within this many seconds of its first byte")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--request-timeout", request_timeout_s,
                 "a request's header and body must arrive within this many seconds")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--idle-timeout", idle_timeout_s, "an idle keep-alive connection is closed after this many seconds")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-connections", max_connections,
                 "open connections at most; more are answered 503 TOO_MANY_CONNECTIONS and closed")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "server threads")->capture_default_str();
  // Fault injection (testing the hub's retries); only /api/v1/resources/... routes,
  // switchable at run time with POST /api/v1/admin/faults.
  auto* fault_group = app.add_option_group("Fault injection", "for testing clients; all off by default");
  fault_group->add_option("--fault-5xx", faults.error_5xx, "fraction of requests answered 503 INJECTED_FAULT")
      ->check(CLI::Range(0.0, 1.0));
  fault_group->add_option("--fault-429", faults.rate_limit_429, "fraction answered 429 with Retry-After")
      ->check(CLI::Range(0.0, 1.0));
  fault_group->add_option("--fault-retry-after", faults.retry_after_s, "Retry-After of those 429s, seconds")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, dxhub::province::FaultSettings::kMaxRetryAfterS));
  fault_group->add_option("--fault-latency-ms", faults.latency_ms, "latency added before every answer, ms")
      ->check(CLI::Range(int64_t{0}, dxhub::province::FaultSettings::kMaxLatencyMs));
  fault_group->add_option("--fault-drop", faults.drop,
                          "fraction of connections closed after the request header (no body read, no answer)")
      ->check(CLI::Range(0.0, 1.0));
  fault_group->add_option("--fault-lose-response", faults.lose_response,
                          "fraction of requests handled in full (e.g. stored) whose answer is never sent")
      ->check(CLI::Range(0.0, 1.0));
  fault_group->add_option("--fault-seed", fault_seed, "seed of the fault RNG (same seed, same faults)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  dxhub::init_logging(log_level);
  dxhub::province::ProvinceConfig config;
  if (Status s = parse_listen(listen, config); !s.is_ok()) {
    spdlog::error("{}", s.to_string());
    return 2;
  }
  auto secret = read_secret(secret_file);
  if (!secret) {
    spdlog::error("{}", secret.status().to_string());
    return 2;
  }
  config.db_path = db_path;
  config.credentials[app_key].secret = std::move(*secret);
  config.max_body_bytes = max_body_mib << 20;
  config.io_timeout = std::chrono::seconds(std::max(1, timeout_s));
  config.header_timeout = std::chrono::seconds(std::max(1, header_timeout_s));
  config.request_timeout = std::chrono::seconds(std::max(1, request_timeout_s));
  config.idle_timeout = std::chrono::seconds(std::max(1, idle_timeout_s));
  config.max_connections = std::max<size_t>(1, max_connections);
  config.threads = threads;
  config.faults = faults;
  config.fault_seed = fault_seed;
  if (faults.any()) spdlog::warn("province: fault injection on: {}", faults.to_json().dump());

  // Block the signals before any thread starts so only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dxhub::province::ProvinceServer server(std::move(config));
  if (Status s = server.start(); !s.is_ok()) {
    spdlog::error("{}", s.to_string());
    return 1;
  }
  if (!port_file.empty()) {
    if (Status s = write_port_file(port_file, server.port()); !s.is_ok()) {
      spdlog::error("{}", s.to_string());
      server.stop();
      return 1;
    }
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("province: signal {} received, stopping", signal_number);
  server.stop();
  return 0;
}
