// A real PostgreSQL server for tests and the bench: initdb + pg_ctl from
// Debian's postgresql package, in a temporary directory, on a loopback
// ephemeral port, run as the `postgres` system user (the server refuses
// root). One server per process (PgServer::shared()), stopped at exit.
// Reached through psqlODBC with a DSN-less connection string. Start-up is
// bounded (pg_ctl -w -t 30); a failure is reported, never skipped.
#pragma once

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "connectors/odbc_table/odbc_api.h"

namespace dxhub::testing {

inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
inline constexpr const char* kPsqlOdbcDriver = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so";
inline constexpr const char* kSqliteOdbcDriver = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so";

class PgServer {
 public:
  static PgServer& shared() {
    static PgServer server;
    return server;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string connection_string(const std::string& database = "postgres") const {
    return std::string("Driver=") + kPsqlOdbcDriver + ";Server=127.0.0.1;Port=" + std::to_string(port_) +
           ";Database=" + database + ";UID=postgres";
  }
  ~PgServer() { stop(); }

 private:
  PgServer() { start(); }

  static std::string quoted(const std::string& s) { return "'" + s + "'"; }
  // Runs `command` as the postgres user (directly when not root).
  std::string as_postgres(const std::string& command) const {
    if (::geteuid() != 0) return command;
    return "runuser -u postgres -- " + command;
  }
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }
  static std::string tail(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
  }

  void start() {
    char pattern[] = "/tmp/dxhub_pg_XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        error_ = "no postgres system user (Debian package postgresql)";
        return;
      }
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "cannot chown " + dir_ + " to postgres";
        return;
      }
    }
    const std::string data = dir_ + "/data";
    const std::string initdb = as_postgres(std::string(kPgBin) + "/initdb -D " + quoted(data) +
                                           " -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync > " +
                                           quoted(dir_ + "/initdb.log") + " 2>&1");
    if (std::system(initdb.c_str()) != 0) {
      error_ = "initdb failed: " + tail(dir_ + "/initdb.log");
      return;
    }
    for (int attempt = 0; attempt < 3 && !ok_; ++attempt) {
      port_ = free_port();
      const std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                                  " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                                  "-c full_page_writes=off -c max_connections=40";
      const std::string start = as_postgres(std::string(kPgBin) + "/pg_ctl -D " + quoted(data) + " -l " +
                                            quoted(dir_ + "/server.log") + " -w -t 30 -o " + quoted(options) +
                                            " start > " + quoted(dir_ + "/pg_ctl.log") + " 2>&1");
      ok_ = std::system(start.c_str()) == 0;
    }
    if (!ok_) error_ = "postgres did not start within 30 s: " + tail(dir_ + "/server.log");
  }

  void stop() {
    if (dir_.empty()) return;
    if (ok_) {
      const std::string stop = as_postgres(std::string(kPgBin) + "/pg_ctl -D " + quoted(dir_ + "/data") +
                                           " -m immediate -w -t 30 stop > /dev/null 2>&1");
      (void)std::system(stop.c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
    ok_ = false;
  }

  bool ok_ = false;
  std::string error_;
  std::string dir_;
  int port_ = 0;
};

// Runs SQL on a connection of its own (setup, writers).
class OdbcSession {
 public:
  explicit OdbcSession(const std::string& connection_string) {
    auto c = odbc::Connection::connect(connection_string, {}, 10);
    if (!c) {
      error_ = c.status().to_string();
      return;
    }
    conn_ = std::move(*c);
    auto s = conn_.statement();
    if (!s) {
      error_ = s.status().to_string();
      return;
    }
    stmt_ = std::move(*s);
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  Status exec(const std::string& sql) {
    Status s = stmt_.exec_direct(sql);
    Status closed = stmt_.close();
    return s.is_ok() ? closed : s;
  }
  // First column of the first row as text ("" when no row).
  Expected<std::string> scalar(const std::string& sql) {
    Status s = stmt_.exec_direct(sql);
    if (!s.is_ok()) {
      (void)stmt_.close();
      return s;
    }
    std::string out;
    auto row = stmt_.fetch();
    if (row && *row) {
      char buf[4096] = {0};
      SQLLEN ind = 0;
      SQLGetData(stmt_.get(), 1, SQL_C_CHAR, buf, sizeof buf, &ind);
      if (ind != SQL_NULL_DATA) out = buf;
    }
    (void)stmt_.close();
    return out;
  }
  odbc::Statement& statement() { return stmt_; }

 private:
  odbc::Connection conn_;
  odbc::Statement stmt_;
  std::string error_;
};

}  // namespace dxhub::testing
