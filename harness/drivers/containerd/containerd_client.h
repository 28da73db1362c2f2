// A connection to one containerd, scoped to one namespace: the gRPC channel, a stub per
// service, and the one way every call is made (namespace header, optional lease header, a
// deadline, the error mapped into a Status named after the call). Shared by a layer and all
// its drivers: gRPC channels and stubs are thread-safe.
#ifndef POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_CLIENT_H_
#define POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include <github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/content/v1/content.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/diff/v1/diff.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/leases/v1/leases.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/namespaces/v1/namespace.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/snapshots/v1/snapshots.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h>

#include "harness/core/status.h"

namespace polyarch::ctd {

namespace api {
namespace containers = ::containerd::services::containers::v1;
namespace content = ::containerd::services::content::v1;
namespace diff = ::containerd::services::diff::v1;
namespace images = ::containerd::services::images::v1;
namespace leases = ::containerd::services::leases::v1;
namespace namespaces = ::containerd::services::namespaces::v1;
namespace snapshots = ::containerd::services::snapshots::v1;
namespace tasks = ::containerd::services::tasks::v1;
namespace version = ::containerd::services::version::v1;
namespace types = ::containerd::types;
namespace task_types = ::containerd::v1::types;
}  // namespace api

class ContainerdClient {
 public:
  // A channel to unix://<socket_path>. Nothing is sent until the first call.
  ContainerdClient(const std::string& socket_path, std::string ns);

  const std::string& socket_path() const { return socket_path_; }
  const std::string& ns() const { return ns_; }

  // A context for one call: namespace header, lease header when `lease` is not empty, and a
  // deadline `timeout` from now.
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds timeout,
                                                  const std::string& lease = "") const;

  // Runs `rpc` with a fresh context and maps its result: FromGrpc(status, call).
  Status Call(std::string_view call, std::chrono::milliseconds timeout,
              const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
              const std::string& lease = "") const;

  api::containers::Containers::Stub& containers() const { return *containers_; }
  api::content::Content::Stub& content() const { return *content_; }
  api::diff::Diff::Stub& diff() const { return *diff_; }
  api::images::Images::Stub& images() const { return *images_; }
  api::leases::Leases::Stub& leases() const { return *leases_; }
  api::namespaces::Namespaces::Stub& namespaces() const { return *namespaces_; }
  api::snapshots::Snapshots::Stub& snapshots() const { return *snapshots_; }
  api::tasks::Tasks::Stub& tasks() const { return *tasks_; }
  api::version::Version::Stub& version() const { return *version_; }

 private:
  std::string socket_path_;
  std::string ns_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::containers::Containers::Stub> containers_;
  std::unique_ptr<api::content::Content::Stub> content_;
  std::unique_ptr<api::diff::Diff::Stub> diff_;
  std::unique_ptr<api::images::Images::Stub> images_;
  std::unique_ptr<api::leases::Leases::Stub> leases_;
  std::unique_ptr<api::namespaces::Namespaces::Stub> namespaces_;
  std::unique_ptr<api::snapshots::Snapshots::Stub> snapshots_;
  std::unique_ptr<api::tasks::Tasks::Stub> tasks_;
  std::unique_ptr<api::version::Version::Stub> version_;
};

}  // namespace polyarch::ctd

#endif  // POLYARCH_HARNESS_DRIVERS_CONTAINERD_CONTAINERD_CLIENT_H_
