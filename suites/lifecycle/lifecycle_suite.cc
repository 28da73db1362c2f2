#include "suites/lifecycle/lifecycle_suite.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/proc.h"
#include "harness/core/strings.h"

namespace polyarch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// References into the OCI runtime specification (runtime.md) for the rules checked.
constexpr char kSpecCreate[] = "OCI runtime-spec runtime.md#create";
constexpr char kSpecStart[] = "OCI runtime-spec runtime.md#start";
constexpr char kSpecState[] = "OCI runtime-spec runtime.md#state";
constexpr char kSpecKill[] = "OCI runtime-spec runtime.md#kill";
constexpr char kSpecDelete[] = "OCI runtime-spec runtime.md#delete";
constexpr char kSpecLifecycle[] = "OCI runtime-spec runtime.md#lifecycle";

std::string Name(ContainerState s) { return std::string(ContainerStateName(s)); }

// Asks for the state and fails the case unless it is `want`.
bool ExpectState(CaseContext& ctx, const std::string& id, ContainerState want,
                 const std::string& when) {
  StateResult s = ctx.State(id);
  if (!ctx.Ok(s, "state " + when)) return false;
  return ctx.Expect(s.state == want,
                    "state " + when + " is '" + Name(s.state) + "', expected '" + Name(want) + "'");
}

// Asks for the state until it is `want`, for at most a second; records how long it took as
// `metric` and fails the case if it never got there.
bool Settles(CaseContext& ctx, const std::string& id, ContainerState want, const std::string& when,
             const std::string& metric) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + seconds(1);
  StateResult s;
  for (;;) {
    // Polls straight through the driver: the answers on the way are not steps of the case;
    // the final one is asked again below, through the context, and recorded.
    s = ctx.driver().State(id);
    if (s.ok() && s.state == want) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  ctx.Metric(
      metric,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return ExpectState(ctx, id, want, when);  // the final answer, recorded as a step
}

// CPU time (utime + stime, in clock ticks) of a host process; -1 when it cannot be read.
long CpuTicks(int pid) {
  ProcStat st;
  return ReadProcStat(pid, &st) ? st.CpuTicks() : -1;
}

// Waits until the probe of container `id` sleeps in nanosleep, i.e. has installed its SIGTERM
// handler: as its pid namespace's init, a SIGTERM that came before would be dropped by the
// kernel (an emulated probe under load was seen still starting 100 ms after start returned).
// Watched from the host through the process's current syscall, for at most 10 s, the wait
// recorded as `probe_asleep_ms`; where the layer reports no pid or the kernel shows no
// syscall, 100 ms instead (metric `probe_not_seen_asleep`: 1 when a pid was watched in vain).
void WaitProbeAsleep(CaseContext& ctx, const std::string& id) {
  int pid = 0;
  if (ctx.driver().capabilities().state_pid) {
    StateResult s = ctx.driver().State(id);  // a poll, not a step of the case
    if (s.ok()) pid = s.pid;
  }
  const double waited = WaitPidAsleep(pid, seconds(10));
  if (waited >= 0) {
    ctx.Metric("probe_asleep_ms", waited);
    return;
  }
  // Said in the report, so a failure after it can be told from one after a seen sleep.
  ctx.Metric("probe_not_seen_asleep", pid > 0 ? 1 : 0);
  std::this_thread::sleep_for(milliseconds(100));
}

// The lifecycle of a container whose process exits with `code`.
void ExitCodeCase(CaseContext& ctx, int code) {
  std::string id = ctx.NewId();
  if (!ctx.Run(ctx.Spec(id, {"/probe", "exit", std::to_string(code)}))) return;
  WaitResult w = ctx.Wait(id, ctx.timeout());
  if (!ctx.Ok(w, "wait")) return;
  if (!ctx.Expect(w.exited, "the container did not exit")) return;
  ctx.Expect(w.exit_code == code,
             "exit code " + std::to_string(w.exit_code) + ", expected " + std::to_string(code));
  ctx.Ok(ctx.Delete(id, false), "delete of the stopped container");
}

// A running container nobody touches: negative transitions on another container must leave
// it running.
struct Bystander {
  std::string id;
  bool ok = false;
};
Bystander StartBystander(CaseContext& ctx) {
  Bystander b{ctx.NewId("bystander"), false};
  b.ok = ctx.Run(ctx.Spec(b.id, kProbeSleeper));
  return b;
}
void ExpectUndisturbed(CaseContext& ctx, const Bystander& b) {
  if (b.ok) ExpectState(ctx, b.id, ContainerState::kRunning, "of the bystander container");
}

// A container that ran to completion (exit 0) and was waited for.
bool StoppedContainer(CaseContext& ctx, std::string* id) {
  *id = ctx.NewId();
  if (!ctx.Run(ctx.Spec(*id, {"/probe", "exit", "0"}))) return false;
  WaitResult w = ctx.Wait(*id, ctx.timeout());
  return ctx.Ok(w, "wait") && ctx.Expect(w.exited, "the container did not exit");
}

}  // namespace

std::vector<CaseDef> LifecycleSuite::Cases() const {
  std::vector<CaseDef> v;

  AddCase(v, "create_reports_created", kSpecCreate, {Need::kCreatedState}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Ok(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create")) return;
    ExpectState(ctx, id, ContainerState::kCreated, "after create");
  });

  AddCase(v, "start_reports_running", kSpecStart, {}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
    ExpectState(ctx, id, ContainerState::kRunning, "after start");
  });

  AddCase(v, "process_really_runs", kSpecStart, {Need::kExec}, [](CaseContext& ctx) {
    // The main process writes its own pid (as it sees it) to a marker; exec reads it back.
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, {"/probe", "mark", "/tmp/marker"}))) return;
    std::string seen;
    for (int i = 0; i < 100 && seen.empty(); ++i) {
      // Waiting for the marker to appear: unrecorded polls; the read that counts is below.
      ExecResult e = ctx.driver().Exec(id, {"/probe", "cat", "/tmp/marker"}, ctx.timeout());
      if (e.ok() && e.exit_code == 0) seen = Trim(e.out);
      if (seen.empty()) std::this_thread::sleep_for(milliseconds(50));
    }
    ExecResult e = ctx.Exec(id, {"/probe", "cat", "/tmp/marker"});
    if (!ctx.Ok(e, "exec cat marker")) return;
    ctx.Expect(Trim(e.out) == "1", "the marker says the main process is pid '" +
                                       std::string(Trim(e.out)) +
                                       "' inside the container, expected 1");
  });

  AddCase(v, "state_pid_matches_kernel", kSpecState, {Need::kStatePid}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
    StateResult s = ctx.State(id);
    if (!ctx.Ok(s, "state") || !ctx.Expect(s.pid > 0, "state reports no pid")) return;
    std::string proc = "/proc/" + std::to_string(s.pid);
    auto status = ReadFile(proc + "/status");
    if (!ctx.Expect(status.ok(), "pid " + std::to_string(s.pid) + " does not exist on the host")) {
      return;
    }
    // NSpid lists the pid in each nested namespace: the last is the container's view.
    auto line = status->find("\nNSpid:");
    std::string nspid = line == std::string::npos
                            ? ""
                            : status->substr(line + 7, status->find('\n', line + 1) - line - 7);
    std::istringstream in(nspid);
    std::string first, last;
    in >> first;
    last = first;
    for (std::string x; in >> x;) last = x;
    ctx.Expect(first == std::to_string(s.pid),
               "NSpid of the reported pid starts with '" + first + "'");
    ctx.Expect(last == "1", "the reported pid is '" + last + "' in its own namespace, expected 1");
    char self_ns[128] = {0}, its_ns[128] = {0};
    ssize_t a = ::readlink("/proc/self/ns/pid", self_ns, sizeof self_ns - 1);
    ssize_t b = ::readlink((proc + "/ns/pid").c_str(), its_ns, sizeof its_ns - 1);
    ctx.Expect(a > 0 && b > 0 && std::string(self_ns) != std::string(its_ns),
               "the container's process shares the host's pid namespace");
  });

  AddCase(v, "pause_freezes_and_resume_thaws", "runc/containerd freezer semantics",
          {Need::kPause, Need::kStatePid}, [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, {"/probe", "spin"}))) return;
            StateResult s = ctx.State(id);
            if (!ctx.Ok(s, "state") || !ctx.Expect(s.pid > 0, "state reports no pid")) return;
            // On cgroup v1 the freezer can stay FREEZING while the tasks keep running (the
            // threads of an emulator under load); runc then gives up after its bounded tries
            // ("unable to freeze") and leaves the container running. Up to 3 attempts while
            // the state still says running: the case judges pause, not one such roll. Each
            // attempt is a step of its own; the count is the metric pause_attempts.
            StepResult p = ctx.Pause(id);
            int attempts = 1;
            while (!p.ok() && attempts < 3) {
              StateResult now = ctx.State(id);
              if (!now.ok() || now.state != ContainerState::kRunning) break;
              std::this_thread::sleep_for(milliseconds(100));
              p = ctx.Pause(id);
              ++attempts;
            }
            ctx.Metric("pause_attempts", attempts);
            if (!ctx.Ok(p, attempts == 1 ? std::string("pause")
                                         : "pause (" + std::to_string(attempts) + " attempts)")) {
              return;
            }
            // A runtime may return while the freezer is still FREEZING (crun 1.8 on cgroup v1
            // does): the state must settle to paused, and how long it took is recorded.
            if (!Settles(ctx, id, ContainerState::kPaused, "after pause", "pause_settle_ms"))
              return;
            // 250 ms is 25 ticks of a spinning process at the usual 100 Hz. The engine's state
            // may say paused while the kernel's freezer is still FREEZING (podman over crun on
            // cgroup v1 was seen to spin 2 ticks into its first window): a second window is
            // the verdict, the first one's ticks are recorded.
            long t0 = CpuTicks(s.pid);
            std::this_thread::sleep_for(milliseconds(250));
            long t1 = CpuTicks(s.pid);
            ctx.Metric("cpu_ticks_first_window_paused", static_cast<double>(t1 - t0));
            if (t0 >= 0 && t1 != t0) {
              t0 = t1;
              std::this_thread::sleep_for(milliseconds(250));
              t1 = CpuTicks(s.pid);
            }
            ctx.Metric("cpu_ticks_while_paused", static_cast<double>(t1 - t0));
            ctx.Expect(t0 >= 0 && t1 == t0,
                       "the paused process kept using CPU (" + std::to_string(t1 - t0) +
                           " ticks in 250 ms, after a first 250 ms window to freeze)");
            if (!ctx.Ok(ctx.Resume(id), "resume")) return;
            if (!Settles(ctx, id, ContainerState::kRunning, "after resume", "resume_settle_ms"))
              return;
            std::this_thread::sleep_for(milliseconds(250));
            long t2 = CpuTicks(s.pid);
            ctx.Metric("cpu_ticks_after_resume", static_cast<double>(t2 - t1));
            ctx.Expect(t2 > t1, "the resumed process did not run again");
          });

  AddCase(v, "exec_reports_exit_code_and_output", "OCI runtime CLI exec", {Need::kExec},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            ExecResult e = ctx.Exec(id, {"/probe", "echo-args", "one", "two words"});
            if (!ctx.Ok(e, "exec echo-args")) return;
            ctx.Expect(e.exit_code == 0, "exec exit code " + std::to_string(e.exit_code));
            ctx.Expect(e.out == "one\ntwo words\n", "exec output '" + e.out + "'");
            ExecResult x = ctx.Exec(id, {"/probe", "exit", "7"});
            if (!ctx.Ok(x, "exec exit 7")) return;
            ctx.Expect(x.exit_code == 7,
                       "exec exit code " + std::to_string(x.exit_code) + ", expected 7");
          });

  for (int code : {0, 1, 42, 255}) {
    AddCase(v, "exit_code_" + std::to_string(code), kSpecLifecycle, {Need::kWaitExitCode},
            [code](CaseContext& ctx) { ExitCodeCase(ctx, code); });
  }

  AddCase(v, "kill_term_exits_143", kSpecKill, {Need::kKill, Need::kWaitExitCode},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            WaitProbeAsleep(ctx, id);
            if (!ctx.Ok(ctx.Kill(id, SIGTERM), "kill TERM")) return;
            WaitResult w = ctx.Wait(id, ctx.timeout());
            if (!ctx.Ok(w, "wait") || !ctx.Expect(w.exited, "the container did not exit")) return;
            ctx.Expect(w.exit_code == 143, "exit code after TERM is " +
                                               std::to_string(w.exit_code) +
                                               ", expected 143 (128 + SIGTERM)");
          });

  AddCase(v, "stop_escalates_to_kill_137", kSpecKill, {Need::kKill, Need::kWaitExitCode},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, {"/probe", "trap-term"}))) return;
            std::this_thread::sleep_for(milliseconds(100));
            if (!ctx.Ok(ctx.Kill(id, SIGTERM), "kill TERM")) return;
            WaitResult grace = ctx.Wait(id, kLifecycleStopGrace);
            if (!ctx.Ok(grace, "wait through the grace period")) return;
            if (!ctx.Expect(!grace.exited, "the process exited on TERM although it ignores TERM"))
              return;
            if (!ctx.Ok(ctx.Kill(id, SIGKILL), "kill KILL")) return;
            WaitResult w = ctx.Wait(id, ctx.timeout());
            if (!ctx.Ok(w, "wait") || !ctx.Expect(w.exited, "the container survived KILL")) return;
            ctx.Expect(w.exit_code == 137, "exit code after KILL is " +
                                               std::to_string(w.exit_code) +
                                               ", expected 137 (128 + SIGKILL)");
          });

  // The state of a container whose process has exited is "stopped", however it ended. A
  // runtime may take a moment to notice the exit after a wait returns: the state must settle
  // within a second, and how long it took is recorded.
  AddCase(v, "state_stopped_after_exit", kSpecState, {Need::kWaitExitCode}, [](CaseContext& ctx) {
    std::string id;
    if (!StoppedContainer(ctx, &id)) return;
    Settles(ctx, id, ContainerState::kStopped, "after the process exited", "stopped_settle_ms");
  });

  AddCase(v, "state_stopped_after_kill", kSpecState, {Need::kKill, Need::kWaitExitCode},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            if (!ctx.Ok(ctx.Kill(id, SIGKILL), "kill KILL")) return;
            WaitResult w = ctx.Wait(id, ctx.timeout());
            if (!ctx.Ok(w, "wait") || !ctx.Expect(w.exited, "the container survived KILL")) {
              return;
            }
            Settles(ctx, id, ContainerState::kStopped, "after KILL", "stopped_settle_ms");
          });

  // An exec that cannot start its program fails, and the container it was aimed at is as it
  // was: running, its process alive.
  AddCase(v, "failed_exec_leaves_container_running", kSpecState, {Need::kExec},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            ExecResult e = ctx.Exec(id, {"/no/such/program"});
            // A layer may report the failure as a failed step or as the shell's 126/127.
            if (e.ok() && e.exit_code == 0) {
              ctx.Fail("exec of a program that does not exist succeeded");
              return;
            }
            if (!e.ok()) ctx.Refused(e, "exec of a program that does not exist");
            ExpectState(ctx, id, ContainerState::kRunning, "after the failed exec");
          });

  AddCase(v, "delete_stopped", kSpecDelete, {Need::kWaitExitCode}, [](CaseContext& ctx) {
    std::string id;
    if (!StoppedContainer(ctx, &id)) return;
    if (!ctx.Ok(ctx.Delete(id, false), "delete")) return;
    ExpectState(ctx, id, ContainerState::kNotFound, "after delete");
  });

  AddCase(v, "delete_running_refused_without_force", kSpecDelete, {}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
    if (!ctx.Refused(ctx.Delete(id, false), "delete of a running container without force")) return;
    ExpectState(ctx, id, ContainerState::kRunning, "after the refused delete");
  });

  AddCase(v, "delete_running_with_force", kSpecDelete, {}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
    if (!ctx.Ok(ctx.Delete(id, true), "delete --force")) return;
    ExpectState(ctx, id, ContainerState::kNotFound, "after the forced delete");
  });

  AddCase(v, "state_after_delete_is_not_found", kSpecState, {}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Ok(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create")) return;
    if (!ctx.Ok(ctx.Delete(id, true), "delete")) return;
    ExpectState(ctx, id, ContainerState::kNotFound, "after delete");
    ListResult l = ctx.List();
    if (ctx.Ok(l, "list")) {
      ctx.Expect(std::find(l.ids.begin(), l.ids.end(), id) == l.ids.end(),
                 "list still shows the deleted container");
    }
  });

  // runtime.md#delete: deleting a container that is not stopped must fail and change nothing;
  // a created container is not stopped.
  AddCase(v, "delete_created_refused", kSpecDelete, {Need::kCreatedState}, [](CaseContext& ctx) {
    std::string id = ctx.NewId();
    if (!ctx.Ok(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create")) return;
    if (!ctx.Refused(ctx.Delete(id, false), "delete of a created container without force")) return;
    ExpectState(ctx, id, ContainerState::kCreated, "after the refused delete");
  });

  // runtime.md#kill: a created container may be signalled; SIGKILL stops it.
  AddCase(v, "kill_created_stops_it", kSpecKill, {Need::kKill, Need::kCreatedState},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            if (!ctx.Ok(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create")) return;
            if (!ctx.Ok(ctx.Kill(id, SIGKILL), "kill KILL of the created container")) return;
            Settles(ctx, id, ContainerState::kStopped, "after KILL of the created container",
                    "stopped_settle_ms");
          });

  // runtime.md#kill: signalling a container that is neither created nor running must fail.
  AddCase(v, "kill_stopped_refused", kSpecKill, {Need::kKill, Need::kWaitExitCode},
          [](CaseContext& ctx) {
            std::string id;
            if (!StoppedContainer(ctx, &id)) return;
            if (!ctx.Refused(ctx.Kill(id, SIGTERM), "kill TERM of a stopped container")) return;
            ExpectState(ctx, id, ContainerState::kStopped, "after the refused kill");
          });

  // runtime.md#create: the program must not run before start. Its first act would be a
  // marker file, seen from the host through the container's root.
  AddCase(v, "create_does_not_run_the_program", kSpecCreate, {Need::kCreatedState, Need::kStatePid},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            const std::string mark = "/tmp/.polyarch-started";
            if (!ctx.Ok(ctx.Create(ctx.Spec(id, {"/probe", "mark", mark})), "create")) return;
            StateResult st = ctx.State(id);
            if (!ctx.Ok(st, "state")) return;
            if (st.pid > 0) {
              const std::string early = "/proc/" + std::to_string(st.pid) + "/root" + mark;
              std::this_thread::sleep_for(milliseconds(200));
              if (!ctx.Expect(!PathExists(early),
                              "the program ran before start: " + mark + " exists")) {
                return;
              }
            } else {
              // An engine's created container has no process yet (docker): nothing can run.
              ctx.Data()["created_without_process"] = true;
            }
            if (!ctx.Ok(ctx.Start(id), "start")) return;
            st = ctx.State(id);
            if (!ctx.Ok(st, "state after start") ||
                !ctx.Expect(st.pid > 0, "state reports no pid for the started container")) {
              return;
            }
            const std::string seen = "/proc/" + std::to_string(st.pid) + "/root" + mark;
            auto deadline = std::chrono::steady_clock::now() + seconds(20);
            while (!PathExists(seen) && std::chrono::steady_clock::now() < deadline) {
              std::this_thread::sleep_for(milliseconds(10));
            }
            ctx.Expect(PathExists(seen), "the program did not run after start (no " + mark + ")");
          });

  AddCase(v, "create_duplicate_id_fails", kSpecCreate, {}, [](CaseContext& ctx) {
    Bystander b = StartBystander(ctx);
    std::string id = ctx.NewId();
    if (!ctx.Ok(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create")) return;
    ctx.Refused(ctx.Create(ctx.Spec(id, kProbeSleeper)), "create with an id in use");
    ExpectState(ctx, id, ContainerState::kCreated, "of the first container");
    ExpectUndisturbed(ctx, b);
  });

  AddCase(v, "start_twice_fails", kSpecStart, {}, [](CaseContext& ctx) {
    Bystander b = StartBystander(ctx);
    std::string id = ctx.NewId();
    if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
    ctx.Refused(ctx.Start(id), "a second start");
    ExpectState(ctx, id, ContainerState::kRunning, "after the second start");
    ExpectUndisturbed(ctx, b);
  });

  AddCase(v, "start_of_stopped_container", kSpecStart, {Need::kWaitExitCode}, [](CaseContext& ctx) {
    Bystander b = StartBystander(ctx);
    std::string id;
    if (!StoppedContainer(ctx, &id)) return;
    if (ctx.driver().capabilities().start_stopped_refused) {
      ctx.Refused(ctx.Start(id), "start of a stopped container");
    } else {
      // This layer's promise is the opposite: the stopped container's process runs again.
      if (!ctx.Ok(ctx.Start(id), "start of a stopped container (a restart on this layer)")) return;
      WaitResult w = ctx.Wait(id, ctx.timeout());
      if (ctx.Ok(w, "wait after the restart")) {
        ctx.Expect(w.exited && w.exit_code == 0, "the restarted process did not exit 0 again");
      }
    }
    ExpectUndisturbed(ctx, b);
  });

  AddCase(v, "pause_stopped_fails", "runc/containerd freezer semantics",
          {Need::kPause, Need::kWaitExitCode}, [](CaseContext& ctx) {
            Bystander b = StartBystander(ctx);
            std::string id;
            if (!StoppedContainer(ctx, &id)) return;
            ctx.Refused(ctx.Pause(id), "pause of a stopped container");
            ExpectUndisturbed(ctx, b);
          });

  AddCase(v, "exec_stopped_fails", "OCI runtime CLI exec", {Need::kExec, Need::kWaitExitCode},
          [](CaseContext& ctx) {
            Bystander b = StartBystander(ctx);
            std::string id;
            if (!StoppedContainer(ctx, &id)) return;
            ctx.Refused(ctx.Exec(id, {"/probe", "exit", "0"}), "exec in a stopped container");
            ExpectUndisturbed(ctx, b);
          });

  AddCase(
      v, "twenty_concurrent_containers", kSpecLifecycle, {},
      [](CaseContext& ctx) {
        constexpr int kCount = 20;
        std::vector<std::string> ids;
        for (int i = 0; i < kCount; ++i) ids.push_back(ctx.NewId("many"));
        std::vector<StepResult> created(kCount), started(kCount);
        std::vector<std::thread> threads;
        // Each thread has its own driver, as the harness's workers do.
        for (int i = 0; i < kCount; ++i) {
          threads.emplace_back([&, i] {
            auto d = ctx.env().new_driver();
            created[i] = Guarded([&] { return d->Create(ctx.Spec(ids[i], kProbeSleeper)); });
            if (created[i].ok()) started[i] = Guarded([&] { return d->Start(ids[i]); });
          });
        }
        for (auto& t : threads) t.join();
        for (int i = 0; i < kCount; ++i) {
          if (created[i].ok()) ctx.Track(ids[i]);
        }
        int running = 0;
        for (int i = 0; i < kCount; ++i) {
          StepRecord note;
          note.name = "create " + ids[i];
          note.verb = "create";
          note.operation = created[i].operation;
          note.duration_ns = created[i].duration_ns;
          note.ok = created[i].ok();
          if (!note.ok) note.error = created[i].status.ToString();
          ctx.Note(std::move(note));
          if (!created[i].ok() || !started[i].ok()) continue;
          // Twenty state answers would bury the case's own steps; the count is its metric.
          StateResult s = ctx.driver().State(ids[i]);
          running += s.ok() && s.state == ContainerState::kRunning;
        }
        ctx.Metric("running", running);
        ctx.Expect(running == kCount, std::to_string(running) + " of " + std::to_string(kCount) +
                                          " containers reached running");
        threads.clear();
        std::vector<StepResult> deleted(kCount);
        for (int i = 0; i < kCount; ++i) {
          threads.emplace_back([&, i] {
            auto d = ctx.env().new_driver();
            deleted[i] = Guarded([&] { return d->Delete(ids[i], true); });
          });
        }
        for (auto& t : threads) t.join();
        for (int i = 0; i < kCount; ++i) {
          if (deleted[i].ok()) ctx.Untrack(ids[i]);
        }
        ListResult l = ctx.List();
        if (!ctx.Ok(l, "list")) return;
        int left = 0;
        for (const auto& id : ids) left += std::find(l.ids.begin(), l.ids.end(), id) != l.ids.end();
        ctx.Expect(left == 0, std::to_string(left) + " container(s) remain after deleting all");
      },
      /*serial=*/true);

  return v;
}

}  // namespace polyarch
