#include "harness/drivers/containerd/translate.h"

#include <ctime>

#include <github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h>

#include "harness/core/oci_spec.h"

namespace polyarch::ctd {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Go string syntax, which containerd's filter parser unquotes.
std::string Quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

Code ClassifyError(grpc::StatusCode code, std::string_view message) {
  switch (code) {
    case grpc::StatusCode::OK:
      return Code::kOk;
    case grpc::StatusCode::UNAVAILABLE:
      return Code::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Code::kDeadlineExceeded;
    case grpc::StatusCode::CANCELLED:
      return Code::kAborted;
    case grpc::StatusCode::NOT_FOUND:
      return Code::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return Code::kAlreadyExists;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Code::kFailedPrecondition;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Code::kInvalidArgument;
    case grpc::StatusCode::PERMISSION_DENIED:
      return Code::kPermissionDenied;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Code::kResourceExhausted;
    default:
      break;
  }
  // UNKNOWN (and INTERNAL, ABORTED...): containerd passes the shim's or runc's own words,
  // e.g. "cannot delete a running process", "cannot exec in a paused state", "cannot pause
  // task in created state", "process already finished: not found".
  const std::string m = Lower(message);
  const bool wrong_state =
      Contains(m, "failed precondition") || Contains(m, "process already finished") ||
      (Contains(m, "cannot ") &&
       (Contains(m, "running") || Contains(m, "paused") || Contains(m, "stopped") ||
        Contains(m, "created") || Contains(m, "pausing"))) ||
      Contains(m, "is not running") || Contains(m, "not started");
  if (wrong_state) return Code::kFailedPrecondition;
  // The call's deadline travels to containerd as its context's; when containerd's side of it
  // expires first, the answer is UNKNOWN "context deadline exceeded" rather than the client's
  // own DEADLINE_EXCEEDED. Either way the deadline passed (a Wait still running at it).
  if (Contains(m, "context deadline exceeded")) return Code::kDeadlineExceeded;
  // containerd's own errdefs end in ": not found"; a runtime's "no such file or directory"
  // (an exec of a missing binary) is a failure of the step, not a missing container.
  if (Contains(m, "not found") || Contains(m, "does not exist")) return Code::kNotFound;
  if (Contains(m, "already exists")) return Code::kAlreadyExists;
  return Code::kInternal;
}

Status FromGrpc(const grpc::Status& s, std::string_view call) {
  if (s.ok()) return Status::Ok();
  std::string message = s.error_message();
  if (message.empty()) message = "gRPC status " + std::to_string(static_cast<int>(s.error_code()));
  return Status(ClassifyError(s.error_code(), message), std::string(call) + ": " + message);
}

ContainerState StateFromTaskStatus(::containerd::v1::types::Status status) {
  using ::containerd::v1::types::Status;
  switch (status) {
    case Status::CREATED:
      return ContainerState::kCreated;
    case Status::RUNNING:
      return ContainerState::kRunning;
    case Status::STOPPED:
      return ContainerState::kStopped;
    case Status::PAUSED:
    case Status::PAUSING:
      return ContainerState::kPaused;
    default:
      return ContainerState::kUnknown;
  }
}

std::string LabelFilter(std::string_view key, std::string_view value) {
  return "labels." + Quote(key) + "==" + Quote(value);
}

Status ValidateIdentifier(std::string_view id, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(std::string(what) + " '" + std::string(id) + "' is not a valid " +
                           "containerd identifier: " + std::string(why));
  };
  if (id.empty()) return bad("it is empty");
  if (id.size() > 76) return bad("it is longer than 76 characters");
  bool prev_sep = true;  // no separator first
  for (char c : id) {
    if (IsAlnum(c)) {
      prev_sep = false;
    } else if (c == '.' || c == '_' || c == '-') {
      if (prev_sep) return bad("'.', '_' and '-' must sit between letters or digits");
      prev_sep = true;
    } else {
      return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
  }
  if (prev_sep) return bad("it must end with a letter or digit");
  return Status::Ok();
}

std::string NamespaceForRun(std::string_view run_id) { return "polyarch-" + std::string(run_id); }

nlohmann::json ContainerSpecJson(const ContainerSpec& spec) {
  OciSpecOptions o;
  o.args = spec.argv;
  o.env.insert(o.env.end(), spec.env.begin(), spec.env.end());
  o.rootfs = "rootfs";  // the shim mounts the snapshot there, inside its bundle
  o.tmp_tmpfs = spec.writable_tmp;
  o.hostname = spec.id.substr(0, 63);
  o.settings = spec.settings.get();
  return MakeOciSpec(o);
}

google::protobuf::Any SpecAny(const nlohmann::json& spec) {
  google::protobuf::Any any;
  any.set_type_url(kSpecTypeUrl);
  any.set_value(spec.dump());
  return any;
}

google::protobuf::Any ProcessAny(const std::vector<std::string>& argv) {
  OciSpecOptions o;
  o.args = argv;
  google::protobuf::Any any;
  any.set_type_url(kProcessTypeUrl);
  any.set_value(MakeOciSpec(o)["process"].dump());
  return any;
}

google::protobuf::Any RuncOptionsAny(const std::string& runc_root, const std::string& binary_name) {
  ::containerd::runc::v1::Options options;
  options.set_root(runc_root);
  if (!binary_name.empty()) options.set_binary_name(binary_name);
  google::protobuf::Any any;
  any.set_type_url(kRuncOptionsTypeUrl);
  any.set_value(options.SerializeAsString());
  return any;
}

}  // namespace polyarch::ctd
