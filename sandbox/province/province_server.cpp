#include "sandbox/province/province_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>
#include <vector>

#include "sandbox/province/province_api.h"
#include "sandbox/province/province_store.h"

namespace dxhub::province {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kHeaderLimit = 64 * 1024;
// After refusing a request whose body was not read, the rest of it is
// drained for a while so the client reads the refusal instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr uint64_t kLingerBytes = uint64_t{64} << 20;

struct SessionLimits {
  uint64_t max_body_bytes;
  std::chrono::milliseconds io_timeout;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ProvinceApi& api, SessionLimits limits)
      : stream_(std::move(socket)), api_(api), limits_(limits) {}

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read_header, shared_from_this()));
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(limits_.max_body_bytes);
    stream_.expires_after(limits_.io_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    started_ = std::chrono::steady_clock::now();
    // Beast already compares a Content-Length with the body limit here.
    if (ec == http::error::body_limit) return refuse_body_too_large();
    if (ec) return on_read_error(ec);
    auto length = parser_->content_length();
    if (length && *length > limits_.max_body_bytes) return refuse_body_too_large();
    const auto& req = parser_->get();
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       beast::bind_front_handler(&Session::on_continue_sent, shared_from_this()));
      return;
    }
    read_body();
  }

  void on_continue_sent(beast::error_code ec, size_t) {
    if (ec) return close();
    read_body();
  }

  // The body is read piece by piece so the timeout measures silence, not
  // the whole transfer: a slow but steady upload of a large batch succeeds.
  void read_body() {
    if (parser_->is_done()) return on_body({}, 0);
    stream_.expires_after(limits_.io_timeout);
    http::async_read_some(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return refuse_body_too_large();
    if (ec) return on_read_error(ec);
    if (!parser_->is_done()) return read_body();
    stream_.expires_never();  // handling may take a while (large uploads)
    const HttpRequest& req = parser_->get();
    HandledRequest handled = api_.handle(req);
    send(std::move(handled.response), req.keep_alive(), handled.app_key);
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return close();
    }
    // A malformed request: say so, then hang up.
    unsigned status = ec == http::error::header_limit ? 431 : 400;
    send(error_response({status, "BAD_REQUEST", "malformed HTTP request: " + ec.message()}), false, {});
  }

  void refuse_body_too_large() {
    send(error_response({413, "PAYLOAD_TOO_LARGE",
                         "body larger than " + std::to_string(limits_.max_body_bytes) + " bytes"}),
         false, {}, /*drain=*/true);
  }

  void send(ApiResponse response, bool keep_alive, const std::string& app_key, bool drain = false) {
    // The request line is known even when the header was refused.
    const bool has_request = parser_ && !parser_->get().target().empty();
    response_ = {};
    response_.result(response.http_status);
    response_.version(has_request ? parser_->get().version() : 11);
    response_.set(http::field::server, "dxhub-province");
    response_.set(http::field::content_type, "application/json; charset=utf-8");
    if (!response.allow.empty()) response_.set(http::field::allow, response.allow);
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();

    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    if (has_request) {
      const auto& req = parser_->get();
      std::string_view method(req.method_string().data(), req.method_string().size());
      std::string_view target(req.target().data(), req.target().size());
      spdlog::info("{} {} {} {}ms app_key={}", method, target,
                   response.http_status, ms.count(), app_key.empty() ? "-" : app_key);
    } else {
      spdlog::info("- - {} {}ms app_key=-", response.http_status, ms.count());
    }

    stream_.expires_after(limits_.io_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive, drain));
  }

  void on_write(bool keep_alive, bool drain, beast::error_code ec, size_t) {
    if (ec) return close();
    if (keep_alive) return read_header();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain) return close();
    stream_.expires_after(kLingerTime);
    drain_some();
  }

  void drain_some() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::on_drained, shared_from_this()));
  }

  void on_drained(beast::error_code ec, size_t bytes) {
    drained_ += bytes;
    if (ec || drained_ > kLingerBytes) return close();
    drain_some();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  ProvinceApi& api_;
  SessionLimits limits_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::array<char, 16 * 1024> drain_buffer_{};
  uint64_t drained_ = 0;
};

}  // namespace

struct ProvinceServer::Runtime {
  explicit Runtime(int thread_count) : ioc(thread_count), acceptor(ioc) {}

  void accept(ProvinceApi& api, SessionLimits limits) {
    acceptor.async_accept(net::make_strand(ioc), [this, &api, limits](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        std::make_shared<Session>(std::move(socket), api, limits)->run();
      } else {
        spdlog::warn("province: accept failed: {}", ec.message());
      }
      accept(api, limits);
    });
  }

  // Declared first so it is destroyed last: sockets belong to it.
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
};

ProvinceServer::ProvinceServer(ProvinceConfig config) : config_(std::move(config)) {}

ProvinceServer::~ProvinceServer() { stop(); }

Status ProvinceServer::start() {
  if (runtime_) return internal_error("province server already started");
  if (!store_) {
    DXHUB_ASSIGN_OR_RETURN(store_, ProvinceStore::open(config_.db_path));
    auth_ = std::make_unique<RequestAuthenticator>(config_.credentials, config_.nonce_capacity);
    api_ = std::make_unique<ProvinceApi>(*store_, *auth_);
  }
  int thread_count = std::max(1, config_.threads);
  auto runtime = std::make_unique<Runtime>(thread_count);

  beast::error_code ec;
  auto address = net::ip::make_address(config_.listen_address, ec);
  if (ec) return config_error("invalid listen address '" + config_.listen_address + "': " + ec.message());
  tcp::endpoint endpoint(address, config_.port);
  const std::string where = config_.listen_address + ":" + std::to_string(config_.port);
  if (runtime->acceptor.open(endpoint.protocol(), ec); ec) return io_error("cannot open socket: " + ec.message());
  if (runtime->acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return io_error("cannot set SO_REUSEADDR: " + ec.message());
  }
  if (runtime->acceptor.bind(endpoint, ec); ec) return io_error("cannot bind " + where + ": " + ec.message());
  if (runtime->acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return io_error("cannot listen on " + where + ": " + ec.message());
  }
  port_ = runtime->acceptor.local_endpoint().port();

  runtime->accept(*api_, SessionLimits{config_.max_body_bytes, config_.io_timeout});
  for (int i = 0; i < thread_count; ++i) {
    runtime->threads.emplace_back([io = &runtime->ioc] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler must never take the server down; log and keep serving.
          spdlog::error("province: unexpected exception in a connection handler: {}", e.what());
        }
      }
    });
  }
  runtime_ = std::move(runtime);
  spdlog::info("province: listening on {}:{}", config_.listen_address, port_);
  return Status::ok();
}

void ProvinceServer::stop() {
  if (!runtime_) return;
  runtime_->ioc.stop();
  for (auto& t : runtime_->threads) t.join();
  // Destroying the io_context destroys the pending handlers and with them
  // every session, which closes its socket.
  runtime_.reset();
}

}  // namespace dxhub::province
