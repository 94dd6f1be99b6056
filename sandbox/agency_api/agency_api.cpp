#include "sandbox/agency_api/agency_api.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/common/sqlite_db.h"
#include "core/protocol/signing.h"

namespace dxhub::agency {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

struct Answer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool cut_transport = false;  // send half of the body under the full Content-Length, then close
};

template <typename Json>
Answer json_answer(unsigned status, const Json& j) {
  Answer a;
  a.status = status;
  a.body = j.dump(-1, ' ', false, kReplace);
  return a;
}

Answer error_answer(unsigned status, const std::string& code) {
  return json_answer(status, nlohmann::json{{"code", code}, {"message", code}});
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '+') {
      out += ' ';
    } else if (s[k] == '%' && k + 2 < s.size()) {
      auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        c = static_cast<char>(c | 32);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      };
      const int a = hex(s[k + 1]), b = hex(s[k + 2]);
      if (a < 0 || b < 0) {
        out += s[k];
        continue;
      }
      out += static_cast<char>(a * 16 + b);
      k += 2;
    } else {
      out += s[k];
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= q.size() && !q.empty()) {
    size_t amp = q.find('&', pos);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view part = q.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) out[url_decode(part)] = "";
      else out[url_decode(part.substr(0, eq))] = url_decode(part.substr(eq + 1));
    }
    pos = amp + 1;
    if (amp == q.size()) break;
  }
  return out;
}

std::string http_date(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

nlohmann::ordered_json column_json(const SqliteStmt& stmt, int col) {
  switch (stmt.column_type(col)) {
    case SQLITE_INTEGER: return stmt.column_int64(col);
    case SQLITE_FLOAT: return stmt.column_double(col);
    case SQLITE_TEXT: return std::string(stmt.column_text(col));
    case SQLITE_BLOB: return to_hex(stmt.column_blob(col));
    default: return nullptr;
  }
}

Status bind_json(SqliteStmt& stmt, int index, const nlohmann::json& v) {
  if (v.is_number_integer()) return stmt.bind_int64(index, v.get<int64_t>());
  if (v.is_number()) return stmt.bind_double(index, v.get<double>());
  if (v.is_string()) return stmt.bind_text(index, v.get<std::string>());
  return stmt.bind_null(index);
}

}  // namespace

Expected<FaultPlan> FaultPlan::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return config_error("fault plan must be an object");
  FaultPlan plan;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "slow_ms" && it->is_number_integer()) plan.slow_ms = it->get<int64_t>();
    else if (it.key() == "revoke_tokens" && it->is_boolean()) plan.revoke_tokens = it->get<bool>();
    else if (it.key() == "rules" && it->is_array()) {
      for (const auto& r : *it) {
        if (!r.is_object()) return config_error("fault rule must be an object");
        FaultRule rule;
        const std::string kind = r.value("kind", "");
        if (kind == "5xx") rule.kind = FaultRule::Kind::k5xx;
        else if (kind == "429") rule.kind = FaultRule::Kind::k429Seconds;
        else if (kind == "429-date") rule.kind = FaultRule::Kind::k429Date;
        else if (kind == "html") rule.kind = FaultRule::Kind::kHtml;
        else if (kind == "truncated") rule.kind = FaultRule::Kind::kTruncated;
        else if (kind == "cut") rule.kind = FaultRule::Kind::kTransportCut;
        else if (kind == "401") rule.kind = FaultRule::Kind::kUnauthorized;
        else if (kind == "404") rule.kind = FaultRule::Kind::kNotFound;
        else return config_error("unknown fault kind");
        rule.skip = r.value("skip", int64_t{0});
        rule.count = r.value("count", int64_t{1});
        rule.retry_after_s = r.value("retry_after_s", int64_t{1});
        plan.rules.push_back(rule);
      }
    } else {
      return config_error("unknown fault plan key " + it.key());
    }
  }
  return plan;
}

nlohmann::json AgencyApiStats::to_json() const {
  return {{"requests", requests}, {"data_requests", data_requests}, {"token_requests", token_requests},
          {"unauthorized", unauthorized}, {"faults", faults}};
}

struct AgencyApi::Impl {
  AgencyApiOptions options;
  std::optional<SqliteDb> db;
  std::vector<std::string> columns;
  std::mutex db_mutex;

  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  uint16_t port = 0;
  std::thread accept_thread;
  std::mutex conn_mutex;
  std::vector<std::thread> conn_threads;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::atomic<bool> stopping{false};

  mutable std::mutex state_mutex;
  FaultPlan plan;
  int64_t data_since_plan = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> tokens;
  std::set<std::string> nonces;
  std::map<std::string, std::string> answer_cache;  // cache_answers: target + body -> JSON
  AgencyApiStats stats;

  Status open_db() {
    DXHUB_ASSIGN_OR_RETURN(auto d, SqliteDb::open(options.db_path, SqliteDb::Mode::kReadOnly, StatusCode::kSource));
    db.emplace(std::move(d));
    DXHUB_ASSIGN_OR_RETURN(auto info, db->prepare("SELECT name FROM pragma_table_info(?1)"));
    DXHUB_RETURN_IF_ERROR(info.bind_text(1, options.table));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, info.step());
      if (!row) break;
      columns.emplace_back(info.column_text(0));
    }
    if (columns.empty()) return config_error("table " + options.table + " not found");
    auto has = [&](const std::string& c) {
      for (const auto& x : columns) if (x == c) return true;
      return false;
    };
    if (!has(options.key_column)) return config_error("key column not in table");
    if (!options.updated_column.empty() && !has(options.updated_column)) return config_error("updated column not in table");
    return Status::ok();
  }

  // ---- auth ----
  bool authorized(const http::request<http::string_body>& req) {
    switch (options.auth) {
      case Auth::kNone: return true;
      case Auth::kBasic: {
        const std::string plain = options.username + ":" + options.password;
        std::string enc(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
        enc.resize(boost::beast::detail::base64::encode(enc.data(), plain.data(), plain.size()));
        return req[http::field::authorization] == "Basic " + enc;
      }
      case Auth::kBearer: {
        const std::string h(req[http::field::authorization]);
        if (h.rfind("Bearer ", 0) != 0) return false;
        std::lock_guard lock(state_mutex);
        auto it = tokens.find(h.substr(7));
        return it != tokens.end() && std::chrono::steady_clock::now() < it->second;
      }
      case Auth::kAppKey: {
        if (req["X-App-Key"] != options.app_key) return false;
        const std::string ts(req["X-Timestamp"]);
        const std::string nonce(req["X-Nonce"]);
        int64_t t = 0;
        try {
          t = std::stoll(ts);
        } catch (...) {
          return false;
        }
        if (std::llabs(protocol::now_ms() - t) > protocol::kReplayWindowMs || nonce.empty()) return false;
        const std::string to_sign = std::string(req.method_string()) + "\n" + std::string(req.target()) + "\n" + ts +
                                    "\n" + nonce + "\n" + protocol::sha256_hex(req.body());
        const std::string expected = protocol::sign(protocol::SignatureMethod::kHmacSha256, options.app_secret, to_sign);
        if (!protocol::equal_constant_time(expected, std::string(req["X-Signature"]))) return false;
        std::lock_guard lock(state_mutex);
        return nonces.insert(nonce).second;
      }
    }
    return false;
  }

  Answer token_endpoint(const http::request<http::string_body>& req) {
    {
      std::lock_guard lock(state_mutex);
      ++stats.token_requests;
    }
    if (req.method() != http::verb::post) return error_answer(405, "METHOD_NOT_ALLOWED");
    auto form = parse_form(req.body());
    if (form["grant_type"] != "client_credentials" || form["client_id"] != options.client_id ||
        !protocol::equal_constant_time(form["client_secret"], options.client_secret)) {
      return error_answer(401, "INVALID_CLIENT");
    }
    const std::string token = protocol::random_hex(16);
    std::lock_guard lock(state_mutex);
    tokens[token] = std::chrono::steady_clock::now() + std::chrono::seconds(options.token_ttl_seconds);
    return json_answer(200, nlohmann::json{{"access_token", token}, {"token_type", "Bearer"}, {"expires_in", options.token_ttl_seconds}});
  }

  // ---- data ----
  Answer data(const std::string& route, std::map<std::string, std::string> params) {
    const bool incremental = !options.updated_column.empty();
    const std::string t = sqlite_quote_identifier(options.table);
    const std::string k = sqlite_quote_identifier(options.key_column);
    const std::string u = incremental ? sqlite_quote_identifier(options.updated_column) : "";
    std::string where = "1";
    std::optional<std::string> since;
    if (incremental && params.count("updated_since") && !params["updated_since"].empty()) {
      since = params["updated_since"];
      where = u + " >= ?1";
    }
    const std::string order = incremental ? " ORDER BY " + u + ", " + k : " ORDER BY " + k;
    auto number = [&](const char* name, int64_t def) -> int64_t {
      auto it = params.find(name);
      if (it == params.end() || it->second.empty()) return def;
      try {
        return std::stoll(it->second);
      } catch (...) {
        return -1;
      }
    };
    int64_t limit = number(route == "/page" ? "size" : "limit", 100);
    if (limit <= 0) return error_answer(400, "BAD_LIMIT");
    limit = std::min(limit, options.max_page_rows);
    int64_t offset = 0;
    std::optional<nlohmann::json> after;  // [updated, key] of the last row sent
    if (route == "/page") {
      const int64_t page = number("page", 1);
      if (page < 1) return error_answer(400, "BAD_PAGE");
      offset = (page - 1) * limit;
    } else if (route == "/offset") {
      offset = number("offset", 0);
      if (offset < 0) return error_answer(400, "BAD_OFFSET");
    } else {
      const std::string tok = params[route == "/token" ? "token" : "after"];
      if (!tok.empty()) {
        std::string raw;
        for (size_t i = 0; i + 1 < tok.size(); i += 2) raw += static_cast<char>(std::stoi(tok.substr(i, 2), nullptr, 16));
        auto j = nlohmann::json::parse(raw, nullptr, false);
        if (j.is_discarded() || !j.is_array() || j.size() != 2) return error_answer(400, "BAD_TOKEN");
        after = j;
      }
    }
    std::lock_guard lock(db_mutex);
    std::string sql = "SELECT * FROM " + t + " WHERE " + where;
    if (after) sql += incremental ? " AND (" + u + ", " + k + ") > (?2, ?3)" : " AND " + k + " > ?3";
    sql += order + " LIMIT ?4 OFFSET ?5";
    auto stmt = db->prepare(sql);
    if (!stmt) return error_answer(500, "DB_ERROR");
    if (since) (void)stmt->bind_text(1, *since);
    if (after) {
      (void)bind_json(*stmt, 2, (*after)[0]);
      (void)bind_json(*stmt, 3, (*after)[1]);
    }
    (void)stmt->bind_int64(4, limit);
    (void)stmt->bind_int64(5, offset);
    // ordered_json: the columns keep the table's order (discover sees it).
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    nlohmann::ordered_json last_pos;
    int key_col = -1, upd_col = -1;
    for (;;) {
      auto row = stmt->step();
      if (!row) return error_answer(500, "DB_ERROR");
      if (!*row) break;
      nlohmann::ordered_json item = nlohmann::ordered_json::object();
      for (int c = 0; c < stmt->column_count(); ++c) {
        const std::string name = stmt->column_name(c);
        if (name == options.key_column) key_col = c;
        if (incremental && name == options.updated_column) upd_col = c;
        item[name] = column_json(*stmt, c);
      }
      last_pos = nlohmann::ordered_json::array({upd_col >= 0 ? column_json(*stmt, upd_col) : nlohmann::ordered_json(nullptr),
                                        column_json(*stmt, key_col)});
      items.push_back(std::move(item));
    }
    auto count = db->prepare("SELECT COUNT(*) FROM " + t + " WHERE " + where);
    int64_t total = 0;
    if (count) {
      if (since) (void)count->bind_text(1, *since);
      auto r = count->step();
      if (r && *r) total = count->column_int64(0);
    }
    nlohmann::ordered_json d{{"total", total}, {"items", std::move(items)}, {"next_token", nullptr}, {"next", nullptr}};
    const bool full = static_cast<int64_t>(d["items"].size()) == limit;
    if ((route == "/token" || route == "/link") && full) {
      const std::string tok = to_hex(last_pos.dump(-1, ' ', false, kReplace));
      if (route == "/token") {
        d["next_token"] = tok;
      } else {
        std::string next = "/link?after=" + tok + "&limit=" + std::to_string(limit);
        if (since) next += "&updated_since=" + url_encode(*since);
        d["next"] = next;
      }
    }
    return json_answer(200, nlohmann::ordered_json{{"code", 0}, {"data", std::move(d)}});
  }

  Answer apply_fault(const FaultRule& rule, Answer normal) {
    switch (rule.kind) {
      case FaultRule::Kind::k5xx: return error_answer(503, "INJECTED_FAULT");
      case FaultRule::Kind::k429Seconds: {
        Answer a = error_answer(429, "RATE_LIMITED");
        a.headers.emplace_back("Retry-After", std::to_string(rule.retry_after_s));
        return a;
      }
      case FaultRule::Kind::k429Date: {
        Answer a = error_answer(429, "RATE_LIMITED");
        a.headers.emplace_back("Retry-After", http_date(static_cast<int64_t>(std::time(nullptr)) + rule.retry_after_s));
        return a;
      }
      case FaultRule::Kind::kHtml: {
        Answer a;
        a.content_type = "text/html";
        a.body = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        return a;
      }
      case FaultRule::Kind::kTruncated: normal.body.resize(normal.body.size() / 2); return normal;
      case FaultRule::Kind::kTransportCut: normal.cut_transport = true; return normal;
      case FaultRule::Kind::kUnauthorized: return error_answer(401, "UNAUTHORIZED");
      case FaultRule::Kind::kNotFound: return error_answer(404, "NOT_FOUND");
    }
    return normal;
  }

  Answer handle(const http::request<http::string_body>& req) {
    std::string target(req.target());
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    auto params = parse_form(q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1));
    {
      std::lock_guard lock(state_mutex);
      ++stats.requests;
    }
    if (path == "/control") {
      if (req.method() == http::verb::get) {
        std::lock_guard lock(state_mutex);
        return json_answer(200, stats.to_json());
      }
      auto j = nlohmann::json::parse(req.body(), nullptr, false);
      auto plan_or = FaultPlan::from_json(j.is_discarded() ? nlohmann::json() : j);
      if (!plan_or) return error_answer(400, "BAD_PLAN");
      set_faults(*plan_or);
      return json_answer(200, nlohmann::json{{"code", 0}});
    }
    if (path == "/oauth/token") {
      if (options.auth != Auth::kBearer) return error_answer(404, "NOT_FOUND");
      return token_endpoint(req);
    }
    if (path != "/page" && path != "/offset" && path != "/token" && path != "/link") return error_answer(404, "NOT_FOUND");
    if (req.method() == http::verb::post) {
      auto j = nlohmann::json::parse(req.body(), nullptr, false);
      if (!j.is_object()) return error_answer(400, "BAD_BODY");
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it->is_string()) params[it.key()] = it->get<std::string>();
        else if (it->is_number_integer()) params[it.key()] = std::to_string(it->get<int64_t>());
        else if (it->is_null()) params.erase(it.key());
      }
    }
    std::optional<FaultRule> fault;
    int64_t slow_ms = 0;
    {
      std::lock_guard lock(state_mutex);
      ++stats.data_requests;
      const int64_t n = ++data_since_plan;
      for (const FaultRule& r : plan.rules) {
        if (n > r.skip && n <= r.skip + r.count) {
          fault = r;
          break;
        }
      }
      slow_ms = plan.slow_ms;
    }
    if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
    if (fault && fault->kind != FaultRule::Kind::kTruncated && fault->kind != FaultRule::Kind::kTransportCut) {
      std::lock_guard lock(state_mutex);
      ++stats.faults;
      if (fault->kind == FaultRule::Kind::kUnauthorized) ++stats.unauthorized;
      return apply_fault(*fault, {});
    }
    if (!authorized(req)) {
      std::lock_guard lock(state_mutex);
      ++stats.unauthorized;
      Answer a = error_answer(401, "UNAUTHORIZED");
      if (options.auth == Auth::kBasic) a.headers.emplace_back("WWW-Authenticate", "Basic realm=\"agency\"");
      return a;
    }
    Answer normal;
    const std::string cache_key = options.cache_answers ? target + "\n" + req.body() : std::string();
    bool cached = false;
    if (options.cache_answers) {
      std::lock_guard lock(state_mutex);
      if (auto it = answer_cache.find(cache_key); it != answer_cache.end()) {
        normal.body = it->second;
        cached = true;
      }
    }
    if (!cached) {
      normal = data(path, std::move(params));
      if (options.cache_answers && normal.status == 200) {
        std::lock_guard lock(state_mutex);
        answer_cache[cache_key] = normal.body;
      }
    }
    if (fault) {
      std::lock_guard lock(state_mutex);
      ++stats.faults;
      return apply_fault(*fault, std::move(normal));
    }
    return normal;
  }

  void set_faults(const FaultPlan& p) {
    std::lock_guard lock(state_mutex);
    plan = p;
    data_since_plan = 0;
    if (p.revoke_tokens) tokens.clear();
  }

  static const char* reason(unsigned status) {
    switch (status) {
      case 200: return "OK";
      case 400: return "Bad Request";
      case 401: return "Unauthorized";
      case 404: return "Not Found";
      case 405: return "Method Not Allowed";
      case 429: return "Too Many Requests";
      case 500: return "Internal Server Error";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  void serve(std::shared_ptr<tcp::socket> socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(16 << 20);
      boost::system::error_code ec;
      http::read(*socket, buffer, parser, ec);
      if (ec) break;
      const auto& req = parser.get();
      Answer a = handle(req);
      std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) + "\r\n";
      out += "Content-Type: " + a.content_type + "\r\n";
      out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n";
      for (const auto& [n, v] : a.headers) out += n + ": " + v + "\r\n";
      const bool keep = req.keep_alive() && !a.cut_transport;
      out += keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
      out += a.cut_transport ? a.body.substr(0, a.body.size() / 2) : a.body;
      asio::write(*socket, asio::buffer(out), ec);
      if (ec || !keep) break;
    }
    // Forgotten before it is closed, so stop() never shuts down a reused descriptor.
    std::lock_guard lock(conn_mutex);
    std::erase(sockets, socket);
    boost::system::error_code ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
  }

  void accept_loop() {
    while (!stopping) {
      auto socket = std::make_shared<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor->accept(*socket, ec);
      if (ec) {
        if (stopping) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. out of descriptors: no busy loop
        continue;
      }
      std::lock_guard lock(conn_mutex);
      if (stopping) break;
      sockets.push_back(socket);
      conn_threads.emplace_back([this, socket] { serve(socket); });
    }
  }
};

AgencyApi::AgencyApi(AgencyApiOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }

AgencyApi::~AgencyApi() { stop(); }

Status AgencyApi::start(const std::string& address, uint16_t port) {
  DXHUB_RETURN_IF_ERROR(impl_->open_db());
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return config_error("bad listen address " + address);
  impl_->acceptor.emplace(impl_->io);
  tcp::endpoint ep(addr, port);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable_error("cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
  return Status::ok();
}

uint16_t AgencyApi::port() const { return impl_->port; }
std::string AgencyApi::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void AgencyApi::stop() {
  if (!impl_ || !impl_->acceptor || impl_->stopping.exchange(true)) return;
  // shutdown() wakes the blocking accept (Linux); the sockets' shutdown wakes their reads.
  ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  boost::system::error_code ignored;
  impl_->acceptor->close(ignored);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->conn_mutex);
    for (auto& s : impl_->sockets) ::shutdown(s->native_handle(), SHUT_RDWR);
    threads.swap(impl_->conn_threads);
  }
  for (auto& t : threads) t.join();
}

void AgencyApi::set_faults(const FaultPlan& plan) { impl_->set_faults(plan); }

AgencyApiStats AgencyApi::stats() const {
  std::lock_guard lock(impl_->state_mutex);
  return impl_->stats;
}

}  // namespace dxhub::agency
