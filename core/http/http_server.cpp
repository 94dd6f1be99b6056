#include "core/http/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "core/http/log_redaction.h"

namespace dxhub::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kHeaderLimit = 64 * 1024;
// After refusing a request whose body was not read, the rest of it is
// drained (read and discarded, never buffered) for a while so the client
// reads the refusal instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr uint64_t kLingerBytes = uint64_t{64} << 20;
// Connections over the cap get a canned 503; this many of those at once at
// most (beyond, they are closed without a word), each for this long.
constexpr size_t kMaxRefusalsInFlight = 64;
constexpr auto kRefusalTime = std::chrono::seconds(1);

using Clock = std::chrono::steady_clock;

// What every session shares; sessions hold it, so it outlives them all.
struct ServerShared {
  std::string server_name;
  HttpHandler& handler;
  FaultInjector& faults;
  uint64_t max_body_bytes;
  std::chrono::milliseconds header_timeout;
  std::chrono::milliseconds request_timeout;
  std::chrono::milliseconds io_timeout;
  std::chrono::milliseconds idle_timeout;
  size_t max_connections;
  bool log_successes;
  std::atomic<size_t> open_connections{0};
  std::atomic<size_t> refusals_in_flight{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerShared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)), timer_(stream_.get_executor()) {}
  ~Session() { shared_->open_connections.fetch_sub(1); }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::start_request, shared_from_this()));
  }

 private:
  // The header deadline starts with the request's first byte -- or with the
  // accept, for a connection's first request: a new connection that sends
  // nothing is no idle keep-alive.
  void start_request() {
    started_ = Clock::now();
    header_deadline_ = started_ + shared_->header_timeout;
    request_deadline_ = started_ + shared_->request_timeout;
    read_header();
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(shared_->max_body_bytes);
    verdict_ = {};
    decision_ = {};
    stream_.expires_at(std::min(header_deadline_, request_deadline_));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    // Beast already compares a Content-Length with the body limit here.
    if (ec == http::error::body_limit) return refuse_body_too_large();
    if (ec) return on_read_error(ec);
    auto length = parser_->content_length();
    if (length && *length > shared_->max_body_bytes) return refuse_body_too_large();
    const auto& req = parser_->get();
    const bool body_pending = !parser_->is_done();

    // Authenticated (or refused) from the header alone, before the body.
    verdict_ = shared_->handler.on_header(req);
    if (verdict_.refusal) {
      ApiResponse refusal = std::move(*verdict_.refusal);
      verdict_.refusal.reset();
      // An unread body would be taken for the next request: hang up instead.
      return send(std::move(refusal), req.keep_alive() && !body_pending, verdict_.app_key, body_pending);
    }
    if (verdict_.faultable) decision_ = shared_->faults.decide();
    if (decision_.drop) {
      log_request("dropped (injected fault)");
      return close();
    }

    auto expect = req.find(http::field::expect);
    if (body_pending && expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      stream_.expires_after(shared_->io_timeout);
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

  // The body is read piece by piece: each piece within io_timeout of
  // silence, and all of it within the request deadline, so a slow but
  // steady upload succeeds while a drip-feed is cut off.
  void read_body() {
    if (parser_->is_done()) return on_body({}, 0);
    stream_.expires_at(std::min(Clock::now() + shared_->io_timeout, request_deadline_));
    http::async_read_some(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return refuse_body_too_large();
    if (ec) return on_read_error(ec);
    if (!parser_->is_done()) return read_body();
    stream_.expires_never();  // handling may take a while (large uploads, a commit)
    const HttpRequest& req = parser_->get();
    if (decision_.error_status != 0) {
      HandledRequest handled;
      handled.app_key = verdict_.app_key;
      handled.response = decision_.error_status == 429
                             ? error_response({429, "INJECTED_FAULT", "injected fault: rate limited"})
                             : error_response({503, "INJECTED_FAULT", "injected fault: service unavailable"});
      return handled_now(std::move(handled));
    }
    // The answer may come from another thread: it is carried back onto this
    // session's strand.
    shared_->handler.handle_async(req, verdict_, [self = shared_from_this()](HandledRequest handled) {
      net::post(self->stream_.get_executor(), [self, handled = std::move(handled)]() mutable {
        self->handled_now(std::move(handled));
      });
    });
  }

  void handled_now(HandledRequest handled) {
    if (decision_.latency_ms <= 0) return answer(std::move(handled));
    timer_.expires_after(std::chrono::milliseconds(decision_.latency_ms));
    timer_.async_wait([self = shared_from_this(), handled = std::move(handled)](beast::error_code) mutable {
      self->answer(std::move(handled));
    });
  }

  void answer(HandledRequest handled) {
    if (decision_.lose_response) {
      // Handled (a batch is stored) but the client never learns it.
      log_request("handled, response lost (injected fault)", handled.response.http_status, handled.app_key);
      return close();
    }
    send(std::move(handled.response), parser_->get().keep_alive(), handled.app_key);
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      if (ec == beast::error::timeout) log_request("closed: timed out");
      return close();
    }
    // A malformed request: say so, then hang up.
    unsigned status = ec == http::error::header_limit ? 431 : 400;
    send(error_response({status, "BAD_REQUEST", "malformed HTTP request: " + ec.message()}), false, {});
  }

  void refuse_body_too_large() {
    send(error_response({413, "PAYLOAD_TOO_LARGE",
                         "body larger than " + std::to_string(shared_->max_body_bytes) + " bytes"}),
         false, {}, /*drain=*/true);
  }

  bool has_request_line() const { return parser_ && !parser_->get().target().empty(); }

  // The access log: method, path with query values redacted, status, time,
  // app key. Never a body, a query value or a header value other than the key.
  void log_request(std::string_view outcome, unsigned status = 0, const std::string& app_key = {},
                   spdlog::level::level_enum level = spdlog::level::info) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    std::string status_text = status == 0 ? std::string("-") : std::to_string(status);
    std::string_view key = app_key.empty() ? std::string_view("-") : std::string_view(app_key);
    if (!has_request_line()) {
      spdlog::log(level, "- - {} {}ms app_key={}{}{}", status_text, ms.count(), key, outcome.empty() ? "" : " ",
                  outcome);
      return;
    }
    const auto& req = parser_->get();
    std::string_view method(req.method_string().data(), req.method_string().size());
    std::string target = redact_target(std::string_view(req.target().data(), req.target().size()));
    spdlog::log(level, "{} {} {} {}ms app_key={}{}{}", method, target, status_text, ms.count(), key,
                outcome.empty() ? "" : " ", outcome);
  }

  void send(ApiResponse response, bool keep_alive, const std::string& app_key, bool drain = false) {
    // The request line is known even when the header was refused.
    const bool has_request = has_request_line();
    response_ = {};
    response_.result(response.http_status);
    response_.version(has_request ? parser_->get().version() : 11);
    response_.set(http::field::server, shared_->server_name);
    response_.set(http::field::content_type,
                  response.content_type.empty() ? "application/json; charset=utf-8" : response.content_type);
    if (!response.allow.empty()) response_.set(http::field::allow, response.allow);
    if (response.http_status == 429 && decision_.error_status == 429) {
      response_.set(http::field::retry_after, std::to_string(decision_.retry_after_s));
    } else if (response.retry_after_s > 0) {
      response_.set(http::field::retry_after, std::to_string(response.retry_after_s));
    }
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    if (shared_->log_successes || response.http_status >= 400) {
      log_request({}, response.http_status, app_key);
    } else if (spdlog::should_log(spdlog::level::debug)) {
      log_request({}, response.http_status, app_key, spdlog::level::debug);
    }

    stream_.expires_after(shared_->io_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive, drain));
  }

  void on_write(bool keep_alive, bool drain, beast::error_code ec, size_t) {
    if (ec) return close();
    if (keep_alive) return wait_for_next_request();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain) return close();
    stream_.expires_after(kLingerTime);
    drain_some();
  }

  // Keep-alive: up to idle_timeout for the next request's first byte.
  void wait_for_next_request() {
    if (buffer_.size() > 0) return start_request();  // pipelined
    stream_.expires_after(shared_->idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&Session::on_next_request_bytes, shared_from_this()));
  }

  void on_next_request_bytes(beast::error_code ec, size_t bytes) {
    if (ec) return close();
    buffer_.commit(bytes);
    start_request();
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
    timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerShared> shared_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HeaderVerdict verdict_;
  FaultDecision decision_;
  http::response<http::string_body> response_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point header_deadline_ = started_;
  Clock::time_point request_deadline_ = started_;
  std::array<char, 16 * 1024> drain_buffer_{};
  uint64_t drained_ = 0;
};

// A connection over the cap: a canned 503, then a short drain, then close.
// Its request is never parsed.
class RefusedConnection : public std::enable_shared_from_this<RefusedConnection> {
 public:
  RefusedConnection(tcp::socket socket, std::shared_ptr<ServerShared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    ApiResponse body = error_response({503, "TOO_MANY_CONNECTIONS",
                                       "more than " + std::to_string(shared_->max_connections) +
                                           " open connections; try again later"});
    answer_ = "HTTP/1.1 503 Service Unavailable\r\nServer: " + shared_->server_name + "\r\n"
              "Content-Type: application/json; charset=utf-8\r\nConnection: close\r\nRetry-After: 1\r\n"
              "Content-Length: " + std::to_string(body.body.size()) + "\r\n\r\n" + body.body;
  }
  ~RefusedConnection() { shared_->refusals_in_flight.fetch_sub(1); }

  void run() {
    stream_.expires_after(kRefusalTime);
    net::async_write(stream_, net::buffer(answer_), [self = shared_from_this()](beast::error_code ec, size_t) {
      beast::error_code ignored;
      if (ec) return self->stream_.close();
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

 private:
  void drain() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->stream_.close();
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerShared> shared_;
  std::string answer_;
  std::array<char, 4096> scratch_{};
};

}  // namespace

struct HttpServer::Runtime {
  explicit Runtime(int thread_count) : ioc(thread_count), acceptor(ioc) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        admit(std::move(socket));
      } else {
        spdlog::warn("{}: accept failed: {}", name, ec.message());
      }
      accept();
    });
  }

  // Accepts run one at a time, so the count cannot overshoot the cap.
  void admit(tcp::socket socket) {
    if (shared->open_connections.load() >= shared->max_connections) {
      spdlog::debug("{}: connection refused, {} open (max_connections)", name, shared->open_connections.load());
      if (shared->refusals_in_flight.fetch_add(1) >= kMaxRefusalsInFlight) {
        shared->refusals_in_flight.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);
        return;
      }
      std::make_shared<RefusedConnection>(std::move(socket), shared)->run();
      return;
    }
    shared->open_connections.fetch_add(1);
    std::make_shared<Session>(std::move(socket), shared)->run();
  }

  std::string name;  // for log lines
  std::shared_ptr<ServerShared> shared;
  // Declared before the acceptor so it is destroyed after it: sockets belong to it.
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(HttpHandler& handler, FaultInjector& faults, HttpServerOptions options)
    : handler_(handler), faults_(faults), options_(std::move(options)) {}

HttpServer::~HttpServer() { stop(); }

size_t HttpServer::open_connections() const { return runtime_ ? runtime_->shared->open_connections.load() : 0; }

Status HttpServer::start(const std::string& listen_address, uint16_t port) {
  if (runtime_) return internal_error("http server already started");
  int thread_count = std::max(1, options_.threads);
  auto runtime = std::make_unique<Runtime>(thread_count);
  runtime->name = options_.log_name;
  // Aggregate-initialised in place: the atomics can be neither copied nor moved.
  runtime->shared.reset(new ServerShared{options_.server_name, handler_, faults_, options_.max_body_bytes,
                                         options_.header_timeout, options_.request_timeout, options_.io_timeout,
                                         options_.idle_timeout, std::max<size_t>(1, options_.max_connections),
                                         options_.log_successes});

  beast::error_code ec;
  auto address = net::ip::make_address(listen_address, ec);
  if (ec) return config_error("invalid listen address '" + listen_address + "': " + ec.message());
  tcp::endpoint endpoint(address, port);
  const std::string where = listen_address + ":" + std::to_string(port);
  if (runtime->acceptor.open(endpoint.protocol(), ec); ec) return io_error("cannot open socket: " + ec.message());
  if (runtime->acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return io_error("cannot set SO_REUSEADDR: " + ec.message());
  }
  if (runtime->acceptor.bind(endpoint, ec); ec) return io_error("cannot bind " + where + ": " + ec.message());
  if (runtime->acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return io_error("cannot listen on " + where + ": " + ec.message());
  }
  port_ = runtime->acceptor.local_endpoint().port();

  runtime->accept();
  for (int i = 0; i < thread_count; ++i) {
    runtime->threads.emplace_back([io = &runtime->ioc, log_name = options_.log_name] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler must never take the server down; log and keep serving.
          spdlog::error("{}: unexpected exception in a connection handler: {}", log_name, e.what());
        }
      }
    });
  }
  runtime_ = std::move(runtime);
  spdlog::info("{}: listening on {}:{}", options_.log_name, listen_address, port_);
  return Status::ok();
}

void HttpServer::stop() {
  if (!runtime_) return;
  runtime_->ioc.stop();
  for (auto& t : runtime_->threads) t.join();
  // Destroying the io_context destroys the pending handlers and with them
  // every session, which closes its socket.
  runtime_.reset();
}

}  // namespace dxhub::http
