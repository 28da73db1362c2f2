// A tiny HTTP/1.1 client over a unix socket: enough to ping a daemon and read its version.
//
// One request per connection ("Connection: close"), one deadline for connect, write and read
// together, a cap on the body so a misbehaving daemon cannot exhaust memory. The response body
// may be framed by Content-Length, chunked transfer encoding, or the end of the connection.
// Nothing here throws; every socket is SOCK_CLOEXEC so no child inherits it.
#ifndef POLYARCH_HARNESS_DAEMONS_UNIX_HTTP_H_
#define POLYARCH_HARNESS_DAEMONS_UNIX_HTTP_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "harness/core/status.h"

namespace polyarch {

inline constexpr size_t kMaxHttpBodyBytes = 64 * 1024 * 1024;

struct HttpResponse {
  int status = 0;
  std::string reason;
  // Names lower-cased (HTTP names are case-insensitive); a repeated header keeps its values
  // joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;  // decoded: chunk framing removed
};

// Sends `method target` to the HTTP server on `socket_path` and reads the whole response.
// `body` is sent with a Content-Length (always for POST/PUT, otherwise only when non-empty);
// `content_type` adds a Content-Type header when non-empty.
// Errors: Unavailable (cannot connect, connection closed early), DeadlineExceeded (no complete
// response within `timeout`), ResourceExhausted (body larger than `max_body_bytes`),
// Internal (malformed response), InvalidArgument (socket path too long for sun_path).
Result<HttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& method,
                                     const std::string& target, const std::string& body,
                                     std::chrono::milliseconds timeout,
                                     const std::string& content_type = "",
                                     size_t max_body_bytes = kMaxHttpBodyBytes);

// Ok when something accepts a connection on `socket_path` within `timeout`; the connection
// is closed at once. Used to tell a stale socket file from a live daemon.
Status CheckUnixSocketAccepts(const std::string& socket_path, std::chrono::milliseconds timeout);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_UNIX_HTTP_H_
