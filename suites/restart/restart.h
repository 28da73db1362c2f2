// The restart suite: a daemon goes away and comes back while containers run. The promise of
// the split stack is that containers belong to their shim (containerd's runc v2 shim, podman's
// conmon), not to the daemon: containerd stopped or SIGKILLed and started again on the same
// root and state, dockerd with live-restore, podman's service restarted - the containers
// started before keep running with the same host pid, the driver made before reconnects,
// exec, kill, wait (with the exit code) and delete work on them, and one that exited while
// the daemon was down reports its exit code. dockerd without live-restore promises the
// opposite (its containers are stopped on shutdown); that verdict is checked too.
//
// One event per scenario serves every layer the daemon carries and every arch at once: its
// containers are started side by side, the daemon goes down once, comes back once, and each
// (layer, arch) is then checked and reported as its own case,
// restart/<layer>/<arch>/<scenario>, with the downtime and the time until the layer answered
// again as metrics. Nothing else runs during an event (the runner runs the suite after every
// other case).
#ifndef POLYARCH_SUITES_RESTART_RESTART_H_
#define POLYARCH_SUITES_RESTART_RESTART_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "binfmt/arch.h"
#include "harness/drivers/driver.h"
#include "harness/report/result.h"

namespace polyarch {

// The daemon of a scenario, as the run holds it.
struct RestartTarget {
  std::string daemon;  // "containerd", "dockerd", "podman-crun": for reasons and the report
  // Ends the daemon alone with the signal and waits for it to exit; what it started stays.
  std::function<Status(int signal)> interrupt;
  // Starts it again on the same state and waits until it answers.
  std::function<Status()> restart;
  // After the layers answered (outside the figures): what must hold before the run goes on,
  // e.g. dockerd reaching the containerd that came back. Unset: nothing.
  std::function<Status()> settle;
  // dockerd only: sets live-restore on the running daemon.
  std::function<Status(bool on)> set_live_restore;
  // Why this daemon cannot be restarted (an external one): its cases are skipped with it.
  std::string unavailable;
};

struct RestartLayerRef {
  std::string name;
  Layer* layer = nullptr;   // null when the layer is unavailable
  std::string unavailable;  // why, then
};

struct RestartScenario {
  std::string name;  // the case name
  std::string spec_ref;
  RestartTarget target;
  int signal = 15;  // SIGTERM or SIGKILL
  // dockerd: live-restore is set to this before the event and back to the daemon's own
  // setting after it.
  std::optional<bool> live_restore;
  bool live_restore_after = false;
  // The promise: the containers keep running (true) or are stopped by the shutdown (false).
  bool containers_survive = true;
  std::vector<RestartLayerRef> layers;
};

struct RestartConfig {
  std::string run_prefix;
  std::chrono::milliseconds step_timeout{60000};
  int jobs = 2;  // checks run side by side, each with its own driver
  // Whether the case (its name, its id) is selected; unset: all are.
  std::function<bool(const std::string& name, const std::string& id)> selected;
  std::chrono::milliseconds answer_timeout{60000};  // for the layer to answer again
  std::function<bool()> stop;                       // interrupted: no new event starts
  std::function<void(const std::string&)> on_start;
  std::function<void(CaseResult)> on_result;
  // The containers' host processes, replaceable for tests: whether host pid `pid` is the
  // probe container `id` runs (a pid the layer reported is only signalled if so), whether it
  // is gone, and a signal to it. Unset: /proc (ProbeProcessProblem) and kill(2).
  std::function<std::string(const std::string& id, int pid)> not_the_container;
  std::function<bool(const std::string& id, int pid)> process_gone;
  std::function<void(const std::string& id, int pid, int signal)> signal_process;
  // Why an arch cannot run (no emulator), "" when it can.
  std::function<std::string(const ArchInfo&)> arch_unavailable;
};

// Why host pid `pid` is not a probe sleeping in a container ("" when it is): pid 1 or below,
// polyarch itself, a process in polyarch's own mount namespace, or a command line without
// "/probe sleep". The restart suite signals only such a process.
std::string ProbeProcessProblem(int pid);

// How many cases RunRestartSuite reports.
int CountRestartCases(const RestartConfig& config, const std::vector<RestartScenario>& scenarios,
                      const std::vector<const ArchInfo*>& arches);

// Runs the scenarios one after the other; every selected case ends in on_result.
void RunRestartSuite(const RestartConfig& config, const std::vector<RestartScenario>& scenarios,
                     const std::vector<const ArchInfo*>& arches);

}  // namespace polyarch

#endif  // POLYARCH_SUITES_RESTART_RESTART_H_
