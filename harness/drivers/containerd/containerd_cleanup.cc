// Emptying the run's containerd namespace and deleting it, step by step (ContainerdLayer::
// Cleanup), then what the layer kept on disk.
#include <unistd.h>

#include <algorithm>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/mountinfo.h"
#include "harness/core/timing.h"
#include "harness/drivers/containerd/containerd_internal.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/containerd/translate.h"

namespace polyarch {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace api = ctd::api;
using namespace ctd;  // the layer's own constants and helpers (containerd_internal.h)

namespace {

// Keeps the first error of a sequence of steps that all run.
class FirstError {
 public:
  void Note(const Status& s) {
    if (!s.ok() && first_.ok()) first_ = s;
  }
  const Status& first() const { return first_; }

 private:
  Status first_;
};

}  // namespace

// Every container of the namespace (it is the run's, whatever its labels say), then the tasks
// whose container went away without them. kUnavailable when containerd does not answer.
Status ContainerdLayer::CleanupContainers() {
  const auto& c = *client_;
  FirstError e;
  ContainerdDriver driver(this);
  api::containers::ListContainersRequest clreq;
  api::containers::ListContainersResponse clresp;
  Status s = c.Call("Containers.List", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.containers().List(ctx, clreq, &clresp);
  });
  if (s.code() == Code::kUnavailable) return s;
  e.Note(s);
  for (const auto& ct : clresp.containers()) {
    StepResult d = driver.Delete(ct.id(), /*force=*/true);
    if (d.status.code() != Code::kNotFound) e.Note(d.status);
  }
  api::tasks::ListTasksRequest tlreq;
  api::tasks::ListTasksResponse tlresp;
  e.Note(c.Call("Tasks.List", options_.step_timeout,
                [&](grpc::ClientContext* ctx) { return c.tasks().List(ctx, tlreq, &tlresp); }));
  for (const auto& t : tlresp.tasks()) {
    StepResult d = driver.Delete(t.container_id(), /*force=*/true);
    if (d.status.code() != Code::kNotFound) e.Note(d.status);
  }
  return e.first();
}

Status ContainerdLayer::CleanupImagesAndLeases() {
  const auto& c = *client_;
  FirstError e;
  api::images::ListImagesRequest ilreq;
  api::images::ListImagesResponse ilresp;
  e.Note(c.Call("Images.List", options_.step_timeout,
                [&](grpc::ClientContext* ctx) { return c.images().List(ctx, ilreq, &ilresp); }));
  for (const auto& img : ilresp.images()) {
    api::images::DeleteImageRequest req;
    google::protobuf::Empty resp;
    req.set_name(img.name());
    req.set_sync(true);
    Status d = c.Call("Images.Delete", options_.step_timeout,
                      [&](grpc::ClientContext* ctx) { return c.images().Delete(ctx, req, &resp); });
    e.Note(NotFoundOrOk(d) ? Status::Ok() : d);
    if (NotFoundOrOk(d)) JournalRemove(kKindImage, c.ns() + "/" + img.name());
  }
  api::leases::ListRequest llreq;
  api::leases::ListResponse llresp;
  e.Note(c.Call("Leases.List", options_.step_timeout,
                [&](grpc::ClientContext* ctx) { return c.leases().List(ctx, llreq, &llresp); }));
  for (const auto& l : llresp.leases()) e.Note(DeleteLease(l.id()));
  return e.first();
}

Status ContainerdLayer::ListSnapshots(std::vector<std::string>* names) const {
  const auto& c = *client_;
  api::snapshots::ListSnapshotsRequest req;
  req.set_snapshotter(kSnapshotter);
  auto ctx = c.NewContext(options_.step_timeout);
  auto reader = c.snapshots().List(ctx.get(), req);
  api::snapshots::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) {
    for (const auto& info : resp.info()) names->push_back(info.name());
  }
  return FromGrpc(reader->Finish(), "Snapshots.List");
}

// A parent snapshot cannot go before its children: removal runs in passes until none is left
// or a pass removes nothing.
Status ContainerdLayer::CleanupSnapshots() {
  const auto& c = *client_;
  for (int pass = 0; pass < 8; ++pass) {
    std::vector<std::string> snapshots;
    PA_RETURN_IF_ERROR(ListSnapshots(&snapshots));
    if (snapshots.empty()) break;
    size_t removed = 0;
    for (const auto& name : snapshots) {
      api::snapshots::RemoveSnapshotRequest req;
      google::protobuf::Empty resp;
      req.set_snapshotter(kSnapshotter);
      req.set_key(name);
      Status d = c.Call("Snapshots.Remove", options_.step_timeout, [&](grpc::ClientContext* ctx) {
        return c.snapshots().Remove(ctx, req, &resp);
      });
      if (NotFoundOrOk(d)) {
        ++removed;
        JournalRemove(kKindSnapshot, c.ns() + "/" + name);
      }
    }
    if (removed == 0) break;
  }
  return Status::Ok();
}

// Blobs GC has not taken yet: a namespace holding content cannot be deleted.
Status ContainerdLayer::CleanupContent() {
  const auto& c = *client_;
  FirstError e;
  api::content::ListContentRequest req;
  auto ctx = c.NewContext(options_.step_timeout);
  auto reader = c.content().List(ctx.get(), req);
  api::content::ListContentResponse resp;
  std::vector<std::string> digests;
  while (reader->Read(&resp)) {
    for (const auto& info : resp.info()) digests.push_back(info.digest());
  }
  e.Note(FromGrpc(reader->Finish(), "Content.List"));
  for (const auto& d : digests) {
    api::content::DeleteContentRequest dreq;
    google::protobuf::Empty dresp;
    dreq.set_digest(d);
    Status ds = c.Call("Content.Delete", options_.step_timeout, [&](grpc::ClientContext* cctx) {
      return c.content().Delete(cctx, dreq, &dresp);
    });
    e.Note(NotFoundOrOk(ds) ? Status::Ok() : ds);
  }
  return e.first();
}

// Checked before the namespace goes: afterwards every list would be trivially empty.
Status ContainerdLayer::VerifyNamespaceEmpty() {
  const auto& c = *client_;
  FirstError e;
  api::containers::ListContainersRequest clreq;
  api::containers::ListContainersResponse after;
  Status ls = c.Call("Containers.List", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.containers().List(ctx, clreq, &after);
  });
  e.Note(ls);
  if (ls.ok() && after.containers_size() > 0) {
    e.Note(Internal(std::to_string(after.containers_size()) + " container(s) remain in " + c.ns() +
                    " after cleanup"));
  }
  api::tasks::ListTasksRequest tlreq;
  api::tasks::ListTasksResponse tafter;
  ls = c.Call("Tasks.List", options_.step_timeout,
              [&](grpc::ClientContext* ctx) { return c.tasks().List(ctx, tlreq, &tafter); });
  e.Note(ls);
  if (ls.ok() && tafter.tasks_size() > 0) {
    e.Note(Internal(std::to_string(tafter.tasks_size()) + " task(s) remain in " + c.ns() +
                    " after cleanup"));
  }
  std::vector<std::string> snapshots;
  ls = ListSnapshots(&snapshots);
  e.Note(ls);
  if (ls.ok() && !snapshots.empty()) {
    e.Note(Internal(std::to_string(snapshots.size()) + " snapshot(s) remain in " + c.ns() +
                    " after cleanup, e.g. " + snapshots.front()));
  } else if (ls.ok() && options_.images != nullptr) {
    // GC usually takes the unpacked layers with the image, before CleanupSnapshots sees them.
    for (const BuiltImage& img : options_.images->images) {
      JournalRemove(kKindSnapshot, c.ns() + "/" + img.layer.digest);
    }
  }
  return e.first();
}

Status ContainerdLayer::DeleteNamespace() {
  const auto& c = *client_;
  FirstError e;
  api::namespaces::DeleteNamespaceRequest ndreq;
  google::protobuf::Empty ndresp;
  ndreq.set_name(c.ns());
  Status s = c.Call("Namespaces.Delete", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.namespaces().Delete(ctx, ndreq, &ndresp);
  });
  e.Note(NotFoundOrOk(s) ? Status::Ok() : s);
  // Namespaces.Get answers for a namespace that does not exist too (empty labels): only the
  // list tells whether it is gone.
  api::namespaces::ListNamespacesRequest nlreq;
  api::namespaces::ListNamespacesResponse nlresp;
  s = c.Call("Namespaces.List", options_.step_timeout,
             [&](grpc::ClientContext* ctx) { return c.namespaces().List(ctx, nlreq, &nlresp); });
  e.Note(s);
  if (s.ok()) {
    bool still = std::any_of(nlresp.namespaces().begin(), nlresp.namespaces().end(),
                             [&](const auto& n) { return n.name() == c.ns(); });
    if (still) {
      e.Note(Internal("namespace " + c.ns() + " still exists after cleanup"));
    } else {
      JournalRemove(kKindNamespace, c.ns());
    }
  }
  // Cgroups named after the namespace (what `ctr run` and other clients of the namespace
  // make: /<namespace>/<id>); the containers' own went with their tasks. Only the namespace's
  // own name: other layers of the run name theirs with it as a prefix ("<namespace>-crun",
  // "<namespace>-docker", "<namespace>-podman-crun") and clean them up themselves.
  for (const auto& cg : FindCgroups({c.ns()})) {
    if (cg.substr(cg.rfind('/') + 1) != c.ns()) continue;
    if (!RemoveCgroupTree(cg).ok()) {
      e.Note(Internal("cgroup " + cg + " of namespace " + c.ns() + " could not be removed"));
    }
  }
  return e.first();
}

// What the run kept on disk: FIFOs and runc's state root. No mount may be under it; it is
// removed only when every step before succeeded.
Status ContainerdLayer::RemoveWorkDir(bool everything_else_ok) {
  CloseAllStdio();
  auto mounts = MountPointsUnder(work_dir_);
  if (!mounts.ok()) return mounts.status();
  if (!mounts->empty()) {
    return Internal(std::to_string(mounts->size()) + " mount(s) remain under " + work_dir_ +
                    ", e.g. " + mounts->front());
  }
  if (!everything_else_ok) return Status::Ok();
  PA_RETURN_IF_ERROR(RemoveTree(work_dir_));
  // The shared parent goes with the last run using it.
  (void)::rmdir((options_.run_dir + "/containerd-driver").c_str());
  return Status::Ok();
}

Status ContainerdLayer::Cleanup() {
  if (Status s = CleanupContainers(); s.code() == Code::kUnavailable) {
    CloseAllStdio();
    return s.WithContext("cannot clean up namespace " + client_->ns());
  } else {
    FirstError e;
    e.Note(s);
    e.Note(CleanupImagesAndLeases());
    e.Note(CleanupSnapshots());
    e.Note(CleanupContent());
    e.Note(VerifyNamespaceEmpty());
    e.Note(DeleteNamespace());
    e.Note(RemoveWorkDir(e.first().ok()));
    return e.first();
  }
}

}  // namespace polyarch
