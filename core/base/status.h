// Status and Result<T>: how core code reports failure without exceptions.
//
// A Status is a code from a small set of categories plus a message that names
// the operation and the resource ("creating order vps-1_JWT_SECRET: HTTP 500
// ..."). When a server answered, the HTTP status is kept for callers that
// branch on it. Messages never hold a secret value, token or password.
// Both types are plain values, safe to copy and to pass between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace siq {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // bad input from the user: flag, file, field
  kNotFound,          // the resource does not exist
  kPermissionDenied,  // the server refused (403) or policy said no
  kUnauthenticated,   // credentials rejected (401)
  kConflict,          // the resource already exists or changed under us
  kUnavailable,       // could not reach the server, or it is overloaded
  kDeadlineExceeded,  // a timeout or deadline passed
  kServerError,       // the server failed or answered nonsense
  kIoError,           // a local file could not be read or written
  kCorrupt,           // a local file exists but cannot be trusted
  kLocked,            // another siq holds the lock
  kInternal,          // a bug in siq
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An ok status.
  Status() = default;
  Status(StatusCode code, std::string message, int http_status = 0)
      : code_(code), message_(std::move(message)), http_status_(http_status) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The HTTP status of the answer that caused this error, or 0.
  int http_status() const { return http_status_; }

  // The same error with "context: " in front of the message.
  Status WithContext(std::string_view context) const;

  // "not found: message", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int http_status_ = 0;
};

inline Status OkStatus() {
  return Status();
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.ok()
  Result(Status status)  // NOLINT: implicit by design
      : state_(std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  // The error, or an ok status when there is a value.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  // REQUIRES: ok()
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace siq

// Returns the status of `expr` from the enclosing function when it failed.
#define SIQ_RETURN_IF_ERROR(expr)                                \
  do {                                                           \
    if (::siq::Status siq_status_ = (expr); !siq_status_.ok()) { \
      return siq_status_;                                        \
    }                                                            \
  } while (0)
