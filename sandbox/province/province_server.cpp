#include "sandbox/province/province_server.h"

#include "core/http/http_server.h"
#include "sandbox/province/province_api.h"
#include "sandbox/province/province_store.h"

namespace dxhub::province {

ProvinceServer::ProvinceServer(ProvinceConfig config)
    : config_(std::move(config)), faults_(std::make_unique<FaultInjector>(config_.faults, config_.fault_seed)) {}

ProvinceServer::~ProvinceServer() { stop(); }

size_t ProvinceServer::open_connections() const { return http_ ? http_->open_connections() : 0; }

Status ProvinceServer::start() {
  if (http_) return internal_error("province server already started");
  if (Status s = config_.faults.validate(); !s.is_ok()) return config_error("fault injection: " + s.message());
  if (!store_) {
    DXHUB_ASSIGN_OR_RETURN(store_, ProvinceStore::open(config_.db_path));
    auth_ = std::make_unique<RequestAuthenticator>(config_.credentials, config_.nonce_capacity);
    api_ = std::make_unique<ProvinceApi>(*store_, *auth_);
    api_->set_fault_injector(faults_.get());
  }
  http::HttpServerOptions options = config_;  // the limits part of the config
  options.server_name = "dxhub-province";
  options.log_name = "province";
  auto http = std::make_unique<HttpServer>(*api_, *faults_, options);
  DXHUB_RETURN_IF_ERROR(http->start(config_.listen_address, config_.port));
  port_ = http->port();
  http_ = std::move(http);
  return Status::ok();
}

void ProvinceServer::stop() {
  if (!http_) return;
  http_->stop();
  http_.reset();
}

}  // namespace dxhub::province
