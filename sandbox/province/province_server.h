// The mock province as an embeddable HTTP server: Boost.Beast sessions on
// an io_context run by its own threads; keep-alive, a body limit, read and
// idle timeouts. start() returns once listening; stop() returns promptly,
// closing idle connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "sandbox/province/request_auth.h"

namespace dxhub::province {

class ProvinceApi;
class ProvinceStore;

struct ProvinceConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see ProvinceServer::port()
  std::string db_path = "province.db";
  std::map<std::string, AppCredential> credentials;  // by app key
  uint64_t max_body_bytes = uint64_t{256} << 20;
  // How long one request may take to arrive, and how long an idle
  // keep-alive connection is kept.
  std::chrono::milliseconds io_timeout{30'000};
  int threads = 2;
  size_t nonce_capacity = RequestAuthenticator::kDefaultNonceCapacity;
};

class ProvinceServer {
 public:
  explicit ProvinceServer(ProvinceConfig config);
  ~ProvinceServer();
  ProvinceServer(const ProvinceServer&) = delete;
  ProvinceServer& operator=(const ProvinceServer&) = delete;

  // Opens the database, binds, and starts serving on background threads.
  Status start();
  // The bound port (valid after start()).
  uint16_t port() const { return port_; }
  // Stops accepting, drops open connections and joins the threads. Idempotent.
  void stop();

 private:
  struct Runtime;

  ProvinceConfig config_;
  std::unique_ptr<ProvinceStore> store_;
  std::unique_ptr<RequestAuthenticator> auth_;
  std::unique_ptr<ProvinceApi> api_;
  std::unique_ptr<Runtime> runtime_;
  uint16_t port_ = 0;
};

}  // namespace dxhub::province
