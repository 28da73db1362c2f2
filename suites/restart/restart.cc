#include "suites/restart/restart.h"

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/proc.h"
#include "suites/suite.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kSuite[] = "restart";

// One case: a (layer, arch) of a scenario, with its containers.
struct Cell {
  const RestartLayerRef* layer = nullptr;
  const ArchInfo* arch = nullptr;
  CaseResult result;
  std::unique_ptr<Driver> driver;
  std::unique_ptr<CaseContext> ctx;
  Clock::time_point started;
  std::string a, b;  // a: runs through the restart; b: exits (SIGKILL) while the daemon is down
  int pid_a = 0, pid_b = 0;
  bool ready = false;  // both run, their pids known
};

std::string CaseId(const std::string& scenario, const std::string& layer, const ArchInfo& arch) {
  return std::string(kSuite) + "/" + layer + "/" + std::string(arch.name) + "/" + scenario;
}

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int64_t NsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

bool Gone(const RestartConfig& c, const std::string& id, int pid) {
  return c.process_gone ? c.process_gone(id, pid) : ProcessGone(pid);
}

bool WaitProcessGone(const RestartConfig& c, const std::string& id, int pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!Gone(c, id, pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::string NotTheContainer(const RestartConfig& c, const std::string& id, int pid) {
  return c.not_the_container ? c.not_the_container(id, pid) : ProbeProcessProblem(pid);
}

// Calls fn on every cell, `jobs` at a time; an exception ends that cell's case as an error.
void ForEach(const std::vector<Cell*>& cells, int jobs, const std::function<void(Cell&)>& fn) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < cells.size(); i = next++) {
      std::string thrown;
      try {
        fn(*cells[i]);
      } catch (const std::exception& e) {
        thrown = e.what();
      } catch (...) {
        thrown = "an exception that is not a std::exception";
      }
      if (!thrown.empty()) cells[i]->ctx->Error("the case stopped on an exception: " + thrown);
    }
  };
  std::vector<std::thread> threads;
  const size_t n = std::min<size_t>(std::max(1, jobs), cells.size());
  for (size_t i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
}

// Why the layer cannot carry the case on this arch, "" when it can.
std::string SkipReason(const RestartConfig& c, const RestartScenario& sc,
                       const RestartLayerRef& layer, const ArchInfo& arch) {
  if (!sc.target.unavailable.empty()) return sc.target.unavailable;
  if (layer.layer == nullptr) return layer.unavailable;
  if (c.arch_unavailable) {
    if (std::string why = c.arch_unavailable(arch); !why.empty()) return why;
  }
  if (Status s = layer.layer->Supports(arch); !s.ok()) return s.message();
  const Capabilities caps = layer.layer->capabilities();
  if (!caps.state_pid) return "the layer does not report the container's pid";
  if (!caps.exec || !caps.kill || !caps.wait_exit_code) {
    return "the layer lacks exec, kill or an exit code from wait";
  }
  return "";
}

// Before the event: the containers run and their host pids are known.
void StartContainers(const RestartConfig& c, const RestartScenario& sc, Cell& cell) {
  CaseContext& ctx = *cell.ctx;
  auto start = [&](const std::string& tag, std::string* id, int* pid) {
    *id = ctx.NewId(tag);
    if (!ctx.Run(ctx.Spec(*id, kProbeSleeper))) return false;
    StateResult st = ctx.State(*id);
    if (!ctx.Ok(st, "state before the restart")) return false;
    *pid = st.pid;
    if (!ctx.Expect(st.state == ContainerState::kRunning && st.pid > 0,
                    "before the restart the container is " +
                        std::string(ContainerStateName(st.state)) + " with pid " +
                        std::to_string(st.pid))) {
      return false;
    }
    // The pid is the layer's answer: it is watched and signalled only if it is the probe.
    // Just after start the runtime's init may still be on its way to exec it (an empty
    // command line was seen): it gets a moment.
    std::string problem = NotTheContainer(c, *id, st.pid);
    for (const auto deadline = Clock::now() + milliseconds(2000);
         !problem.empty() && Clock::now() < deadline;) {
      std::this_thread::sleep_for(milliseconds(10));
      problem = NotTheContainer(c, *id, st.pid);
    }
    if (!ctx.Expect(problem.empty(), "the pid the layer reports, " + std::to_string(st.pid) +
                                         ", is not the container's process: " + problem)) {
      return false;
    }
    // The event signals it (dockerd's shutdown, a kill after the restart): not before the
    // probe has its SIGTERM handler, which a pid namespace's init needs for the signal to
    // arrive at all.
    const double asleep = WaitPidAsleep(st.pid, milliseconds(10000));
    if (asleep >= 0) ctx.Metric("probe_asleep_ms_" + tag, asleep);
    return true;
  };
  if (!start("a", &cell.a, &cell.pid_a)) return;
  if (sc.containers_survive && !start("b", &cell.b, &cell.pid_b)) return;
  cell.ready = true;
}

// After the event: what the daemon promised holds, through the driver made before it.
void CheckAfter(const RestartScenario& sc, const std::string& daemon, Cell& cell,
                milliseconds timeout) {
  CaseContext& ctx = *cell.ctx;
  if (!sc.containers_survive) {
    StateResult st = ctx.State(cell.a);
    if (!ctx.Ok(st, "state after the restart")) return;
    ctx.Expect(st.state == ContainerState::kStopped,
               "after " + daemon + "'s shutdown without live-restore the container is " +
                   std::string(ContainerStateName(st.state)) + ", expected stopped");
    WaitResult w = ctx.Wait(cell.a, timeout);
    if (!ctx.Ok(w, "wait after the restart")) return;
    // dockerd stops a container with its stop signal, SIGTERM, which the probe does not catch.
    ctx.Expect(w.exited && w.exit_code == 128 + SIGTERM,
               "the container stopped by the shutdown reports " +
                   (w.exited ? "exit code " + std::to_string(w.exit_code) : "no exit") +
                   ", expected 143");
    ctx.Ok(ctx.Delete(cell.a, false), "delete after the restart");
    return;
  }
  StateResult st = ctx.State(cell.a);
  if (!ctx.Ok(st, "state after the restart")) return;
  if (!ctx.Expect(st.state == ContainerState::kRunning,
                  "after the restart the container is " +
                      std::string(ContainerStateName(st.state)) + ", expected running")) {
    return;
  }
  ctx.Expect(st.pid == cell.pid_a, "the container's host pid was " + std::to_string(cell.pid_a) +
                                       " before the restart and is " + std::to_string(st.pid) +
                                       " after it");
  ExecResult e = ctx.Exec(cell.a, {"/probe", "exit", "3"});
  if (ctx.Ok(e, "exec after the restart")) {
    ctx.Expect(e.exit_code == 3,
               "exec after the restart: exit code " + std::to_string(e.exit_code) + ", expected 3");
  }
  if (ctx.Ok(ctx.Kill(cell.a, SIGTERM), "kill after the restart")) {
    WaitResult w = ctx.Wait(cell.a, timeout);
    if (ctx.Ok(w, "wait after the restart")) {
      ctx.Expect(w.exited && w.exit_code == 128 + SIGTERM,
                 "killed with SIGTERM after the restart, the container reports " +
                     (w.exited ? "exit code " + std::to_string(w.exit_code) : "no exit") +
                     ", expected 143");
    }
    ctx.Ok(ctx.Delete(cell.a, false), "delete after the restart");
  }
  WaitResult wb = ctx.Wait(cell.b, timeout);
  if (ctx.Ok(wb, "wait for the container that exited while " + daemon + " was down")) {
    ctx.Expect(wb.exited && wb.exit_code == 128 + SIGKILL,
               "the container SIGKILLed while " + daemon + " was down reports " +
                   (wb.exited ? "exit code " + std::to_string(wb.exit_code) : "no exit") +
                   ", expected 137");
  }
  ctx.Ok(ctx.Delete(cell.b, false), "delete of the container that exited while down");
}

StepRecord Step(std::string name, std::string operation, int64_t ns, const Status& s) {
  StepRecord r;
  r.name = std::move(name);
  r.operation = std::move(operation);
  r.verb = "restart";
  r.duration_ns = ns;
  r.ok = s.ok();
  if (!s.ok()) r.error = s.message();
  return r;
}

void RunScenario(const RestartConfig& c, const RestartScenario& sc,
                 const std::vector<const ArchInfo*>& arches, const SuiteEnv& env) {
  std::vector<std::unique_ptr<Cell>> cells;
  for (const RestartLayerRef& layer : sc.layers) {
    for (const ArchInfo* arch : arches) {
      const std::string id = CaseId(sc.name, layer.name, *arch);
      if (c.selected && !c.selected(sc.name, id)) continue;
      auto cell = std::make_unique<Cell>();
      cell->layer = &layer;
      cell->arch = arch;
      CaseResult& r = cell->result;
      r.suite = kSuite;
      r.layer = layer.name;
      r.arch = std::string(arch->name);
      r.name = sc.name;
      r.spec_ref = sc.spec_ref;
      if (std::string why = SkipReason(c, sc, layer, *arch); !why.empty()) {
        r.status = CaseStatus::kSkip;
        r.reason = why;
        if (c.on_result) c.on_result(std::move(r));
        continue;
      }
      cells.push_back(std::move(cell));
    }
  }
  if (cells.empty()) return;
  std::vector<Cell*> all;
  for (auto& cell : cells) {
    if (c.on_start) c.on_start(cell->result.Id());
    cell->started = Clock::now();
    cell->driver = cell->layer->layer->NewDriver();
    cell->ctx = std::make_unique<CaseContext>(*cell->driver, *cell->arch, env, &cell->result);
    all.push_back(cell.get());
  }
  ForEach(all, c.jobs, [&](Cell& cell) { StartContainers(c, sc, cell); });

  std::vector<Cell*> ready;
  for (Cell* cell : all) {
    if (cell->ready) ready.push_back(cell);
  }
  const std::string& daemon = sc.target.daemon;
  auto error_all = [&](const std::string& why) {
    for (Cell* cell : ready) cell->ctx->Error(why);
  };
  bool back = true;
  if (!ready.empty()) {
    Status set = Status::Ok();
    if (sc.live_restore) {
      const auto t = Clock::now();
      set = sc.target.set_live_restore(*sc.live_restore);
      const std::string what = std::string("live-restore ") + (*sc.live_restore ? "on" : "off");
      for (Cell* cell : ready) {
        cell->ctx->Note(
            Step("set " + what, daemon + " reload (SIGHUP)", NsBetween(t, Clock::now()), set));
      }
      if (!set.ok()) error_all("could not set " + what + " on " + daemon + ": " + set.message());
    }
    if (set.ok()) {
      const char* sig = sc.signal == SIGKILL ? "SIGKILL" : "SIGTERM";
      const auto t0 = Clock::now();
      Status down = sc.target.interrupt(sc.signal);
      const auto t_exit = Clock::now();
      for (Cell* cell : ready) {
        cell->ctx->Note(Step(daemon + " down", std::string(sig) + " to " + daemon,
                             NsBetween(t0, t_exit), down));
        cell->result.metrics["daemon_exit_ms"] = MsBetween(t0, t_exit);
      }
      if (!down.ok()) {
        error_all(daemon + " could not be stopped: " + down.message());
        back = false;
      } else {
        // While it is down: the promise about the containers' processes, and one container
        // exits for good.
        for (Cell* cell : ready) {
          if (sc.containers_survive) {
            cell->ctx->Expect(!Gone(c, cell->a, cell->pid_a),
                              "the container's process (pid " + std::to_string(cell->pid_a) +
                                  ") ended when " + daemon + " went down");
            // Checked again just before: a pid is signalled only while it is the probe.
            if (NotTheContainer(c, cell->b, cell->pid_b).empty()) {
              if (c.signal_process) {
                c.signal_process(cell->b, cell->pid_b, SIGKILL);
              } else {
                ::kill(cell->pid_b, SIGKILL);
              }
            }
          } else {
            cell->ctx->Expect(WaitProcessGone(c, cell->a, cell->pid_a, milliseconds(2000)),
                              daemon + " without live-restore left the container's process (pid " +
                                  std::to_string(cell->pid_a) + ") running after its shutdown");
          }
        }
        if (sc.containers_survive) {
          for (Cell* cell : ready) {
            if (!WaitProcessGone(c, cell->b, cell->pid_b, milliseconds(5000))) {
              cell->ctx->Error("the container process " + std::to_string(cell->pid_b) +
                               " did not end on SIGKILL while " + daemon + " was down");
            }
          }
        }
        const auto t_restart = Clock::now();
        Status up = sc.target.restart();
        const auto t_up = Clock::now();
        for (Cell* cell : ready) {
          cell->ctx->Note(
              Step(daemon + " started again", "start " + daemon, NsBetween(t_restart, t_up), up));
          cell->result.metrics["restart_ms"] = MsBetween(t_restart, t_up);
        }
        if (!up.ok()) {
          error_all(daemon + " did not come back: " + up.message());
          back = false;
        } else {
          // Each layer answers again through a driver made before the restart.
          std::map<std::string, Cell*> probe;  // layer -> a cell whose driver asks
          for (Cell* cell : ready) probe.emplace(cell->layer->name, cell);
          for (auto& [layer, asker] : probe) {
            Status answered = Internal("not asked");
            Clock::time_point t_answer;
            for (;;) {
              ListResult l = Guarded([&] { return asker->driver->List(); });
              t_answer = Clock::now();
              answered = l.status;
              if (answered.ok() || t_answer - t_up >= c.answer_timeout) break;
              std::this_thread::sleep_for(milliseconds(20));
            }
            for (Cell* cell : ready) {
              if (cell->layer->name != layer) continue;
              cell->ctx->Note(Step("layer answers again", "list through the driver",
                                   NsBetween(t_up, t_answer), answered));
              if (!answered.ok()) {
                cell->ctx->Fail("the layer did not answer within " +
                                std::to_string(c.answer_timeout.count()) + " ms after " + daemon +
                                " came back: " + answered.message());
                continue;
              }
              cell->result.metrics["downtime_ms"] = MsBetween(t0, t_answer);
              cell->result.metrics["answer_after_restart_ms"] = MsBetween(t_restart, t_answer);
            }
          }
        }
      }
    }
    if (!set.ok()) back = false;
  }
  if (back && sc.target.settle) {
    const auto t = Clock::now();
    Status s = sc.target.settle();
    for (Cell* cell : ready) {
      cell->ctx->Note(Step("the stack settles", "after " + daemon + " came back",
                           NsBetween(t, Clock::now()), s));
    }
    if (!s.ok()) error_all("after " + daemon + " came back: " + s.message());
  }
  if (back) {
    ForEach(ready, c.jobs, [&](Cell& cell) { CheckAfter(sc, daemon, cell, c.step_timeout); });
  }
  if (sc.live_restore && sc.target.set_live_restore) {
    Status s = sc.target.set_live_restore(sc.live_restore_after);
    if (!s.ok()) error_all("could not set live-restore back on " + daemon + ": " + s.message());
  }
  for (auto& cell : cells) {
    cell->ctx.reset();  // its cleanup, inside the case's time
    cell->result.duration_ns = NsBetween(cell->started, Clock::now());
    if (c.on_result) c.on_result(std::move(cell->result));
  }
}

}  // namespace

std::string ProbeProcessProblem(int pid) {
  if (pid <= 1 || pid == ::getpid()) return "pid " + std::to_string(pid) + " is not a container's";
  const std::string proc = "/proc/" + std::to_string(pid);
  auto cmdline = ReadFile(proc + "/cmdline", 4096);
  if (!cmdline.ok()) return "no process " + std::to_string(pid) + ": " + cmdline.status().message();
  // Natively "/probe sleep 600"; under an emulator the interpreter comes first.
  if (cmdline->find(std::string("/probe\0sleep\0", 13)) == std::string::npos) {
    std::string shown = *cmdline;
    std::replace(shown.begin(), shown.end(), '\0', ' ');
    return "its command line is '" + shown.substr(0, 120) + "'";
  }
  char ours[64] = {}, theirs[64] = {};
  if (::readlink("/proc/self/ns/mnt", ours, sizeof ours - 1) < 0 ||
      ::readlink((proc + "/ns/mnt").c_str(), theirs, sizeof theirs - 1) < 0) {
    return "its mount namespace cannot be read";
  }
  if (std::string(ours) == theirs) return "it runs in polyarch's own mount namespace";
  return "";
}

int CountRestartCases(const RestartConfig& config, const std::vector<RestartScenario>& scenarios,
                      const std::vector<const ArchInfo*>& arches) {
  int n = 0;
  for (const auto& sc : scenarios) {
    for (const auto& layer : sc.layers) {
      for (const ArchInfo* arch : arches) {
        n += !config.selected || config.selected(sc.name, CaseId(sc.name, layer.name, *arch));
      }
    }
  }
  return n;
}

void RunRestartSuite(const RestartConfig& config, const std::vector<RestartScenario>& scenarios,
                     const std::vector<const ArchInfo*>& arches) {
  SuiteEnv env;
  env.run_prefix = config.run_prefix;
  env.step_timeout = config.step_timeout;
  for (const auto& sc : scenarios) {
    if (config.stop && config.stop()) return;
    RunScenario(config, sc, arches, env);
  }
}

}  // namespace polyarch
