#include "harness/drivers/docker/engine_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <gtest/gtest.h>

#include "fake_engine.h"

namespace polyarch {
namespace {

using std::chrono::milliseconds;
using testing::ChunkedReply;
using testing::EngineErrorReply;
using testing::FakeEngine;
using testing::FakeReply;
using testing::Frame;
using testing::HijackedStreamReply;
using testing::JsonReply;
using testing::Reply;
using Clock = std::chrono::steady_clock;

EngineClient Client(const FakeEngine& engine, milliseconds timeout = milliseconds(5000)) {
  return EngineClient(EngineClientOptions{engine.path(), timeout});
}

TEST(EngineClientTest, NegotiatesOnceAndSendsEveryPathWithTheV141Prefix) {
  FakeEngine engine;
  engine.ServeVersion("1.43");  // a newer engine: polyarch still speaks 1.41
  EngineClient client = Client(engine);
  auto v = client.Negotiate();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->api_version, "1.43");
  EXPECT_EQ(v->version, "20.10.24+dfsg1");
  auto info = client.Get("/info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->status, 200);
  auto reqs = engine.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/version");
  EXPECT_EQ(reqs[1].target, "/v1.41/info");
  EXPECT_FALSE(reqs[1].headers["host"].empty());  // HTTP/1.1 requires it
}

TEST(EngineClientTest, AnEngineBelowApi141IsRefusedWithTheVersionNamed) {
  FakeEngine engine;
  engine.ServeVersion("1.40");
  EngineClient client = Client(engine);
  auto v = client.Negotiate();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("1.40"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("1.41"), std::string::npos) << v.status().message();
  EXPECT_FALSE(client.negotiated());
  auto info = client.Get("/info");
  EXPECT_EQ(info.status().code(), Code::kFailedPrecondition);
}

TEST(EngineClientTest, KeepsOneConnectionForManyRequests) {
  FakeEngine engine;
  engine.ServeVersion();
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Get("/info").ok());
  EXPECT_EQ(engine.connections(), 1);
  EXPECT_EQ(client.connections_opened(), 1);
  for (const auto& r : engine.requests()) EXPECT_EQ(r.connection, 1);
}

TEST(EngineClientTest, AConnectionTheEngineClosedIsReplacedOnce) {
  FakeEngine engine;
  engine.ServeVersion();
  // The first answer on each connection is followed by the engine closing it, without a
  // "Connection: close" header: the client learns it only on its next request.
  engine.On("GET", "/v1.41/info", [](const testing::FakeRequest&) {
    FakeReply r = JsonReply(200, {{"Driver", "overlay2"}});
    r.after = FakeReply::After::kClose;
    return r;
  });
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  auto first = client.Get("/info");  // answered, then closed by the engine
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = client.Get("/info");  // finds it closed: a new connection, sent again
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(client.reconnects(), 1);
  EXPECT_EQ(engine.connections(), 2);
}

TEST(EngineClientTest, AReusedConnectionIsRetriedOnlyOnce) {
  FakeEngine engine;
  engine.ServeVersion();
  engine.On("GET", "/v1.41/info", [](const testing::FakeRequest& r) {
    // Connection 1: answer then close. Later connections: drop without an answer.
    FakeReply reply = JsonReply(200, {{"Driver", "overlay2"}});
    reply.after = r.connection == 1 ? FakeReply::After::kClose : FakeReply::After::kDrop;
    return reply;
  });
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  ASSERT_TRUE(client.Get("/info").ok());
  auto r = client.Get("/info");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_EQ(engine.connections(), 2);  // one retry, not a loop
}

TEST(EngineClientTest, AFreshConnectionDroppedWithoutAnswerIsNotRetried) {
  FakeEngine engine;
  FakeReply drop;
  drop.after = FakeReply::After::kDrop;
  engine.On("GET", "/version", drop);
  EngineClient client = Client(engine);
  auto v = client.Negotiate();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kUnavailable) << v.status().ToString();
  EXPECT_NE(v.status().message().find("GET /version"), std::string::npos);
  EXPECT_EQ(engine.connections(), 1);
}

TEST(EngineClientTest, AnEngineThatNeverAnswersHitsTheDeadline) {
  FakeEngine engine;
  engine.ServeVersion();
  FakeReply hang;
  hang.after = FakeReply::After::kHang;
  engine.On("GET", "/v1.41/containers/json", hang);
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  auto t = Clock::now();
  auto r = client.Get("/containers/json", milliseconds(200));
  auto took = Clock::now() - t;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(2000));
  // The timed-out connection is dropped; the next request works on a new one.
  auto after = client.Get("/info");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(engine.connections(), 2);
}

TEST(EngineClientTest, HeadersWithoutTheBodyAlsoHitTheDeadline) {
  FakeEngine engine;
  engine.ServeVersion();
  // What POST /containers/{id}/wait does while the container runs.
  FakeReply headers_only{
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"};
  headers_only.after = FakeReply::After::kHang;
  engine.On("POST", "/v1.41/containers/c/wait", headers_only);
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  auto r = client.Post("/containers/c/wait?condition=not-running", "", milliseconds(150));
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
}

TEST(EngineClientTest, NoEngineOnTheSocketIsUnavailable) {
  auto dir = TempDir::Create("pa-engine-test-");
  ASSERT_TRUE(dir.ok());
  // No socket file at all.
  EngineClient missing(EngineClientOptions{dir->path() + "/docker.sock", milliseconds(1000)});
  auto r = missing.Negotiate();
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  // A socket file nobody listens on (a daemon that died): connection refused.
  std::string path = dir->path() + "/dead.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  EngineClient refused(EngineClientOptions{path, milliseconds(1000)});
  auto r2 = refused.Negotiate();
  EXPECT_EQ(r2.status().code(), Code::kUnavailable) << r2.status().ToString();
  EXPECT_NE(r2.status().message().find(path), std::string::npos);
}

TEST(EngineClientTest, ABodyPastTheCapIsAClearError) {
  FakeEngine engine;
  engine.ServeVersion();
  engine.On("GET", "/v1.41/containers/json", Reply(200, std::string(4096, 'x')));
  EngineClient client(EngineClientOptions{engine.path(), milliseconds(5000), 1024});
  ASSERT_TRUE(client.Negotiate().ok());
  auto r = client.Get("/containers/json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("1024"), std::string::npos) << r.status().message();
}

TEST(EngineClientTest, ChunkedAnswersInTinyPiecesAreReassembled) {
  FakeEngine engine;
  engine.ServeVersion();
  std::string body = R"([{"Id":"abc","Names":["/x"]}])";
  FakeReply chunked = ChunkedReply(200, body, 5);
  chunked.piece = 1;
  engine.On("GET", "/v1.41/containers/json", chunked);
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  auto r = client.Get("/containers/json?all=1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, body);
  ASSERT_TRUE(client.Get("/info").ok());
  EXPECT_EQ(engine.connections(), 1);  // chunked framing keeps the connection usable
}

TEST(EngineClientTest, ErrorAnswersBecomeStatusesWithMethodPathStatusAndMessage) {
  FakeEngine engine;
  engine.ServeVersion();
  engine.On("DELETE", "/v1.41/containers/c1",
            EngineErrorReply(409,
                             "You cannot remove a running container c1. Stop the container "
                             "before attempting removal or force remove"));
  engine.On("GET", "/v1.41/containers/nope/json", EngineErrorReply(404, "No such container: nope"));
  engine.On("POST", "/v1.41/containers/c1/start", Reply(304));
  engine.On("POST", "/v1.41/containers/c2/start",
            EngineErrorReply(500, "OCI runtime create failed"));
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());

  auto del = client.Delete("/containers/c1?force=false&v=1");
  ASSERT_TRUE(del.ok());  // an answer, not a transport failure
  Status s = EngineError(*del);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("DELETE /v1.41/containers/c1?force=false&v=1"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("HTTP 409 Conflict"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("You cannot remove a running container c1"), std::string::npos);

  auto missing = client.Get("/containers/nope/json");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(EngineError(*missing).code(), Code::kNotFound);
  EXPECT_EQ(EngineMessage(*missing), "No such container: nope");

  auto again = client.Post("/containers/c1/start");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(EngineError(*again).code(), Code::kFailedPrecondition);

  auto failed = client.Post("/containers/c2/start");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(EngineError(*failed).code(), Code::kInternal);  // never kUnavailable
  EXPECT_TRUE(EngineError(EngineResponse{"GET", "/x", 200}).ok());
  EXPECT_EQ(engine.connections(), 1);  // error answers keep the connection too
}

// podman's compatible API answers 500 with a "cause" where dockerd answers 409.
TEST(EngineClientTest, PodmansCausesGiveTheCodesDockerdsConflictsGive) {
  auto answer = [](const nlohmann::json& body) {
    EngineResponse r{"POST", "/v1.41/containers/c/kill?signal=9", 500};
    r.body = body.dump();
    return EngineError(r);
  };
  Status improper = answer({{"cause", "container state improper"},
                            {"message",
                             "can only kill running containers. c is in state created: "
                             "container state improper"},
                            {"response", 500}});
  EXPECT_EQ(improper.code(), Code::kFailedPrecondition);
  EXPECT_NE(improper.message().find("can only kill running containers"), std::string::npos);
  EXPECT_EQ(answer({{"cause", "that name is already in use"}, {"message", "x"}}).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(answer({{"cause", "OCI runtime error"}, {"message", "x"}}).code(), Code::kInternal);
  EXPECT_EQ(answer({{"message", "container state improper"}}).code(), Code::kInternal)
      << "only the cause field says why";
}

TEST(EngineClientTest, AHijackedStreamGoesToTheSinkAndEndsTheConnection) {
  FakeEngine engine;
  engine.ServeVersion();
  std::string stream = Frame(1, "hello\n") + Frame(2, "warn\n") + Frame(1, "bye\n");
  engine.On("POST", "/v1.41/exec/e1/start", HijackedStreamReply(stream, 3));
  EngineClient client = Client(engine);
  ASSERT_TRUE(client.Negotiate().ok());
  StreamDemuxer demux;
  EngineRequest rq;
  rq.method = "POST";
  rq.path = "/exec/e1/start";
  rq.body = R"({"Detach":false,"Tty":false})";
  rq.sink = [&demux](std::string_view piece) { return demux.Feed(piece); };
  auto r = client.Send(rq);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());  // the sink took it
  EXPECT_TRUE(demux.Finish().ok());
  EXPECT_EQ(demux.out().Text(), "hello\nbye\n");
  EXPECT_EQ(demux.err().Text(), "warn\n");
  // The stream ended with the connection: the next request opens a new one, which is not
  // a retry.
  ASSERT_TRUE(client.Get("/info").ok());
  EXPECT_EQ(engine.connections(), 2);
  EXPECT_EQ(client.reconnects(), 0);
  auto reqs = engine.requests("POST", "/v1.41/exec/e1/start");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].headers["content-type"], "application/json");
  EXPECT_EQ(reqs[0].body, R"({"Detach":false,"Tty":false})");
}

TEST(StreamDemuxerTest, FramesSplitAtEveryByteComeOutWhole) {
  std::string stream = Frame(1, "out one\n") + Frame(2, "err one\n") + Frame(1, "") +
                       Frame(1, "out two\n") + Frame(2, std::string(300, 'e'));
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{9}, stream.size()}) {
    SCOPED_TRACE(piece);
    StreamDemuxer d;
    for (size_t i = 0; i < stream.size(); i += piece) {
      ASSERT_TRUE(d.Feed(std::string_view(stream).substr(i, piece)).ok());
    }
    EXPECT_TRUE(d.Finish().ok());
    EXPECT_EQ(d.out().Text(), "out one\nout two\n");
    EXPECT_EQ(d.err().Text(), "err one\n" + std::string(300, 'e'));
    EXPECT_EQ(d.frames(), 5u);
  }
}

TEST(StreamDemuxerTest, EachStreamIsBoundedHeadAndTail) {
  StreamDemuxer d(/*head_bytes=*/16, /*tail_bytes=*/8);
  std::string big = "HEAD-OF-THE-OUTPUT" + std::string(1 << 20, '.') + "THE-END!";
  ASSERT_TRUE(d.Feed(Frame(1, big)).ok());
  ASSERT_TRUE(d.Feed(Frame(2, "small")).ok());
  CapturedOutput out = d.out();
  EXPECT_EQ(out.total_bytes, big.size());
  EXPECT_EQ(out.head, "HEAD-OF-THE-OUTP");
  EXPECT_EQ(out.tail, "THE-END!");
  EXPECT_EQ(out.dropped_bytes, big.size() - 24);
  EXPECT_EQ(d.err().Text(), "small");
}

TEST(StreamDemuxerTest, SomethingThatIsNotAMultiplexedStreamIsRefused) {
  StreamDemuxer d;
  Status s = d.Feed("hello, this is a raw tty stream\n");
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_NE(s.message().find("not a multiplexed"), std::string::npos) << s.message();
}

TEST(StreamDemuxerTest, AStreamEndingInsideAFrameIsAnError) {
  StreamDemuxer d;
  std::string f = Frame(1, "abcdef");
  ASSERT_TRUE(d.Feed(std::string_view(f).substr(0, f.size() - 2)).ok());
  EXPECT_EQ(d.Finish().code(), Code::kInternal);
  StreamDemuxer header_only;
  ASSERT_TRUE(header_only.Feed(std::string_view(f).substr(0, 5)).ok());
  EXPECT_FALSE(header_only.Finish().ok());
}

TEST(StreamDemuxerTest, TheDaemonsOwnErrorsAreKeptApart) {
  StreamDemuxer d;
  ASSERT_TRUE(d.Feed(Frame(3, "exec failed")).ok());
  EXPECT_EQ(d.system_error().Text(), "exec failed");
  EXPECT_EQ(d.out().total_bytes, 0u);
}

TEST(JsonMessagesTest, LoadedImagesAndErrorsAreFound) {
  JsonMessages ok = ParseJsonMessages(
      "{\"stream\":\"Loaded image: polyarch.local/test:s390x\\n\"}\r\n"
      "{\"stream\":\"Loaded image ID: sha256:abc\\n\"}\n");
  EXPECT_TRUE(ok.error.empty());
  EXPECT_EQ(ok.loaded, (std::vector<std::string>{"polyarch.local/test:s390x", "sha256:abc"}));
  JsonMessages bad = ParseJsonMessages(
      "{\"stream\":\"Loading layer\"}\n"
      "{\"errorDetail\":{\"message\":\"archive/tar: invalid tar header\"},"
      "\"error\":\"archive/tar: invalid tar header\"}\n");
  EXPECT_EQ(bad.error, "archive/tar: invalid tar header");
  JsonMessages detail_only =
      ParseJsonMessages("{\"errorDetail\":{\"message\":\"no space left on device\"}}");
  EXPECT_EQ(detail_only.error, "no space left on device");
  EXPECT_FALSE(ParseJsonMessages("<html>").error.empty());
}

TEST(UrlEncodeTest, EncodesEverythingButUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("linux/arm/v7"), "linux%2Farm%2Fv7");
  EXPECT_EQ(UrlEncode(R"({"label":["io.polyarch.run=r1"]})"),
            "%7B%22label%22%3A%5B%22io.polyarch.run%3Dr1%22%5D%7D");
  EXPECT_EQ(UrlEncode("pa-run_1.x~"), "pa-run_1.x~");
}

}  // namespace
}  // namespace polyarch
