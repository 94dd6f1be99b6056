// The mock province as an embeddable HTTP server: its store and API
// (province_api.h) behind the generic HTTP server of http_server.h, with
// that server's limits against abuse, and fault injection switchable at run
// time (fault_injector.h). start() returns once listening; stop() returns
// promptly, closing idle connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/http/fault_injector.h"
#include "core/http/http_server.h"
#include "core/http/request_auth.h"

namespace dxhub::province {

using http::AppCredential;
using http::FaultInjector;
using http::FaultSettings;
using http::HttpServer;
using http::RequestAuthenticator;

class ProvinceApi;
class ProvinceStore;

// The server's limits (body size, deadlines, connection cap, threads) are
// those of core/http's HttpServerOptions, inherited.
struct ProvinceConfig : http::HttpServerOptions {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see ProvinceServer::port()
  std::string db_path = "province.db";
  std::map<std::string, AppCredential> credentials;  // by app key
  size_t nonce_capacity = RequestAuthenticator::kDefaultNonceCapacity;
  // Fault injection at start (all off by default); see set_faults().
  FaultSettings faults;
  uint64_t fault_seed = 1;
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

  // Fault injection for the /api/v1/resources/... routes; takes effect for
  // the next request. Also reachable as POST /api/v1/admin/faults.
  void set_faults(const FaultSettings& faults) { faults_->set(faults); }
  FaultSettings faults() const { return faults_->settings(); }
  void reseed_faults(uint64_t seed) { faults_->reseed(seed); }

  // Connections open right now (for tests and diagnostics).
  size_t open_connections() const;

 private:
  ProvinceConfig config_;
  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<ProvinceStore> store_;
  std::unique_ptr<RequestAuthenticator> auth_;
  std::unique_ptr<ProvinceApi> api_;
  std::unique_ptr<HttpServer> http_;
  uint16_t port_ = 0;
};

}  // namespace dxhub::province
