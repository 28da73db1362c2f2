#include "harness/drivers/docker/engine_client.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

namespace polyarch {
namespace {

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

}  // namespace

// ---------------------------------------------------------------------------------------
// Free functions

std::string EngineMessage(const EngineResponse& r) {
  const std::string& body = r.body;
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
  std::string message = EngineMessage(r);
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
      break;
  }
  if (r.status == 500) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    const std::string cause = j.is_object() && j.contains("cause") && j["cause"].is_string()
                                  ? j["cause"].get<std::string>()
                                  : "";
    if (cause == "container state improper") return FailedPrecondition(text);
    if (cause.find("already in use") != std::string::npos) return AlreadyExists(text);
  }
  return Internal(text);
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

namespace {

HttpClientOptions ClientOptions(const EngineClientOptions& o) {
  HttpClientOptions h;
  h.socket_path = o.socket_path;
  h.timeout = o.timeout;
  h.max_body_bytes = o.max_body_bytes;
  h.peer = "the Docker engine";
  return h;
}

}  // namespace

EngineClient::EngineClient(EngineClientOptions options)
    : options_(std::move(options)), http_(ClientOptions(options_)) {}

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
  HttpRequest h;
  h.method = rq.method;
  h.target = (rq.versioned ? prefix_ : std::string()) + rq.path;
  if (rq.versioned && prefix_.empty()) {
    return FailedPrecondition(h.method + " " + h.target +
                              ": the Engine API version was not negotiated");
  }
  if (rq.path.empty() || rq.path[0] != '/') {
    return InvalidArgument(h.method + " " + h.target + ": the path must start with '/'");
  }
  h.body = rq.body;
  if (!rq.body.empty()) h.content_type = rq.content_type;
  h.timeout = rq.timeout;
  h.sink = rq.sink;
  return http_.Send(h);
}

}  // namespace polyarch
