// Internal to the fault suite: what a scenario sees (its directory, its names, its host-state
// scope, its result) and helpers the scenarios share. Not used outside suites/faults/.
#ifndef POLYARCH_SUITES_FAULTS_SCENARIO_H_
#define POLYARCH_SUITES_FAULTS_SCENARIO_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/subprocess.h"
#include "harness/drivers/driver.h"
#include "harness/host/host_state.h"
#include "harness/report/result.h"
#include "suites/faults/faults.h"
#include "suites/suite.h"

namespace polyarch::faults {

using Clock = std::chrono::steady_clock;

class ScenarioContext {
 public:
  ScenarioContext(const FaultsConfig& config, std::string dir, std::string tag, CaseResult* result);

  const FaultsConfig& config() const { return config_; }
  const std::string& dir() const { return dir_; }        // the scenario's own directory
  const std::string& prefix() const { return prefix_; }  // "<run prefix>f3-": ids start with it
  // A run id for the scenario's layers (containerd namespace "polyarch-<run_id>").
  const std::string& run_id() const { return run_id_; }
  const ArchInfo& arch() const { return *HostArch(); }
  std::chrono::milliseconds step_timeout() const { return config_.step_timeout; }
  const std::string& polyarch() const { return polyarch_; }

  // What the host-state snapshots look at; a scenario that learns more names (a child run's
  // id) adds them before the closing snapshot.
  HostStateScope& scope() { return scope_; }

  void Injected(std::string what) { injected_ = std::move(what); }
  // Appends one observation ("; "-joined in the report).
  void Observed(std::string what);
  const std::string& injected() const { return injected_; }
  std::string observed() const;

  // The first outcome set wins, as in CaseContext.
  void Fail(std::string reason);
  void Error(std::string reason);
  void Skip(std::string reason);
  bool Expect(bool ok, const std::string& reason);
  bool failed() const { return result_->status != CaseStatus::kPass; }

  void Step(std::string name, std::string operation, Clock::duration took, const Status& status,
            std::string output = "");
  void Metric(const std::string& name, double value) { result_->metrics[name] = value; }
  nlohmann::json& Data() { return result_->data; }
  CaseResult& result() { return *result_; }

 private:
  const FaultsConfig& config_;
  std::string dir_, tag_, prefix_, run_id_, polyarch_;
  HostStateScope scope_;
  CaseResult* result_;
  std::string injected_;
  std::vector<std::string> observed_;
};

struct ScenarioDef {
  std::string name;
  std::string layer;     // the layer it targets, or "harness"
  std::string spec_ref;  // the requirement, in one line
  std::chrono::seconds deadline;
  std::function<void(ScenarioContext&)> body;
};

std::vector<ScenarioDef> DaemonScenarios();   // a daemon killed (3), silent socket
std::vector<ScenarioDef> RuntimeScenarios();  // runtime hangs/dies, TERM ignored, output flood
std::vector<ScenarioDef> ProcessScenarios();  // daemonized grandchild
std::vector<ScenarioDef> CliScenarios();      // polyarch killed, foreign binfmt, full disk

// --- shared helpers ---

double Ms(Clock::duration d);
std::string FormatMs(Clock::duration d);

// The lifecycle cases a scenario runs as its workload, by name, from LifecycleSuite.
const CaseDef* FindLifecycleCase(const std::vector<CaseDef>& cases, const std::string& name);
// A SuiteEnv for cases a scenario runs on its own layer.
SuiteEnv ScenarioSuiteEnv(ScenarioContext& ctx, Layer& layer, const std::string& id_prefix);

// Runs one lifecycle case on `layer` with a fresh driver; records it as a step and returns it.
CaseResult RunLifecycleCase(ScenarioContext& ctx, Layer& layer, const std::string& case_name,
                            const std::string& id_prefix);

// Runs the polyarch binary with `args`, capturing its output (bounded).
Result<ProcessResult> RunPolyarch(ScenarioContext& ctx, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout);
// A one-line summary of a child run's result with the end of its stderr, for observations.
std::string DescribeChild(const ProcessResult& r);

// Peak resident set size bookkeeping: ResetPeakRss() makes VmHWM equal VmRSS (Linux 4.0+,
// /proc/self/clear_refs "5"), so a later PeakRssBytes() - the value then is what grew.
bool ResetPeakRss();
int64_t PeakRssBytes();  // VmHWM of this process, -1 when unreadable
int64_t RssBytes();      // VmRSS

// Number of threads of this process (/proc/self/task).
int ThreadCount();

// Waits until `pred` holds or `timeout` passes; whether it held.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50));

}  // namespace polyarch::faults

#endif  // POLYARCH_SUITES_FAULTS_SCENARIO_H_
