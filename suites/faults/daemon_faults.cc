// Scenarios against the daemons: containerd, dockerd or a podman service SIGKILLed while workers
// drive lifecycle cases through them, and a daemon socket that accepts connections and never
// answers.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/podman_service.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/oci_runtime.h"
#include "suites/faults/scenario.h"
#include "suites/lifecycle/lifecycle_suite.h"

namespace polyarch::faults {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kWorkers = 4;
constexpr milliseconds kKillAfter{1000};

// Lifecycle cases whose bodies delete every container they create. A case that leaves its
// containers to CaseContext's own cleanup would end as "pass" if the daemon died during that
// cleanup (the cleanup's steps do not decide the case), which says nothing about the daemon's
// death; with these, any call after the death is a step of the case and aborts it.
const std::vector<std::string> kWorkload = {"exit_code_0",
                                            "exit_code_42",
                                            "delete_running_with_force",
                                            "delete_stopped",
                                            "state_after_delete_is_not_found",
                                            "exit_code_1",
                                            "exit_code_255"};

// What the workers share with the scenario; shared so a worker that overran its deadline can be
// abandoned without its state (or its layer) going away under it.
struct Workload {
  std::shared_ptr<Layer> layer;
  LifecycleSuite suite;
  std::vector<CaseDef> cases;
  std::vector<const CaseDef*> chosen;
  SuiteEnv env;
  std::atomic<bool> killed{false};
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  struct Ran {
    int worker;
    CaseResult result;
    Clock::time_point start, end;
  };
  std::vector<Ran> ran;
};

// Forgets the journal records of what the scenario created and has now removed itself (a dead
// daemon's namespace, containers and images went with its directory).
void ForgetRecords(ScenarioContext& ctx) {
  Journal* j = ctx.config().journal;
  if (j == nullptr) return;
  auto live = j->Live();
  if (!live.ok()) return;
  for (const auto& r : *live) {
    std::string all = r.key + " " + r.data.dump();
    if (all.find(ctx.dir()) != std::string::npos || all.find(ctx.prefix()) != std::string::npos ||
        all.find("polyarch-" + ctx.run_id()) != std::string::npos) {
      (void)j->Remove(r.kind, r.key);
    }
  }
}

// Four workers run lifecycle cases on `layer` in a loop; after a second `kill` SIGKILLs the
// daemon. Checks that every case in flight ends aborted (with the reason) within its step
// deadline, that no worker hangs, and that cases finished before the kill passed.
void KillDuringLifecycle(ScenarioContext& ctx, std::shared_ptr<Layer> layer,
                         const std::string& daemon, pid_t pid) {
  auto w = std::make_shared<Workload>();
  w->layer = layer;
  w->cases = w->suite.Cases();
  for (const auto& name : kWorkload) {
    if (const CaseDef* c = FindLifecycleCase(w->cases, name)) w->chosen.push_back(c);
  }
  if (w->chosen.size() != kWorkload.size()) {
    ctx.Error("the lifecycle suite lacks a case of the workload");
    return;
  }
  w->env = ScenarioSuiteEnv(ctx, *layer, "");
  Layer* raw = layer.get();
  w->env.new_driver = [raw] { return raw->NewDriver(); };
  const std::string prefix = ctx.prefix();
  const ArchInfo* arch = &ctx.arch();

  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) {
    threads.emplace_back([w, i, prefix, arch] {
      std::unique_ptr<Driver> driver = w->layer->NewDriver();
      SuiteEnv env = w->env;
      env.run_prefix = prefix + "w" + std::to_string(i) + "-";
      for (int n = 0; n < 1000; ++n) {
        const CaseDef* def = w->chosen[(i + n) % w->chosen.size()];
        auto start = Clock::now();
        CaseResult r = RunCase(w->suite, *def, *driver, *arch, env, n);
        auto end = Clock::now();
        bool stop = w->killed.load();
        {
          std::lock_guard<std::mutex> lock(w->mu);
          w->ran.push_back({i, std::move(r), start, end});
        }
        if (stop) break;  // the case in flight at the kill has ended: that is what we wanted
      }
      driver.reset();
      std::lock_guard<std::mutex> lock(w->mu);
      ++w->done;
      w->cv.notify_all();
    });
  }
  std::this_thread::sleep_for(kKillAfter);
  int rc = ::kill(pid, SIGKILL);
  auto kill_at = Clock::now();
  w->killed.store(true);
  ctx.Step("kill -KILL " + daemon, "kill(" + std::to_string(pid) + ", SIGKILL)",
           Clock::duration::zero(),
           rc == 0 ? Status::Ok() : ErrnoStatus(errno, "kill " + std::to_string(pid)));
  // Every call after the death fails at once; the step deadline bounds one already waiting.
  const auto join_by = kill_at + ctx.step_timeout() + seconds(10);
  bool all_done;
  {
    std::unique_lock<std::mutex> lock(w->mu);
    all_done = w->cv.wait_until(lock, join_by, [&] { return w->done == kWorkers; });
  }
  auto joined_at = Clock::now();
  if (all_done) {
    for (auto& t : threads) t.join();
  } else {
    for (auto& t : threads) t.detach();  // `w` keeps what they use alive
    ctx.Fail(std::to_string(kWorkers - w->done) + " worker(s) still running " +
             FormatMs(joined_at - kill_at) + " after " + daemon + " was killed: hung");
  }
  ctx.Metric("workers_joined_after_kill_ms", Ms(joined_at - kill_at));

  std::vector<Workload::Ran> ran;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    ran = w->ran;
  }
  int before = 0, aborted = 0, completed_in_time = 0;
  double slowest_ms = 0;
  json cases = json::array();
  for (const auto& r : ran) {
    bool after_kill = r.end >= kill_at;
    bool steps_ok = std::all_of(r.result.steps.begin(), r.result.steps.end(),
                                [](const StepRecord& s) { return s.ok; });
    cases.push_back({{"worker", r.worker},
                     {"case", r.result.name},
                     {"status", std::string(CaseStatusName(r.result.status))},
                     {"reason", r.result.reason},
                     {"start_ms_from_kill", Ms(r.start - kill_at)},
                     {"end_ms_from_kill", Ms(r.end - kill_at)}});
    if (!after_kill) {
      ++before;
      ctx.Expect(r.result.status == CaseStatus::kPass,
                 "a case that finished before the kill did not pass: " + r.result.Id() + ": " +
                     r.result.reason);
      continue;
    }
    slowest_ms = std::max(slowest_ms, Ms(r.end - kill_at));
    if (r.result.status == CaseStatus::kAborted) {
      ++aborted;
      ctx.Expect(r.result.reason.find("stopped answering") != std::string::npos,
                 "an aborted case does not say why: " + r.result.reason);
    } else if (r.result.status == CaseStatus::kPass && steps_ok) {
      // Every call it made was answered: it finished as the signal was being delivered.
      ++completed_in_time;
    } else {
      ctx.Fail("a case in flight when " + daemon + " died ended '" +
               std::string(CaseStatusName(r.result.status)) +
               "' instead of aborted: " + r.result.Id() + ": " + r.result.reason);
    }
  }
  ctx.Data()["cases"] = cases;
  ctx.Metric("cases_before_kill", before);
  ctx.Metric("cases_aborted", aborted);
  ctx.Metric("cases_completed_as_killed", completed_in_time);
  ctx.Metric("slowest_case_end_after_kill_ms", slowest_ms);
  ctx.Expect(aborted > 0, "no case was aborted: the kill did not land in flight");
  ctx.Expect(slowest_ms <= Ms(ctx.step_timeout()),
             "a case took " + std::to_string(static_cast<int>(slowest_ms)) +
                 " ms after the kill to end, beyond its step deadline");
  std::string sample;
  for (const auto& r : ran) {
    if (r.result.status == CaseStatus::kAborted) {
      sample = r.result.reason.substr(0, 200);
      break;
    }
  }
  ctx.Observed(std::to_string(before) + " case(s) passed before the kill; " +
               std::to_string(aborted) + " in flight ended aborted (" + sample + ")" +
               (completed_in_time
                    ? ", " + std::to_string(completed_in_time) + " finished as the signal landed"
                    : "") +
               "; all " + std::to_string(kWorkers) + " workers joined " +
               FormatMs(joined_at - kill_at) + " after the kill");
}

// The workers can see the socket close before the kernel has finished tearing down a process
// with many threads: the exit is given a moment to be collected, then must be SIGKILL's.
void ExpectDeadBySigkill(ScenarioContext& ctx, const std::string& what,
                         const std::function<std::optional<ProcessResult>()>& exit_result) {
  std::optional<ProcessResult> death;
  WaitUntil([&] { return (death = exit_result()).has_value(); }, milliseconds(5000),
            milliseconds(20));
  ctx.Expect(death.has_value() && death->signal == SIGKILL,
             what + " is not dead by SIGKILL: " +
                 (death ? death->Describe() : "still running 5 s after SIGKILL"));
}

// The suite goes on with the other layers: a runc case on a layer of the scenario's own.
void OtherLayerStillPasses(ScenarioContext& ctx) {
  OciRuntimeOptions o;
  o.name = "runc";
  o.binary = "runc";
  o.run_dir = ctx.dir();
  o.images = ctx.config().images;
  o.step_timeout = ctx.step_timeout();
  o.journal = ctx.config().journal;
  auto runc = OciRuntimeLayer::Create(o);
  if (!runc.ok()) {
    ctx.Error("the runc layer could not be set up: " + runc.status().message());
    return;
  }
  CaseResult r = RunLifecycleCase(ctx, **runc, "exit_code_42", ctx.prefix() + "after-");
  ctx.Expect(r.status == CaseStatus::kPass,
             "a runc case after the daemon's death did not pass: " + r.reason);
  Status cleaned = (*runc)->Cleanup();
  ctx.Expect(cleaned.ok(), "the runc layer's cleanup: " + cleaned.message());
  ctx.Observed("afterwards a runc case (exit_code_42) " + std::string(CaseStatusName(r.status)));
}

// Removes the cgroups named after the scenario that the dead daemon's runtime left (the
// namespace or cgroup parent; runc removes each container's own).
void RemoveScenarioCgroups(ScenarioContext& ctx, json* recovery) {
  std::vector<std::string> found = FindCgroups(ctx.scope().tokens);
  std::vector<std::string> left;
  // A process killed just now leaves its cgroup only once the reaper has collected it.
  WaitUntil([&] { return (left = RemoveCgroups(ctx.scope().tokens)).empty(); }, milliseconds(3000),
            milliseconds(100));
  (*recovery)["cgroups_removed"] = found.size() - left.size();
  ctx.Expect(left.empty(), "cgroups could not be removed: " + json(left).dump());
}

void ContainerdKilled(ScenarioContext& ctx) {
  ContainerdOptions o;
  o.run_dir = ctx.dir();
  o.journal = ctx.config().journal;
  auto t0 = Clock::now();
  auto daemon = ContainerdDaemon::Start(o);
  ctx.Step("start containerd", "ContainerdDaemon::Start", Clock::now() - t0, daemon.status());
  if (!daemon.ok()) return ctx.Error("containerd did not start: " + daemon.status().message());
  ContainerdLayerOptions lo;
  lo.address = (*daemon)->address();
  lo.run_id = ctx.run_id();
  lo.run_dir = ctx.dir();
  lo.images = ctx.config().images;
  lo.step_timeout = ctx.step_timeout();
  lo.journal = ctx.config().journal;
  t0 = Clock::now();
  auto layer = ContainerdLayer::Create(lo);
  ctx.Step("containerd layer", "ContainerdLayer::Create", Clock::now() - t0, layer.status());
  if (!layer.ok()) {
    (void)(*daemon)->Stop();
    return ctx.Error("the containerd layer could not be set up: " + layer.status().message());
  }
  const pid_t pid = (*daemon)->pid();
  ctx.Injected("SIGKILL to the scenario's own containerd (pid " + std::to_string(pid) + ") " +
               std::to_string(kKillAfter.count()) + " ms into " + std::to_string(kWorkers) +
               " workers running lifecycle cases through it");
  std::shared_ptr<Layer> shared(std::move(*layer));
  KillDuringLifecycle(ctx, shared, "containerd", pid);
  shared.reset();  // its FIFOs; nothing in containerd can be removed any more

  ExpectDeadBySigkill(ctx, "containerd", [&] { return (*daemon)->ExitResult(); });
  OtherLayerStillPasses(ctx);

  // What the dead daemon left: its shims and their containers, mounts, sockets.
  json recovery = json::object();
  t0 = Clock::now();
  Status stopped = (*daemon)->Stop();
  ctx.Step("recover containerd", "ContainerdDaemon::Stop (shims, runc state, mounts, sockets)",
           Clock::now() - t0, stopped);
  recovery["daemon"] = stopped.ok() ? "recovered" : stopped.message();
  ctx.Expect(stopped.ok(), "recovering the dead containerd: " + stopped.message());
  RemoveScenarioCgroups(ctx, &recovery);
  ctx.Data()["recovery"] = recovery;
  ForgetRecords(ctx);
}

void DockerdKilled(ScenarioContext& ctx) {
  ContainerdOptions co;
  co.run_dir = ctx.dir();
  co.journal = ctx.config().journal;
  auto t0 = Clock::now();
  auto containerd = ContainerdDaemon::Start(co);
  ctx.Step("start containerd", "ContainerdDaemon::Start", Clock::now() - t0, containerd.status());
  if (!containerd.ok()) {
    return ctx.Error("containerd did not start: " + containerd.status().message());
  }
  DockerdOptions o;
  o.run_dir = ctx.dir();
  o.journal = ctx.config().journal;
  // Containers' cgroups under the scenario's name, so what dockerd leaves can be found.
  o.cgroup_parent = ctx.prefix() + "docker";
  t0 = Clock::now();
  auto daemon = DockerdDaemon::Start(o, (*containerd)->address());
  ctx.Step("start dockerd", "DockerdDaemon::Start", Clock::now() - t0, daemon.status());
  if (!daemon.ok()) {
    (void)(*containerd)->Stop();
    return ctx.Error("dockerd did not start: " + daemon.status().message());
  }
  DockerLayerOptions lo;
  lo.socket_path = (*daemon)->address();
  lo.run_id = ctx.run_id();
  lo.images = ctx.config().images;
  lo.step_timeout = ctx.step_timeout();
  lo.journal = ctx.config().journal;
  t0 = Clock::now();
  auto layer = DockerLayer::Create(lo);
  ctx.Step("docker layer", "DockerLayer::Create", Clock::now() - t0, layer.status());
  if (!layer.ok()) {
    (void)(*daemon)->Stop();
    (void)(*containerd)->Stop();
    return ctx.Error("the docker layer could not be set up: " + layer.status().message());
  }
  const pid_t pid = (*daemon)->pid();
  ctx.Injected("SIGKILL to the scenario's own dockerd (pid " + std::to_string(pid) + ") " +
               std::to_string(kKillAfter.count()) + " ms into " + std::to_string(kWorkers) +
               " workers running lifecycle cases through it");
  std::shared_ptr<Layer> shared(std::move(*layer));
  KillDuringLifecycle(ctx, shared, "dockerd", pid);
  shared.reset();

  ExpectDeadBySigkill(ctx, "dockerd", [&] { return (*daemon)->ExitResult(); });
  OtherLayerStillPasses(ctx);

  // dockerd's containers outlive it under containerd; its mounts, sockets and cgroup parent
  // stay behind. containerd stops first: it ends the shims and containers the dead dockerd
  // left, whose cgroups would otherwise keep dockerd's cgroup parent from being removed.
  json recovery = json::object();
  t0 = Clock::now();
  Status c = (*containerd)->Stop();
  ctx.Step("stop containerd", "ContainerdDaemon::Stop (dockerd's shims and containers)",
           Clock::now() - t0, c);
  t0 = Clock::now();
  Status d = (*daemon)->Stop();
  ctx.Step("recover dockerd", "DockerdDaemon::Stop (mounts, sockets, cgroup parent)",
           Clock::now() - t0, d);
  // A shim cut off mid-delete leaves its socket in /run/containerd/s, which only dockerd's
  // recovery can name (from its containers' ids): containerd's stop then found the directory
  // not empty and kept it. Stopping the stopped containerd again removes the fixed
  // directories its start created, now empty (Stop repeats only its cleanup).
  if (c.ok() && d.ok()) {
    t0 = Clock::now();
    c = (*containerd)->Stop();
    ctx.Step("containerd's fixed directories", "ContainerdDaemon::Stop (again)", Clock::now() - t0,
             c);
  }
  recovery["dockerd"] = d.ok() ? "recovered" : d.message();
  recovery["containerd"] = c.ok() ? "stopped" : c.message();
  ctx.Expect(d.ok(), "recovering the dead dockerd: " + d.message());
  ctx.Expect(c.ok(), "stopping containerd after dockerd's death: " + c.message());
  RemoveScenarioCgroups(ctx, &recovery);
  ctx.Data()["recovery"] = recovery;
  ForgetRecords(ctx);
}

// podman has no daemon the containers depend on: killing its service aborts the requests in
// flight, while each container's conmon outlives it; Stop ends them and removes what they hold.
void PodmanServiceKilled(ScenarioContext& ctx) {
  PodmanServiceOptions o;
  o.run_dir = ctx.dir();
  o.name = "podman-crun";
  auto crun = FindProgram("crun");
  if (!crun.ok()) return ctx.Error("crun is not installed: " + crun.status().message());
  o.runtime_binary = *crun;
  o.cgroup_parent = ctx.prefix() + "podman";
  o.journal = ctx.config().journal;
  auto t0 = Clock::now();
  auto service = PodmanService::Start(o);
  ctx.Step("start podman", "PodmanService::Start", Clock::now() - t0, service.status());
  if (!service.ok()) {
    return ctx.Error("the podman service did not start: " + service.status().message());
  }
  DockerLayerOptions lo = PodmanLayerOptions(**service, "podman:crun");
  lo.run_id = ctx.run_id();
  lo.images = ctx.config().images;
  lo.step_timeout = ctx.step_timeout();
  lo.journal = ctx.config().journal;
  t0 = Clock::now();
  auto layer = DockerLayer::Create(lo);
  ctx.Step("podman layer", "DockerLayer::Create", Clock::now() - t0, layer.status());
  if (!layer.ok()) {
    (void)(*service)->Stop();
    return ctx.Error("the podman layer could not be set up: " + layer.status().message());
  }
  const pid_t pid = (*service)->pid();
  ctx.Injected("SIGKILL to the scenario's own podman service (pid " + std::to_string(pid) + ") " +
               std::to_string(kKillAfter.count()) + " ms into " + std::to_string(kWorkers) +
               " workers running lifecycle cases through it");
  std::shared_ptr<Layer> shared(std::move(*layer));
  KillDuringLifecycle(ctx, shared, "podman", pid);
  shared.reset();

  ExpectDeadBySigkill(ctx, "the podman service", [&] { return (*service)->ExitResult(); });
  OtherLayerStillPasses(ctx);

  json recovery = json::object();
  t0 = Clock::now();
  Status stopped = (*service)->Stop();
  ctx.Step("recover podman", "PodmanService::Stop (conmons, containers, mounts, run root, cgroups)",
           Clock::now() - t0, stopped);
  recovery["podman"] = stopped.ok() ? "recovered" : stopped.message();
  ctx.Expect(stopped.ok(), "recovering after the podman service's death: " + stopped.message());
  RemoveScenarioCgroups(ctx, &recovery);
  ctx.Data()["recovery"] = recovery;
  ForgetRecords(ctx);
}

// A unix socket that accepts every connection and never reads or writes: a daemon that hangs.
class SilentListener {
 public:
  static Result<std::unique_ptr<SilentListener>> Open(const std::string& path) {
    std::unique_ptr<SilentListener> l(new SilentListener());
    l->path_ = path;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return InvalidArgument("socket path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    l->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd_ < 0) return ErrnoStatus(errno, "socket");
    if (::bind(l->fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return ErrnoStatus(errno, "bind " + path);
    }
    l->bound_ = true;
    if (::listen(l->fd_, 64) != 0) return ErrnoStatus(errno, "listen " + path);
    if (::pipe2(l->wake_, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
    l->thread_ = std::thread([raw = l.get()] { raw->Loop(); });
    return l;
  }

  ~SilentListener() {
    if (thread_.joinable()) {
      (void)!::write(wake_[1], "x", 1);
      thread_.join();
    }
    for (int fd : accepted_) ::close(fd);
    for (int fd : wake_) {
      if (fd >= 0) ::close(fd);
    }
    if (fd_ >= 0) ::close(fd_);
    if (bound_) ::unlink(path_.c_str());
  }

  int accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(accepted_.size());
  }

 private:
  SilentListener() = default;
  void Loop() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if (fds[0].revents & POLLIN) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          std::lock_guard<std::mutex> lock(mu_);
          accepted_.push_back(c);  // held open, never read, never written
        }
      }
    }
  }

  std::string path_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  bool bound_ = false;
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> accepted_;
};

void SilentSocket(ScenarioContext& ctx) {
  const std::string sock = ctx.dir() + "/silent.sock";
  const milliseconds deadline{3000};
  // gRPC starts process-wide threads (timers, executor) the first time a channel exists; they
  // are its, not a call's. A channel held across the measurement keeps them from counting.
  ctd::ContainerdClient warm(ctx.dir() + "/nothing.sock", "polyarch-warmup");
  auto listener = SilentListener::Open(sock);
  if (!listener.ok())
    return ctx.Error("cannot listen on " + sock + ": " + listener.status().message());
  ctx.Injected("a unix socket (" + sock + ") that accepts connections and never answers, given " +
               "to ContainerdLayer::Create and DockerLayer::Create with a " +
               std::to_string(deadline.count()) + " ms step deadline");
  std::this_thread::sleep_for(milliseconds(200));
  const int threads_before = ThreadCount();

  auto classify = [&](const char* layer, const Status& s, Clock::duration took) {
    bool unresponsive = s.code() == Code::kDeadlineExceeded || s.code() == Code::kUnavailable;
    ctx.Expect(!s.ok(), std::string(layer) + " layer was created against a silent daemon");
    ctx.Expect(unresponsive, std::string(layer) + " failed with " +
                                 std::string(CodeName(s.code())) +
                                 ", not a deadline or an unavailable daemon: " + s.message());
    ctx.Expect(took <= deadline + milliseconds(2000),
               std::string(layer) + " took " + FormatMs(took) + " to fail, beyond its " +
                   std::to_string(deadline.count()) + " ms deadline");
    std::string what = unresponsive ? "daemon_unresponsive: the daemon at " + sock +
                                          " did not answer within " +
                                          std::to_string(deadline.count()) + " ms"
                                    : std::string(CodeName(s.code()));
    ctx.Observed(std::string(layer) + ": " + what + " (failed after " + FormatMs(took) + "; " +
                 s.message().substr(0, 200) + ")");
    ctx.Metric(std::string(layer) + "_create_ms", Ms(took));
    ctx.Data()[std::string(layer) + "_condition"] = unresponsive ? "daemon_unresponsive" : "other";
  };

  ContainerdLayerOptions co;
  co.address = sock;
  co.run_id = ctx.run_id();
  co.run_dir = ctx.dir();
  co.step_timeout = deadline;
  auto t0 = Clock::now();
  {
    auto layer = ContainerdLayer::Create(co);
    ctx.Step("containerd layer against the silent socket", "ContainerdLayer::Create",
             Clock::now() - t0, layer.status());
    classify("containerd", layer.status(), Clock::now() - t0);
  }
  DockerLayerOptions dl;
  dl.socket_path = sock;
  dl.run_id = ctx.run_id();
  dl.images = ctx.config().images;
  dl.step_timeout = deadline;
  t0 = Clock::now();
  {
    auto layer = DockerLayer::Create(dl);
    ctx.Step("docker layer against the silent socket", "DockerLayer::Create", Clock::now() - t0,
             layer.status());
    classify("docker", layer.status(), Clock::now() - t0);
  }
  ctx.Metric("connections_accepted", (*listener)->accepted());
  ctx.Expect((*listener)->accepted() >= 2, "the clients never connected to the silent socket");
  listener->reset();  // closes every connection and removes the socket
  ctx.Expect(!PathExists(sock), "the silent socket is still there");

  // No thread of either client may stay stuck on the dead connection.
  int threads_after = ThreadCount();
  WaitUntil(
      [&] {
        threads_after = ThreadCount();
        return threads_after <= threads_before;
      },
      milliseconds(5000), milliseconds(100));
  ctx.Metric("threads_before", threads_before);
  ctx.Metric("threads_after", threads_after);
  ctx.Expect(threads_after <= threads_before,
             "threads grew from " + std::to_string(threads_before) + " to " +
                 std::to_string(threads_after) + " and stayed: a client is stuck");
  ctx.Observed("threads " + std::to_string(threads_before) + " before, " +
               std::to_string(threads_after) + " after");
}

}  // namespace

std::vector<ScenarioDef> DaemonScenarios() {
  return {
      {"containerd_killed_mid_lifecycle", "containerd",
       "a daemon that dies aborts the cases in flight (with the reason) within their step "
       "deadline, no worker hangs, the other layers go on, and what it left can be recovered",
       seconds(120), ContainerdKilled},
      {"dockerd_killed_mid_lifecycle", "docker",
       "a daemon that dies aborts the cases in flight (with the reason) within their step "
       "deadline, no worker hangs, the other layers go on, and what it left can be recovered",
       seconds(150), DockerdKilled},
      {"podman_service_killed_mid_lifecycle", "podman:crun",
       "a podman service that dies aborts the cases in flight (with the reason) within their "
       "step deadline, no worker hangs, the other layers go on, and the conmons and containers "
       "it left can be recovered",
       seconds(150), PodmanServiceKilled},
      {"daemon_socket_never_answers", "harness",
       "a daemon that accepts and never answers fails layer creation within the deadline as "
       "daemon_unresponsive, leaving no thread stuck",
       seconds(60), SilentSocket},
  };
}

}  // namespace polyarch::faults
