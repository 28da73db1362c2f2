#include "harness/drivers/oci_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/json_int.h"
#include "harness/core/mountinfo.h"
#include "harness/core/oci_spec.h"
#include "harness/core/reaper.h"
#include "harness/core/subprocess.h"
#include "harness/core/timing.h"
#include "harness/host/facts.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

ContainerState ParseStatus(const std::string& s) {
  if (s == "creating") return ContainerState::kCreating;
  if (s == "created") return ContainerState::kCreated;
  if (s == "running") return ContainerState::kRunning;
  if (s == "paused" || s == "pausing") return ContainerState::kPaused;
  if (s == "stopped") return ContainerState::kStopped;
  return ContainerState::kUnknown;
}

bool SaysNotFound(const std::string& text) {
  return text.find("does not exist") != std::string::npos ||
         text.find("not found") != std::string::npos ||
         text.find("No such file or directory") != std::string::npos;
}

}  // namespace

Result<OciState> ParseOciState(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("state is not a JSON object");
  auto status = j.find("status");
  if (status == j.end() || !status->is_string()) {
    return InvalidArgument("state has no string 'status'");
  }
  OciState s;
  s.state = ParseStatus(status->get<std::string>());
  if (s.state == ContainerState::kUnknown) {
    return InvalidArgument("unknown status '" + status->get<std::string>() + "'");
  }
  auto pid = j.find("pid");
  if (pid != j.end()) {
    std::optional<int> v = JsonInteger<int>(*pid);
    if (!v || *v < 0 || *v > (1 << 30)) return InvalidArgument("state 'pid' is not a process id");
    s.pid = *v;
  }
  return s;
}

Result<std::vector<std::string>> ParseOciList(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> ids;
  if (j.is_null()) return ids;  // runc prints "null" for an empty root
  if (j.is_discarded() || !j.is_array()) return InvalidArgument("list is not a JSON array");
  for (const auto& c : j) {
    if (c.is_object() && c.contains("id") && c["id"].is_string()) ids.push_back(c["id"]);
  }
  return ids;
}

class OciRuntimeDriver : public Driver {
 public:
  explicit OciRuntimeDriver(OciRuntimeLayer* layer) : layer_(layer) {}

  std::string_view layer_name() const override { return layer_->name(); }
  Capabilities capabilities() const override { return layer_->capabilities(); }

  StepResult Create(const ContainerSpec& spec) override {
    return TimedStep<StepResult>(std::string(layer_name()) + " create", [&](StepResult& r) {
      bool known = false;  // a second create of a live id: its failure must not touch the first
      {
        std::lock_guard<std::mutex> lock(layer_->mu_);
        known = layer_->inits_.count(spec.id) > 0;
      }
      r.status = PrepareBundle(spec);
      if (!r.status.ok()) return;
      const std::string bundle = layer_->containers_dir_ + "/" + spec.id;
      // The container's own stdout/stderr go to files: it outlives `create`, and a pipe
      // polyarch stops reading would break its writes.
      int out =
          ::open((bundle + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      int err =
          ::open((bundle + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      SpawnOptions so;
      so.argv = Argv({"create", "--bundle", bundle, "--pid-file", bundle + "/pid", spec.id});
      so.stdout_mode = OutputMode::kFd;
      so.stdout_fd = out;
      so.stderr_mode = OutputMode::kFd;
      so.stderr_fd = err;
      auto res = RunProcess(so, layer_->options_.step_timeout);
      if (out >= 0) ::close(out);
      if (err >= 0) ::close(err);
      if (!res.ok()) {
        r.status = res.status();
        return;
      }
      if (!res->success()) {
        auto text = ReadFile(bundle + "/stderr", 1 << 20);
        ProcessResult shown = *res;
        if (text.ok()) shown.err.head = *text;
        r.output = shown.err;
        // A runtime that never returned is not a refusal: say it overran the deadline.
        r.status = res->timed_out
                       ? DeadlineExceeded(r.operation + " " + spec.id + " did not finish within " +
                                          std::to_string(layer_->options_.step_timeout.count()) +
                                          " ms: " + RuntimeFailure(shown))
                       : FailedPrecondition(r.operation + " " + spec.id +
                                            " failed: " + RuntimeFailure(shown));
        // A refused create may leave a container behind (a failing hook's, one cut off at the
        // deadline): remove it, and with it the bundle and the journal record, as for a
        // container never made. One that cannot be removed stays for the layer's Cleanup.
        if (!known) {
          if (res->timed_out) {
            (void)RunProcess(Argv({"kill", spec.id, "9"}), layer_->options_.step_timeout);
          }
          StepResult del = Simple("delete", {"delete", "--force", spec.id});
          if (del.ok() || del.status.code() == Code::kNotFound) Forget(spec.id);
        }
        return;
      }
      auto pid_text = ReadFile(bundle + "/pid");
      int pid = pid_text.ok() ? std::atoi(pid_text->c_str()) : 0;
      if (pid > 0) {
        Reaper::Instance().Claim(pid);
        std::lock_guard<std::mutex> lock(layer_->mu_);
        layer_->inits_[spec.id] = {pid, false, -1};
      }
    });
  }

  StepResult Start(const std::string& id) override { return Simple("start", {"start", id}); }
  StepResult Pause(const std::string& id) override { return Simple("pause", {"pause", id}); }
  StepResult Resume(const std::string& id) override { return Simple("resume", {"resume", id}); }
  StepResult Kill(const std::string& id, int signal) override {
    return Simple("kill", {"kill", id, std::to_string(signal)});
  }

  StateResult State(const std::string& id) override {
    return TimedStep<StateResult>(std::string(layer_name()) + " state", [&](StateResult& r) {
      auto res = RunProcess(Argv({"state", id}), layer_->options_.step_timeout);
      if (!res.ok()) {
        r.status = res.status();
        return;
      }
      r.output = res->out;
      if (!res->success()) {
        if (SaysNotFound(res->err.Text())) {
          r.state = ContainerState::kNotFound;
          return;  // asking about a missing container is answered, not failed
        }
        r.status = FailedPrecondition(r.operation + " " + id + " failed: " + RuntimeFailure(*res));
        return;
      }
      auto st = ParseOciState(res->out.Text());
      if (!st.ok()) {
        r.status = FailedPrecondition(r.operation + ": " + st.status().message());
        return;
      }
      r.state = st->state;
      r.pid = st->pid;
    });
  }

  ExecResult Exec(const std::string& id, const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout) override {
    return TimedStep<ExecResult>(std::string(layer_name()) + " exec", [&](ExecResult& r) {
      // The pid file tells a process that exited non-zero from a runtime that refused.
      const std::string pid_file = layer_->containers_dir_ + "/" + id + ".exec.pid";
      ::unlink(pid_file.c_str());
      std::vector<std::string> args = {"exec", "--pid-file", pid_file, id};
      args.insert(args.end(), argv.begin(), argv.end());
      auto res = RunProcess(Argv(args), timeout);
      if (!res.ok()) {
        r.status = res.status();
        return;
      }
      bool started = PathExists(pid_file);
      ::unlink(pid_file.c_str());
      r.out = res->out.Text();
      r.err = res->err.Text();
      r.output = res->err;
      if (res->timed_out) {
        r.status = DeadlineExceeded(r.operation + " did not finish within " +
                                    std::to_string(timeout.count()) + " ms");
      } else if (!started) {
        r.status = FailedPrecondition(r.operation + " " + id + " refused: " + RuntimeFailure(*res));
      } else {
        r.exit_code = res->ShellStatus();
      }
    });
  }

  WaitResult Wait(const std::string& id, std::chrono::milliseconds timeout) override {
    return TimedStep<WaitResult>(
        std::string(layer_name()) + " wait (subreaper)", [&](WaitResult& r) {
          OciRuntimeLayer::Init init;
          {
            std::lock_guard<std::mutex> lock(layer_->mu_);
            auto it = layer_->inits_.find(id);
            if (it == layer_->inits_.end()) {
              r.status = FailedPrecondition("no init process known for " + id);
              return;
            }
            init = it->second;
          }
          if (init.reaped) {  // a second Wait answers what the first learned
            r.exited = true;
            r.exit_code = init.exit_code;
            return;
          }
          auto status = Reaper::Instance().WaitFor(init.pid, timeout);
          if (!status) {
            // Either still running at the deadline, or its status went elsewhere.
            if (::kill(init.pid, 0) == 0) return;  // exited = false: the deadline passed
            r.status = Internal("the exit status of " + id + " (pid " + std::to_string(init.pid) +
                                ") was lost");
            return;
          }
          r.exited = true;
          r.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
          std::lock_guard<std::mutex> lock(layer_->mu_);
          layer_->inits_[id] = {init.pid, true, r.exit_code};
        });
  }

  StepResult Delete(const std::string& id, bool force) override {
    // polyarch holds the init's zombie (it is the subreaper), and a zombie still counts in the
    // pids cgroup, which would keep the runtime from removing it: reap it first.
    OciRuntimeLayer::Init init;
    {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      auto it = layer_->inits_.find(id);
      if (it != layer_->inits_.end()) init = it->second;
    }
    if (init.pid > 0 && !init.reaped) {
      if (force) (void)RunProcess(Argv({"kill", id, "9"}), layer_->options_.step_timeout);
      auto wait = force ? std::chrono::milliseconds(10000) : std::chrono::milliseconds(0);
      if (Reaper::Instance().WaitFor(init.pid, wait)) {
        std::lock_guard<std::mutex> lock(layer_->mu_);
        layer_->inits_[id].reaped = true;
      }
    }
    StepResult r =
        force ? Simple("delete", {"delete", "--force", id}) : Simple("delete", {"delete", id});
    if (!r.ok() && !force && init.pid > 0 && ReapedOrGone(id, init.pid)) {
      // The init has exited and been reaped, yet the runtime may still count the container
      // as running for a moment (seen rarely with crun on emulated arches): let its view
      // settle for up to a second, then ask once more. A container that really runs still
      // fails.
      const auto deadline = Clock::now() + std::chrono::seconds(1);
      while (Clock::now() < deadline) {
        StateResult st = State(id);
        if (st.ok() && st.state == ContainerState::kStopped) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      StepResult again = Simple("delete", {"delete", id});
      again.duration_ns += r.duration_ns;
      r = std::move(again);
    }
    if (r.ok()) Forget(id);
    return r;
  }

  // `<runtime> run`: one invocation creates, starts, waits for and removes the container
  // (runc and crun remove it unless given --keep). The runtime exits with the process's
  // status (128 + signal for a signal death). Its --pid-file tells a process that exited
  // non-zero from a runtime that failed before starting it.
  WaitResult Run(const ContainerSpec& spec, std::chrono::milliseconds timeout) override {
    WaitResult r = TimedStep<WaitResult>(std::string(layer_name()) + " run", [&](WaitResult& r) {
      r.status = PrepareBundle(spec);
      if (!r.status.ok()) return;
      const std::string bundle = layer_->containers_dir_ + "/" + spec.id;
      SpawnOptions so;
      so.argv = Argv({"run", "--bundle", bundle, "--pid-file", bundle + "/pid", spec.id});
      // The process's own output is the runtime's: captured, bounded, shown on a failure.
      auto res = RunProcess(so, timeout);
      if (!res.ok()) {
        r.status = res.status();
        return;
      }
      r.output = res->err;
      if (res->timed_out) return;  // exited = false: the deadline passed first
      if (!PathExists(bundle + "/pid")) {
        r.status =
            FailedPrecondition(r.operation + " " + spec.id +
                               " failed before the process started: " + RuntimeFailure(*res));
        return;
      }
      r.exited = true;
      r.exit_code = res->ShellStatus();
    });
    // A runtime stopped at the deadline may leave its container behind (the process keeps
    // running once the runtime is gone); a runtime that failed may leave a created one. Remove
    // it, as the contract says; a container that cannot be removed fails the step.
    // Until it is gone, its journal record and bundle stay for the layer's Cleanup.
    if (!r.ok() || !r.exited) {
      (void)RunProcess(Argv({"kill", spec.id, "9"}), layer_->options_.step_timeout);
      StepResult del = Simple("delete", {"delete", "--force", spec.id});
      r.duration_ns += del.duration_ns;
      if (!del.ok() && del.status.code() != Code::kNotFound) {
        if (r.ok()) r.status = del.status;
        return r;
      }
    }
    Forget(spec.id);
    return r;
  }

  // Whether the init of `id` was reaped by polyarch or no longer exists.
  bool ReapedOrGone(const std::string& id, pid_t pid) {
    {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      auto it = layer_->inits_.find(id);
      if (it != layer_->inits_.end() && it->second.reaped) return true;
    }
    return ::kill(pid, 0) != 0 && errno == ESRCH;
  }

  ListResult List() override {
    return TimedStep<ListResult>(std::string(layer_name()) + " list", [&](ListResult& r) {
      auto res = RunProcess(Argv({"list", "--format", "json"}), layer_->options_.step_timeout);
      if (!res.ok() || !res->success()) {
        r.status = res.ok() ? FailedPrecondition(r.operation + " failed: " + RuntimeFailure(*res))
                            : res.status();
        return;
      }
      auto ids = ParseOciList(res->out.Text());
      if (!ids.ok()) {
        r.status = FailedPrecondition(r.operation + ": " + ids.status().message());
        return;
      }
      r.ids = std::move(*ids);
    });
  }

 private:
  std::vector<std::string> Argv(std::vector<std::string> rest) const {
    rest.insert(rest.begin(), {layer_->binary_, "--root", layer_->state_root_});
    return rest;
  }

  StepResult Simple(const char* verb, std::vector<std::string> args) {
    return TimedStep<StepResult>(std::string(layer_name()) + " " + verb, [&](StepResult& r) {
      auto res = RunProcess(Argv(std::move(args)), layer_->options_.step_timeout);
      if (!res.ok()) {
        r.status = res.status();
        return;
      }
      r.output = res->err;
      if (res->timed_out) {
        r.status = DeadlineExceeded(r.operation + " did not finish within the step deadline");
      } else if (!res->success()) {
        std::string why = RuntimeFailure(*res);
        r.status = SaysNotFound(res->err.Text()) ? NotFound(r.operation + ": " + why)
                                                 : FailedPrecondition(r.operation + ": " + why);
      }
    });
  }

  // Writes the bundle of `spec` (config.json; the root is the image's rootfs, read-only) and
  // journals the container before the runtime is asked to make it.
  Status PrepareBundle(const ContainerSpec& spec) {
    const BuiltImage* image =
        layer_->options_.images ? layer_->options_.images->Find(spec.arch) : nullptr;
    if (image == nullptr) {
      return FailedPrecondition("no image for " + std::string(spec.arch ? spec.arch->name : "?"));
    }
    const std::string bundle = layer_->containers_dir_ + "/" + spec.id;
    OciSpecOptions o;
    o.args = spec.argv;
    for (const auto& e : spec.env) o.env.push_back(e);
    o.rootfs = image->bundle_dir + "/rootfs";
    o.readonly_root = true;
    o.tmp_tmpfs = spec.writable_tmp;
    o.hostname = spec.id.substr(0, 63);
    o.settings = spec.settings.get();
    PA_RETURN_IF_ERROR(MakeDirs(bundle, 0700));
    PA_RETURN_IF_ERROR(WriteScratchFile(bundle + "/config.json", MakeOciSpec(o).dump(), 0600));
    // Not fsynced: a reboot ends the container (journal.h); per container, an fsync would be
    // a twentieth of what a throughput figure measures.
    if (Journal* j = layer_->options_.journal) {
      PA_RETURN_IF_ERROR(j->Add({"container",
                                 layer_->options_.name + "/" + spec.id,
                                 {{"layer", layer_->options_.name},
                                  {"binary", layer_->binary_},
                                  {"root", layer_->state_root_},
                                  {"id", spec.id}},
                                 "",
                                 /*durable=*/false}));
    }
    return Status::Ok();
  }

  void Forget(const std::string& id) {
    OciRuntimeLayer::Init init;
    {
      std::lock_guard<std::mutex> lock(layer_->mu_);
      auto it = layer_->inits_.find(id);
      if (it != layer_->inits_.end()) {
        init = it->second;
        layer_->inits_.erase(it);
      }
    }
    if (init.pid > 0 && !init.reaped) Reaper::Instance().Release(init.pid);
    (void)RemoveTree(layer_->containers_dir_ + "/" + id);
    if (Journal* j = layer_->options_.journal) {
      (void)j->Remove("container", layer_->options_.name + "/" + id, /*durable=*/false);
    }
  }

  OciRuntimeLayer* layer_;
};

Result<std::unique_ptr<OciRuntimeLayer>> OciRuntimeLayer::Create(const OciRuntimeOptions& options) {
  std::unique_ptr<OciRuntimeLayer> layer(new OciRuntimeLayer(options));
  auto path = FindProgram(options.binary);
  if (!path.ok()) {
    return FailedPrecondition(options.name + " is not installed (" + path.status().message() +
                              "): apt-get install " + options.name);
  }
  layer->binary_ = *path;
  layer->version_ = ProbeToolVersion(*path, "--version").version;
  const std::string base = options.run_dir + "/" + options.name;
  layer->state_root_ = base + "/state";
  layer->containers_dir_ = base + "/containers";
  PA_RETURN_IF_ERROR(MakeDirs(layer->state_root_, 0700));
  PA_RETURN_IF_ERROR(MakeDirs(layer->containers_dir_, 0700));
  auto probe = ProbeOciRuntime(options.name, *path, base);
  if (!probe.ok()) return probe.status();
  PA_RETURN_IF_ERROR(Reaper::Instance().Enable());
  return layer;
}

Capabilities OciRuntimeLayer::capabilities() const {
  Capabilities c;
  c.pause = true;
  c.exec = true;
  c.kill = true;
  c.wait_exit_code = true;
  c.state_pid = true;
  c.created_state = true;
  c.single_call_run = true;
  c.settings = kAllSpecSettings;  // the config is the runtime's input
  return c;
}

nlohmann::json OciRuntimeLayer::Context() const {
  return {{"layer", options_.name},
          {"binary", binary_},
          {"version", version_},
          {"state_root", state_root_}};
}

Status OciRuntimeLayer::Supports(const ArchInfo& arch) const {
  if (options_.images == nullptr || options_.images->Find(&arch) == nullptr) {
    return FailedPrecondition("no " + std::string(arch.name) + " image was built");
  }
  return Status::Ok();
}

std::unique_ptr<Driver> OciRuntimeLayer::NewDriver() {
  return std::make_unique<OciRuntimeDriver>(this);
}

Status OciRuntimeLayer::Cleanup() {
  OciRuntimeDriver driver(this);
  ListResult list = driver.List();
  Status first = list.status;
  for (const auto& id : list.ids) {
    StepResult d = driver.Delete(id, /*force=*/true);
    if (!d.ok() && first.ok()) first = d.status;
  }
  // Verify: the runtime knows none, and nothing is left under the run's directories.
  ListResult after = driver.List();
  if (after.ok() && !after.ids.empty() && first.ok()) {
    first = Internal(options_.name + " still lists " + std::to_string(after.ids.size()) +
                     " container(s) of the run after cleanup");
  }
  auto mounts = MountPointsUnder(options_.run_dir + "/" + options_.name);
  if (mounts.ok() && !mounts->empty() && first.ok()) {
    first = Internal(std::to_string(mounts->size()) + " mount(s) remain under " + options_.run_dir +
                     "/" + options_.name);
  }
  return first;
}

}  // namespace polyarch
