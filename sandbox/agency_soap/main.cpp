// dxhub-agency-soap: serves the rows of one SQLite table as a SOAP 1.1/1.2
// and plain XML service (agency_soap_server.h), for trying the soap_xml
// connector by hand. Prints the bound port, then serves until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "core/http/listen_address.h"
#include "sandbox/agency_soap/agency_soap_server.h"

int main(int argc, char** argv) {
  dxhub::agency_soap::ServerOptions options;
  std::string listen = "127.0.0.1:0";
  int fail_5xx = 0, html = 0, truncate = 0, hostile = 0, slow_ms = 0, fault_on_page = 0;
  CLI::App app{"Mock agency SOAP service over one SQLite table"};
  app.add_option("--db", options.database, "SQLite database file")->required();
  app.add_option("--table", options.table, "table to serve")->required();
  app.add_option("--key", options.key_column, "key column (order, paging)")->required();
  app.add_option("--updated-column", options.updated_column, "last-changed column (updatedSince filter, order)");
  app.add_option("--listen", listen, "HOST:PORT (port 0: ephemeral)")->capture_default_str();
  app.add_option("--page-size", options.default_page_size, "page size when the request gives none")->capture_default_str();
  app.add_option("--fail-5xx", fail_5xx, "fault: answer the first N requests 503 (HTML)");
  app.add_option("--html", html, "fault: answer the first N requests 200 text/html");
  app.add_option("--truncate", truncate, "fault: cut the first N answers in half");
  app.add_option("--hostile", hostile, "fault: answer the first N requests with an entity-expansion bomb");
  app.add_option("--slow-ms", slow_ms, "fault: delay every answer");
  app.add_option("--fault-on-page", fault_on_page, "fault: SOAP Server fault for this page, always");
  CLI11_PARSE(app, argc, argv);

  auto where = dxhub::http::parse_listen_address(listen, "--listen");
  if (!where) {
    std::fprintf(stderr, "%s\n", where.status().message().c_str());
    return 2;
  }
  options.listen_address = where->address;
  options.port = where->port;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dxhub::agency_soap::Server server(options);
  server.faults().error_5xx = fail_5xx;
  server.faults().html = html;
  server.faults().truncate = truncate;
  server.faults().hostile = hostile;
  server.faults().slow_ms = slow_ms;
  server.faults().fault_on_page = fault_on_page;
  if (dxhub::Status s = server.start(); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return s.code() == dxhub::StatusCode::kConfig ? 2 : 3;
  }
  std::printf("%u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server.stop();
  return 0;
}
