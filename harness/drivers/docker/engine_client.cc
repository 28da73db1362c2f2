#include "harness/drivers/docker/engine_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

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
#include <nlohmann/json.hpp>

namespace polyarch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using Protocol = asio::local::stream_protocol;
using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;

// Response headers larger than this are not dockerd's.
constexpr uint32_t kHeaderLimit = 64 * 1024;

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

std::string OneLine(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string Where(const std::string& socket) { return "(unix://" + socket + ")"; }

// A transport failure as a Status: the engine is gone (kUnavailable), too slow
// (kDeadlineExceeded), or answered something that is not HTTP (kInternal).
Status TransportError(const ErrorCode& ec, const std::string& what, const std::string& socket,
                      std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return DeadlineExceeded(what + ": no complete answer within " +
                            std::to_string(timeout.count()) + " ms " + Where(socket));
  }
  if (IsClosed(ec) || ec == http::error::partial_message) {
    return Unavailable(what + ": the engine closed the connection (" + ec.message() + ") " +
                       Where(socket));
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return Internal(what + ": malformed HTTP answer (" + ec.message() + ") " + Where(socket));
  }
  return Unavailable(what + ": " + ec.message() + " " + Where(socket));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Free functions

std::string EngineResponse::EngineMessage() const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) return OneLine(it->get<std::string>(), 1000);
  }
  return OneLine(body, 300);
}

Status EngineError(const EngineResponse& r) {
  if (r.ok()) return Status::Ok();
  std::string text = r.method + " " + r.target + ": HTTP " + std::to_string(r.status);
  if (!r.reason.empty()) text += " " + r.reason;
  std::string message = r.EngineMessage();
  if (!message.empty()) text += ": " + message;
  switch (r.status) {
    case 400:
      return InvalidArgument(text);
    case 401:
    case 403:
      return PermissionDenied(text);
    case 404:
      return NotFound(text);
    case 304:  // "container already started / stopped"
    case 409:
      return FailedPrecondition(text);
    case 503:
      return Unavailable(text);
    default:
      return Internal(text);
  }
}

StreamDemuxer::StreamDemuxer(size_t head_bytes, size_t tail_bytes)
    : out_(head_bytes, tail_bytes), err_(head_bytes, tail_bytes), sys_(16 * 1024, 16 * 1024) {}

Status StreamDemuxer::Feed(std::string_view data) {
  while (!data.empty()) {
    if (payload_left_ == 0) {
      size_t take = std::min(sizeof header_ - header_len_, data.size());
      std::memcpy(header_ + header_len_, data.data(), take);
      header_len_ += take;
      data.remove_prefix(take);
      if (header_len_ < sizeof header_) return Status::Ok();
      header_len_ = 0;
      if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        char hex[8 * 3 + 1] = {};
        for (size_t i = 0; i < sizeof header_; ++i) {
          std::snprintf(hex + 3 * i, 4, "%02x ", header_[i]);
        }
        return Internal("not a multiplexed stdout/stderr stream: frame header " +
                        OneLine(hex, sizeof hex));
      }
      stream_ = header_[0];
      payload_left_ = (uint64_t{header_[4]} << 24) | (uint64_t{header_[5]} << 16) |
                      (uint64_t{header_[6]} << 8) | uint64_t{header_[7]};
      ++frames_;
      continue;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, data.size()));
    // Stream 0 (stdin echoed back) is shown with stdout, as docker's own stdcopy does.
    BoundedCapture& to = stream_ == 2 ? err_ : stream_ == 3 ? sys_ : out_;
    to.Append(data.substr(0, take));
    payload_left_ -= take;
    data.remove_prefix(take);
  }
  return Status::Ok();
}

Status StreamDemuxer::Finish() const {
  if (header_len_ != 0 || payload_left_ != 0) {
    return Internal("the multiplexed stream ended inside a frame (" +
                    std::to_string(header_len_ ? sizeof header_ - header_len_ : payload_left_) +
                    " bytes missing)");
  }
  return Status::Ok();
}

JsonMessages ParseJsonMessages(std::string_view body) {
  JsonMessages m;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      if (m.error.empty()) m.error = "not a JSON message: '" + OneLine(line, 200) + "'";
      continue;
    }
    if (m.error.empty()) {
      auto e = j.find("error");
      if (e != j.end() && e->is_string() && !e->get<std::string>().empty()) {
        m.error = OneLine(e->get<std::string>(), 1000);
      } else if (auto d = j.find("errorDetail"); d != j.end() && d->is_object() &&
                                                 d->contains("message") &&
                                                 (*d)["message"].is_string()) {
        m.error = OneLine((*d)["message"].get<std::string>(), 1000);
      }
    }
    auto s = j.find("stream");
    if (s != j.end() && s->is_string()) {
      std::string text = OneLine(s->get<std::string>(), 1000);
      for (std::string_view p : {"Loaded image: ", "Loaded image ID: "}) {
        if (text.rfind(p, 0) == 0) m.loaded.push_back(text.substr(p.size()));
      }
      if (!text.empty()) m.lines.push_back(std::move(text));
    }
  }
  return m;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// EngineClient

struct EngineClient::Impl {
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

EngineClient::EngineClient(EngineClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

EngineClient::~EngineClient() {
  try {
    impl_->Close();
  } catch (...) {
    // Closing uses error_code forms only; nothing may escape a destructor regardless.
  }
}

void EngineClient::Disconnect() {
  try {
    impl_->Close();
  } catch (...) {
  }
}

Result<DockerVersion> EngineClient::Negotiate() {
  EngineRequest rq;
  rq.method = "GET";
  rq.path = "/version";
  rq.versioned = false;
  PA_ASSIGN_OR_RETURN(EngineResponse r, Send(rq));
  if (!r.ok()) return EngineError(r).WithContext("negotiate the Engine API version");
  PA_ASSIGN_OR_RETURN(DockerVersion v, ParseDockerVersion(r.body));
  if (!ApiVersionAtLeast(v.api_version, kEngineApiVersion)) {
    return FailedPrecondition("the Docker engine at " + options_.socket_path +
                              " speaks Engine API " + v.api_version + " (Docker " + v.version +
                              "); polyarch needs API " + kEngineApiVersion +
                              " or later (Docker 20.10 or later): upgrade the engine "
                              "(apt-get install docker.io)");
  }
  prefix_ = std::string("/v") + kEngineApiVersion;
  return v;
}

Result<EngineResponse> EngineClient::Get(std::string path, std::chrono::milliseconds timeout) {
  EngineRequest rq;
  rq.method = "GET";
  rq.path = std::move(path);
  rq.timeout = timeout;
  return Send(rq);
}

Result<EngineResponse> EngineClient::Post(std::string path, std::string json_body,
                                          std::chrono::milliseconds timeout) {
  EngineRequest rq;
  rq.method = "POST";
  rq.path = std::move(path);
  rq.body = std::move(json_body);
  rq.timeout = timeout;
  return Send(rq);
}

Result<EngineResponse> EngineClient::Delete(std::string path, std::chrono::milliseconds timeout) {
  EngineRequest rq;
  rq.method = "DELETE";
  rq.path = std::move(path);
  rq.timeout = timeout;
  return Send(rq);
}

Result<EngineResponse> EngineClient::Send(const EngineRequest& rq) {
  const std::string target = (rq.versioned ? prefix_ : std::string()) + rq.path;
  const std::string what = rq.method + " " + target;
  try {
    if (rq.versioned && prefix_.empty()) {
      return FailedPrecondition(what + ": the Engine API version was not negotiated");
    }
    if (rq.path.empty() || rq.path[0] != '/') {
      return InvalidArgument(what + ": the path must start with '/'");
    }
    if (options_.socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
      return InvalidArgument("the Docker socket path " + options_.socket_path +
                             " is too long for a unix socket address");
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
                                  std::to_string(timeout.count()) + " ms " +
                                  Where(options_.socket_path));
        }
        if (ec) {
          return Unavailable(what + ": cannot connect to the Docker engine (" + ec.message() +
                             ") " + Where(options_.socket_path));
        }
        impl_->stream = std::move(stream);
        impl_->buffer.consume(impl_->buffer.size());
        ++connections_;
        if (attempt > 0) ++reconnects_;
      }
      bool closed_before_answer = false;
      auto r = SendOnce(rq, target, deadline, &closed_before_answer);
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

Result<EngineResponse> EngineClient::SendOnce(const EngineRequest& rq, const std::string& target,
                                              Clock::time_point deadline,
                                              bool* closed_before_answer) {
  Impl& impl = *impl_;
  const std::string what = rq.method + " " + target;
  const auto timeout = rq.timeout.count() > 0 ? rq.timeout : options_.timeout;
  http::verb verb = http::string_to_verb(rq.method);
  if (verb == http::verb::unknown) return InvalidArgument(what + ": unknown HTTP method");

  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "docker");
  req.set(http::field::user_agent, "polyarch");
  if (!rq.body.empty()) {
    req.set(http::field::content_type, rq.content_type);
    req.body() = rq.body;
  }
  req.keep_alive(true);
  req.prepare_payload();

  impl.stream->expires_at(deadline);
  ErrorCode ec = RunIo(
      impl.ioc, [&](auto handler) { http::async_write(*impl.stream, req, std::move(handler)); });
  if (ec) {
    *closed_before_answer = IsClosed(ec);
    return TransportError(ec, what + " (sending)", options_.socket_path, timeout);
  }

  // buffer_body: the body arrives in pieces into impl.chunk, so a streamed answer goes to the
  // sink without being held whole, and the in-memory cap is ours to state clearly.
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);
  ec = RunIo(impl.ioc, [&](auto handler) {
    http::async_read_header(*impl.stream, impl.buffer, parser, std::move(handler));
  });
  if (ec) {
    *closed_before_answer = IsClosed(ec) && !parser.got_some();
    return TransportError(ec, what, options_.socket_path, timeout);
  }

  EngineResponse resp;
  resp.method = rq.method;
  resp.target = target;
  resp.status = static_cast<int>(parser.get().result_int());
  resp.reason = std::string(parser.get().reason());
  resp.content_type = std::string(parser.get()[http::field::content_type]);
  const bool to_sink = resp.ok() && rq.sink;

  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = impl.chunk.data();
    body.size = impl.chunk.size();
    ec = RunIo(impl.ioc, [&](auto handler) {
      http::async_read(*impl.stream, impl.buffer, parser, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = impl.chunk.size() - body.size;
    if (n > 0) {
      std::string_view piece(impl.chunk.data(), n);
      if (to_sink) {
        Status s = rq.sink(piece);
        if (!s.ok()) return s.WithContext(what);
      } else if (resp.body.size() + n > options_.max_body_bytes) {
        return ResourceExhausted(what + ": the answer's body exceeds the " +
                                 std::to_string(options_.max_body_bytes) + "-byte cap");
      } else {
        resp.body.append(piece);
      }
    }
    if (ec) return TransportError(ec, what + " (reading the body)", options_.socket_path, timeout);
  }
  // An answer framed by the end of the connection (a hijacked exec stream) or marked
  // "Connection: close" leaves nothing to reuse.
  if (parser.keep_alive()) {
    impl.reused = true;
  } else {
    impl.Close();
  }
  return resp;
}

}  // namespace polyarch
