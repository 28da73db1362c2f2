// Status and Result: the one error convention of polyarch.
//
// Three tiers (docs/design.md): a failure of the system under test is a Status stored in a
// step or case result; a condition that stops the harness is a Status returned up to main,
// which maps its code to an exit code; a bug is an assertion. Nothing here throws.
#ifndef POLYARCH_HARNESS_CORE_STATUS_H_
#define POLYARCH_HARNESS_CORE_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace polyarch {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the user gave something unusable (usage, config, bad value)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a named thing exists and must not be replaced
  kFailedPrecondition,  // the host is not in a state that allows the operation
  kPermissionDenied,    // not root, or the kernel refused for lack of privilege
  kUnavailable,         // a daemon or facility does not answer
  kDeadlineExceeded,    // a deadline passed
  kAborted,             // the operation was interrupted (signal, daemon died)
  kResourceExhausted,   // disk, memory, descriptors
  kInternal,            // an unexpected failure of the system call layer
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: <message>"; "ok" when ok.
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; ok stays ok.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// Maps an errno value to a Status whose message is "<what>: <strerror>".
Status ErrnoStatus(int err, std::string_view what);

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "a Result holding a Status must hold an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace polyarch

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define PA_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::polyarch::Status pa_status_ = (expr);  \
    if (!pa_status_.ok()) return pa_status_; \
  } while (0)

#define PA_CONCAT_INNER_(a, b) a##b
#define PA_CONCAT_(a, b) PA_CONCAT_INNER_(a, b)
// Declares `lhs` from the value of the Result `rexpr`, or returns its Status.
#define PA_ASSIGN_OR_RETURN(lhs, rexpr) \
  PA_ASSIGN_OR_RETURN_IMPL_(PA_CONCAT_(pa_result_, __LINE__), lhs, rexpr)
#define PA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // POLYARCH_HARNESS_CORE_STATUS_H_
