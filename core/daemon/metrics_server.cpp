#include "core/daemon/metrics_server.h"

#include "core/http/fault_injector.h"
#include "core/http/http_handler.h"
#include "core/http/http_server.h"
#include "core/http/listen_address.h"

namespace dxhub {

namespace {

class MetricsHandler final : public http::HttpHandler {
 public:
  MetricsHandler(const DaemonMetrics& metrics, std::function<int64_t()> now, std::function<std::string()> extra)
      : metrics_(metrics), now_(std::move(now)), extra_(std::move(extra)) {}

  http::HeaderVerdict on_header(const http::HttpRequest& header) override {
    http::HeaderVerdict verdict;
    const std::string path = std::string(header.target().substr(0, header.target().find('?')));
    if (path != "/metrics" && path != "/health") {
      verdict.refusal = http::error_response({404, "NOT_FOUND", "only GET /metrics and GET /health are served"});
    } else if (header.method() != boost::beast::http::verb::get) {
      auto refusal = http::error_response({405, "METHOD_NOT_ALLOWED", "GET only"});
      refusal.allow = "GET";
      verdict.refusal = std::move(refusal);
    } else if (header.has_content_length() || header.chunked()) {
      verdict.refusal = http::error_response({400, "UNEXPECTED_BODY", "a GET carries no body"});
    }
    return verdict;
  }

  http::HandledRequest handle(const http::HttpRequest& request, const http::HeaderVerdict&) override {
    http::HandledRequest handled;
    try {
      if (request.target().starts_with("/metrics")) {
        handled.response.body = metrics_.prometheus_text(now_());
        if (extra_) handled.response.body += extra_();
        handled.response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      } else {
        handled.response.body = metrics_.health(now_()).dump();
      }
    } catch (...) {
      handled.response = http::error_response({500, "INTERNAL", "metrics unavailable"});
    }
    return handled;
  }

 private:
  const DaemonMetrics& metrics_;
  std::function<int64_t()> now_;
  std::function<std::string()> extra_;
};

}  // namespace

struct MetricsServer::Impl {
  Impl(const DaemonMetrics& metrics, std::function<int64_t()> now, std::function<std::string()> extra)
      : handler(metrics, std::move(now), std::move(extra)), server(handler, faults, options()) {}
  static http::HttpServerOptions options() {
    http::HttpServerOptions o;
    o.server_name = "dxhub";
    o.log_name = "metrics";
    o.max_body_bytes = 1024;  // GETs only
    o.max_connections = 64;
    o.threads = 1;
    return o;
  }
  MetricsHandler handler;
  http::FaultInjector faults{http::FaultSettings{}, 1};
  http::HttpServer server;
};

MetricsServer::MetricsServer(const DaemonMetrics& metrics, std::function<int64_t()> now,
                             std::function<std::string()> extra)
    : impl_(std::make_unique<Impl>(metrics, std::move(now), std::move(extra))) {}

MetricsServer::~MetricsServer() { stop(); }

Status MetricsServer::start(const std::string& listen) {
  DXHUB_ASSIGN_OR_RETURN(http::ListenAddress where, http::parse_listen_address(listen, "daemon.metrics_listen"));
  return impl_->server.start(where.address, where.port);
}

uint16_t MetricsServer::port() const { return impl_->server.port(); }

void MetricsServer::stop() { impl_->server.stop(); }

}  // namespace dxhub
