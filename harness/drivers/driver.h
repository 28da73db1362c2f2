// The Driver: the one interface every suite sees, with one implementation per stack layer
// (runc and crun through the OCI runtime CLI, containerd through its gRPC API, dockerd
// through the Engine API, and null, which measures the harness itself).
//
// Each operation returns a result value: whether the stack did what was asked (a Status
// that is a failure of the system under test, never thrown), how long it took (wall clock),
// and bounded output for the report. What a layer cannot do, it declares in Capabilities;
// suites skip those cases with the reason instead of reaching a "not implemented" path.
//
// A Layer is created once per run: it prepares what its drivers share (images imported
// into a daemon, a runtime state directory) and removes everything of the run at the end.
// Drivers are cheap and not thread-safe: one per worker thread.
#ifndef POLYARCH_HARNESS_DRIVERS_DRIVER_H_
#define POLYARCH_HARNESS_DRIVERS_DRIVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/capture.h"
#include "harness/core/spec_settings.h"
#include "harness/core/status.h"
#include "harness/core/timing.h"

namespace polyarch {

enum class ContainerState { kUnknown, kCreating, kCreated, kRunning, kPaused, kStopped, kNotFound };
std::string_view ContainerStateName(ContainerState s);

struct ContainerSpec {
  std::string id;  // unique in the run; starts with the run prefix
  const ArchInfo* arch = nullptr;
  std::vector<std::string> argv;  // the process, e.g. {"/probe", "sleep", "30"}
  std::vector<std::string> env;   // "K=V", added to the image's PATH
  // Writable scratch space at /tmp inside the container (for probe write-file markers).
  bool writable_tmp = true;
  // An engine's network sandbox for network "none", as `docker run --network none` makes it
  // (dockerd's libnetwork adds a prestart hook that runs dockerd's binary again for every
  // container). Off, the engine is asked for no networking at all (NetworkDisabled): the
  // runtime still gives the container a new network namespace holding only a loopback, and
  // a container costs the docker stack a little over half the CPU. The suites leave it off;
  // the throughput suite and driver_bench turn it on, to time what `docker run` does. The
  // OCI runtimes and containerd have no such sandbox: there it changes nothing.
  bool network_sandbox = false;
  // More of the config (the spec suite's): only what the layer declares in
  // Capabilities::settings is honoured; null for the layer's defaults.
  std::shared_ptr<const SpecSettings> settings;
};

struct StepResult {
  // ok, or how the stack failed the step. Code::kUnavailable means the stack itself is gone
  // (a daemon that no longer answers): suites mark such cases aborted. A refusal (a state
  // transition the stack rejects) uses any other code.
  Status status;
  int64_t duration_ns = 0;
  CapturedOutput output;  // the runtime's or daemon's own output / response, bounded
  std::string operation;  // "runc start", "POST /containers/{id}/start", "Tasks.Start"

  bool ok() const { return status.ok(); }
};

struct StateResult : StepResult {
  ContainerState state = ContainerState::kUnknown;
  int pid = 0;  // host pid of the container's init process, 0 when none
};

struct ExecResult : StepResult {
  int exit_code = -1;
  std::string out;  // the exec'd process's stdout (bounded)
  std::string err;
};

struct WaitResult : StepResult {
  bool exited = false;  // false: the deadline passed first
  int exit_code = -1;   // as the layer reports it (a signal death is 128 + signal)
};

struct ListResult : StepResult {
  std::vector<std::string> ids;  // containers of this run only
};

// One driver verb, timed: `body(r)` fills a fresh result whose operation is `operation` (a
// body that returns a Status sets the result's status with it), and the result's duration is
// everything `body` did, whichever way it returned. Every verb of every driver is timed by
// this one clock, so their figures compare.
template <typename R = StepResult, typename Body>
R TimedStep(std::string operation, Body&& body) {
  R r;
  r.operation = std::move(operation);
  const auto start = std::chrono::steady_clock::now();
  if constexpr (std::is_void_v<decltype(body(r))>) {
    body(r);
  } else {
    r.status = body(r);
  }
  r.duration_ns = NanosSince(start);
  return r;
}

struct Capabilities {
  bool pause = false;
  bool exec = false;
  bool kill = false;
  bool wait_exit_code = false;  // Wait reports the process's exit code
  bool state_pid = false;       // State reports the init pid
  bool created_state = false;   // a created-but-not-started container reports kCreated
  // Whether starting a stopped container is refused (the OCI rule). The Docker engine
  // instead runs its process again: that is its documented promise, checked as such.
  bool start_stopped_refused = true;
  // Run is one call of the stack (`runc run`), not the four verbs in a row: the throughput
  // suite's default cycle for the layer, the path users compare a runtime's speed on.
  bool single_call_run = false;
  // The SpecSetting bits this layer can give a container (ContainerSpec::settings).
  uint32_t settings = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;

  // The name of the layer this driver drives ("runc", "containerd"): container ids and case
  // results carry it.
  virtual std::string_view layer_name() const = 0;
  virtual Capabilities capabilities() const = 0;

  virtual StepResult Create(const ContainerSpec& spec) = 0;
  virtual StepResult Start(const std::string& id) = 0;
  virtual StateResult State(const std::string& id) = 0;
  virtual StepResult Pause(const std::string& id) = 0;
  virtual StepResult Resume(const std::string& id) = 0;
  virtual ExecResult Exec(const std::string& id, const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout) = 0;
  virtual StepResult Kill(const std::string& id, int signal) = 0;
  virtual WaitResult Wait(const std::string& id, std::chrono::milliseconds timeout) = 0;
  virtual StepResult Delete(const std::string& id, bool force) = 0;
  virtual ListResult List() = 0;

  // Runs `spec` to its exit and removes the container: nothing of it is left, whether it
  // exited, failed to start or overran `timeout` (then it is killed; exited = false). The
  // exit code is the process's, as Wait reports it. This implementation is the four verbs;
  // a layer whose stack does it in one call overrides it and says so in
  // Capabilities::single_call_run.
  virtual WaitResult Run(const ContainerSpec& spec, std::chrono::milliseconds timeout);
};

class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string_view name() const = 0;
  virtual Capabilities capabilities() const = 0;
  // Versions and settings the results depend on, for the report's context block.
  virtual nlohmann::json Context() const = 0;
  // Whether this layer can run containers of `arch` (its image is there, binfmt works).
  virtual Status Supports(const ArchInfo& arch) const = 0;
  virtual std::unique_ptr<Driver> NewDriver() = 0;
  // Removes every container, task, snapshot and mount of the run that is still there, then
  // checks that nothing remains. Safe to call twice.
  virtual Status Cleanup() = 0;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DRIVERS_DRIVER_H_
