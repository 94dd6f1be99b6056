#include "connectors/odbc_table/odbc_api.h"

#include <algorithm>
#include <utility>

namespace dxhub::odbc {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    type_ = other.type_;
    handle_ = std::exchange(other.handle_, SQLHANDLE{});
  }
  return *this;
}

void Handle::reset() {
  if (handle_ != SQL_NULL_HANDLE) {
    SQLFreeHandle(type_, handle_);
    handle_ = SQL_NULL_HANDLE;
  }
}

namespace {

void scrub(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
}

}  // namespace

std::string first_sqlstate(const Handle& handle) {
  SQLCHAR state[6] = {0};
  SQLINTEGER native = 0;
  SQLSMALLINT length = 0;
  if (!handle || !succeeded(SQLGetDiagRec(handle.type(), handle.get(), 1, state, &native, nullptr, 0, &length))) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(state));
}

Status diagnostics(const Handle& handle, SQLRETURN rc, std::string_view what, StatusCode code,
                   std::string_view secret) {
  std::string message(what);
  message += ": ";
  bool any = false;
  if (handle) {
    for (SQLSMALLINT record = 1; record <= 3; ++record) {
      SQLCHAR state[6] = {0};
      SQLCHAR text[1024] = {0};
      SQLINTEGER native = 0;
      SQLSMALLINT length = 0;
      const SQLRETURN d =
          SQLGetDiagRec(handle.type(), handle.get(), record, state, &native, text, sizeof text, &length);
      if (!succeeded(d)) break;
      if (any) message += "; ";
      message += "[";
      message += reinterpret_cast<const char*>(state);
      message += "] ";
      std::string line(reinterpret_cast<const char*>(text));
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      message += line;
      any = true;
    }
  }
  if (!any) message += rc == SQL_INVALID_HANDLE ? "invalid handle" : "ODBC call failed (return code " +
                                                                         std::to_string(rc) + ")";
  scrub(message, secret);
  return Status(code, std::move(message));
}

// ---- Connection ----

Connection::~Connection() {
  if (connected_) SQLDisconnect(dbc_.get());
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (connected_) SQLDisconnect(dbc_.get());
    dbc_ = std::move(other.dbc_);
    env_ = std::move(other.env_);
    connected_ = std::exchange(other.connected_, false);
    secret_ = std::move(other.secret_);
  }
  return *this;
}

Expected<Connection> Connection::connect(const std::string& connection_string, std::string_view secret,
                                         int login_timeout_seconds) {
  Connection c;
  c.secret_ = std::string(secret);
  SQLHANDLE env = SQL_NULL_HANDLE;
  if (!succeeded(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env))) {
    return source_error("cannot allocate an ODBC environment (is unixODBC installed?)");
  }
  c.env_ = Handle(SQL_HANDLE_ENV, env);
  SQLRETURN rc = SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  if (!succeeded(rc)) return diagnostics(c.env_, rc, "setting ODBC version 3", StatusCode::kSource, secret);
  SQLHANDLE dbc = SQL_NULL_HANDLE;
  rc = SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
  if (!succeeded(rc)) return diagnostics(c.env_, rc, "allocating an ODBC connection", StatusCode::kSource, secret);
  c.dbc_ = Handle(SQL_HANDLE_DBC, dbc);
  if (login_timeout_seconds > 0) {
    SQLSetConnectAttr(dbc, SQL_ATTR_LOGIN_TIMEOUT,
                      reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(login_timeout_seconds)), 0);
  }
  std::string in = connection_string;
  rc = SQLDriverConnect(dbc, nullptr, reinterpret_cast<SQLCHAR*>(in.data()), static_cast<SQLSMALLINT>(in.size()),
                        nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
  // The connection string may hold the password: wipe our copy.
  std::fill(in.begin(), in.end(), '\0');
  if (!succeeded(rc)) return diagnostics(c.dbc_, rc, "cannot connect", StatusCode::kSource, secret);
  c.connected_ = true;
  // Each statement its own short transaction; the connector never writes.
  rc = SQLSetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON), 0);
  if (!succeeded(rc)) return diagnostics(c.dbc_, rc, "setting autocommit", StatusCode::kSource, secret);
  // A hint only: drivers that do not support it ignore it.
  SQLSetConnectAttr(dbc, SQL_ATTR_ACCESS_MODE, reinterpret_cast<SQLPOINTER>(SQL_MODE_READ_ONLY), 0);
  return c;
}

Status Connection::check(SQLRETURN rc, std::string_view what) const {
  if (succeeded(rc)) return Status::ok();
  return diagnostics(dbc_, rc, what, StatusCode::kSource, secret_);
}

Expected<Statement> Connection::statement() const {
  SQLHANDLE stmt = SQL_NULL_HANDLE;
  const SQLRETURN rc = SQLAllocHandle(SQL_HANDLE_STMT, dbc_.get(), &stmt);
  if (!succeeded(rc)) return check(rc, "allocating a statement");
  return Statement(Handle(SQL_HANDLE_STMT, stmt), secret_);
}

Expected<std::string> Connection::identifier_quote() const {
  char quote[8] = {0};
  SQLSMALLINT length = 0;
  const SQLRETURN rc = SQLGetInfo(dbc_.get(), SQL_IDENTIFIER_QUOTE_CHAR, quote, sizeof quote, &length);
  if (!succeeded(rc)) return check(rc, "asking for the identifier quote character");
  std::string q(quote);
  if (q == " ") q.clear();  // ODBC: a blank means "quoting not supported"
  return q;
}

Expected<std::string> Connection::dbms_name() const {
  char name[128] = {0};
  SQLSMALLINT length = 0;
  const SQLRETURN rc = SQLGetInfo(dbc_.get(), SQL_DBMS_NAME, name, sizeof name, &length);
  if (!succeeded(rc)) return check(rc, "asking for the DBMS name");
  return std::string(name);
}

Status Connection::end_transaction() const {
  return check(SQLEndTran(SQL_HANDLE_DBC, dbc_.get(), SQL_COMMIT), "ending the read transaction");
}

// ---- Statement ----

Status Statement::check(SQLRETURN rc, std::string_view what) const {
  if (succeeded(rc) || rc == SQL_NO_DATA) return Status::ok();
  return diagnostics(handle_, rc, what, StatusCode::kSource, secret_);
}

Status Statement::exec_direct(const std::string& sql) {
  const SQLRETURN rc = SQLExecDirect(handle_.get(), reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())),
                                     static_cast<SQLINTEGER>(sql.size()));
  return check(rc, "executing a query");
}

Expected<bool> Statement::fetch() {
  const SQLRETURN rc = SQLFetch(handle_.get());
  if (rc == SQL_NO_DATA) return false;
  if (!succeeded(rc)) return check(rc, "fetching a row");
  return true;
}

Expected<SQLSMALLINT> Statement::result_columns() {
  SQLSMALLINT n = 0;
  const SQLRETURN rc = SQLNumResultCols(handle_.get(), &n);
  if (!succeeded(rc)) return check(rc, "counting result columns");
  return n;
}

Status Statement::close() {
  SQLRETURN rc = SQLFreeStmt(handle_.get(), SQL_CLOSE);
  if (!succeeded(rc)) return check(rc, "closing a result set");
  rc = SQLFreeStmt(handle_.get(), SQL_RESET_PARAMS);
  if (!succeeded(rc)) return check(rc, "resetting parameters");
  return Status::ok();
}

}  // namespace dxhub::odbc
