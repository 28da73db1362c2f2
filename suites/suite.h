// Suites and cases. A suite is a list of cases; a case is a scenario written once against
// the Driver interface and run for every layer × arch. Cases never print and never throw:
// each driver call goes through the CaseContext, which records it as a step, and a case
// ends as a value (pass, fail, skip, error, aborted) with its reason.
#ifndef POLYARCH_SUITES_SUITE_H_
#define POLYARCH_SUITES_SUITE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "binfmt/arch.h"
#include "harness/drivers/driver.h"
#include "harness/report/result.h"

namespace polyarch {

// What a case needs from a layer; a case whose needs are not met is skipped with the reason.
enum class Need { kPause, kExec, kKill, kWaitExitCode, kStatePid, kCreatedState, kBusybox };

// Run-wide facts and services a case may use besides its driver.
struct SuiteEnv {
  std::string run_prefix;  // every container id starts with it
  std::chrono::milliseconds step_timeout{60000};
  // A host directory of the run's for files cases make (hook records); removed with the run.
  // "" when there is none (unit tests): cases needing it are errors.
  std::string scratch_dir;
  // Makes a fresh Driver of the case's layer (for cases that work from several threads).
  std::function<std::unique_ptr<Driver>()> new_driver;
  // Whether the arch's image carries busybox.
  std::function<bool(const ArchInfo&)> has_busybox;
  // The binfmt flags of the handler that runs the arch ("" for native).
  std::function<std::string(const ArchInfo&)> binfmt_flags;
  // Runs `fn` while an extra binfmt entry with the P flag handles `arch`; false if it could
  // not be set up (the case then errors). Unset: the case is skipped.
  std::function<Status(const ArchInfo&, const std::function<void()>&)> with_preserve_argv0;
};

class CaseContext {
 public:
  CaseContext(Driver& driver, const ArchInfo& arch, const SuiteEnv& env, CaseResult* result);
  ~CaseContext();  // force-deletes every container the case created and did not delete

  Driver& driver() { return driver_; }
  const ArchInfo& arch() const { return arch_; }
  const SuiteEnv& env() const { return env_; }
  std::chrono::milliseconds timeout() const { return env_.step_timeout; }
  int repeat() const { return result_->repeat; }

  // A container id unique in the run: <run prefix><layer>-<arch>-<case>-<tag>-<n>.
  std::string NewId(std::string_view tag = "c");
  ContainerSpec Spec(const std::string& id, std::vector<std::string> argv) const;

  // Driver calls, recorded as steps. They return the driver's result unchanged.
  StepResult Create(const ContainerSpec& spec);
  StepResult Start(const std::string& id);
  StateResult State(const std::string& id);
  StepResult Pause(const std::string& id);
  StepResult Resume(const std::string& id);
  ExecResult Exec(const std::string& id, const std::vector<std::string>& argv);
  StepResult Kill(const std::string& id, int signal);
  WaitResult Wait(const std::string& id, std::chrono::milliseconds timeout);
  StepResult Delete(const std::string& id, bool force);
  ListResult List();
  // Create + Start; false (case failed) when either step fails.
  bool Run(const ContainerSpec& spec);
  // For containers made through other drivers (worker threads): cleaned up with the case.
  void Track(const std::string& id) { live_.insert(id); }
  void Untrack(const std::string& id) { live_.erase(id); }

  // Outcomes. The first one set wins; later calls only add to the record.
  void Fail(std::string reason);
  void Skip(std::string reason);
  void Error(std::string reason);
  // Fails the case with `reason` when `ok` is false; returns `ok`.
  bool Expect(bool ok, const std::string& reason);
  // Fails the case with every reason in `failures` (joined by "; ") unless there are none;
  // returns whether there were none.
  bool ExpectNone(const std::vector<std::string>& failures);
  // Fails the case when the step did not succeed; returns whether it did.
  bool Ok(const StepResult& r, std::string_view what);
  // Fails the case when the step succeeded: for operations the stack must refuse.
  bool Refused(const StepResult& r, std::string_view what);
  bool done() const { return result_->status != CaseStatus::kPass; }

  void Metric(const std::string& name, double value) { result_->metrics[name] = value; }
  nlohmann::json& Data() { return result_->data; }
  void Note(StepRecord step);  // a step that is not a driver call (a check on /proc)

 private:
  template <typename R>
  R Record(std::string verb, std::string name, R result);

  Driver& driver_;
  const ArchInfo& arch_;
  const SuiteEnv& env_;
  CaseResult* result_;
  std::set<std::string> live_;  // created and not yet deleted
  int counter_ = 0;
};

struct CaseDef {
  std::string name;
  std::string spec_ref;  // the requirement checked, when there is one
  std::vector<Need> needs;
  std::function<void(CaseContext&)> body;
  // Runs with no other case of its arch beside it, and no other serial case (harness/run/
  // case_queue.h): it changes the arch's binfmt entry, or starts twenty containers at once.
  bool serial = false;
  bool emulated_only = false;  // meaningless for the host's own arch: not planned there
  // The config settings (SpecSetting bits) the case gives its container: every bit of
  // `settings`, and at least one of `settings_any` when that is not 0. A layer that cannot
  // express them does not get the case planned (Applies).
  uint32_t settings = 0;
  uint32_t settings_any = 0;
};

// Calls `fn`, a driver call made outside the CaseContext (on a thread of the case's own, or
// in cleanup), and returns its result; an exception escaping it becomes a failed result with
// the exception's message instead of std::terminate.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::string what;
  try {
    return fn();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  R r;
  r.status = Internal("the driver call threw: " + what);
  return r;
}

// Appends a case to a suite's list.
void AddCase(std::vector<CaseDef>& v, std::string name, std::string spec_ref,
             std::vector<Need> needs, std::function<void(CaseContext&)> body, bool serial = false,
             bool emulated_only = false);

// The probe sleeping long enough to outlive any case: a container that runs until stopped.
extern const std::vector<std::string> kProbeSleeper;

// Whether the case means anything for this arch (an emulator to observe, busybox to run) and
// this layer (`caps`, null when the layer is unavailable: its cases are skipped instead). A
// case that does not apply is not planned at all, rather than skipped: a skip says the host
// lacks something.
bool Applies(const CaseDef& c, const ArchInfo& arch, bool has_busybox,
             const Capabilities* caps = nullptr);

class Suite {
 public:
  virtual ~Suite() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<CaseDef> Cases() const = 0;
};

// The reason a case cannot run on this layer/arch, or "" when it can.
std::string MissingNeed(const CaseDef& c, const Capabilities& caps, bool has_busybox);

// Runs one case through `driver` and returns its result (never throws): skip when a need is
// missing, aborted when a step reports the stack unavailable, otherwise as the body decided.
CaseResult RunCase(const Suite& suite, const CaseDef& c, Driver& driver, const ArchInfo& arch,
                   const SuiteEnv& env, int repeat = 0);

// Waits until host process `pid`, a probe, sleeps in nanosleep, i.e. has installed its
// SIGTERM handler: as its pid namespace's init, a SIGTERM that came before would be dropped
// by the kernel (an emulated probe under load is still starting well after start returned).
// Read from the process's current syscall, for at most `max`, once its command line is the
// probe's (a runtime's init may not have exec'd it yet when start returns). Returns the
// milliseconds waited, or -1 when it was not seen asleep (gone, never the probe, no syscall
// file, or the deadline).
double WaitPidAsleep(int pid, std::chrono::milliseconds max);

}  // namespace polyarch

#endif  // POLYARCH_SUITES_SUITE_H_
