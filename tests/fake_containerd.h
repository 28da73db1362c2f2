// An in-process gRPC server that answers like containerd 1.6 (Version, Namespaces, Tasks,
// Containers, Snapshots: enough for the driver's verbs), including its habit of reporting
// refusals as UNKNOWN with the reason in the message. Each service notes the calls it got.
#ifndef POLYARCH_TESTS_FAKE_CONTAINERD_H_
#define POLYARCH_TESTS_FAKE_CONTAINERD_H_

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/namespaces/v1/namespace.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/snapshots/v1/snapshots.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h>
#include <github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h>
#include <grpcpp/grpcpp.h>

#include "harness/drivers/containerd/containerd_client.h"

namespace polyarch::testing {

namespace api = ctd::api;
using std::chrono::milliseconds;

// What the fake saw, shared by its services.
struct Seen {
  std::mutex mu;
  std::vector<std::string> namespaces;  // containerd-namespace of every call
  std::vector<std::string> calls;
  std::vector<std::string> list_filters;
  std::map<std::string, std::string> namespace_labels;

  void Note(grpc::ServerContext* ctx, const std::string& call) {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(call);
    auto md = ctx->client_metadata();
    auto it = md.find("containerd-namespace");
    namespaces.push_back(it == md.end() ? "" : std::string(it->second.data(), it->second.size()));
  }
  bool Called(const std::string& call) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
};

class FakeVersion final : public api::version::Version::Service {
 public:
  explicit FakeVersion(Seen* seen) : seen_(seen) {}
  grpc::Status Version(grpc::ServerContext* ctx, const google::protobuf::Empty*,
                       api::version::VersionResponse* resp) override {
    seen_->Note(ctx, "Version.Version");
    resp->set_version("1.6.99-fake");
    resp->set_revision("cafe");
    return grpc::Status::OK;
  }
  Seen* seen_;
};

class FakeNamespaces final : public api::namespaces::Namespaces::Service {
 public:
  explicit FakeNamespaces(Seen* seen) : seen_(seen) {}
  grpc::Status Create(grpc::ServerContext* ctx, const api::namespaces::CreateNamespaceRequest* req,
                      api::namespaces::CreateNamespaceResponse* resp) override {
    seen_->Note(ctx, "Namespaces.Create");
    const std::string& name = req->namespace_().name();
    if (name == "polyarch-taken" || name == "polyarch-mine-again") {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "namespace " + name + ": already exists");
    }
    std::lock_guard<std::mutex> lock(seen_->mu);
    for (const auto& [k, v] : req->namespace_().labels()) seen_->namespace_labels[k] = v;
    *resp->mutable_namespace_() = req->namespace_();
    return grpc::Status::OK;
  }
  // Like containerd, answers for any name (a missing namespace has no labels).
  grpc::Status Get(grpc::ServerContext* ctx, const api::namespaces::GetNamespaceRequest* req,
                   api::namespaces::GetNamespaceResponse* resp) override {
    seen_->Note(ctx, "Namespaces.Get");
    resp->mutable_namespace_()->set_name(req->name());
    auto& labels = *resp->mutable_namespace_()->mutable_labels();
    if (req->name() == "polyarch-mine-again") {
      labels["polyarch.owner"] = "polyarch";
      labels["polyarch.run"] = "mine-again";
    } else if (req->name() == "polyarch-taken") {
      labels["owner"] = "someone-else";
    }
    return grpc::Status::OK;
  }
  Seen* seen_;
};

// Tasks answer by container id, the way containerd 1.6 does.
class FakeTasks final : public api::tasks::Tasks::Service {
 public:
  explicit FakeTasks(Seen* seen) : seen_(seen) {}
  grpc::Status Get(grpc::ServerContext* ctx, const api::tasks::GetRequest* req,
                   api::tasks::GetResponse* resp) override {
    seen_->Note(ctx, "Tasks.Get");
    const std::string& id = req->container_id();
    auto* p = resp->mutable_process();
    p->set_container_id(id);
    if (id == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "container \"missing\" in namespace \"x\": not found");
    }
    if (id == "running") {
      p->set_status(api::task_types::RUNNING);
      p->set_pid(4242);
    } else if (id == "paused") {
      p->set_status(api::task_types::PAUSING);
      p->set_pid(4243);
    } else if (id == "created") {
      p->set_status(api::task_types::CREATED);
      p->set_pid(4244);
    } else if (id == "stopped") {
      p->set_status(api::task_types::STOPPED);
      p->set_pid(4245);
    } else {
      p->set_status(api::task_types::UNKNOWN);
    }
    return grpc::Status::OK;
  }
  grpc::Status Start(grpc::ServerContext* ctx, const api::tasks::StartRequest* req,
                     api::tasks::StartResponse* resp) override {
    seen_->Note(ctx, "Tasks.Start");
    if (req->container_id() == "refuse") {
      return grpc::Status(grpc::StatusCode::UNKNOWN,
                          "failed to start: exec: \"/probe\": exec format error: unknown");
    }
    resp->set_pid(99);
    return grpc::Status::OK;
  }
  grpc::Status Wait(grpc::ServerContext* ctx, const api::tasks::WaitRequest* req,
                    api::tasks::WaitResponse* resp) override {
    seen_->Note(ctx, "Tasks.Wait");
    if (req->container_id() == "slow") {
      while (!ctx->IsCancelled()) std::this_thread::sleep_for(milliseconds(5));
      return grpc::Status::CANCELLED;
    }
    resp->set_exit_status(req->container_id() == "termed" ? 143 : 0);
    return grpc::Status::OK;
  }
  grpc::Status Delete(grpc::ServerContext* ctx, const api::tasks::DeleteTaskRequest* req,
                      api::tasks::DeleteResponse* resp) override {
    seen_->Note(ctx, "Tasks.Delete");
    if (req->container_id() == "running") {
      return grpc::Status(grpc::StatusCode::UNKNOWN,
                          "cannot delete running task running: failed precondition");
    }
    if (req->container_id() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "task missing: not found");
    }
    resp->set_exit_status(0);
    return grpc::Status::OK;
  }
  grpc::Status Kill(grpc::ServerContext* ctx, const api::tasks::KillRequest* req,
                    google::protobuf::Empty*) override {
    seen_->Note(ctx, "Tasks.Kill " + std::to_string(req->signal()));
    return grpc::Status::OK;
  }
  grpc::Status Pause(grpc::ServerContext* ctx, const api::tasks::PauseTaskRequest*,
                     google::protobuf::Empty*) override {
    seen_->Note(ctx, "Tasks.Pause");
    return grpc::Status::OK;
  }
  grpc::Status Exec(grpc::ServerContext* ctx, const api::tasks::ExecProcessRequest* req,
                    google::protobuf::Empty*) override {
    seen_->Note(ctx, "Tasks.Exec");
    if (req->container_id() == "stopped") {
      return grpc::Status(grpc::StatusCode::UNKNOWN, "cannot exec in a stopped state: unknown");
    }
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "fake");
  }
  Seen* seen_;
};

class FakeContainers final : public api::containers::Containers::Service {
 public:
  explicit FakeContainers(Seen* seen) : seen_(seen) {}
  grpc::Status List(grpc::ServerContext* ctx, const api::containers::ListContainersRequest* req,
                    api::containers::ListContainersResponse* resp) override {
    seen_->Note(ctx, "Containers.List");
    {
      std::lock_guard<std::mutex> lock(seen_->mu);
      for (const auto& f : req->filters()) seen_->list_filters.push_back(f);
    }
    resp->add_containers()->set_id("polyarch-b");
    resp->add_containers()->set_id("polyarch-a");
    return grpc::Status::OK;
  }
  grpc::Status Delete(grpc::ServerContext* ctx, const api::containers::DeleteContainerRequest*,
                      google::protobuf::Empty*) override {
    seen_->Note(ctx, "Containers.Delete");
    return grpc::Status::OK;
  }
  Seen* seen_;
};

class FakeSnapshots final : public api::snapshots::Snapshots::Service {
 public:
  explicit FakeSnapshots(Seen* seen) : seen_(seen) {}
  grpc::Status Remove(grpc::ServerContext* ctx, const api::snapshots::RemoveSnapshotRequest*,
                      google::protobuf::Empty*) override {
    seen_->Note(ctx, "Snapshots.Remove");
    // GC is eager in containerd: the snapshot is often gone already.
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "snapshot: not found");
  }
  Seen* seen_;
};

}  // namespace polyarch::testing

#endif  // POLYARCH_TESTS_FAKE_CONTAINERD_H_
