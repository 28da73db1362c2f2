// Scenario against Subprocess itself: a child that daemonizes a grandchild which keeps the
// output pipe open.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "harness/core/fs.h"
#include "harness/core/proc.h"
#include "harness/core/reaper.h"
#include "suites/faults/scenario.h"

namespace polyarch::faults {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void DaemonizedGrandchild(ScenarioContext& ctx) {
  // The grandchild is orphaned when its parent exits; polyarch must adopt and reap it.
  if (Status s = Reaper::Instance().Enable(); !s.ok()) {
    return ctx.Error("cannot make polyarch a subreaper: " + s.message());
  }
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 300 & echo $!"};
  ctx.Injected(
      "`/bin/sh -c 'sleep 300 & echo $!'`: the shell exits at once, its background "
      "grandchild keeps the stdout pipe open for 300 s");
  auto t0 = Clock::now();
  auto r = RunProcess(o, milliseconds(10000));
  auto waited = Clock::now() - t0;
  ctx.Step("run the shell", QuoteArgv(o.argv), waited, r.status());
  if (!r.ok()) return ctx.Error("cannot start /bin/sh: " + r.status().message());
  ctx.Metric("wait_ms", Ms(waited));
  ctx.Expect(waited < seconds(2), "the wait took " + FormatMs(waited) +
                                      ": it waited for the grandchild's pipe, not the child");
  ctx.Expect(r->success() && !r->timed_out, "the shell did not exit 0: " + r->Describe());
  const pid_t grandchild = static_cast<pid_t>(std::atol(r->out.Text().c_str()));
  if (!ctx.Expect(grandchild > 1, "the shell printed no pid: '" + r->out.Text() + "'")) return;
  // Only kill what is really the grandchild (a pid that is already gone could be reused). It
  // may not have reached `sleep` yet: the shell forks it and it then execs, and in between
  // (or during the exec) its command line is the shell's or empty.
  std::vector<std::string> argv;
  bool is_sleep = WaitUntil(
      [&] {
        argv = ProcessArgv(std::to_string(grandchild));
        return argv == std::vector<std::string>{"sleep", "300"};
      },
      milliseconds(2000), milliseconds(5));
  if (!ctx.Expect(is_sleep, "pid " + std::to_string(grandchild) +
                                " is not the sleeping grandchild (argv: " + QuoteArgv(argv) +
                                ")")) {
    return;
  }
  int rc = ::kill(grandchild, SIGKILL);
  auto killed_at = Clock::now();
  ctx.Step("kill the grandchild", "kill(" + std::to_string(grandchild) + ", SIGKILL)",
           Clock::duration::zero(),
           rc == 0 ? Status::Ok() : ErrnoStatus(errno, "kill " + std::to_string(grandchild)));
  const std::string proc = "/proc/" + std::to_string(grandchild);
  bool gone = WaitUntil([&] { return !PathExists(proc); }, milliseconds(2000), milliseconds(10));
  auto reaped = Clock::now() - killed_at;
  ctx.Metric("grandchild_gone_ms", Ms(reaped));
  std::string state = "gone";
  if (!gone) {
    ProcStat st;
    state = ReadProcStat(grandchild, &st) && st.state == 'Z' ? "a zombie" : "still running";
  }
  ctx.Expect(gone, "the grandchild " + std::to_string(grandchild) + " is " + state + " " +
                       FormatMs(reaped) + " after SIGKILL");
  ctx.Observed("the wait returned after " + FormatMs(waited) + " (" + r->Describe() +
               "); grandchild " + std::to_string(grandchild) + " killed and " + state +
               (gone ? " (reaped) after " + FormatMs(reaped) : ""));
}

}  // namespace

std::vector<ScenarioDef> ProcessScenarios() {
  return {
      {"daemonized_grandchild_holds_pipe", "harness",
       "a wait returns when the child exits even if a grandchild holds its pipe (< 2 s); the "
       "orphaned grandchild is adopted and reaped once killed",
       seconds(30), DaemonizedGrandchild},
  };
}

}  // namespace polyarch::faults
