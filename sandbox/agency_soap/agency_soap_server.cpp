#include "sandbox/agency_soap/agency_soap_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "connectors/xml/xml_document.h"
#include "core/common/sqlite_db.h"

namespace dxhub::agency_soap {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr const char* kSoap11Ns = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* kSoap12Ns = "http://www.w3.org/2003/05/soap-envelope";
constexpr const char* kServiceNs = "urn:dxhub:agency-soap";
constexpr const char* kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";

enum class Flavor { kSoap11, kSoap12, kPlainXml };

struct Answer {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;  // not allowed in XML 1.0
        out += c;
    }
  }
}

const char* content_type_of(Flavor flavor) {
  switch (flavor) {
    case Flavor::kSoap11: return "text/xml; charset=utf-8";
    case Flavor::kSoap12: return "application/soap+xml; charset=utf-8";
    default: return "application/xml; charset=utf-8";
  }
}

Answer soap_fault(Flavor flavor, bool client_side, const std::string& reason) {
  Answer answer;
  answer.content_type = content_type_of(flavor);
  std::string escaped;
  append_escaped(escaped, reason);
  if (flavor == Flavor::kSoap12) {
    answer.status = client_side ? 400 : 500;
    answer.body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope xmlns:env=\"") + kSoap12Ns +
                  "\"><env:Body><env:Fault><env:Code><env:Value>" + (client_side ? "env:Sender" : "env:Receiver") +
                  "</env:Value></env:Code><env:Reason><env:Text xml:lang=\"en\">" + escaped +
                  "</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>";
  } else {
    answer.status = 500;
    if (flavor == Flavor::kPlainXml) {
      answer.status = client_side ? 400 : 500;
      answer.body = "<?xml version=\"1.0\"?><error>" + escaped + "</error>";
      return answer;
    }
    answer.body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"") + kSoap11Ns +
                  "\"><soap:Body><soap:Fault><faultcode>" + (client_side ? "soap:Client" : "soap:Server") +
                  "</faultcode><faultstring>" + escaped + "</faultstring></soap:Fault></soap:Body></soap:Envelope>";
  }
  return answer;
}

struct PageRequest {
  int64_t page = 1;
  int64_t page_size = -1;  // -1: not given
  std::optional<int64_t> offset;
  std::optional<std::string> updated_since;
};

bool parse_int(std::string_view text, int64_t& out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t')) text.remove_suffix(1);
  auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

std::string url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      auto r = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (r.ec == std::errc() && r.ptr == text.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += text[i];
      }
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

struct Server::Impl {
  Impl(Server& server_ref, SqliteDb database) : server(server_ref), db(std::move(database)), acceptor(ioc) {}

  Server& server;
  std::mutex db_mutex;
  SqliteDb db;
  SqliteStmt page_stmt;
  SqliteStmt count_stmt;
  std::vector<std::string> columns;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::thread thread;

  // Reads the rows of one page into `out` (inside the response element).
  Status rows_xml(const PageRequest& request, std::string& out, int64_t& total) {
    std::lock_guard<std::mutex> lock(db_mutex);
    const int64_t size = request.page_size;
    const int64_t offset = request.offset ? *request.offset : (request.page - 1) * size;
    for (SqliteStmt* stmt : {&count_stmt, &page_stmt}) {
      DXHUB_RETURN_IF_ERROR(stmt->reset());
      if (request.updated_since) {
        DXHUB_RETURN_IF_ERROR(stmt->bind_text(1, *request.updated_since));
      } else {
        DXHUB_RETURN_IF_ERROR(stmt->bind_null(1));
      }
    }
    DXHUB_ASSIGN_OR_RETURN(bool counted, count_stmt.step());
    total = counted ? count_stmt.column_int64(0) : 0;
    DXHUB_RETURN_IF_ERROR(page_stmt.bind_int64(2, size));
    DXHUB_RETURN_IF_ERROR(page_stmt.bind_int64(3, offset));
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool row, page_stmt.step());
      if (!row) break;
      out += "<row>";
      for (size_t c = 0; c < columns.size(); ++c) {
        const int col = static_cast<int>(c);
        if (page_stmt.column_is_null(col)) {
          out += "<" + columns[c] + " xsi:nil=\"true\"/>";
          continue;
        }
        out += '<';
        out += columns[c];
        out += '>';
        append_escaped(out, page_stmt.column_text(col));
        out += "</";
        out += columns[c];
        out += '>';
      }
      out += "</row>";
    }
    DXHUB_RETURN_IF_ERROR(page_stmt.reset());
    return count_stmt.reset();
  }

  Answer page_answer(Flavor flavor, PageRequest request) {
    const ServerOptions& options = server.options_;
    if (request.page_size == -1) request.page_size = options.default_page_size;
    if (request.page < 1) return soap_fault(flavor, true, "page must be a positive integer");
    if (request.page_size < 1 || request.page_size > options.max_page_size) {
      return soap_fault(flavor, true, "pageSize must be in 1.." + std::to_string(options.max_page_size));
    }
    if (request.offset && *request.offset < 0) return soap_fault(flavor, true, "offset must not be negative");
    Faults& faults = server.faults_;
    const int fault_page = faults.fault_on_page.load();
    if (fault_page > 0 && request.page == fault_page && !request.offset) {
      int left = faults.fault_count.load();
      if (left != 0) {
        if (left > 0) faults.fault_count.fetch_sub(1);
        return soap_fault(flavor, false, "injected fault: page " + std::to_string(fault_page) + " unavailable");
      }
    }
    std::string rows;
    rows.reserve(static_cast<size_t>(request.page_size) * 256);
    int64_t total = 0;
    if (Status s = rows_xml(request, rows, total); !s.is_ok()) {
      return soap_fault(flavor, false, "database error");
    }
    Answer answer;
    answer.content_type = content_type_of(flavor);
    std::string& body = answer.body;
    body.reserve(rows.size() + 512);
    body += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (flavor == Flavor::kPlainXml) {
      body += std::string("<rows xmlns:xsi=\"") + kXsiNs + "\" total=\"" + std::to_string(total) + "\">";
      body += rows;
      body += "</rows>";
      return answer;
    }
    const char* ns = flavor == Flavor::kSoap11 ? kSoap11Ns : kSoap12Ns;
    body += std::string("<soap:Envelope xmlns:soap=\"") + ns + "\" xmlns:xsi=\"" + kXsiNs + "\"><soap:Body>";
    body += std::string("<GetRowsResponse xmlns=\"") + kServiceNs + "\"><total>" + std::to_string(total) +
            "</total><page>" + std::to_string(request.page) + "</page><rows>";
    body += rows;
    body += "</rows></GetRowsResponse></soap:Body></soap:Envelope>";
    return answer;
  }

  Answer soap_answer(const http::request<http::string_body>& req) {
    std::string_view type(req[http::field::content_type].data(), req[http::field::content_type].size());
    Flavor flavor = type.find("application/soap+xml") != std::string_view::npos ? Flavor::kSoap12 : Flavor::kSoap11;
    if (type.find("xml") == std::string_view::npos) return soap_fault(flavor, true, "Content-Type must be XML");
    if (flavor == Flavor::kSoap11 && req.find("SOAPAction") == req.end()) {
      return soap_fault(flavor, true, "SOAP 1.1 request without SOAPAction header");
    }
    auto doc = xml::parse(req.body(), {});
    if (!doc) return soap_fault(flavor, true, "request is not well-formed XML");
    xmlNode* envelope = xmlDocGetRootElement(doc->get());
    const char* want = flavor == Flavor::kSoap11 ? kSoap11Ns : kSoap12Ns;
    if (xml::local_name(envelope) != "Envelope" || envelope->ns == nullptr ||
        std::string_view(reinterpret_cast<const char*>(envelope->ns->href)) != want) {
      return soap_fault(flavor, true, "request is not a SOAP envelope of the version its Content-Type says");
    }
    xmlNode* body = nullptr;
    for (xmlNode* child = xml::first_element_child(envelope); child; child = xml::next_element_sibling(child)) {
      if (xml::local_name(child) == "Body") body = child;
    }
    xmlNode* op = xml::first_element_child(body);
    if (op == nullptr || xml::local_name(op) != "GetRows") return soap_fault(flavor, true, "unknown operation");
    PageRequest request;
    for (xmlNode* arg = xml::first_element_child(op); arg; arg = xml::next_element_sibling(arg)) {
      std::string text;
      xml::append_text(arg, text);
      std::string_view name = xml::local_name(arg);
      int64_t number = 0;
      if (name == "updatedSince") {
        if (!text.empty()) request.updated_since = text;
        continue;
      }
      if (name != "page" && name != "pageSize" && name != "offset") {
        return soap_fault(flavor, true, "unknown argument " + std::string(name));
      }
      if (!parse_int(text, number)) return soap_fault(flavor, true, std::string(name) + " must be an integer");
      if (name == "page") request.page = number;
      if (name == "pageSize") request.page_size = number;
      if (name == "offset") request.offset = number;
    }
    return page_answer(flavor, request);
  }

  Answer plain_answer(std::string_view target) {
    PageRequest request;
    auto q = target.find('?');
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      auto eq = pair.find('=');
      std::string name = url_decode(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
      int64_t number = 0;
      if (name == "updated_since") {
        if (!value.empty()) request.updated_since = value;
        continue;
      }
      if (name != "page" && name != "page_size" && name != "offset") continue;
      if (!parse_int(value, number)) return soap_fault(Flavor::kPlainXml, true, name + " must be an integer");
      if (name == "page") request.page = number;
      if (name == "page_size") request.page_size = number;
      if (name == "offset") request.offset = number;
    }
    return page_answer(Flavor::kPlainXml, request);
  }

  Answer answer(const http::request<http::string_body>& req) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/soap") {
      if (req.method() != http::verb::post) return {405, "text/plain", "POST only\n"};
      return soap_answer(req);
    }
    if (path == "/rows") {
      if (req.method() != http::verb::get && req.method() != http::verb::post) return {405, "text/plain", "GET\n"};
      return plain_answer(target);
    }
    return {404, "text/plain", "not found\n"};
  }
};

namespace {

// One connection: read a request, answer (faults applied), repeat.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& impl, Faults& faults, std::atomic<uint64_t>& requests)
      : stream_(std::move(socket)), impl_(impl), faults_(faults), requests_(requests), timer_(stream_.get_executor()) {}

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(8 << 20);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  static bool take(std::atomic<int>& counter) {
    int left = counter.load();
    while (left > 0) {
      if (counter.compare_exchange_weak(left, left - 1)) return true;
    }
    return false;
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) return close();
    requests_.fetch_add(1);
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    bool truncate = false;
    Answer answer;
    if (take(faults_.error_5xx)) {
      answer = {503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>"};
    } else if (take(faults_.html)) {
      answer = {200, "text/html", "<html><body><p>Please log in</p></body></html>"};
    } else if (take(faults_.hostile)) {
      answer = {200, "text/xml; charset=utf-8",
                "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
                "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;\">]><l>&d;</l>"};
    } else {
      truncate = take(faults_.truncate);
      answer = impl_.answer(req);
    }
    wire_ = "HTTP/1.1 " + std::to_string(answer.status) + " " +
            std::string(http::obsolete_reason(static_cast<http::status>(answer.status))) +
            "\r\nServer: dxhub-agency-soap\r\nContent-Type: " + answer.content_type +
            "\r\nContent-Length: " + std::to_string(answer.body.size()) +
            (keep_alive_ && !truncate ? "\r\n" : "\r\nConnection: close\r\n") + "\r\n";
    wire_ += truncate ? answer.body.substr(0, answer.body.size() / 2) : answer.body;
    if (truncate) keep_alive_ = false;
    const int delay = faults_.slow_ms.load();
    if (delay <= 0) return write();
    timer_.expires_after(std::chrono::milliseconds(delay));
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
  }

  void write() {
    stream_.expires_after(std::chrono::seconds(30));
    net::async_write(stream_, net::buffer(wire_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& impl_;
  Faults& faults_;
  std::atomic<uint64_t>& requests_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string wire_;
  bool keep_alive_ = false;
};

void accept_loop(Server::Impl& impl, Faults& faults, std::atomic<uint64_t>& requests) {
  impl.acceptor.async_accept([&impl, &faults, &requests](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // stopped
    std::make_shared<Session>(std::move(socket), impl, faults, requests)->run();
    accept_loop(impl, faults, requests);
  });
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { stop(); }

Status Server::start() {
  if (impl_) return internal_error("agency soap server already started");
  if (options_.table.empty() || options_.key_column.empty()) return config_error("agency soap: --table and --key are required");
  DXHUB_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::open(options_.database, SqliteDb::Mode::kReadOnly, StatusCode::kSource));
  auto impl = std::make_unique<Impl>(*this, std::move(db));
  const std::string table = sqlite_quote_identifier(options_.table);
  const std::string key = sqlite_quote_identifier(options_.key_column);
  std::string where, order = key;
  if (!options_.updated_column.empty()) {
    const std::string updated = sqlite_quote_identifier(options_.updated_column);
    where = " WHERE (?1 IS NULL OR " + updated + " >= ?1)";
    order = updated + ", " + key;
  } else {
    where = " WHERE ?1 IS NULL OR ?1 IS NOT NULL";
  }
  auto page = impl->db.prepare("SELECT * FROM " + table + where + " ORDER BY " + order + " LIMIT ?2 OFFSET ?3");
  if (!page) return config_error("agency soap: cannot query table " + options_.table + ": " + page.status().message());
  impl->page_stmt = std::move(*page);
  auto count = impl->db.prepare("SELECT count(*) FROM " + table + where);
  if (!count) return config_error("agency soap: " + count.status().message());
  impl->count_stmt = std::move(*count);
  for (int c = 0; c < impl->page_stmt.column_count(); ++c) impl->columns.emplace_back(impl->page_stmt.column_name(c));

  beast::error_code ec;
  auto address = net::ip::make_address(options_.listen_address, ec);
  if (ec) return config_error("agency soap: invalid listen address " + options_.listen_address);
  tcp::endpoint endpoint(address, options_.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return io_error("agency soap: cannot listen on " + options_.listen_address + ": " + ec.message());
  port_ = impl->acceptor.local_endpoint().port();
  accept_loop(*impl, faults_, requests_);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->ioc.run();
        return;
      } catch (...) {
        // A handler threw (out of memory): keep serving.
      }
    }
  });
  impl_ = std::move(impl);
  return Status::ok();
}

void Server::stop() {
  if (!impl_) return;
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_.reset();
}

}  // namespace dxhub::agency_soap
