// A small HTTP/1.1 server (Boost.Beast sessions on an io_context run by its
// own threads) for signed-protocol endpoints: the mock province uses it, and
// the hub's push-ingest endpoint can. It knows nothing of the routes: an
// HttpHandler (http_handler.h) decides from each request's header -- before
// the body is read -- and then handles the whole request.
//
// Limits against abuse: a body limit; a header deadline from the request's
// first byte (from the accept, for a connection's first request); a
// deadline for the whole request (header and body); a silence timeout
// inside bodies and per answer write; an idle keep-alive timeout; a cap on
// open connections, above which new ones get a canned 503
// TOO_MANY_CONNECTIONS and are closed unread. Keep-alive, 100-continue
// (sent only once the header is accepted), pipelining.
//
// Fault injection (fault_injector.h) applies to requests the handler marks
// faultable. stop() returns promptly, closing open connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/http/fault_injector.h"
#include "core/http/http_handler.h"

namespace dxhub::http {

struct HttpServerOptions {
  std::string server_name = "dxhub";  // the Server header
  std::string log_name = "http";      // prefix of the server's own log lines
  uint64_t max_body_bytes = uint64_t{256} << 20;
  // The header must be in within header_timeout of the request's first byte
  // (of the accept, for a connection's first request); header and body
  // within request_timeout. Over either, the connection is closed.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds request_timeout{120'000};
  // The longest silence inside a body, and the longest a response write may take.
  std::chrono::milliseconds io_timeout{30'000};
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{30'000};
  // Open connections at most; the next is answered 503 TOO_MANY_CONNECTIONS
  // and closed without its request being read.
  size_t max_connections = 512;
  int threads = 2;
  // false: answers below 400 go to the debug log only (a push endpoint's
  // thousands of accepted posts a second); refusals are always logged.
  bool log_successes = true;
};

class HttpServer {
 public:
  // `handler` and `faults` must outlive the server.
  HttpServer(HttpHandler& handler, FaultInjector& faults, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts serving on background threads.
  Status start(const std::string& listen_address, uint16_t port);
  uint16_t port() const { return port_; }
  // Stops accepting, drops open connections and joins the threads. Idempotent.
  void stop();
  size_t open_connections() const;

 private:
  struct Runtime;

  HttpHandler& handler_;
  FaultInjector& faults_;
  HttpServerOptions options_;
  std::unique_ptr<Runtime> runtime_;
  uint16_t port_ = 0;
};

}  // namespace dxhub::http
