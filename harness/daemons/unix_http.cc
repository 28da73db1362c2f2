#include "harness/daemons/unix_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <thread>

#include "harness/core/strings.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;

// A status line plus headers larger than this is not a daemon talking to us.
constexpr size_t kMaxHeaderBytes = 256 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int MsUntil(Clock::time_point deadline) {
  auto now = Clock::now();
  if (deadline <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
  return ms > 60'000 ? 60'000 : static_cast<int>(ms) + 1;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Waits until `fd` is ready for `events` or the deadline passes.
Status PollUntil(int fd, short events, Clock::time_point deadline, std::string_view what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int ms = MsUntil(deadline);
    if (ms == 0) return DeadlineExceeded(std::string(what));
    int r = ::poll(&p, 1, ms);
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, "poll");
  }
}

// Connects a non-blocking, close-on-exec stream socket to `path`, or says why not.
Result<int> ConnectUnix(const std::string& path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return InvalidArgument("unix socket path '" + path + "' is empty or longer than " +
                           std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket(AF_UNIX)");
  for (;;) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN) {
      // A unix socket's listen backlog is full: the daemon is alive but busy. Retry.
      if (Clock::now() >= deadline) {
        ::close(fd);
        return DeadlineExceeded("connect " + path + ": listen backlog stayed full");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (e == EINPROGRESS) {
      Status s = PollUntil(fd, POLLOUT, deadline, "connect " + path + ": no answer in time");
      int err = 0;
      socklen_t len = sizeof err;
      if (s.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (s.ok() && err == 0) return fd;
      ::close(fd);
      if (!s.ok()) return s;
      e = err;
    } else {
      ::close(fd);
    }
    return Unavailable("connect " + path + ": " + std::strerror(e));
  }
}

Status SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      PA_RETURN_IF_ERROR(PollUntil(fd, POLLOUT, deadline, "the request could not be sent in time"));
      continue;
    }
    return Unavailable(std::string("send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

// Incremental HTTP/1.1 response parser: bytes go in as they arrive, and the body is decoded
// in place, so a large chunked body is never re-scanned.
class ResponseParser {
 public:
  ResponseParser(bool head_request, size_t max_body)
      : head_request_(head_request), max_body_(max_body) {}

  Status Feed(std::string_view data) {
    buf_.append(data);
    Status s = Advance();
    buf_.erase(0, pos_);
    pos_ = 0;
    return s;
  }

  // The peer closed the connection.
  Status Finish() {
    if (state_ == kUntilClose) state_ = kDone;
    if (state_ == kDone) return Status::Ok();
    return Unavailable(std::string("connection closed before the response was complete (") +
                       StateName() + ")");
  }

  bool done() const { return state_ == kDone; }
  HttpResponse Take() { return std::move(response_); }

 private:
  enum State {
    kStatusLine,
    kHeaders,
    kFixedBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kUntilClose,
    kDone
  };

  const char* StateName() const {
    switch (state_) {
      case kStatusLine:
        return "no status line";
      case kHeaders:
        return "inside the headers";
      case kFixedBody:
        return "inside a Content-Length body";
      case kChunkSize:
      case kChunkData:
      case kChunkDataEnd:
      case kTrailers:
        return "inside a chunked body";
      case kUntilClose:
      case kDone:
        return "complete";
    }
    return "?";
  }

  // One line without its terminator ("\r\n", or a bare "\n" from a lax server).
  bool TakeLine(std::string_view* line) {
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) return false;
    size_t end = (nl > pos_ && buf_[nl - 1] == '\r') ? nl - 1 : nl;
    *line = std::string_view(buf_).substr(pos_, end - pos_);
    header_bytes_ += nl + 1 - pos_;
    pos_ = nl + 1;
    return true;
  }

  Status NeedMore() const {
    if (state_ == kStatusLine || state_ == kHeaders || state_ == kTrailers) {
      if (header_bytes_ + (buf_.size() - pos_) > kMaxHeaderBytes) {
        return Internal("response headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
      }
    }
    return Status::Ok();
  }

  Status TooLarge() const {
    return ResourceExhausted("response body exceeds the limit of " + std::to_string(max_body_) +
                             " bytes");
  }

  Status ParseStatusLine(std::string_view line) {
    // "HTTP/1.1 200 OK"; the reason phrase may be empty.
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') {
      return Internal("malformed status line '" + std::string(line.substr(0, 80)) + "'");
    }
    int code = 0;
    auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, code);
    if (ec != std::errc() || p != line.data() + 12 || code < 100 || code > 999 ||
        (line.size() > 12 && line[12] != ' ')) {
      return Internal("malformed status line '" + std::string(line.substr(0, 80)) + "'");
    }
    response_ = HttpResponse{};
    response_.status = code;
    response_.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view());
    return Status::Ok();
  }

  Status ParseHeader(std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Internal("malformed header line '" + std::string(line.substr(0, 80)) + "'");
    }
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    auto [it, inserted] = response_.headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
    return Status::Ok();
  }

  Status StartBody() {
    const int st = response_.status;
    if (head_request_ || st == 204 || st == 304) {
      state_ = kDone;
      return Status::Ok();
    }
    if (auto te = response_.headers.find("transfer-encoding"); te != response_.headers.end()) {
      if (ToLower(te->second).find("chunked") != std::string::npos) {
        state_ = kChunkSize;
        return Status::Ok();
      }
    }
    if (auto cl = response_.headers.find("content-length"); cl != response_.headers.end()) {
      const std::string& v = cl->second;
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        return Internal("malformed Content-Length '" + v.substr(0, 40) + "'");
      }
      if (n > max_body_) return TooLarge();
      remaining_ = static_cast<size_t>(n);
      response_.body.reserve(remaining_);
      state_ = remaining_ == 0 ? kDone : kFixedBody;
      return Status::Ok();
    }
    state_ = kUntilClose;
    return Status::Ok();
  }

  Status ParseChunkSize(std::string_view line) {
    line = Trim(line.substr(0, line.find(';')));  // chunk extensions are ignored
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n, 16);
    if (line.empty() || ec != std::errc() || p != line.data() + line.size()) {
      return Internal("malformed chunk size '" + std::string(line.substr(0, 40)) + "'");
    }
    if (n > max_body_ - response_.body.size()) return TooLarge();
    remaining_ = static_cast<size_t>(n);
    state_ = remaining_ == 0 ? kTrailers : kChunkData;
    return Status::Ok();
  }

  // Moves up to remaining_ buffered bytes into the body.
  void TakeBodyBytes() {
    size_t take = std::min(remaining_, buf_.size() - pos_);
    response_.body.append(buf_, pos_, take);
    pos_ += take;
    remaining_ -= take;
  }

  Status Advance() {
    std::string_view line;
    for (;;) {
      switch (state_) {
        case kStatusLine:
          if (!TakeLine(&line)) return NeedMore();
          PA_RETURN_IF_ERROR(ParseStatusLine(line));
          state_ = kHeaders;
          break;
        case kHeaders:
          if (!TakeLine(&line)) return NeedMore();
          if (!line.empty()) {
            PA_RETURN_IF_ERROR(ParseHeader(line));
            break;
          }
          // An interim response (100 Continue) precedes the real one.
          if (response_.status >= 100 && response_.status < 200 && response_.status != 101) {
            state_ = kStatusLine;
            break;
          }
          PA_RETURN_IF_ERROR(StartBody());
          break;
        case kFixedBody:
          TakeBodyBytes();
          if (remaining_ > 0) return Status::Ok();
          state_ = kDone;
          break;
        case kChunkSize:
          if (!TakeLine(&line)) return NeedMore();
          PA_RETURN_IF_ERROR(ParseChunkSize(line));
          break;
        case kChunkData:
          TakeBodyBytes();
          if (remaining_ > 0) return Status::Ok();
          state_ = kChunkDataEnd;
          break;
        case kChunkDataEnd:
          if (!TakeLine(&line)) return NeedMore();
          if (!line.empty()) return Internal("chunk data longer than its declared size");
          state_ = kChunkSize;
          break;
        case kTrailers:
          if (!TakeLine(&line)) return NeedMore();
          if (line.empty()) state_ = kDone;
          break;
        case kUntilClose:
          if (buf_.size() - pos_ > max_body_ - response_.body.size()) return TooLarge();
          response_.body.append(buf_, pos_, std::string::npos);
          pos_ = buf_.size();
          return Status::Ok();
        case kDone:
          return Status::Ok();
      }
    }
  }

  const bool head_request_;
  const size_t max_body_;
  State state_ = kStatusLine;
  std::string buf_;
  size_t pos_ = 0;
  size_t header_bytes_ = 0;
  size_t remaining_ = 0;
  HttpResponse response_;
};

Result<HttpResponse> DoRequest(const std::string& socket_path, const std::string& method,
                               const std::string& target, const std::string& body,
                               std::chrono::milliseconds timeout, const std::string& content_type,
                               size_t max_body_bytes) {
  if (method.empty() || target.empty() || method.find(' ') != std::string::npos ||
      target.find(' ') != std::string::npos || HasLineBreak(method) || HasLineBreak(target) ||
      HasLineBreak(content_type)) {
    return InvalidArgument("invalid HTTP method, target or content type");
  }
  const auto deadline = Clock::now() + timeout;
  PA_ASSIGN_OR_RETURN(int raw_fd, ConnectUnix(socket_path, deadline));
  Fd fd(raw_fd);

  std::string request = method + " " + target + " HTTP/1.1\r\n";
  request += "Host: localhost\r\n";
  request += "User-Agent: polyarch\r\n";
  request += "Connection: close\r\n";
  if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  PA_RETURN_IF_ERROR(SendAll(fd.get(), request, deadline));

  ResponseParser parser(method == "HEAD", max_body_bytes);
  std::string buf(64 * 1024, '\0');
  while (!parser.done()) {
    if (Clock::now() >= deadline) return DeadlineExceeded("the response did not complete in time");
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n > 0) {
      PA_RETURN_IF_ERROR(parser.Feed(std::string_view(buf.data(), static_cast<size_t>(n))));
      continue;
    }
    if (n == 0) {
      PA_RETURN_IF_ERROR(parser.Finish());
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      PA_RETURN_IF_ERROR(
          PollUntil(fd.get(), POLLIN, deadline, "no complete response within the deadline"));
      continue;
    }
    return Unavailable(std::string("recv: ") + std::strerror(errno));
  }
  return parser.Take();
}

}  // namespace

Result<HttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& method,
                                     const std::string& target, const std::string& body,
                                     std::chrono::milliseconds timeout,
                                     const std::string& content_type, size_t max_body_bytes) {
  Result<HttpResponse> r =
      DoRequest(socket_path, method, target, body, timeout, content_type, max_body_bytes);
  if (!r.ok()) {
    return r.status().WithContext(method + " " + target + " on " + socket_path + " (timeout " +
                                  std::to_string(timeout.count()) + " ms)");
  }
  return r;
}

Status CheckUnixSocketAccepts(const std::string& socket_path, std::chrono::milliseconds timeout) {
  PA_ASSIGN_OR_RETURN(int fd, ConnectUnix(socket_path, Clock::now() + timeout));
  ::close(fd);
  return Status::Ok();
}

}  // namespace polyarch
