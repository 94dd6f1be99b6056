#include "tests/delivery/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace dxhub::testing {

namespace {

int bind_loopback_ephemeral() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

int unused_loopback_port() {
  int fd = bind_loopback_ephemeral();
  if (fd < 0) return 0;
  int port = port_of(fd);
  ::close(fd);  // not listening: connecting to it is refused
  return port;
}

LoopbackHttpServer::LoopbackHttpServer() {
  int fd = bind_loopback_ephemeral();
  if (fd < 0) return;
  if (::listen(fd, 16) != 0) {
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = port_of(fd);
  thread_ = std::thread([this] { serve(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void LoopbackHttpServer::push(ScriptedResponse response) {
  std::lock_guard<std::mutex> lock(mutex_);
  script_.push_back(std::move(response));
}

std::vector<RecordedRequest> LoopbackHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

ScriptedResponse LoopbackHttpServer::next_response() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (script_.empty()) return {ScriptedResponse::Action::kRespond, 599, R"({"code":"NO_SCRIPT","message":"none"})", {}};
  ScriptedResponse r = std::move(script_.front());
  script_.pop_front();
  return r;
}

void LoopbackHttpServer::serve() {
  std::vector<Connection> connections;
  char buffer[65536];
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Connection& c : connections) fds.push_back({c.fd, POLLIN, 0});
    // Short timeout: the stop flag is seen within 20 ms.
    if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) {
        connections.push_back({fd, {}, false});
        ++connections_accepted_;
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Connection& c = connections[i - 1];
      ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      bool keep = n > 0;
      if (keep && !c.hung) {
        c.input.append(buffer, static_cast<size_t>(n));
        keep = handle_input(c);
      }
      if (!keep) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
  }
  for (const Connection& c : connections) ::close(c.fd);
}

bool LoopbackHttpServer::handle_input(Connection& c) {
  for (;;) {
    size_t head_end = c.input.find("\r\n\r\n");
    if (head_end == std::string::npos) return true;
    RecordedRequest request;
    std::string head = c.input.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.find(' ', sp1 + 1);
    request.method = request_line.substr(0, sp1);
    request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) request.headers[lowercase(line.substr(0, colon))] = trim(line.substr(colon + 1));
      pos = next + 2;
    }
    size_t content_length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      content_length = std::stoul(it->second);
    }
    if (c.input.size() < head_end + 4 + content_length) return true;  // body not complete yet
    request.body = c.input.substr(head_end + 4, content_length);
    c.input.erase(0, head_end + 4 + content_length);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(std::move(request));
    }

    ScriptedResponse r = next_response();
    if (r.action == ScriptedResponse::Action::kClose) return false;
    if (r.action == ScriptedResponse::Action::kHang) {
      c.hung = true;  // from now on only the client's close is noticed
      return true;
    }
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " Scripted\r\n";
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
    out += "\r\n";
    if (r.action == ScriptedResponse::Action::kPartial) {
      out += r.body.substr(0, r.body.size() / 2);
      send_all(c.fd, out);
      return false;
    }
    out += r.body;
    send_all(c.fd, out);
  }
}

}  // namespace dxhub::testing
