// A small synchronous client of the Docker Engine API over dockerd's unix socket, on top of
// polyarch's one HTTP client (harness/daemons/http_client.h: keep-alive connection, deadline
// per request, one retry on a reused connection the engine had closed, bounded reads,
// nothing thrown). A driver runs on one worker thread and owns one client, so connections are
// never shared between threads. A daemon that is gone is Code::kUnavailable, a request that
// outlived its deadline Code::kDeadlineExceeded; HTTP errors are responses, turned into a
// Status by EngineError().
//
// The API version is negotiated once (GET /version): the engine must speak 1.41 (Docker
// 20.10) or later and every path is then sent as "/v1.41/...", the version this client was
// written and tested against, whatever newer version the engine also offers.
#ifndef POLYARCH_HARNESS_DRIVERS_DOCKER_ENGINE_CLIENT_H_
#define POLYARCH_HARNESS_DRIVERS_DOCKER_ENGINE_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/capture.h"
#include "harness/core/status.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/http_client.h"

namespace polyarch {

// The Engine API version polyarch speaks: Docker 20.10's. It added the `platform` query of
// POST /containers/create, which foreign-arch containers need.
inline constexpr char kEngineApiVersion[] = "1.41";

struct EngineClientOptions {
  std::string socket_path;                   // dockerd's unix socket
  std::chrono::milliseconds timeout{60000};  // default deadline of one request
  size_t max_body_bytes = 16 << 20;          // cap on a response body read into memory
};

struct EngineRequest {
  std::string method;  // "GET", "POST", "DELETE", "HEAD"
  // The API path without the version prefix, with its query: "/containers/json?all=1".
  // Unversioned paths ("/version", "/_ping") are sent as given when `versioned` is false.
  std::string path;
  std::string body;
  std::string content_type = "application/json";  // sent only with a non-empty body
  std::chrono::milliseconds timeout{0};           // 0: the client's default
  bool versioned = true;
  // For a 2xx answer, the body goes here instead of EngineResponse::body; an error answer
  // is always read into EngineResponse::body, so its "message" can be reported.
  BodySink sink;
};

// An answer of the engine: method, target as sent ("/v1.41/containers/x/start"), status,
// reason, headers, body (empty when a sink took it).
using EngineResponse = HttpResponse;

// The engine's {"message": ...}, or the start of the body when it is not that JSON.
std::string EngineMessage(const EngineResponse& response);

// A Status for an answer that is not 2xx: "<method> <target>: HTTP <status> <reason>:
// <engine message>", with a code by HTTP status (400 kInvalidArgument, 401/403
// kPermissionDenied, 404 kNotFound, 304 and 409 kFailedPrecondition, 503 kUnavailable, any
// other kInternal; podman's compatible API answers 500 where dockerd answers 409, and its
// "cause" then says so: "container state improper" is kFailedPrecondition, "name is already
// in use" kAlreadyExists). Ok for a 2xx answer. Never kUnavailable for an answer the engine
// gave on purpose, except 503: kUnavailable is kept for an engine that is not there.
Status EngineError(const EngineResponse& response);

// Splits the multiplexed stream that dockerd sends for an attach or exec without a TTY:
// frames of an 8-byte header (stream type 0 stdin, 1 stdout, 2 stderr, 3 daemon error;
// three zero bytes; big-endian uint32 payload length) and the payload. Frames may arrive
// split anywhere; each stream keeps a bounded head and tail, so a flood cannot exhaust
// memory; payloads are never buffered beyond that.
class StreamDemuxer {
 public:
  explicit StreamDemuxer(size_t head_bytes = 256 * 1024, size_t tail_bytes = 64 * 1024);

  // Internal when the bytes are not a multiplexed stream (an unknown stream type or a
  // non-zero padding byte): the caller should stop reading.
  Status Feed(std::string_view data);
  // Internal when the stream stopped inside a frame.
  Status Finish() const;

  CapturedOutput out() const { return out_.Finish(); }
  CapturedOutput err() const { return err_.Finish(); }
  // What dockerd itself wrote on stream 3 (an error of the exec machinery, not the process).
  CapturedOutput system_error() const { return sys_.Finish(); }
  uint64_t frames() const { return frames_; }

 private:
  BoundedCapture out_;
  BoundedCapture err_;
  BoundedCapture sys_;
  unsigned char header_[8] = {};
  size_t header_len_ = 0;
  uint64_t payload_left_ = 0;
  int stream_ = 0;
  uint64_t frames_ = 0;
};

// The messages of a JSON message stream (POST /images/load, /images/create): one JSON object
// per line. `error` is the first {"error": ...} (or errorDetail.message) line, empty when
// none; `loaded` the references / IDs of "Loaded image: ..." and "Loaded image ID: ..." lines.
struct JsonMessages {
  std::string error;
  std::vector<std::string> loaded;
  std::vector<std::string> lines;  // the "stream" texts, for reports
};
JsonMessages ParseJsonMessages(std::string_view body);

// Percent-encodes everything but RFC 3986 unreserved characters, for query values.
std::string UrlEncode(std::string_view s);

class EngineClient {
 public:
  explicit EngineClient(EngineClientOptions options);

  const EngineClientOptions& options() const { return options_; }

  // GET /version, once per client. FailedPrecondition naming the version when the engine's
  // ApiVersion is below 1.41; Unavailable when nothing answers on the socket.
  Result<DockerVersion> Negotiate();
  // Skips the round trip for a client whose layer already negotiated with the same engine.
  void AssumeNegotiated() { prefix_ = std::string("/v") + kEngineApiVersion; }
  bool negotiated() const { return !prefix_.empty(); }

  // Sends one request and reads the whole answer, whatever its HTTP status. The Status is an
  // error only when no complete answer arrived (see the file comment). A versioned request
  // before negotiation is a FailedPrecondition.
  Result<EngineResponse> Send(const EngineRequest& request);

  Result<EngineResponse> Get(std::string path, std::chrono::milliseconds timeout = {});
  Result<EngineResponse> Post(std::string path, std::string json_body = "",
                              std::chrono::milliseconds timeout = {});
  Result<EngineResponse> Delete(std::string path, std::chrono::milliseconds timeout = {});

  // Drops the connection; the next request opens a new one.
  void Disconnect() { http_.Disconnect(); }

  // For tests and reports: connections opened so far, and how many of them replaced a
  // reused connection the engine had closed.
  int connections_opened() const { return http_.connections_opened(); }
  int reconnects() const { return http_.reconnects(); }

 private:
  EngineClientOptions options_;
  std::string prefix_;  // "/v1.41" once negotiated
  UnixHttpClient http_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_DOCKER_ENGINE_CLIENT_H_
