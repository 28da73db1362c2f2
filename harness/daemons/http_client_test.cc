#include "harness/daemons/http_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// One accepted connection of the fake server, as its handler sees it.
struct Conn {
  int fd;
  std::string request;  // request line, headers and the Content-Length body
  const std::atomic<bool>* stop;

  void Send(std::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the client gave up: nothing more to do
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Small writes with pauses, so the client sees the response in many reads.
  void SendInPieces(std::string_view data, size_t piece) const {
    while (!data.empty()) {
      size_t n = std::min(piece, data.size());
      Send(data.substr(0, n));
      data.remove_prefix(n);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }
  // A server that never answers (or stalls): holds the connection until the test ends.
  void HangUntilStop() const {
    while (!stop->load()) std::this_thread::sleep_for(milliseconds(5));
  }
};

// An HTTP server on a unix socket in a temporary directory, serving connections on its own
// thread with `handler`, recording each raw request.
class FakeHttpServer {
 public:
  using Handler = std::function<void(const Conn&)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    auto dir = TempDir::Create("pa-http-test-");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    path_ = dir_->path() + "/http.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    thread_ = std::thread([this] { Run(); });
  }

  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  const std::string& path() const { return path_; }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Conn conn{fd, ReadRequest(fd), &stop_};
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_request_ = conn.request;
      }
      handler_(conn);
      ::close(fd);
    }
  }

  // Reads the headers and then Content-Length bytes of body (bounded by a 5 s guard).
  static std::string ReadRequest(int fd) {
    std::string req;
    size_t want = std::string::npos;
    auto give_up = Clock::now() + std::chrono::seconds(5);
    char buf[4096];
    while (Clock::now() < give_up && (want == std::string::npos || req.size() < want)) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
      size_t end = req.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t body = 0;
        if (size_t cl = req.find("Content-Length: "); cl != std::string::npos && cl < end) {
          body = std::stoul(req.substr(cl + 16));
        }
        want = end + 4 + body;
      }
    }
    return req;
  }

  Handler handler_;
  std::unique_ptr<TempDir> dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string last_request_;
  std::thread thread_;
};

Result<HttpResponse> Get(const FakeHttpServer& server, const std::string& target,
                         milliseconds timeout = milliseconds(5000)) {
  return UnixHttpRequest(server.path(), "GET", target, "", timeout);
}

TEST(UnixHttpTest, GetSendsRequestLineHostAndConnectionClose) {
  FakeHttpServer server([](const Conn& c) {
    c.Send(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n"
        "Api-Version: 1.41\r\n\r\nOK");
  });
  auto r = Get(server, "/_ping");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->body, "OK");
  EXPECT_EQ(r->headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r->headers["api-version"], "1.41");

  std::string req = server.last_request();
  EXPECT_EQ(req.rfind("GET /_ping HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nHost: "), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Content-Length"), std::string::npos) << "a GET without body: " << req;
  EXPECT_EQ(req.find("Content-Type"), std::string::npos) << req;
  ASSERT_GE(req.size(), 4u);
  EXPECT_EQ(req.substr(req.size() - 4), "\r\n\r\n");
}

TEST(UnixHttpTest, PostSendsBodyWithLengthAndContentType) {
  FakeHttpServer server(
      [](const Conn& c) { c.Send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); });
  const std::string body("tar\0bytes\r\n\r\nmore", 18);
  auto r = UnixHttpRequest(server.path(), "POST", "/v1.41/images/load?quiet=1", body,
                           milliseconds(5000), "application/x-tar");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  std::string req = server.last_request();
  EXPECT_EQ(req.rfind("POST /v1.41/images/load?quiet=1 HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/x-tar\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nContent-Length: 18\r\n"), std::string::npos) << req;
  size_t end = req.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(req.substr(end + 4), body);
}

TEST(UnixHttpTest, EmptyPostStillSendsContentLength) {
  FakeHttpServer server([](const Conn& c) { c.Send("HTTP/1.1 204 No Content\r\n\r\n"); });
  auto r = UnixHttpRequest(server.path(), "POST", "/containers/x/start", "", milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  EXPECT_NE(server.last_request().find("\r\nContent-Length: 0\r\n"), std::string::npos);
}

TEST(UnixHttpTest, ContentLengthBodyArrivingInPieces) {
  std::string payload;
  for (int i = 0; i < 20000; ++i) payload += static_cast<char>('a' + i % 26);
  FakeHttpServer server([&payload](const Conn& c) {
    c.SendInPieces("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(payload.size()) +
                       "\r\n\r\n" + payload,
                   997);
  });
  auto r = Get(server, "/version");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, payload);
}

TEST(UnixHttpTest, ContentLengthStopsReadingWithoutWaitingForClose) {
  // Keep-alive servers do not close; the client must stop at Content-Length, not at EOF.
  FakeHttpServer server([](const Conn& c) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    c.HangUntilStop();
  });
  auto start = Clock::now();
  auto r = Get(server, "/x", milliseconds(3000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello");
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST(UnixHttpTest, ChunkedBodyIsDecoded) {
  const std::string second(26, 'z');
  FakeHttpServer server([&second](const Conn& c) {
    c.SendInPieces(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n"
        "1A\r\n" +
            second +
            "\r\n"
            "0\r\nX-Trailer: ignored\r\n\r\n",
        3);
    c.HangUntilStop();  // the terminating chunk ends the body, not the connection
  });
  auto r = Get(server, "/info", milliseconds(3000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello" + second);
  EXPECT_EQ(r->headers["transfer-encoding"], "chunked");
}

TEST(UnixHttpTest, BodyWithoutLengthEndsAtClose) {
  FakeHttpServer server([](const Conn& c) {
    c.SendInPieces("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", 4);
  });
  auto r = Get(server, "/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "until the end");
}

TEST(UnixHttpTest, NoContentResponsesHaveNoBody) {
  FakeHttpServer server([](const Conn& c) {
    c.Send("HTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\n\r\n");
    c.HangUntilStop();
  });
  auto start = Clock::now();
  auto r = UnixHttpRequest(server.path(), "DELETE", "/containers/x", "", milliseconds(3000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST(UnixHttpTest, InterimContinueResponseIsSkipped) {
  FakeHttpServer server([](const Conn& c) {
    c.Send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n{}\r\n");
  });
  auto r = Get(server, "/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->reason, "Created");
  EXPECT_EQ(r->body, "{}\r\n");
}

TEST(UnixHttpTest, HeaderNamesAreCaseInsensitiveAndRepeatsAreJoined) {
  FakeHttpServer server([](const Conn& c) {
    c.Send(
        "HTTP/1.1 404 Not Found\r\nX-Thing: one\r\nx-thing:two \r\nCONTENT-LENGTH: 3\r\n\r\nnop");
  });
  auto r = Get(server, "/missing");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);  // an HTTP error status is a response, not a transport error
  EXPECT_EQ(r->headers["x-thing"], "one, two");
  EXPECT_EQ(r->body, "nop");
}

TEST(UnixHttpTest, TimeoutWhenTheServerNeverAnswers) {
  FakeHttpServer server([](const Conn& c) { c.HangUntilStop(); });
  auto start = Clock::now();
  auto r = Get(server, "/_ping", milliseconds(300));
  auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("/_ping"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(server.path()), std::string::npos);
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(2000));
}

TEST(UnixHttpTest, TimeoutWhenTheBodyStalls) {
  FakeHttpServer server([](const Conn& c) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    c.HangUntilStop();
  });
  auto r = Get(server, "/x", milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
}

TEST(UnixHttpTest, ConnectionClosedMidBodyIsAnError) {
  FakeHttpServer server(
      [](const Conn& c) { c.Send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"); });
  auto r = Get(server, "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("before the response was complete"), std::string::npos)
      << r.status().ToString();
}

TEST(UnixHttpTest, ClosedWithoutAnyResponseIsUnavailable) {
  FakeHttpServer server([](const Conn&) {});
  auto r = Get(server, "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

TEST(UnixHttpTest, BodyOverTheLimitIsRefused) {
  // The server serves one connection at a time: one server per case.
  auto handler = [](const Conn& c) {
    if (c.request.find("/declared") != std::string::npos) {
      c.Send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      c.HangUntilStop();  // refused from the header alone, without waiting for the body
    } else if (c.request.find("/chunked") != std::string::npos) {
      c.Send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'x') +
             "\r\n40\r\n" + std::string(64, 'y') + "\r\n0\r\n\r\n");
    } else {
      c.Send("HTTP/1.1 200 OK\r\n\r\n" + std::string(150, 'z'));
    }
  };
  for (const char* target : {"/declared", "/chunked", "/until-close"}) {
    FakeHttpServer server(handler);
    auto start = Clock::now();
    auto r = UnixHttpRequest(server.path(), "GET", target, "", milliseconds(3000), "", 100);
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << target << r.status().ToString();
    EXPECT_NE(r.status().message().find("limit of 100 bytes"), std::string::npos)
        << r.status().ToString();
    EXPECT_LT(Clock::now() - start, milliseconds(1500)) << target;
  }
  // Exactly at the limit is fine.
  FakeHttpServer server(handler);
  auto ok = UnixHttpRequest(server.path(), "GET", "/until-close", "", milliseconds(3000), "", 150);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body.size(), 150u);
}

TEST(UnixHttpTest, MalformedResponsesAreErrorsNotCrashes) {
  const char* responses[] = {
      "garbage\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nbody",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n",
  };
  for (const char* response : responses) {
    FakeHttpServer server([response](const Conn& c) { c.Send(response); });
    auto r = Get(server, "/x");
    ASSERT_FALSE(r.ok()) << response;
    EXPECT_EQ(r.status().code(), Code::kInternal) << response << " → " << r.status().ToString();
  }
}

TEST(UnixHttpTest, MissingSocketIsUnavailableAtOnce) {
  auto dir = TempDir::Create("pa-http-test-");
  ASSERT_TRUE(dir.ok());
  auto start = Clock::now();
  auto r = UnixHttpRequest(dir->path() + "/nobody.sock", "GET", "/_ping", "", milliseconds(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_FALSE(CheckUnixSocketAccepts(dir->path() + "/nobody.sock", milliseconds(100)).ok());
}

TEST(UnixHttpTest, TooLongSocketPathIsInvalidArgument) {
  auto r = UnixHttpRequest("/" + std::string(200, 'p'), "GET", "/_ping", "", milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
}

TEST(UnixHttpTest, RequestInjectionIsRefused) {
  auto r = UnixHttpRequest("/tmp/x.sock", "GET", "/a HTTP/1.1\r\nX: y", "", milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(UnixHttpTest, CheckUnixSocketAcceptsALiveServer) {
  FakeHttpServer server([](const Conn&) {});
  EXPECT_TRUE(CheckUnixSocketAccepts(server.path(), milliseconds(1000)).ok());
}

TEST(UnixHttpTest, ManySequentialRequestsLeakNoDescriptors) {
  FakeHttpServer server(
      [](const Conn& c) { c.Send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"); });
  auto count_fds = [] {
    int n = 0;
    for (int fd = 0; fd < 4096; ++fd) n += ::fcntl(fd, F_GETFD) != -1;
    return n;
  };
  int before = count_fds();
  for (int i = 0; i < 50; ++i) {
    auto r = Get(server, "/_ping");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto r = Get(server, "/_ping", milliseconds(1));  // a timed-out request closes its socket too
  // The server thread closes its end of each connection a moment after answering.
  auto give_up = Clock::now() + milliseconds(2000);
  while (count_fds() != before && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(count_fds(), before);
}

}  // namespace
}  // namespace polyarch
