// The one HTTP/1.1 client of polyarch, over a unix socket: dockerd's Engine API (through
// EngineClient), a daemon's readiness ping, recovery's requests to a daemon left behind.
//
// Built on Boost.Beast, but no Boost type appears here. What it guarantees:
// - a keep-alive connection per client (a client belongs to one thread), or one connection per
//   request ("Connection: close") with keep_alive off, as UnixHttpRequest uses;
// - a deadline on every request, covering connect, write and the whole response: Beast's
//   basic_stream timeouts only apply to asynchronous operations, so each call starts the
//   asynchronous operation and runs the client's private io_context until it completes;
// - when a reused connection turns out to be closed before any byte of the answer arrived
//   (the server dropped the idle connection), the request is sent once more on a fresh one,
//   never more than once;
// - bounded reads: a body past the cap is an error naming the cap (a declared length is
//   refused from the header alone), and a streamed body (an exec's output) goes through a
//   caller's sink instead of memory; interim 1xx answers are skipped;
// - nothing throws past it (Beast and Asio are used through their error_code forms, and the
//   public functions catch at the boundary), and every socket is SOCK_CLOEXEC;
// - a server that is gone (no socket, connection refused or reset, closed before the answer
//   was complete) is Code::kUnavailable, a request that outlived its deadline is
//   kDeadlineExceeded, an answer that is not HTTP is kInternal, a body past the cap is
//   kResourceExhausted, and a request that cannot be sent as asked (a target with a space or
//   a line break, a socket path too long for sun_path) is kInvalidArgument. HTTP error
//   statuses are answers, not errors.
#ifndef POLYARCH_HARNESS_DAEMONS_HTTP_CLIENT_H_
#define POLYARCH_HARNESS_DAEMONS_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "harness/core/status.h"

namespace polyarch {

inline constexpr size_t kMaxHttpBodyBytes = 64 * 1024 * 1024;

// Receives a streamed response body piece by piece; a non-ok Status stops the read (and
// drops the connection, whose position in the stream is then unknown).
using BodySink = std::function<Status(std::string_view)>;

struct HttpRequest {
  std::string method;                    // "GET", "POST", "DELETE", "HEAD"
  std::string target;                    // "/v1.41/containers/json?all=1"
  std::string body;                      // sent with a Content-Length (always for POST and PUT)
  std::string content_type;              // a Content-Type header when not empty
  std::chrono::milliseconds timeout{0};  // 0: the client's default
  // For a 2xx answer, the body goes here instead of HttpResponse::body; an error answer is
  // always read into HttpResponse::body, so what the server said can be reported.
  BodySink sink;
};

struct HttpResponse {
  std::string method;
  std::string target;  // as sent
  int status = 0;
  std::string reason;
  // Names lower-cased (HTTP names are case-insensitive); a repeated header keeps its values
  // joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;  // decoded (no chunk framing); empty when a sink took it

  bool ok() const { return status >= 200 && status < 300; }
  // The header's value, "" when absent; `name` in lower case.
  std::string Header(const std::string& name) const;
};

struct HttpClientOptions {
  std::string socket_path;
  std::chrono::milliseconds timeout{60000};   // default deadline of one request
  size_t max_body_bytes = kMaxHttpBodyBytes;  // cap on a body read into memory
  bool keep_alive = true;                     // false: "Connection: close", one request each
  std::string peer = "the server";            // how errors name what listens on the socket
};

class UnixHttpClient {
 public:
  explicit UnixHttpClient(HttpClientOptions options);
  ~UnixHttpClient();
  UnixHttpClient(const UnixHttpClient&) = delete;
  UnixHttpClient& operator=(const UnixHttpClient&) = delete;

  const HttpClientOptions& options() const { return options_; }

  // Sends one request and reads the whole answer, whatever its HTTP status. The Status is an
  // error only when no complete answer arrived (see the file comment).
  Result<HttpResponse> Send(const HttpRequest& request);

  // Drops the connection; the next request opens a new one.
  void Disconnect();

  // Connections opened so far, and how many of them replaced a reused connection the server
  // had closed.
  int connections_opened() const { return connections_; }
  int reconnects() const { return reconnects_; }

 private:
  struct Impl;
  Result<HttpResponse> SendOnce(const HttpRequest& request,
                                std::chrono::steady_clock::time_point deadline,
                                std::chrono::milliseconds timeout, bool* closed_before_answer);

  HttpClientOptions options_;
  std::unique_ptr<Impl> impl_;
  int connections_ = 0;
  int reconnects_ = 0;
};

// One request on a connection of its own, closed afterwards.
Result<HttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& method,
                                     const std::string& target, const std::string& body,
                                     std::chrono::milliseconds timeout,
                                     const std::string& content_type = "",
                                     size_t max_body_bytes = kMaxHttpBodyBytes);

// Ok when something accepts a connection on `socket_path` within `timeout`; the connection
// is closed at once. Tells a stale socket file from a live daemon.
Status CheckUnixSocketAccepts(const std::string& socket_path, std::chrono::milliseconds timeout);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_HTTP_CLIENT_H_
