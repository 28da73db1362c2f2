// dockerd's answers as the docker layer reads them: State.Status, the multiplexed stdout/
// stderr stream of an exec, the JSON message stream of POST /images/load, error bodies and
// GET /version; and `ctr version` output, read when polyarch starts its containerd.
//
// The first byte chooses how the exec stream is cut into pieces and the HTTP status of the
// error answer; the rest is the payload for every parser.
//
// Invariants: the demultiplexer's result does not depend on how the stream was cut (frames
// may arrive split anywhere) and its captures account for every payload byte; an error
// answer's message is one line; an accepted version has Version and ApiVersion; API version
// comparison is reflexive and total.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/docker/engine_client.h"

namespace {

using polyarch::Status;
using polyarch::StreamDemuxer;

struct Demuxed {
  Status fed;
  Status finished;
  std::string out, err, sys;
  uint64_t out_total = 0, err_total = 0, sys_total = 0;
  uint64_t frames = 0;
};

// Feeds `stream` in pieces of 1..max_piece bytes (0: all at once), stopping at the first
// error as the docker layer's sink does.
Demuxed Demux(std::string_view stream, size_t max_piece, uint32_t seed, size_t head, size_t tail) {
  StreamDemuxer d(head, tail);
  Demuxed r;
  while (!stream.empty() && r.fed.ok()) {
    size_t n = stream.size();
    if (max_piece > 0) {
      seed = seed * 1103515245u + 12345u;  // a fixed sequence of cut points per input
      n = std::min<size_t>(n, 1 + (seed >> 16) % max_piece);
    }
    r.fed = d.Feed(stream.substr(0, n));
    stream.remove_prefix(n);
  }
  r.finished = d.Finish();
  r.out = d.out().Text();
  r.err = d.err().Text();
  r.sys = d.system_error().Text();
  r.out_total = d.out().total_bytes;
  r.err_total = d.err().total_bytes;
  r.sys_total = d.system_error().total_bytes;
  r.frames = d.frames();
  return r;
}

// The payload bytes a well-formed prefix of `stream` carries, frame by frame.
uint64_t PayloadBytes(std::string_view stream) {
  uint64_t total = 0;
  while (stream.size() >= 8) {
    const auto* h = reinterpret_cast<const unsigned char*>(stream.data());
    if (h[0] > 3 || h[1] || h[2] || h[3]) break;
    uint64_t len = (uint64_t{h[4]} << 24) | (uint64_t{h[5]} << 16) | (uint64_t{h[6]} << 8) | h[7];
    stream.remove_prefix(8);
    uint64_t take = std::min<uint64_t>(len, stream.size());
    total += take;
    stream.remove_prefix(static_cast<size_t>(take));
  }
  return total;
}

void CheckDemuxer(std::string_view stream, uint8_t control) {
  const Demuxed whole = Demux(stream, 0, 0, 256 * 1024, 64 * 1024);
  const Demuxed cut = Demux(stream, 1 + control % 16, control, 256 * 1024, 64 * 1024);
  FUZZ_CHECK(whole.fed == cut.fed, "cutting the stream changed Feed: " + whole.fed.ToString() +
                                       " vs " + cut.fed.ToString());
  FUZZ_CHECK(whole.finished == cut.finished,
             "cutting the stream changed Finish: " + whole.finished.ToString() + " vs " +
                 cut.finished.ToString());
  FUZZ_CHECK(whole.out == cut.out && whole.err == cut.err && whole.sys == cut.sys &&
                 whole.frames == cut.frames,
             "cutting the stream changed what was demultiplexed");
  if (whole.fed.ok()) {
    FUZZ_CHECK(whole.out_total + whole.err_total + whole.sys_total == PayloadBytes(stream),
               "the captures do not account for every payload byte");
  }
  // Tiny captures: the bounded head and tail, and the count of dropped bytes, must agree.
  const Demuxed small = Demux(stream, 0, 0, 5, 3);
  FUZZ_CHECK(small.fed == whole.fed && small.out_total == whole.out_total &&
                 small.err_total == whole.err_total,
             "capture limits changed what was read");
}

// One frame of the multiplexed stream: stream type, three zero bytes, big-endian length.
std::string Frame(char stream, std::string_view payload) {
  std::string f = {stream, 0, 0, 0};
  for (int shift = 24; shift >= 0; shift -= 8) {
    f.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
  }
  return f + std::string(payload);
}

}  // namespace

// Exec streams have NUL bytes in every frame header: they are generated, not committed.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const std::string probe_out = R"({"machine":"s390x","endian":"big","bits":64})"
                                "\n";
  polyarch_fuzz::AddGeneratedSeeds(
      *argc, *argv,
      {{"exec-stream", "P" + Frame(1, probe_out) + Frame(2, "warning: x\n") + Frame(1, "")},
       {"exec-stream-cut", "\x23" + Frame(1, "hello\n") + Frame(2, "partial").substr(0, 10)},
       {"exec-stream-daemon-error",
        "\x11" + Frame(3, "OCI runtime exec failed: exec: \"nope\": not found") + Frame(0, "in")},
       {"exec-stream-not-mux", "PHTTP/1.1 101 UPGRADED\r\n\r\n"}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string input = polyarch_fuzz::AsString(data + 1, size - 1);

  (void)polyarch::ParseDockerState(input);
  CheckDemuxer(input, control);

  polyarch::JsonMessages messages = polyarch::ParseJsonMessages(input);
  FUZZ_CHECK(messages.loaded.size() <= messages.lines.size(), "loaded images without lines");

  polyarch::EngineResponse response;
  response.method = "POST";
  response.target = "/v1.41/containers/create";
  // Every class of answer, chosen by the control byte ('P' 200, 'F' 404, 'G' 409).
  static constexpr int kStatuses[16] = {200, 204, 304, 400, 401, 403, 404, 409,
                                        500, 503, 101, 302, 418, 599, 201, 0};
  response.status = kStatuses[control % 16];
  response.body = input;
  Status error = polyarch::EngineError(response);
  FUZZ_CHECK(error.ok() == response.ok(), "EngineError disagrees with ok(): " + error.ToString());
  std::string message = polyarch::EngineMessage(response);
  FUZZ_CHECK(message.find('\n') == std::string::npos, "a multi-line engine message: " + message);

  auto version = polyarch::ParseDockerVersion(input);
  if (version.ok()) {
    FUZZ_CHECK(!version->version.empty() && !version->api_version.empty(), "empty version");
    (void)polyarch::ApiVersionAtLeast(version->api_version, polyarch::kEngineApiVersion);
  }

  // The input as two API versions, cut where the control byte says.
  std::string_view all(input);
  size_t cut = std::min<size_t>(control % 16, all.size());
  std::string_view a = all.substr(0, cut), b = all.substr(cut);
  FUZZ_CHECK(polyarch::ApiVersionAtLeast(a, a), "a version below itself");
  FUZZ_CHECK(polyarch::ApiVersionAtLeast(a, b) || polyarch::ApiVersionAtLeast(b, a),
             "two versions that compare neither way");

  auto ctr = polyarch::ParseCtrServerVersion(input);
  if (ctr.ok()) {
    FUZZ_CHECK(!ctr->empty() && ctr->find('\n') == std::string::npos, "bad ctr version");
  }
  return 0;
}
