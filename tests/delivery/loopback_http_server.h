// A tiny scripted HTTP/1.1 server for client tests: listens on 127.0.0.1 on
// an ephemeral port, serves on its own thread, answers each request with the
// next scripted response and records what it received. Understands only what
// the province client sends (Content-Length bodies, keep-alive).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dxhub::testing {

struct ScriptedResponse {
  enum class Action {
    kRespond,  // send the response, keep the connection open
    kHang,     // read the request, never answer (until the client gives up)
    kClose,    // close the connection without answering
    kPartial,  // announce the full Content-Length, send half the body, close
  };
  Action action = Action::kRespond;
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct RecordedRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class LoopbackHttpServer {
 public:
  LoopbackHttpServer();
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  bool listening() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Queued in order; with the queue empty the server answers 599.
  void push(ScriptedResponse response);
  std::vector<RecordedRequest> requests() const;
  int connections_accepted() const { return connections_accepted_.load(); }

 private:
  struct Connection {
    int fd = -1;
    std::string input;
    bool hung = false;
  };
  void serve();
  // Parses and answers complete requests in `c.input`; false = close it.
  bool handle_input(Connection& c);
  ScriptedResponse next_response();

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_accepted_{0};
  mutable std::mutex mutex_;
  std::deque<ScriptedResponse> script_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
int unused_loopback_port();

}  // namespace dxhub::testing
