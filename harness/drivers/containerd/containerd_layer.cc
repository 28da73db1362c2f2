#include "harness/drivers/containerd/containerd_layer.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/reaper.h"
#include "harness/drivers/containerd/translate.h"
#include "images/oci.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace api = ctd::api;

constexpr char kKindNamespace[] = "containerd-namespace";
constexpr char kKindLease[] = "containerd-lease";
constexpr char kKindImage[] = "containerd-image";
constexpr char kKindSnapshot[] = "containerd-snapshot";
constexpr char kKindContainer[] = "containerd-container";

// Content.Write takes a blob in chunks; containerd's own client uses 1 MiB.
constexpr size_t kWriteChunk = 1 << 20;
// The container's stdout and stderr, interleaved, for the report.
constexpr size_t kContainerOutputBytes = 16 * 1024;
constexpr size_t kExecOutputBytes = 64 * 1024;
// After a process exits the shim still copies what it wrote into the FIFO, then closes it.
constexpr milliseconds kOutputGrace{2000};
// The import lease protects half-imported content only while Create runs; should polyarch
// die first, containerd's GC drops the lease after this.
constexpr std::chrono::hours kLeaseExpiry{1};

int64_t Since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

std::string Hex(const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

bool NotFoundOrOk(const Status& s) { return s.ok() || s.code() == Code::kNotFound; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// The driver: one per worker thread, sharing the layer's client and FIFO drain.

StepResult ContainerdDriver::Create(const ContainerSpec& spec) {
  StepResult r;
  r.operation = "Containers.Create, Snapshots.Prepare, Tasks.Create";
  auto start = Clock::now();
  auto done = [&](Status s) {
    r.status = std::move(s);
    r.duration_ns = Since(start);
    return r;
  };
  if (spec.arch == nullptr) return done(InvalidArgument("container " + spec.id + " has no arch"));
  Status valid = ctd::ValidateIdentifier(spec.id, "container id");
  if (!valid.ok()) return done(valid);
  const std::string chain = layer_->ChainFor(*spec.arch);
  if (chain.empty()) return done(layer_->Supports(*spec.arch));

  layer_->JournalAdd(kKindContainer, c().ns() + "/" + spec.id,
                     {{"namespace", c().ns()}, {"id", spec.id}, {"arch", spec.arch->name}});
  api::containers::CreateContainerRequest creq;
  api::containers::CreateContainerResponse cresp;
  auto* ct = creq.mutable_container();
  ct->set_id(spec.id);
  (*ct->mutable_labels())[ctd::kRunLabel] = layer_->options_.run_id;
  (*ct->mutable_labels())[ctd::kArchLabel] = std::string(spec.arch->name);
  ct->set_image(layer_->options_.images->index_reference);
  ct->mutable_runtime()->set_name(ctd::kRuntime);
  *ct->mutable_runtime()->mutable_options() = ctd::RuncOptionsAny(layer_->runc_root_);
  *ct->mutable_spec() = ctd::SpecAny(ctd::ContainerSpecJson(spec));
  ct->set_snapshotter(ctd::kSnapshotter);
  ct->set_snapshot_key(spec.id);
  Status s = c().Call("Containers.Create", step(), [&](grpc::ClientContext* ctx) {
    return c().containers().Create(ctx, creq, &cresp);
  });
  if (!s.ok()) {
    // An id already in use is someone's container: leave it and its journal record alone.
    if (s.code() != Code::kAlreadyExists) {
      layer_->JournalRemove(kKindContainer, c().ns() + "/" + spec.id);
    }
    return done(s);
  }

  // After Containers.Create: the container is what keeps its snapshot from GC.
  api::snapshots::PrepareSnapshotRequest preq;
  api::snapshots::PrepareSnapshotResponse presp;
  preq.set_snapshotter(ctd::kSnapshotter);
  preq.set_key(spec.id);
  preq.set_parent(chain);
  s = c().Call("Snapshots.Prepare", step(), [&](grpc::ClientContext* ctx) {
    return c().snapshots().Prepare(ctx, preq, &presp);
  });
  if (!s.ok()) {
    Rollback(spec.id, /*snapshot=*/false);
    return done(s);
  }

  // stdout and stderr both (the shim mishandles one without the other), as FIFOs whose read
  // ends are open before Tasks.Create so the shim's open does not wait.
  ContainerdLayer::Stdio io;
  io.sink = std::make_shared<ctd::OutputSink>(kContainerOutputBytes, kContainerOutputBytes);
  const std::string out_path = layer_->io_dir_ + "/" + spec.id + ".stdout";
  const std::string err_path = layer_->io_dir_ + "/" + spec.id + ".stderr";
  auto out = layer_->drain_.Open(out_path, io.sink);
  auto err = out.ok() ? layer_->drain_.Open(err_path, io.sink) : out.status();
  if (!out.ok() || !err.ok()) {
    if (out.ok()) layer_->drain_.Close(*out);
    Rollback(spec.id, /*snapshot=*/true);
    return done(err.status().WithContext("stdio for " + spec.id));
  }
  io.out = *out;
  io.err = *err;
  {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    layer_->stdio_[spec.id] = io;
  }

  api::tasks::CreateTaskRequest treq;
  api::tasks::CreateTaskResponse tresp;
  treq.set_container_id(spec.id);
  *treq.mutable_rootfs() = presp.mounts();
  treq.set_stdout(out_path);
  treq.set_stderr(err_path);
  s = c().Call("Tasks.Create", step(),
               [&](grpc::ClientContext* ctx) { return c().tasks().Create(ctx, treq, &tresp); });
  if (!s.ok()) {
    CloseStdio(spec.id);
    Rollback(spec.id, /*snapshot=*/true);
  }
  return done(s);
}

void ContainerdDriver::Rollback(const std::string& id, bool snapshot) {
  if (snapshot) {
    api::snapshots::RemoveSnapshotRequest req;
    google::protobuf::Empty resp;
    req.set_snapshotter(ctd::kSnapshotter);
    req.set_key(id);
    (void)c().Call("Snapshots.Remove", step(), [&](grpc::ClientContext* ctx) {
      return c().snapshots().Remove(ctx, req, &resp);
    });
  }
  api::containers::DeleteContainerRequest req;
  google::protobuf::Empty resp;
  req.set_id(id);
  Status s = c().Call("Containers.Delete", step(), [&](grpc::ClientContext* ctx) {
    return c().containers().Delete(ctx, req, &resp);
  });
  if (NotFoundOrOk(s)) layer_->JournalRemove(kKindContainer, c().ns() + "/" + id);
}

void ContainerdDriver::CloseStdio(const std::string& id) {
  ContainerdLayer::Stdio io;
  {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    auto it = layer_->stdio_.find(id);
    if (it == layer_->stdio_.end()) return;
    io = it->second;
    layer_->stdio_.erase(it);
  }
  layer_->drain_.Close(io.out);
  layer_->drain_.Close(io.err);
}

StepResult ContainerdDriver::Start(const std::string& id) {
  StepResult r;
  r.operation = "Tasks.Start";
  auto start = Clock::now();
  api::tasks::StartRequest req;
  api::tasks::StartResponse resp;
  req.set_container_id(id);
  r.status = c().Call(r.operation, step(),
                      [&](grpc::ClientContext* ctx) { return c().tasks().Start(ctx, req, &resp); });
  r.duration_ns = Since(start);
  return r;
}

StateResult ContainerdDriver::State(const std::string& id) {
  StateResult r;
  r.operation = "Tasks.Get";
  auto start = Clock::now();
  api::tasks::GetRequest req;
  api::tasks::GetResponse resp;
  req.set_container_id(id);
  Status s = c().Call(r.operation, step(),
                      [&](grpc::ClientContext* ctx) { return c().tasks().Get(ctx, req, &resp); });
  r.duration_ns = Since(start);
  if (s.code() == Code::kNotFound) {
    r.state = ContainerState::kNotFound;  // asking about a missing container is answered
    return r;
  }
  if (!s.ok()) {
    r.status = s;
    return r;
  }
  r.state = ctd::StateFromTaskStatus(resp.process().status());
  if (r.state == ContainerState::kUnknown) {
    r.status = Internal("Tasks.Get: task " + id + " has status " +
                        api::task_types::Status_Name(resp.process().status()));
  }
  r.pid = r.state == ContainerState::kStopped ? 0 : static_cast<int>(resp.process().pid());
  return r;
}

StepResult ContainerdDriver::Pause(const std::string& id) {
  StepResult r;
  r.operation = "Tasks.Pause";
  auto start = Clock::now();
  api::tasks::PauseTaskRequest req;
  google::protobuf::Empty resp;
  req.set_container_id(id);
  r.status = c().Call(r.operation, step(),
                      [&](grpc::ClientContext* ctx) { return c().tasks().Pause(ctx, req, &resp); });
  r.duration_ns = Since(start);
  return r;
}

StepResult ContainerdDriver::Resume(const std::string& id) {
  StepResult r;
  r.operation = "Tasks.Resume";
  auto start = Clock::now();
  api::tasks::ResumeTaskRequest req;
  google::protobuf::Empty resp;
  req.set_container_id(id);
  r.status = c().Call(r.operation, step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Resume(ctx, req, &resp);
  });
  r.duration_ns = Since(start);
  return r;
}

StepResult ContainerdDriver::Kill(const std::string& id, int signal) {
  StepResult r;
  r.operation = "Tasks.Kill";
  auto start = Clock::now();
  api::tasks::KillRequest req;
  google::protobuf::Empty resp;
  req.set_container_id(id);
  req.set_signal(static_cast<uint32_t>(signal));
  r.status = c().Call(r.operation, step(),
                      [&](grpc::ClientContext* ctx) { return c().tasks().Kill(ctx, req, &resp); });
  r.duration_ns = Since(start);
  return r;
}

ExecResult ContainerdDriver::Exec(const std::string& id, const std::vector<std::string>& argv,
                                  milliseconds timeout) {
  ExecResult r;
  r.operation = "Tasks.Exec, Tasks.Start, Tasks.Wait, Tasks.DeleteProcess";
  auto start = Clock::now();
  const auto deadline = start + timeout;
  const std::string exec_id = "exec-" + std::to_string(++layer_->exec_seq_);
  const std::string base = layer_->io_dir_ + "/" + id + "." + exec_id;
  auto out_sink = std::make_shared<ctd::OutputSink>(kExecOutputBytes, kExecOutputBytes);
  auto err_sink = std::make_shared<ctd::OutputSink>(kExecOutputBytes, kExecOutputBytes);
  auto out = layer_->drain_.Open(base + ".stdout", out_sink);
  auto err = out.ok() ? layer_->drain_.Open(base + ".stderr", err_sink) : out.status();
  auto finish = [&](Status s) {
    if (out.ok()) layer_->drain_.Close(*out);
    if (err.ok()) layer_->drain_.Close(*err);
    r.out = out_sink->Snapshot().Text();
    r.err = err_sink->Snapshot().Text();
    r.output = err_sink->Snapshot();
    r.status = std::move(s);
    r.duration_ns = Since(start);
    return r;
  };
  if (!out.ok() || !err.ok()) return finish(err.status().WithContext("stdio for " + exec_id));

  auto delete_process = [&] {
    api::tasks::DeleteProcessRequest req;
    api::tasks::DeleteResponse resp;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    return c().Call("Tasks.DeleteProcess", step(), [&](grpc::ClientContext* ctx) {
      return c().tasks().DeleteProcess(ctx, req, &resp);
    });
  };

  // A refusal here (stopped or paused container) is the stack's answer: a failed step.
  api::tasks::ExecProcessRequest ereq;
  google::protobuf::Empty eresp;
  ereq.set_container_id(id);
  ereq.set_exec_id(exec_id);
  ereq.set_stdout(base + ".stdout");
  ereq.set_stderr(base + ".stderr");
  *ereq.mutable_spec() = ctd::ProcessAny(argv);
  Status s = c().Call("Tasks.Exec", step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Exec(ctx, ereq, &eresp);
  });
  if (!s.ok()) return finish(s);

  api::tasks::StartRequest sreq;
  api::tasks::StartResponse sresp;
  sreq.set_container_id(id);
  sreq.set_exec_id(exec_id);
  s = c().Call("Tasks.Start", step(),
               [&](grpc::ClientContext* ctx) { return c().tasks().Start(ctx, sreq, &sresp); });
  if (!s.ok()) {
    (void)delete_process();
    return finish(s);
  }

  api::tasks::WaitRequest wreq;
  api::tasks::WaitResponse wresp;
  wreq.set_container_id(id);
  wreq.set_exec_id(exec_id);
  auto left =
      std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  s = c().Call("Tasks.Wait", left,
               [&](grpc::ClientContext* ctx) { return c().tasks().Wait(ctx, wreq, &wresp); });
  if (s.code() == Code::kDeadlineExceeded) {
    // Do not leave the process behind: kill it, let the shim reap it, then forget it.
    api::tasks::KillRequest kreq;
    google::protobuf::Empty kresp;
    kreq.set_container_id(id);
    kreq.set_exec_id(exec_id);
    kreq.set_signal(SIGKILL);
    (void)c().Call("Tasks.Kill", step(),
                   [&](grpc::ClientContext* ctx) { return c().tasks().Kill(ctx, kreq, &kresp); });
    (void)c().Call("Tasks.Wait", step(),
                   [&](grpc::ClientContext* ctx) { return c().tasks().Wait(ctx, wreq, &wresp); });
    (void)delete_process();
    return finish(DeadlineExceeded("exec in " + id + " did not finish within " +
                                   std::to_string(timeout.count()) + " ms"));
  }
  if (!s.ok()) {
    (void)delete_process();
    return finish(s);
  }
  r.exit_code = static_cast<int>(wresp.exit_status());
  // DeleteProcess waits (briefly) for the shim to finish copying the output and closes the
  // FIFOs; EOF on both then means everything has been read.
  s = delete_process();
  auto eof_by = std::max(deadline, Clock::now() + kOutputGrace);
  layer_->drain_.WaitEof(*out, eof_by);
  layer_->drain_.WaitEof(*err, eof_by);
  return finish(NotFoundOrOk(s) ? Status::Ok() : s);
}

WaitResult ContainerdDriver::Wait(const std::string& id, milliseconds timeout) {
  WaitResult r;
  r.operation = "Tasks.Wait";
  auto start = Clock::now();
  api::tasks::WaitRequest req;
  api::tasks::WaitResponse resp;
  req.set_container_id(id);
  Status s = c().Call(r.operation, timeout,
                      [&](grpc::ClientContext* ctx) { return c().tasks().Wait(ctx, req, &resp); });
  if (s.code() == Code::kDeadlineExceeded) {
    r.duration_ns = Since(start);
    return r;  // exited = false: still running at the deadline
  }
  if (!s.ok()) {
    r.status = s;
    r.duration_ns = Since(start);
    return r;
  }
  r.exited = true;
  // The runc shim reports a death by signal n as 128 + n already.
  r.exit_code = static_cast<int>(resp.exit_status());
  r.duration_ns = Since(start);
  // What the container wrote, once the shim has passed it all on (not part of the timing).
  ContainerdLayer::Stdio io;
  {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    auto it = layer_->stdio_.find(id);
    if (it != layer_->stdio_.end()) io = it->second;
  }
  if (io.sink) {
    auto by = Clock::now() + kOutputGrace;
    layer_->drain_.WaitEof(io.out, by);
    layer_->drain_.WaitEof(io.err, by);
    r.output = io.sink->Snapshot();
  }
  return r;
}

Status ContainerdDriver::StopTask(const std::string& id) {
  api::tasks::GetRequest greq;
  api::tasks::GetResponse gresp;
  greq.set_container_id(id);
  PA_RETURN_IF_ERROR(c().Call("Tasks.Get", step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Get(ctx, greq, &gresp);
  }));
  auto status = gresp.process().status();
  if (status == api::task_types::STOPPED) return Status::Ok();
  if (status == api::task_types::PAUSED || status == api::task_types::PAUSING) {
    api::tasks::ResumeTaskRequest req;
    google::protobuf::Empty resp;
    req.set_container_id(id);
    (void)c().Call("Tasks.Resume", step(),
                   [&](grpc::ClientContext* ctx) { return c().tasks().Resume(ctx, req, &resp); });
  }
  api::tasks::KillRequest kreq;
  google::protobuf::Empty kresp;
  kreq.set_container_id(id);
  kreq.set_signal(SIGKILL);
  kreq.set_all(true);
  Status s = c().Call("Tasks.Kill", step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Kill(ctx, kreq, &kresp);
  });
  // Already gone by itself is what we wanted; then Wait answers at once, and a short deadline
  // keeps a task whose runtime state was lost from holding the caller for a whole step.
  if (!s.ok() && s.code() != Code::kNotFound && s.code() != Code::kFailedPrecondition) return s;
  const milliseconds wait_for = s.ok() ? step() : std::min(step(), milliseconds(5000));
  api::tasks::WaitRequest wreq;
  api::tasks::WaitResponse wresp;
  wreq.set_container_id(id);
  s = c().Call("Tasks.Wait", wait_for,
               [&](grpc::ClientContext* ctx) { return c().tasks().Wait(ctx, wreq, &wresp); });
  return s.ok() ? s : s.WithContext("after SIGKILL");
}

StepResult ContainerdDriver::Delete(const std::string& id, bool force) {
  StepResult r;
  r.operation = force ? "Tasks.Kill, Tasks.Delete, Snapshots.Remove, Containers.Delete"
                      : "Tasks.Delete, Snapshots.Remove, Containers.Delete";
  auto start = Clock::now();
  auto done = [&](Status s) {
    r.status = std::move(s);
    r.duration_ns = Since(start);
    return r;
  };
  bool found = false;
  if (force) {
    Status s = StopTask(id);
    if (!NotFoundOrOk(s)) return done(s);
  }
  // Without force, containerd refuses a running task here, and nothing else is touched.
  api::tasks::DeleteTaskRequest treq;
  api::tasks::DeleteResponse tresp;
  treq.set_container_id(id);
  Status s = c().Call("Tasks.Delete", step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Delete(ctx, treq, &tresp);
  });
  if (!NotFoundOrOk(s)) return done(s);
  found |= s.ok();

  // GC may have taken the snapshot already once its container lost its task.
  api::snapshots::RemoveSnapshotRequest sreq;
  google::protobuf::Empty sresp;
  sreq.set_snapshotter(ctd::kSnapshotter);
  sreq.set_key(id);
  s = c().Call("Snapshots.Remove", step(),
               [&](grpc::ClientContext* ctx) { return c().snapshots().Remove(ctx, sreq, &sresp); });
  if (!NotFoundOrOk(s)) return done(s);

  api::containers::DeleteContainerRequest creq;
  google::protobuf::Empty cresp;
  creq.set_id(id);
  s = c().Call("Containers.Delete", step(), [&](grpc::ClientContext* ctx) {
    return c().containers().Delete(ctx, creq, &cresp);
  });
  if (!NotFoundOrOk(s)) return done(s);
  found |= s.ok();
  CloseStdio(id);
  layer_->JournalRemove(kKindContainer, c().ns() + "/" + id);
  if (!found) return done(NotFound("no container " + id + " in namespace " + c().ns()));
  return done(Status::Ok());
}

ListResult ContainerdDriver::List() {
  ListResult r;
  r.operation = "Containers.List";
  auto start = Clock::now();
  api::containers::ListContainersRequest req;
  api::containers::ListContainersResponse resp;
  req.add_filters(ctd::LabelFilter(ctd::kRunLabel, layer_->options_.run_id));
  r.status = c().Call(r.operation, step(), [&](grpc::ClientContext* ctx) {
    return c().containers().List(ctx, req, &resp);
  });
  r.duration_ns = Since(start);
  for (const auto& ct : resp.containers()) r.ids.push_back(ct.id());
  std::sort(r.ids.begin(), r.ids.end());
  return r;
}

// ---------------------------------------------------------------------------------------------
// The layer.

Result<std::unique_ptr<ContainerdLayer>> ContainerdLayer::Create(
    const ContainerdLayerOptions& options) {
  if (options.address.empty()) return InvalidArgument("no containerd address given");
  if (options.run_dir.empty() || options.run_dir[0] != '/') {
    return InvalidArgument("the containerd layer needs an absolute run directory, got '" +
                           options.run_dir + "'");
  }
  const std::string ns = ctd::NamespaceForRun(options.run_id);
  PA_RETURN_IF_ERROR(ctd::ValidateIdentifier(ns, "containerd namespace"));

  std::unique_ptr<ContainerdLayer> layer(new ContainerdLayer(options));
  layer->client_ = std::make_shared<ctd::ContainerdClient>(options.address, ns);
  const auto& c = *layer->client_;
  google::protobuf::Empty empty;
  api::version::VersionResponse version;
  Status s = c.Call("Version.Version", options.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.version().Version(ctx, empty, &version);
  });
  if (!s.ok()) {
    return Status(s.code(), "containerd at " + options.address + " does not answer (" +
                                s.message() + "): start it, or let polyarch start its own");
  }
  layer->version_ = version.version();
  layer->revision_ = version.revision();

  // containerd daemonizes each shim; when containerd is polyarch's own child, a subreaper
  // polyarch inherits the shims and reaps them when they exit. Otherwise they go to PID 1,
  // which in some sandboxes never reaps, and every container leaves a zombie behind.
  Status reaper = Reaper::Instance().Enable();
  if (!reaper.ok()) {
    PA_LOG(kWarning) << "containerd shims will not be reaped by polyarch: " << reaper.ToString();
  }

  // Per namespace: two runs sharing a run directory must not share runc's state or FIFOs.
  layer->work_dir_ = options.run_dir + "/containerd-driver/" + ns;
  layer->io_dir_ = layer->work_dir_ + "/io";
  layer->runc_root_ = layer->work_dir_ + "/runc";
  s = MakeDirs(layer->io_dir_, 0700);
  if (s.ok()) s = MakeDirs(layer->runc_root_, 0700);
  if (s.ok()) s = layer->CreateNamespace();
  if (!s.ok()) {
    (void)RemoveTree(layer->work_dir_);
    (void)::rmdir((options.run_dir + "/containerd-driver").c_str());
    return s;
  }
  if (options.images != nullptr) {
    s = layer->ImportImages();
    if (!s.ok()) {
      Status cleanup = layer->Cleanup();
      if (!cleanup.ok()) {
        PA_LOG(kWarning) << "containerd cleanup after a failed import: " << cleanup.ToString();
      }
      return s.WithContext("importing the images into containerd");
    }
  }
  return layer;
}

ContainerdLayer::~ContainerdLayer() { CloseAllStdio(); }

void ContainerdLayer::CloseAllStdio() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, io] : stdio_) {
    drain_.Close(io.out);
    drain_.Close(io.err);
  }
  stdio_.clear();
}

Status ContainerdLayer::CreateNamespace() {
  const auto& c = *client_;
  JournalAdd(kKindNamespace, c.ns(), {{"address", options_.address}, {"run", options_.run_id}});
  api::namespaces::CreateNamespaceRequest req;
  api::namespaces::CreateNamespaceResponse resp;
  req.mutable_namespace_()->set_name(c.ns());
  (*req.mutable_namespace_()->mutable_labels())[ctd::kOwnerLabel] = ctd::kOwnerValue;
  (*req.mutable_namespace_()->mutable_labels())[ctd::kRunLabel] = options_.run_id;
  Status s = c.Call("Namespaces.Create", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.namespaces().Create(ctx, req, &resp);
  });
  if (s.code() != Code::kAlreadyExists) return s;
  // A namespace of this very run (a retried Create) may be reused; anyone else's may not.
  api::namespaces::GetNamespaceRequest greq;
  api::namespaces::GetNamespaceResponse gresp;
  greq.set_name(c.ns());
  PA_RETURN_IF_ERROR(c.Call("Namespaces.Get", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.namespaces().Get(ctx, greq, &gresp);
  }));
  const auto& labels = gresp.namespace_().labels();
  auto owner = labels.find(ctd::kOwnerLabel);
  auto run = labels.find(ctd::kRunLabel);
  if (owner == labels.end() || owner->second != ctd::kOwnerValue || run == labels.end() ||
      run->second != options_.run_id) {
    // Not ours: it must not stay in our journal, or a sweep would empty someone's namespace.
    JournalRemove(kKindNamespace, c.ns());
    return AlreadyExists("containerd namespace " + c.ns() +
                         " exists and is not this polyarch run's: choose another run id");
  }
  return Status::Ok();
}

Status ContainerdLayer::ImportImages() {
  const auto& c = *client_;
  const ImageSet& set = *options_.images;
  lease_ = "import-" + std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  JournalAdd(kKindLease, c.ns() + "/" + lease_, {{"namespace", c.ns()}, {"id", lease_}});
  api::leases::CreateRequest lreq;
  api::leases::CreateResponse lresp;
  lreq.set_id(lease_);
  (*lreq.mutable_labels())[ctd::kGcExpireLabel] =
      ctd::Rfc3339(std::chrono::system_clock::now() + kLeaseExpiry);
  (*lreq.mutable_labels())[ctd::kOwnerLabel] = ctd::kOwnerValue;
  PA_RETURN_IF_ERROR(c.Call("Leases.Create", options_.step_timeout, [&](grpc::ClientContext* ctx) {
    return c.leases().Create(ctx, lreq, &lresp);
  }));

  // Children first; each blob carries the gc.ref labels naming what it keeps alive, the way
  // containerd's own import labels them, so nothing depends on the lease once it is gone.
  std::map<std::string, std::string> index_labels;
  for (size_t i = 0; i < set.images.size(); ++i) {
    const BuiltImage& img = set.images[i];
    PA_RETURN_IF_ERROR(WriteBlob(img.layer.digest, img.layer.size, {}));
    PA_RETURN_IF_ERROR(
        WriteBlob(img.config.digest, img.config.size,
                  {{ctd::kGcSnapshotLabelPrefix + std::string(ctd::kSnapshotter),
                    img.layer.digest}}));  // one uncompressed layer: chain id = its digest
    PA_RETURN_IF_ERROR(
        WriteBlob(img.manifest.digest, img.manifest.size,
                  {{ctd::kGcContentLabelPrefix + std::string("config"), img.config.digest},
                   {ctd::kGcContentLabelPrefix + std::string("l.0"), img.layer.digest}}));
    index_labels[ctd::kGcContentLabelPrefix + std::string("m.") + std::to_string(i)] =
        img.manifest.digest;
  }
  PA_RETURN_IF_ERROR(WriteBlob(set.index.digest, set.index.size, index_labels));

  JournalAdd(kKindImage, c.ns() + "/" + set.index_reference,
             {{"namespace", c.ns()}, {"name", set.index_reference}});
  api::images::CreateImageRequest ireq;
  api::images::CreateImageResponse iresp;
  auto* image = ireq.mutable_image();
  image->set_name(set.index_reference);
  (*image->mutable_labels())[ctd::kRunLabel] = options_.run_id;
  image->mutable_target()->set_media_type(kMediaTypeIndex);
  image->mutable_target()->set_digest(set.index.digest);
  image->mutable_target()->set_size(set.index.size);
  Status s = c.Call(
      "Images.Create", options_.step_timeout,
      [&](grpc::ClientContext* ctx) { return c.images().Create(ctx, ireq, &iresp); }, lease_);
  if (s.code() == Code::kAlreadyExists) {
    api::images::UpdateImageRequest ureq;
    api::images::UpdateImageResponse uresp;
    *ureq.mutable_image() = *image;
    s = c.Call(
        "Images.Update", options_.step_timeout,
        [&](grpc::ClientContext* ctx) { return c.images().Update(ctx, ureq, &uresp); }, lease_);
  }
  PA_RETURN_IF_ERROR(s);

  for (const BuiltImage& img : set.images) {
    std::string arch(img.arch->name);
    manifests_[arch] = img.manifest.digest;
    Status u = Unpack(img);
    if (u.ok()) {
      chains_[arch] = img.layer.digest;
    } else {
      unsupported_[arch] = u.message();
      PA_LOG(kWarning) << "containerd: the " << arch << " image is not usable: " << u.ToString();
    }
  }
  // Everything is labelled and referenced now: the lease has done its job.
  PA_RETURN_IF_ERROR(DeleteLease(lease_));
  lease_.clear();
  return Status::Ok();
}

Status ContainerdLayer::WriteBlob(const std::string& digest, int64_t size,
                                  const std::map<std::string, std::string>& labels) {
  const auto& c = *client_;
  const std::string path = options_.images->oci_layout + "/blobs/sha256/" + Hex(digest);
  PA_ASSIGN_OR_RETURN(std::string data, ReadFile(path, size_t{1} << 32));
  if (static_cast<int64_t>(data.size()) != size) {
    return FailedPrecondition(path + " holds " + std::to_string(data.size()) +
                              " bytes, the image set says " + std::to_string(size) +
                              ": rebuild the images");
  }
  // containerd's content service answers every request on the stream; going in lock-step
  // keeps a failure attributable to the request that caused it.
  auto ctx = c.NewContext(options_.step_timeout, lease_);
  auto stream = c.content().Write(ctx.get());
  api::content::WriteContentRequest req;
  api::content::WriteContentResponse resp;
  const std::string ref = "polyarch-" + c.ns() + "-" + Hex(digest);
  req.set_action(api::content::STAT);
  req.set_ref(ref);
  req.set_total(size);
  req.set_expected(digest);
  bool alive = stream->Write(req) && stream->Read(&resp);
  int64_t offset = alive ? resp.offset() : 0;  // a ref left by an earlier attempt resumes
  while (alive && offset < size) {
    size_t n = std::min(kWriteChunk, static_cast<size_t>(size - offset));
    req.Clear();
    req.set_action(api::content::WRITE);
    req.set_ref(ref);
    req.set_offset(offset);
    req.set_data(data.data() + offset, n);
    alive = stream->Write(req) && stream->Read(&resp);
    offset += static_cast<int64_t>(n);
  }
  if (alive) {
    req.Clear();
    req.set_action(api::content::COMMIT);
    req.set_ref(ref);
    // The offset must be given: a COMMIT (or WRITE) at offset 0 truncates what was written.
    req.set_offset(offset);
    req.set_total(size);
    req.set_expected(digest);
    for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
    alive = stream->Write(req) && stream->Read(&resp);
  }
  stream->WritesDone();
  // Finish blocks until the server has closed its side: read whatever is left first.
  while (stream->Read(&resp)) {
  }
  Status s = ctd::FromGrpc(stream->Finish(), "Content.Write " + digest);
  if (s.code() != Code::kAlreadyExists) return s;
  // Already there (an earlier run or another namespace's import): it still needs our labels.
  if (labels.empty()) return Status::Ok();
  api::content::UpdateRequest ureq;
  api::content::UpdateResponse uresp;
  ureq.mutable_info()->set_digest(digest);
  for (const auto& [k, v] : labels) {
    (*ureq.mutable_info()->mutable_labels())[k] = v;
    ureq.mutable_update_mask()->add_paths("labels." + k);
  }
  return c.Call(
      "Content.Update", options_.step_timeout,
      [&](grpc::ClientContext* uctx) { return c.content().Update(uctx, ureq, &uresp); }, lease_);
}

Status ContainerdLayer::Unpack(const BuiltImage& img) {
  const auto& c = *client_;
  const std::string chain = img.layer.digest;
  const auto timeout = options_.step_timeout;
  api::snapshots::StatSnapshotRequest streq;
  api::snapshots::StatSnapshotResponse stresp;
  streq.set_snapshotter(ctd::kSnapshotter);
  streq.set_key(chain);
  Status s = c.Call("Snapshots.Stat", timeout, [&](grpc::ClientContext* ctx) {
    return c.snapshots().Stat(ctx, streq, &stresp);
  });
  if (s.ok()) return Status::Ok();  // unpacked before: the chain is shared
  if (s.code() != Code::kNotFound) return s;

  const std::string key = "polyarch-extract-" + std::string(img.arch->name) + "-" + Hex(chain);
  JournalAdd(kKindSnapshot, c.ns() + "/" + chain,
             {{"namespace", c.ns()}, {"chain", chain}, {"arch", img.arch->name}});
  api::snapshots::PrepareSnapshotRequest preq;
  api::snapshots::PrepareSnapshotResponse presp;
  preq.set_snapshotter(ctd::kSnapshotter);
  preq.set_key(key);
  s = c.Call(
      "Snapshots.Prepare", timeout,
      [&](grpc::ClientContext* ctx) { return c.snapshots().Prepare(ctx, preq, &presp); }, lease_);
  if (!s.ok()) return s;
  auto remove_key = [&] {
    api::snapshots::RemoveSnapshotRequest req;
    google::protobuf::Empty resp;
    req.set_snapshotter(ctd::kSnapshotter);
    req.set_key(key);
    (void)c.Call("Snapshots.Remove", timeout,
                 [&](grpc::ClientContext* ctx) { return c.snapshots().Remove(ctx, req, &resp); });
  };

  api::diff::ApplyRequest areq;
  api::diff::ApplyResponse aresp;
  areq.mutable_diff()->set_media_type(kMediaTypeLayer);
  areq.mutable_diff()->set_digest(img.layer.digest);
  areq.mutable_diff()->set_size(img.layer.size);
  *areq.mutable_mounts() = presp.mounts();
  s = c.Call(
      "Diff.Apply", timeout,
      [&](grpc::ClientContext* ctx) { return c.diff().Apply(ctx, areq, &aresp); }, lease_);
  if (s.ok() && aresp.applied().digest() != chain) {
    s = Internal("Diff.Apply: the layer applied as " + aresp.applied().digest() +
                 ", expected its diff_id " + chain);
  }
  if (!s.ok()) {
    remove_key();
    return s;
  }

  api::snapshots::CommitSnapshotRequest creq;
  google::protobuf::Empty cresp;
  creq.set_snapshotter(ctd::kSnapshotter);
  creq.set_name(chain);
  creq.set_key(key);
  s = c.Call(
      "Snapshots.Commit", timeout,
      [&](grpc::ClientContext* ctx) { return c.snapshots().Commit(ctx, creq, &cresp); }, lease_);
  if (s.code() == Code::kAlreadyExists) {  // another unpack of the same layer won the race
    remove_key();
    return Status::Ok();
  }
  if (!s.ok()) remove_key();
  return s;
}

Status ContainerdLayer::DeleteLease(const std::string& id) {
  const auto& c = *client_;
  api::leases::DeleteRequest req;
  google::protobuf::Empty resp;
  req.set_id(id);
  Status s = c.Call("Leases.Delete", options_.step_timeout,
                    [&](grpc::ClientContext* ctx) { return c.leases().Delete(ctx, req, &resp); });
  if (!NotFoundOrOk(s)) return s;
  JournalRemove(kKindLease, c.ns() + "/" + id);
  return Status::Ok();
}

void ContainerdLayer::JournalAdd(const std::string& kind, const std::string& key,
                                 nlohmann::json data) {
  if (options_.journal == nullptr) return;
  data["address"] = options_.address;
  Status s = options_.journal->Add({kind, key, std::move(data)});
  if (!s.ok()) {
    PA_LOG(kWarning) << "journal: " << s.ToString();
  }
}

void ContainerdLayer::JournalRemove(const std::string& kind, const std::string& key) {
  if (options_.journal == nullptr) return;
  Status s = options_.journal->Remove(kind, key);
  if (!s.ok()) {
    PA_LOG(kWarning) << "journal: " << s.ToString();
  }
}

Capabilities ContainerdLayer::capabilities() const {
  Capabilities caps;
  caps.pause = true;
  caps.exec = true;
  caps.kill = true;
  caps.wait_exit_code = true;
  caps.state_pid = true;
  caps.created_state = true;
  caps.delete_running_refused = true;
  return caps;
}

nlohmann::json ContainerdLayer::Context() const {
  nlohmann::json images = nlohmann::json::object();
  for (const auto& [arch, chain] : chains_) {
    images[arch] = {{"manifest", manifests_.count(arch) ? manifests_.at(arch) : ""},
                    {"chain_id", chain}};
  }
  nlohmann::json unusable = nlohmann::json::object();
  for (const auto& [arch, why] : unsupported_) unusable[arch] = why;
  return {{"layer", "containerd"},       {"api", "gRPC"},
          {"address", options_.address}, {"version", version_},
          {"revision", revision_},       {"namespace", client_->ns()},
          {"runtime", ctd::kRuntime},    {"snapshotter", ctd::kSnapshotter},
          {"runc_root", runc_root_},     {"images", images},
          {"unsupported", unusable}};
}

std::string ContainerdLayer::ChainFor(const ArchInfo& arch) const {
  auto it = chains_.find(std::string(arch.name));
  return it == chains_.end() ? "" : it->second;
}

Status ContainerdLayer::Supports(const ArchInfo& arch) const {
  const std::string name(arch.name);
  if (chains_.count(name)) return Status::Ok();
  auto it = unsupported_.find(name);
  if (it != unsupported_.end()) {
    return FailedPrecondition("the " + name +
                              " image could not be unpacked in containerd: " + it->second);
  }
  return FailedPrecondition("no " + name + " image was imported into containerd");
}

std::unique_ptr<Driver> ContainerdLayer::NewDriver() {
  return std::make_unique<ContainerdDriver>(this);
}

Status ContainerdLayer::Cleanup() {
  const auto& c = *client_;
  const auto timeout = options_.step_timeout;
  Status first;
  auto note = [&](const Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };
  ContainerdDriver driver(this);

  // Every container of the namespace: it is the run's, whatever its labels say.
  api::containers::ListContainersRequest clreq;
  api::containers::ListContainersResponse clresp;
  Status s = c.Call("Containers.List", timeout, [&](grpc::ClientContext* ctx) {
    return c.containers().List(ctx, clreq, &clresp);
  });
  if (s.code() == Code::kUnavailable) {
    CloseAllStdio();
    return s.WithContext("cannot clean up namespace " + c.ns());
  }
  note(s);
  for (const auto& ct : clresp.containers()) {
    StepResult d = driver.Delete(ct.id(), /*force=*/true);
    if (d.status.code() != Code::kNotFound) note(d.status);
  }

  // Tasks whose container went away without them.
  api::tasks::ListTasksRequest tlreq;
  api::tasks::ListTasksResponse tlresp;
  note(c.Call("Tasks.List", timeout,
              [&](grpc::ClientContext* ctx) { return c.tasks().List(ctx, tlreq, &tlresp); }));
  for (const auto& t : tlresp.tasks()) {
    StepResult d = driver.Delete(t.container_id(), /*force=*/true);
    if (d.status.code() != Code::kNotFound) note(d.status);
  }

  api::images::ListImagesRequest ilreq;
  api::images::ListImagesResponse ilresp;
  note(c.Call("Images.List", timeout,
              [&](grpc::ClientContext* ctx) { return c.images().List(ctx, ilreq, &ilresp); }));
  for (const auto& img : ilresp.images()) {
    api::images::DeleteImageRequest req;
    google::protobuf::Empty resp;
    req.set_name(img.name());
    req.set_sync(true);
    Status d = c.Call("Images.Delete", timeout,
                      [&](grpc::ClientContext* ctx) { return c.images().Delete(ctx, req, &resp); });
    note(NotFoundOrOk(d) ? Status::Ok() : d);
    if (NotFoundOrOk(d)) JournalRemove(kKindImage, c.ns() + "/" + img.name());
  }

  api::leases::ListRequest llreq;
  api::leases::ListResponse llresp;
  note(c.Call("Leases.List", timeout,
              [&](grpc::ClientContext* ctx) { return c.leases().List(ctx, llreq, &llresp); }));
  for (const auto& l : llresp.leases()) note(DeleteLease(l.id()));

  // Snapshots: a parent cannot go before its children, so remove in passes until none is
  // left or a pass removes nothing.
  auto list_snapshots = [&](std::vector<std::string>* names) {
    api::snapshots::ListSnapshotsRequest req;
    req.set_snapshotter(ctd::kSnapshotter);
    auto ctx = c.NewContext(timeout);
    auto reader = c.snapshots().List(ctx.get(), req);
    api::snapshots::ListSnapshotsResponse resp;
    while (reader->Read(&resp)) {
      for (const auto& info : resp.info()) names->push_back(info.name());
    }
    return ctd::FromGrpc(reader->Finish(), "Snapshots.List");
  };
  std::vector<std::string> snapshots;
  for (int pass = 0; pass < 8; ++pass) {
    snapshots.clear();
    Status ls = list_snapshots(&snapshots);
    if (!ls.ok()) {
      note(ls);
      break;
    }
    if (snapshots.empty()) break;
    size_t removed = 0;
    for (const auto& name : snapshots) {
      api::snapshots::RemoveSnapshotRequest req;
      google::protobuf::Empty resp;
      req.set_snapshotter(ctd::kSnapshotter);
      req.set_key(name);
      Status d = c.Call("Snapshots.Remove", timeout, [&](grpc::ClientContext* ctx) {
        return c.snapshots().Remove(ctx, req, &resp);
      });
      if (NotFoundOrOk(d)) {
        ++removed;
        JournalRemove(kKindSnapshot, c.ns() + "/" + name);
      }
    }
    if (removed == 0) break;
  }

  // Blobs GC has not taken yet (a namespace holding content cannot be deleted).
  {
    api::content::ListContentRequest req;
    auto ctx = c.NewContext(timeout);
    auto reader = c.content().List(ctx.get(), req);
    api::content::ListContentResponse resp;
    std::vector<std::string> digests;
    while (reader->Read(&resp)) {
      for (const auto& info : resp.info()) digests.push_back(info.digest());
    }
    note(ctd::FromGrpc(reader->Finish(), "Content.List"));
    for (const auto& d : digests) {
      api::content::DeleteContentRequest dreq;
      google::protobuf::Empty dresp;
      dreq.set_digest(d);
      Status ds = c.Call("Content.Delete", timeout, [&](grpc::ClientContext* cctx) {
        return c.content().Delete(cctx, dreq, &dresp);
      });
      note(NotFoundOrOk(ds) ? Status::Ok() : ds);
    }
  }

  // Verify before the namespace goes: afterwards every list would be trivially empty.
  {
    api::containers::ListContainersResponse after;
    Status ls = c.Call("Containers.List", timeout, [&](grpc::ClientContext* ctx) {
      return c.containers().List(ctx, clreq, &after);
    });
    note(ls);
    if (ls.ok() && after.containers_size() > 0) {
      note(Internal(std::to_string(after.containers_size()) + " container(s) remain in " + c.ns() +
                    " after cleanup"));
    }
    api::tasks::ListTasksResponse tafter;
    ls = c.Call("Tasks.List", timeout,
                [&](grpc::ClientContext* ctx) { return c.tasks().List(ctx, tlreq, &tafter); });
    note(ls);
    if (ls.ok() && tafter.tasks_size() > 0) {
      note(Internal(std::to_string(tafter.tasks_size()) + " task(s) remain in " + c.ns() +
                    " after cleanup"));
    }
    snapshots.clear();
    ls = list_snapshots(&snapshots);
    note(ls);
    if (ls.ok() && !snapshots.empty()) {
      note(Internal(std::to_string(snapshots.size()) + " snapshot(s) remain in " + c.ns() +
                    " after cleanup, e.g. " + snapshots.front()));
    } else if (ls.ok() && options_.images != nullptr) {
      // GC usually takes the unpacked layers with the image, before the pass above sees them.
      for (const BuiltImage& img : options_.images->images) {
        JournalRemove(kKindSnapshot, c.ns() + "/" + img.layer.digest);
      }
    }
  }

  api::namespaces::DeleteNamespaceRequest ndreq;
  google::protobuf::Empty ndresp;
  ndreq.set_name(c.ns());
  s = c.Call("Namespaces.Delete", timeout,
             [&](grpc::ClientContext* ctx) { return c.namespaces().Delete(ctx, ndreq, &ndresp); });
  note(NotFoundOrOk(s) ? Status::Ok() : s);
  // Namespaces.Get answers for a namespace that does not exist too (empty labels): only the
  // list tells whether it is gone.
  api::namespaces::ListNamespacesRequest nlreq;
  api::namespaces::ListNamespacesResponse nlresp;
  s = c.Call("Namespaces.List", timeout,
             [&](grpc::ClientContext* ctx) { return c.namespaces().List(ctx, nlreq, &nlresp); });
  note(s);
  if (s.ok()) {
    bool still = std::any_of(nlresp.namespaces().begin(), nlresp.namespaces().end(),
                             [&](const auto& n) { return n.name() == c.ns(); });
    if (still) {
      note(Internal("namespace " + c.ns() + " still exists after cleanup"));
    } else {
      JournalRemove(kKindNamespace, c.ns());
    }
  }

  // Cgroups named after the namespace (what `ctr run` and other clients of the namespace
  // make: /<namespace>/<id>); the containers' own went with their tasks.
  for (const auto& left : RemoveCgroups({c.ns()})) {
    note(Internal("cgroup " + left + " of namespace " + c.ns() + " could not be removed"));
  }

  // What the run kept on disk: FIFOs and runc's state root. No mount may be under it.
  CloseAllStdio();
  auto mounts = MountsUnder(work_dir_);
  if (!mounts.ok()) {
    note(mounts.status());
  } else if (!mounts->empty()) {
    note(Internal(std::to_string(mounts->size()) + " mount(s) remain under " + work_dir_ +
                  ", e.g. " + mounts->front()));
  } else if (first.ok()) {
    note(RemoveTree(work_dir_));
    // The shared parent goes with the last run using it.
    (void)::rmdir((options_.run_dir + "/containerd-driver").c_str());
  }
  return first;
}

}  // namespace polyarch
