// Project-wide error type. Every C library's errors are converted to this in
// exactly one place (its wrapper); exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dxhub {

enum class StatusCode {
  kOk = 0,
  kConfig,       // bad configuration, schema, mapping or plugin: fix and rerun
  kSource,       // the agency-side source cannot be read
  kData,         // one value or row is invalid (dead-letter it, go on)
  kUnavailable,  // transient: network down, 5xx, 429 -- worth retrying
  kRejected,     // the peer refused the request for good (4xx)
  kIo,           // local I/O or state database failure
  kNotFound,
  kInternal,
  kBusy,         // another process holds a resource this one needs (the state lock)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return code_ == StatusCode::kUnavailable; }

  // Prefixes context ("resource household_population: ") onto the message.
  Status with_context(std::string_view context) const {
    if (is_ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }
  std::string to_string() const {
    if (is_ok()) return "ok";
    return std::string(status_code_name(code_)) + ": " + message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status config_error(std::string m) { return {StatusCode::kConfig, std::move(m)}; }
inline Status source_error(std::string m) { return {StatusCode::kSource, std::move(m)}; }
inline Status data_error(std::string m) { return {StatusCode::kData, std::move(m)}; }
inline Status unavailable_error(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status rejected_error(std::string m) { return {StatusCode::kRejected, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIo, std::move(m)}; }
inline Status not_found_error(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status busy_error(std::string m) { return {StatusCode::kBusy, std::move(m)}; }

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).is_ok() && "Expected built from an ok Status");
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& status() const {
    static const Status kOk;
    return has_value() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dxhub

#define DXHUB_CONCAT_INNER(a, b) a##b
#define DXHUB_CONCAT(a, b) DXHUB_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` is not ok.
#define DXHUB_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    ::dxhub::Status dxhub_status_ = (expr);           \
    if (!dxhub_status_.is_ok()) return dxhub_status_; \
  } while (0)

#define DXHUB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.has_value()) return tmp.status();        \
  lhs = std::move(tmp).value()

// `DXHUB_ASSIGN_OR_RETURN(auto x, make_x());`
#define DXHUB_ASSIGN_OR_RETURN(lhs, expr) \
  DXHUB_ASSIGN_OR_RETURN_IMPL(DXHUB_CONCAT(dxhub_expected_, __LINE__), lhs, expr)
