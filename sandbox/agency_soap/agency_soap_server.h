// A mock agency SOAP service (Boost.Beast) that serves the rows of one
// SQLite table, for the soap_xml connector's tests, benchmark and demo.
//
// Routes:
//   POST /soap   a SOAP 1.1 (Content-Type text/xml) or 1.2 (application/
//                soap+xml) envelope whose Body holds
//                  <GetRows xmlns="urn:dxhub:agency-soap"><page>N</page>
//                  <pageSize>M</pageSize><offset>K</offset>
//                  <updatedSince>V</updatedSince></GetRows>
//                (each element optional: page 1, the default page size, no
//                offset = from the page, no updatedSince = every row);
//                answered in the request's SOAP version with
//                  <GetRowsResponse><total>T</total><page>N</page>
//                  <rows><row><col>value</col>...</row>...</rows>
//                  </GetRowsResponse>
//                NULL values are <col xsi:nil="true"/>. A bad request is a
//                SOAP fault (1.1 soap:Client / 1.2 env:Sender).
//   GET /rows?page=N&page_size=M&offset=K&updated_since=V   the same as
//                plain XML: <rows total="T"><row>...</row></rows>.
// Rows are ordered by (updated column, key) -- or by key alone -- and
// filtered by updated >= updatedSince when an updated column is set.
// The request XML is parsed by the hub's hardened parser.
//
// Switchable faults (thread-safe, change at run time) make the connector's
// retry and fault paths testable: the next N answers 503 with an HTML page,
// the next N answers 200 text/html, the next N answers cut in half with the
// connection closed, a delay before every answer, and a SOAP Server fault
// for page P (N times, or always).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/common/status.h"

namespace dxhub::agency_soap {

struct ServerOptions {
  std::string database;        // SQLite file (opened read-only)
  std::string table;
  std::string key_column;
  std::string updated_column;  // empty: no incremental filter, ordered by key
  std::string listen_address = "127.0.0.1";
  uint16_t port = 0;           // 0: ephemeral
  int default_page_size = 100;
  int max_page_size = 10000;
};

struct Faults {
  std::atomic<int> error_5xx{0};       // the next N answers: 503, HTML body
  std::atomic<int> html{0};            // the next N answers: 200 text/html
  std::atomic<int> truncate{0};        // the next N answers: half the body, then close
  std::atomic<int> hostile{0};         // the next N answers: 200 text/xml, an entity-expansion bomb
  std::atomic<int> slow_ms{0};         // delay before every answer
  std::atomic<int> fault_on_page{0};   // this page (1-based) gets a SOAP Server fault ...
  std::atomic<int> fault_count{-1};    // ... this many times (-1: always)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the table (kSource / kConfig naming it), binds, serves on a thread.
  Status start();
  void stop();
  uint16_t port() const { return port_; }
  Faults& faults() { return faults_; }
  // Requests answered or faulted so far.
  uint64_t requests() const { return requests_.load(); }

  struct Impl;

 private:
  ServerOptions options_;
  Faults faults_;
  std::atomic<uint64_t> requests_{0};
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace dxhub::agency_soap
