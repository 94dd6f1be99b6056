// The ODBC C API, wrapped once: RAII handles, and every SQLRETURN plus its
// SQLGetDiagRec records turned into a Status in one place (check()). The
// narrow (ANSI) entry points are used with UTF-8 text: psqlODBC's Unicode
// driver runs with client_encoding UTF8 and SQLite's driver passes bytes
// through, so identifiers and values in Chinese travel unchanged.
//
// A secret (the password) handed to connect() is scrubbed from every
// diagnostic message this connection produces, in case a driver echoes
// its connection string.
#pragma once

#include <sql.h>
#include <sqlext.h>

#include <string>
#include <string_view>
#include <utility>

#include "core/common/status.h"

namespace dxhub::odbc {

inline bool succeeded(SQLRETURN rc) { return rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO; }

// Owns one ODBC handle; frees it (after its children, by declaration order
// of the owners) on destruction.
class Handle {
 public:
  Handle() = default;
  Handle(SQLSMALLINT type, SQLHANDLE handle) : type_(type), handle_(handle) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept { *this = std::move(other); }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  SQLHANDLE get() const { return handle_; }
  SQLSMALLINT type() const { return type_; }
  explicit operator bool() const { return handle_ != SQL_NULL_HANDLE; }
  void reset();

 private:
  SQLSMALLINT type_ = 0;
  SQLHANDLE handle_ = SQL_NULL_HANDLE;
};

// The diagnostics of `handle` after `rc` as a Status with `code`:
// "<what>: [SQLSTATE] message; ...". `secret` is replaced by "***".
Status diagnostics(const Handle& handle, SQLRETURN rc, std::string_view what, StatusCode code,
                   std::string_view secret);
// The first SQLSTATE recorded on `handle` ("" when none).
std::string first_sqlstate(const Handle& handle);

class Statement;

// An environment plus one connection. Movable; disconnects on destruction.
class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept { *this = std::move(other); }
  Connection& operator=(Connection&& other) noexcept;

  // SQLDriverConnect without prompting. Failures are kSource.
  static Expected<Connection> connect(const std::string& connection_string, std::string_view secret,
                                      int login_timeout_seconds);

  bool connected() const { return connected_; }
  Expected<Statement> statement() const;
  // SQL_IDENTIFIER_QUOTE_CHAR (" for PostgreSQL and SQLite); "" when the
  // driver supports no quoting.
  Expected<std::string> identifier_quote() const;
  Expected<std::string> dbms_name() const;
  // SQLEndTran(COMMIT): ends whatever read transaction a driver keeps open
  // even in autocommit mode (sqliteodbc holds SQLite's read lock until then).
  Status end_transaction() const;
  // A Status for `rc` on the connection handle.
  Status check(SQLRETURN rc, std::string_view what) const;
  std::string_view secret() const { return secret_; }

 private:
  Handle env_;
  Handle dbc_;
  bool connected_ = false;
  std::string secret_;
};

// One statement handle, reused: close() ends its result set (and with
// autocommit, the read transaction) without freeing it.
class Statement {
 public:
  Statement() = default;
  Statement(Handle handle, std::string secret) : handle_(std::move(handle)), secret_(std::move(secret)) {}

  SQLHSTMT get() const { return handle_.get(); }
  explicit operator bool() const { return static_cast<bool>(handle_); }
  Status check(SQLRETURN rc, std::string_view what) const;
  Status exec_direct(const std::string& sql);
  // true: a row is current; false: no more rows.
  Expected<bool> fetch();
  Expected<SQLSMALLINT> result_columns();
  // SQLFreeStmt(SQL_CLOSE) and SQL_RESET_PARAMS: no result set stays open.
  Status close();
  std::string sqlstate() const { return first_sqlstate(handle_); }

 private:
  Handle handle_;
  std::string secret_;
};

}  // namespace dxhub::odbc
