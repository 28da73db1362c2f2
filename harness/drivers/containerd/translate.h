// The pure half of the containerd layer: how polyarch's values become containerd's API
// values and back. No I/O here, so all of it is unit-tested.
//
// containerd 1.6 reports most failures of its tasks service as gRPC UNKNOWN with the runtime's
// message (a delete of a running task, an exec in a paused container), so errors are
// classified by the message as well as the code. UNAVAILABLE alone means the daemon is gone.
#ifndef POLYARCH_HARNESS_DRIVERS_CONTAINERD_TRANSLATE_H_
#define POLYARCH_HARNESS_DRIVERS_CONTAINERD_TRANSLATE_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <grpcpp/support/status.h>

#include <github.com/containerd/containerd/api/types/task/task.pb.h>
#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/drivers/driver.h"

// Not `containerd`: that is the generated code's namespace.
namespace polyarch::ctd {

inline constexpr char kRuntime[] = "io.containerd.runc.v2";
inline constexpr char kSnapshotter[] = "overlayfs";
// containerd's typeurl names for the runtime-spec documents it takes as JSON inside an Any.
inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kProcessTypeUrl[] =
    "types.containerd.io/opencontainers/runtime-spec/1/Process";
// Proto messages are looked up by their bare full name (no type.googleapis.com/ prefix).
inline constexpr char kRuncOptionsTypeUrl[] = "containerd.runc.v1.Options";

inline constexpr char kNamespaceHeader[] = "containerd-namespace";
inline constexpr char kLeaseHeader[] = "containerd-lease";
inline constexpr char kGcExpireLabel[] = "containerd.io/gc.expire";
inline constexpr char kGcSnapshotLabelPrefix[] = "containerd.io/gc.ref.snapshot.";
inline constexpr char kGcContentLabelPrefix[] = "containerd.io/gc.ref.content.";

// Labels polyarch puts on what it creates in containerd.
inline constexpr char kOwnerLabel[] = "polyarch.owner";
inline constexpr char kOwnerValue[] = "polyarch";
inline constexpr char kRunLabel[] = "polyarch.run";
inline constexpr char kArchLabel[] = "polyarch.arch";

// The Status for a gRPC result: ok stays ok; otherwise "<call>: <message>" with a Code from
// ClassifyError.
Status FromGrpc(const grpc::Status& s, std::string_view call);

// UNAVAILABLE → kUnavailable (the daemon is gone: the case is aborted, not failed);
// DEADLINE_EXCEEDED → kDeadlineExceeded; CANCELLED → kAborted; NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, INVALID_ARGUMENT, PERMISSION_DENIED, RESOURCE_EXHAUSTED → theirs.
// UNKNOWN and the rest by the message: a task or process in the wrong state ("cannot pause
// a stopped container", "cannot delete a running process", "process already finished") →
// kFailedPrecondition; "not found" → kNotFound; "already exists" → kAlreadyExists; anything
// else (a runtime failure such as "exec format error") → kInternal.
Code ClassifyError(grpc::StatusCode code, std::string_view message);

// A task's status as a ContainerState; PAUSING counts as paused.
ContainerState StateFromTaskStatus(::containerd::v1::types::Status status);

// A containerd filter selecting objects whose label `key` is `value`, both quoted:
// labels."polyarch.run"=="<value>".
std::string LabelFilter(std::string_view key, std::string_view value);

// containerd's identifier rule for namespaces, containers and snapshot keys: 1 to 76
// characters, [A-Za-z0-9] runs joined by single '.', '_' or '-'.
Status ValidateIdentifier(std::string_view id, std::string_view what);

// "polyarch-<run_id>".
std::string NamespaceForRun(std::string_view run_id);

// The OCI runtime spec of a container (MakeOciSpec: args and env from the spec, a /tmp tmpfs
// when writable_tmp, root "rootfs", the id as hostname).
nlohmann::json ContainerSpecJson(const ContainerSpec& spec);
google::protobuf::Any SpecAny(const nlohmann::json& spec);
// The process spec of an exec: the container's own process settings with `argv`.
google::protobuf::Any ProcessAny(const std::vector<std::string>& argv);
// io.containerd.runc.v2 options with runc's state root set (containerd's default is
// /run/containerd/runc, outside the run's directory).
google::protobuf::Any RuncOptionsAny(const std::string& runc_root,
                                     const std::string& binary_name = "");

}  // namespace polyarch::ctd

#endif  // POLYARCH_HARNESS_DRIVERS_CONTAINERD_TRANSLATE_H_
