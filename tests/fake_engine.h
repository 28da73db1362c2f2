// A fake Docker Engine for unit tests: an HTTP/1.1 server on a unix socket in a temporary
// directory, answering canned replies from routes the test registers.
//
// Each accepted connection is served on its own thread, request after request (keep-alive),
// so a layer's connection and its drivers' connections can be open at once as with dockerd.
// A reply says what happens to the connection afterwards: kept open, closed (without saying
// so in a header, as a daemon dropping an idle connection would), held without an answer
// (a hung daemon), or dropped without any answer. Every request is recorded for the test to
// check what the client sent.
#ifndef POLYARCH_TESTS_FAKE_ENGINE_H_
#define POLYARCH_TESTS_FAKE_ENGINE_H_

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/core/fs.h"

namespace polyarch::testing {

struct FakeRequest {
  int connection = 0;  // 1-based, in accept order
  std::string method;
  std::string target;                          // with the query
  std::string path;                            // without it
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct FakeReply {
  enum class After { kKeepOpen, kClose, kHang, kDrop };
  std::string bytes;  // the whole answer, as sent
  After after = After::kKeepOpen;
  size_t piece = 0;  // > 0: sent in pieces of this many bytes, with short pauses
};

inline std::string ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

// An answer with a Content-Length body (none for 204 and 304).
inline FakeReply Reply(int status, const std::string& body = "",
                       const std::string& content_type = "application/json") {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
                     "\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24 (linux)\r\n";
  if (status == 204 || status == 304) return {head + "\r\n"};
  if (!body.empty()) head += "Content-Type: " + content_type + "\r\n";
  return {head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body};
}
inline FakeReply JsonReply(int status, const nlohmann::json& body) {
  return Reply(status, body.dump() + "\n");
}
inline FakeReply EngineErrorReply(int status, const std::string& message) {
  return JsonReply(status, {{"message", message}});
}
// The same bytes in chunked transfer encoding, one chunk per `chunk` bytes.
inline FakeReply ChunkedReply(int status, const std::string& body, size_t chunk) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
                    "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += chunk) {
    std::string part = body.substr(i, chunk);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  out += "0\r\n\r\n";
  return {out};
}
// What dockerd 20.10 writes on a hijacked POST /exec/{id}/start: a 200 with no length, the
// raw multiplexed stream, then the end of the connection.
inline FakeReply HijackedStreamReply(const std::string& stream, size_t piece = 0) {
  FakeReply r{
      "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
      "Api-Version: 1.41\r\n\r\n" +
      stream};
  r.after = FakeReply::After::kClose;
  r.piece = piece;
  return r;
}
// One frame of the multiplexed stream.
inline std::string Frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

class FakeEngine {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;

  FakeEngine() {
    auto dir = TempDir::Create("pa-fake-engine-");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    path_ = dir_->path() + "/docker.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeEngine() { Stop(); }

  // Stops serving: connections are closed, the socket file and its directory removed.
  void Stop() {
    if (stop_.exchange(true)) return;
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(conn_threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
    dir_.reset();
  }

  const std::string& path() const { return path_; }

  // Answers `method path` (the path without its query) with `handler`; the latest route
  // registered for a request wins, so a test can override a default.
  void On(const std::string& method, const std::string& path, Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.insert(routes_.begin(), Route{method, path, std::move(handler)});
  }
  void On(const std::string& method, const std::string& path, FakeReply reply) {
    On(method, path, [reply](const FakeRequest&) { return reply; });
  }

  // GET /version answering ApiVersion `api`, and GET /v1.41/info.
  void ServeVersion(const std::string& api = "1.41") {
    On("GET", "/version",
       JsonReply(200, {{"Version", "20.10.24+dfsg1"},
                       {"ApiVersion", api},
                       {"MinAPIVersion", "1.12"},
                       {"Os", "linux"}}));
    On("GET", "/v1.41/info",
       JsonReply(200,
                 {{"Driver", "overlay2"}, {"CgroupDriver", "cgroupfs"}, {"CgroupVersion", "1"}}));
  }

  std::vector<FakeRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // The requests for `method path`, in order.
  std::vector<FakeRequest> requests(const std::string& method, const std::string& path) {
    std::vector<FakeRequest> out;
    for (auto& r : requests()) {
      if (r.method == method && r.path == path) out.push_back(r);
    }
    return out;
  }
  int connections() const { return connections_.load(); }

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };

  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int n = ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      conn_threads_.emplace_back([this, fd, n] { Serve(fd, n); });
    }
  }

  // Reads one request (headers and a Content-Length body); false when the client closed
  // the connection or the engine stops.
  bool ReadRequest(int fd, std::string* pending, FakeRequest* req) {
    size_t head_end = std::string::npos;
    size_t want = std::string::npos;
    char buf[65536];
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = pending->find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string head = pending->substr(0, head_end);
          ParseHead(head, req);
          size_t body = 0;
          auto it = req->headers.find("content-length");
          if (it != req->headers.end()) body = std::stoul(it->second);
          want = head_end + 4 + body;
        }
      }
      if (want != std::string::npos && pending->size() >= want) {
        req->body = pending->substr(head_end + 4, want - head_end - 4);
        pending->erase(0, want);
        return true;
      }
      if (stop_) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got <= 0) return false;
      pending->append(buf, static_cast<size_t>(got));
    }
  }

  static void ParseHead(const std::string& head, FakeRequest* req) {
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    req->method = line.substr(0, sp1);
    req->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    req->path = req->target.substr(0, req->target.find('?'));
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string h = head.substr(pos, end - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        size_t v = h.find_first_not_of(' ', colon + 1);
        req->headers[name] = v == std::string::npos ? "" : h.substr(v);
      }
      pos = end + 2;
    }
  }

  void Send(int fd, const FakeReply& reply) {
    std::string_view data = reply.bytes;
    while (!data.empty() && !stop_) {
      size_t n = reply.piece > 0 ? std::min(reply.piece, data.size()) : data.size();
      ssize_t sent = ::send(fd, data.data(), n, MSG_NOSIGNAL);
      if (sent <= 0) return;
      data.remove_prefix(static_cast<size_t>(sent));
      if (reply.piece > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void Serve(int fd, int connection) {
    std::string pending;
    for (;;) {
      FakeRequest req;
      req.connection = connection;
      if (!ReadRequest(fd, &pending, &req)) break;
      Handler handler;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
        for (const auto& r : routes_) {
          if (r.method == req.method && r.path == req.path) {
            handler = r.handler;
            break;
          }
        }
      }
      FakeReply reply = handler ? handler(req) : EngineErrorReply(404, "page not found");
      if (reply.after == FakeReply::After::kDrop) break;
      Send(fd, reply);
      if (reply.after == FakeReply::After::kClose) break;
      if (reply.after == FakeReply::After::kHang) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        break;
      }
    }
    ::close(fd);
  }

  std::unique_ptr<TempDir> dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<Route> routes_;
  std::vector<FakeRequest> requests_;
  std::vector<std::thread> conn_threads_;
  std::thread accept_thread_;
};

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_FAKE_ENGINE_H_
