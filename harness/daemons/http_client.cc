#include "harness/daemons/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace polyarch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using Protocol = asio::local::stream_protocol;
using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;

// Status line and headers larger than this are not a daemon talking to us.
constexpr uint32_t kHeaderLimit = 256 * 1024;

// Starts one asynchronous operation and runs the client's io_context until it completed.
// This is how a synchronous call gets basic_stream's deadline, which only asynchronous
// operations honour: at the deadline the stream closes the socket and the operation
// completes with beast::error::timeout.
template <typename Initiate>
ErrorCode RunIo(asio::io_context& ioc, Initiate&& initiate) {
  ErrorCode result = asio::error::would_block;
  initiate([&result](ErrorCode ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// The peer closed (or reset) the connection: on a reused connection before any byte of the
// answer, the request may be sent once more on a new one.
bool IsClosed(const ErrorCode& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == asio::error::connection_aborted ||
         ec == asio::error::bad_descriptor;
}

bool IsHttpParseError(const ErrorCode& ec) {
  return ec.category() == http::make_error_code(http::error::bad_version).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_buffer && ec != http::error::buffer_overflow;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A request line must stay one line: a target or method with a space, a line break or
// another control character would let a caller's string become a second request.
bool SafeToken(std::string_view s) {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct UnixHttpClient::Impl {
  // Declared first, destroyed last: the stream's socket and timer belong to it.
  asio::io_context ioc{1};
  std::unique_ptr<Stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;  // a whole exchange completed on this connection and it stayed open
  std::array<char, 64 * 1024> chunk;

  void Close() {
    if (stream) {
      ErrorCode ignored;
      stream->socket().shutdown(Protocol::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
      stream.reset();
    }
    buffer.consume(buffer.size());
    reused = false;
  }
};

UnixHttpClient::UnixHttpClient(HttpClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

UnixHttpClient::~UnixHttpClient() { Disconnect(); }

void UnixHttpClient::Disconnect() {
  try {
    impl_->Close();
  } catch (...) {
    // Closing uses error_code forms only; nothing may escape regardless.
  }
}

Result<HttpResponse> UnixHttpClient::Send(const HttpRequest& rq) {
  const std::string what = rq.method + " " + rq.target;
  const std::string where = " (unix://" + options_.socket_path + ")";
  try {
    if (!SafeToken(rq.method) || !SafeToken(rq.target) || rq.target[0] != '/' ||
        rq.content_type.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument("refusing to send '" + what +
                             "': a method or target with a space or a control character, or a "
                             "target not starting with '/'");
    }
    if (options_.socket_path.empty() ||
        options_.socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
      return InvalidArgument("the socket path '" + options_.socket_path +
                             "' is empty or too long for a unix socket address (at most " +
                             std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)");
    }
    const auto timeout = rq.timeout.count() > 0 ? rq.timeout : options_.timeout;
    const auto deadline = Clock::now() + timeout;
    for (int attempt = 0;; ++attempt) {
      const bool reused = impl_->stream != nullptr && impl_->reused;
      if (impl_->stream == nullptr) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);  // no child inherits it
        if (fd < 0) return ErrnoStatus(errno, "socket(AF_UNIX)");
        auto stream = std::make_unique<Stream>(impl_->ioc);
        ErrorCode ec;
        stream->socket().assign(Protocol(), fd, ec);
        if (ec) {
          ::close(fd);
          return Internal("adopt a unix socket: " + ec.message());
        }
        stream->expires_at(deadline);
        const Protocol::endpoint endpoint(options_.socket_path);
        ec = RunIo(impl_->ioc,
                   [&](auto handler) { stream->async_connect(endpoint, std::move(handler)); });
        if (ec == beast::error::timeout) {
          return DeadlineExceeded(what + ": could not connect within " +
                                  std::to_string(timeout.count()) + " ms" + where);
        }
        if (ec) {
          return Unavailable(what + ": cannot connect to " + options_.peer + " (" + ec.message() +
                             ")" + where);
        }
        impl_->stream = std::move(stream);
        impl_->buffer.consume(impl_->buffer.size());
        ++connections_;
        if (attempt > 0) ++reconnects_;
      }
      bool closed_before_answer = false;
      auto r = SendOnce(rq, deadline, timeout, &closed_before_answer);
      if (r.ok()) return r;
      impl_->Close();
      if (!(closed_before_answer && reused && attempt == 0)) return r.status();
    }
  } catch (const std::exception& e) {
    Disconnect();
    return Internal(what + ": " + e.what());
  } catch (...) {
    Disconnect();
    return Internal(what + ": unknown exception");
  }
}

Result<HttpResponse> UnixHttpClient::SendOnce(const HttpRequest& rq, Clock::time_point deadline,
                                              std::chrono::milliseconds timeout,
                                              bool* closed_before_answer) {
  Impl& impl = *impl_;
  const std::string what = rq.method + " " + rq.target;
  const std::string where = " (unix://" + options_.socket_path + ")";
  // A transport failure as a Status: the server is gone (kUnavailable), too slow
  // (kDeadlineExceeded), or answered something that is not HTTP (kInternal).
  auto transport = [&](const ErrorCode& ec, bool got_some) -> Status {
    if (ec == beast::error::timeout) {
      return DeadlineExceeded(what + ": no complete answer within " +
                              std::to_string(timeout.count()) + " ms" + where);
    }
    if (IsHttpParseError(ec)) {
      return Internal(what + ": malformed HTTP answer (" + ec.message() + ")" + where);
    }
    if (IsClosed(ec) || ec == http::error::partial_message) {
      return Unavailable(what + ": " + options_.peer + " closed the connection " +
                         (got_some ? "before the response was complete" : "without answering") +
                         " (" + ec.message() + ")" + where);
    }
    return Unavailable(what + ": " + ec.message() + where);
  };

  http::request<http::string_body> req{http::string_to_verb(rq.method), rq.target, 11};
  if (req.method() == http::verb::unknown) req.method_string(rq.method);
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "polyarch");
  if (!rq.content_type.empty()) req.set(http::field::content_type, rq.content_type);
  req.body() = rq.body;
  req.keep_alive(options_.keep_alive);
  req.prepare_payload();

  impl.stream->expires_at(deadline);
  ErrorCode ec = RunIo(
      impl.ioc, [&](auto handler) { http::async_write(*impl.stream, req, std::move(handler)); });
  if (ec) {
    *closed_before_answer = IsClosed(ec);
    return transport(ec, false);
  }

  // buffer_body: the body arrives in pieces into impl.chunk, so a streamed answer goes to the
  // sink without being held whole, and the in-memory cap is ours to state clearly. Interim
  // answers (100 Continue) have no body and come before the real one.
  std::optional<http::response_parser<http::buffer_body>> parser;
  for (;;) {
    parser.emplace();
    parser->header_limit(kHeaderLimit);
    parser->body_limit(boost::none);
    parser->skip(req.method() == http::verb::head);  // its Content-Length describes no body
    ec = RunIo(impl.ioc, [&](auto handler) {
      http::async_read_header(*impl.stream, impl.buffer, *parser, std::move(handler));
    });
    if (ec) {
      *closed_before_answer = IsClosed(ec) && !parser->got_some();
      return transport(ec, parser->got_some());
    }
    const unsigned status = parser->get().result_int();
    if (status < 100 || status >= 200 || status == 101) break;
  }

  HttpResponse resp;
  resp.method = rq.method;
  resp.target = rq.target;
  resp.status = static_cast<int>(parser->get().result_int());
  resp.reason = std::string(parser->get().reason());
  for (const auto& field : parser->get()) {
    std::string& value = resp.headers[Lower(field.name_string())];
    value += (value.empty() ? "" : ", ") + std::string(field.value());
  }
  const bool to_sink = resp.ok() && rq.sink;
  auto too_big = [&] {
    return ResourceExhausted(what + ": the response's body exceeds the limit of " +
                             std::to_string(options_.max_body_bytes) + " bytes" + where);
  };
  if (!to_sink && parser->content_length() && *parser->content_length() > options_.max_body_bytes) {
    return too_big();  // refused from the header alone, before any of it is read
  }

  while (!parser->is_done()) {
    auto& body = parser->get().body();
    body.data = impl.chunk.data();
    body.size = impl.chunk.size();
    ec = RunIo(impl.ioc, [&](auto handler) {
      http::async_read(*impl.stream, impl.buffer, *parser, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = impl.chunk.size() - body.size;
    if (n > 0) {
      std::string_view piece(impl.chunk.data(), n);
      if (to_sink) {
        Status s = rq.sink(piece);
        if (!s.ok()) return s.WithContext(what);
      } else if (resp.body.size() + n > options_.max_body_bytes) {
        return too_big();
      } else {
        resp.body.append(piece);
      }
    }
    if (ec) return transport(ec, true);
  }
  // An answer framed by the end of the connection (a hijacked exec stream), one marked
  // "Connection: close", or a client that does not keep connections leaves nothing to reuse.
  if (options_.keep_alive && parser->keep_alive()) {
    impl.reused = true;
  } else {
    impl.Close();
  }
  return resp;
}

Result<HttpResponse> UnixHttpRequest(const std::string& socket_path, const std::string& method,
                                     const std::string& target, const std::string& body,
                                     std::chrono::milliseconds timeout,
                                     const std::string& content_type, size_t max_body_bytes) {
  HttpClientOptions o;
  o.socket_path = socket_path;
  o.timeout = timeout;
  o.max_body_bytes = max_body_bytes;
  o.keep_alive = false;
  UnixHttpClient client(std::move(o));
  HttpRequest rq;
  rq.method = method;
  rq.target = target;
  rq.body = body;
  rq.content_type = content_type;
  return client.Send(rq);
}

Status CheckUnixSocketAccepts(const std::string& socket_path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return InvalidArgument("unix socket path '" + socket_path + "' is empty or longer than " +
                           std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket(AF_UNIX)");
  const auto deadline = Clock::now() + timeout;
  Status result;
  for (;;) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN && Clock::now() < deadline) {
      // The listen backlog is full: something is alive there but busy. Try again.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (e == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) {
        result = DeadlineExceeded("connect " + socket_path + ": no answer in time");
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        result = Unavailable("connect " + socket_path + ": " + std::strerror(err ? err : errno));
      }
      break;
    }
    result = e == EAGAIN
                 ? DeadlineExceeded("connect " + socket_path + ": the listen backlog stayed full")
                 : Unavailable("connect " + socket_path + ": " + std::strerror(e));
    break;
  }
  ::close(fd);
  return result;
}

}  // namespace polyarch
