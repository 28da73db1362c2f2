// The containerd driver's verbs: one driver per worker thread, sharing the layer's client and
// FIFO drain.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/reaper.h"
#include "harness/core/timing.h"
#include "harness/drivers/containerd/containerd_internal.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/containerd/translate.h"

namespace polyarch {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace api = ctd::api;
using namespace ctd;  // the layer's own constants and helpers (containerd_internal.h)

StepResult ContainerdDriver::Create(const ContainerSpec& spec) {
  return TimedStep("Containers.Create, Snapshots.Prepare, Tasks.Create",
                   [&](StepResult&) { return CreateSteps(spec); });
}

Status ContainerdDriver::CreateSteps(const ContainerSpec& spec) {
  if (spec.arch == nullptr) return InvalidArgument("container " + spec.id + " has no arch");
  Status valid = ctd::ValidateIdentifier(spec.id, "container id");
  if (!valid.ok()) return valid;
  const std::string chain = layer_->ChainFor(*spec.arch);
  if (chain.empty()) return layer_->Supports(*spec.arch);

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
  *ct->mutable_runtime()->mutable_options() =
      ctd::RuncOptionsAny(layer_->runc_root_, layer_->options_.runtime_binary);
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
    return s;
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
    return s;
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
    return err.status().WithContext("stdio for " + spec.id);
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
  return s;
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
  api::tasks::StartRequest req;
  req.set_container_id(id);
  return TimedStep("Tasks.Start", [&](StepResult& r) {
    api::tasks::StartResponse resp;
    return c().Call(r.operation, step(),
                    [&](grpc::ClientContext* ctx) { return c().tasks().Start(ctx, req, &resp); });
  });
}

StateResult ContainerdDriver::State(const std::string& id) {
  api::tasks::GetRequest req;
  api::tasks::GetResponse resp;
  req.set_container_id(id);
  StateResult r = TimedStep<StateResult>("Tasks.Get", [&](StateResult& r) {
    return c().Call(r.operation, step(),
                    [&](grpc::ClientContext* ctx) { return c().tasks().Get(ctx, req, &resp); });
  });
  Status s = std::move(r.status);
  r.status = Status::Ok();
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
  api::tasks::PauseTaskRequest req;
  req.set_container_id(id);
  return TimedStep("Tasks.Pause", [&](StepResult& r) {
    google::protobuf::Empty resp;
    return c().Call(r.operation, step(),
                    [&](grpc::ClientContext* ctx) { return c().tasks().Pause(ctx, req, &resp); });
  });
}

StepResult ContainerdDriver::Resume(const std::string& id) {
  api::tasks::ResumeTaskRequest req;
  req.set_container_id(id);
  return TimedStep("Tasks.Resume", [&](StepResult& r) {
    google::protobuf::Empty resp;
    return c().Call(r.operation, step(),
                    [&](grpc::ClientContext* ctx) { return c().tasks().Resume(ctx, req, &resp); });
  });
}

StepResult ContainerdDriver::Kill(const std::string& id, int signal) {
  api::tasks::KillRequest req;
  req.set_container_id(id);
  req.set_signal(static_cast<uint32_t>(signal));
  return TimedStep("Tasks.Kill", [&](StepResult& r) {
    google::protobuf::Empty resp;
    return c().Call(r.operation, step(),
                    [&](grpc::ClientContext* ctx) { return c().tasks().Kill(ctx, req, &resp); });
  });
}

ExecResult ContainerdDriver::Exec(const std::string& id, const std::vector<std::string>& argv,
                                  milliseconds timeout) {
  return TimedStep<ExecResult>("Tasks.Exec, Tasks.Start, Tasks.Wait, Tasks.DeleteProcess",
                               [&](ExecResult& r) { return ExecSteps(id, argv, timeout, &r); });
}

Status ContainerdDriver::ExecSteps(const std::string& id, const std::vector<std::string>& argv,
                                   milliseconds timeout, ExecResult* r) {
  const auto deadline = Clock::now() + timeout;
  const std::string exec_id = "exec-" + std::to_string(++layer_->exec_seq_);
  const std::string base = layer_->io_dir_ + "/" + id + "." + exec_id;
  auto out_sink = std::make_shared<ctd::OutputSink>(kExecOutputBytes, kExecOutputBytes);
  auto err_sink = std::make_shared<ctd::OutputSink>(kExecOutputBytes, kExecOutputBytes);
  auto out = layer_->drain_.Open(base + ".stdout", out_sink);
  auto err = out.ok() ? layer_->drain_.Open(base + ".stderr", err_sink) : out.status();
  auto finish = [&](Status s) {
    if (out.ok()) layer_->drain_.Close(*out);
    if (err.ok()) layer_->drain_.Close(*err);
    r->out = out_sink->Snapshot().Text();
    r->err = err_sink->Snapshot().Text();
    r->output = err_sink->Snapshot();
    return s;
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
  r->exit_code = static_cast<int>(wresp.exit_status());
  // DeleteProcess waits (briefly) for the shim to finish copying the output and closes the
  // FIFOs; EOF on both then means everything has been read.
  s = delete_process();
  auto eof_by = std::max(deadline, Clock::now() + kOutputGrace);
  layer_->drain_.WaitEof(*out, eof_by);
  layer_->drain_.WaitEof(*err, eof_by);
  return finish(NotFoundOrOk(s) ? Status::Ok() : s);
}

WaitResult ContainerdDriver::Wait(const std::string& id, milliseconds timeout) {
  api::tasks::WaitRequest req;
  req.set_container_id(id);
  WaitResult r = TimedStep<WaitResult>("Tasks.Wait", [&](WaitResult& r) {
    api::tasks::WaitResponse resp;
    Status s = c().Call(r.operation, timeout, [&](grpc::ClientContext* ctx) {
      return c().tasks().Wait(ctx, req, &resp);
    });
    if (s.code() == Code::kDeadlineExceeded) return Status::Ok();  // exited = false
    if (!s.ok()) return s;
    r.exited = true;
    // The runc shim reports a death by signal n as 128 + n already.
    r.exit_code = static_cast<int>(resp.exit_status());
    return Status::Ok();
  });
  if (!r.exited) return r;
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
  return TimedStep(force ? "Tasks.Kill, Tasks.Delete, Snapshots.Remove, Containers.Delete"
                         : "Tasks.Delete, Snapshots.Remove, Containers.Delete",
                   [&](StepResult&) { return DeleteSteps(id, force); });
}

Status ContainerdDriver::DeleteSteps(const std::string& id, bool force) {
  bool found = false;
  if (force) {
    Status s = StopTask(id);
    if (!NotFoundOrOk(s)) return s;
  }
  // Without force, containerd refuses a running task here, and nothing else is touched.
  api::tasks::DeleteTaskRequest treq;
  api::tasks::DeleteResponse tresp;
  treq.set_container_id(id);
  Status s = c().Call("Tasks.Delete", step(), [&](grpc::ClientContext* ctx) {
    return c().tasks().Delete(ctx, treq, &tresp);
  });
  if (!NotFoundOrOk(s)) return s;
  found |= s.ok();

  // GC may have taken the snapshot already once its container lost its task.
  api::snapshots::RemoveSnapshotRequest sreq;
  google::protobuf::Empty sresp;
  sreq.set_snapshotter(ctd::kSnapshotter);
  sreq.set_key(id);
  s = c().Call("Snapshots.Remove", step(),
               [&](grpc::ClientContext* ctx) { return c().snapshots().Remove(ctx, sreq, &sresp); });
  if (!NotFoundOrOk(s)) return s;

  api::containers::DeleteContainerRequest creq;
  google::protobuf::Empty cresp;
  creq.set_id(id);
  s = c().Call("Containers.Delete", step(), [&](grpc::ClientContext* ctx) {
    return c().containers().Delete(ctx, creq, &cresp);
  });
  if (!NotFoundOrOk(s)) return s;
  found |= s.ok();
  CloseStdio(id);
  layer_->JournalRemove(kKindContainer, c().ns() + "/" + id);
  if (!found) return NotFound("no container " + id + " in namespace " + c().ns());
  return Status::Ok();
}

ListResult ContainerdDriver::List() {
  api::containers::ListContainersRequest req;
  api::containers::ListContainersResponse resp;
  req.add_filters(ctd::LabelFilter(ctd::kRunLabel, layer_->options_.run_id));
  ListResult r = TimedStep<ListResult>("Containers.List", [&](ListResult& r) {
    return c().Call(r.operation, step(), [&](grpc::ClientContext* ctx) {
      return c().containers().List(ctx, req, &resp);
    });
  });
  for (const auto& ct : resp.containers()) r.ids.push_back(ct.id());
  std::sort(r.ids.begin(), r.ids.end());
  return r;
}

}  // namespace polyarch
