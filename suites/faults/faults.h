// The fault suite: failures injected for real on the machine, each checked for the behaviour
// polyarch promises (a daemon that dies aborts its cases and the run goes on; a runtime that
// hangs meets its deadline; a flood of output stays bounded; a killed polyarch can be cleaned
// up after) and for leaving the host exactly as it found it.
//
// Every scenario works only with what it creates itself, under its own directory: private
// daemons, layers and runtime state, never the run's own, so the other suites are undisturbed.
// Each ends as one CaseResult (suite "faults", arch = the host's, name = the scenario) whose
// data holds what was injected, what was observed and the host-state diff (host_state.h) taken
// around it; it passes only when the observed behaviour is the required one and the diff is
// empty. Each has a hard deadline: a scenario that overruns it is recorded as an error and the
// suite goes on.
#ifndef POLYARCH_SUITES_FAULTS_FAULTS_H_
#define POLYARCH_SUITES_FAULTS_FAULTS_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/journal.h"
#include "harness/report/result.h"
#include "images/builder.h"

namespace polyarch {

struct FaultsConfig {
  // Where the scenarios work; each gets <dir>/f<N>. Removed at the end when empty of mounts.
  std::string dir;
  // Built images; only the host's own is used (the daemons' and runtimes' containers).
  const ImageSet* images = nullptr;
  // The polyarch binary the command-line scenarios run (killed mid-run, binfmt, full disk);
  // empty: /proc/self/exe.
  std::string polyarch_binary;
  // Names: container ids, namespaces, cgroups and binfmt entries of a scenario start with
  // <run_prefix>f<N>-, so its host-state scope can tell them from everyone else's.
  std::string run_prefix = "pa-";
  // Deadline of every driver step of the scenarios' own layers (kept short: a scenario must
  // not hang the run).
  std::chrono::milliseconds step_timeout{10000};
  // Optional: the scenarios' daemons, containers and binfmt entries are recorded here before
  // they are created, so `polyarch cleanup` can remove them if polyarch dies mid-scenario.
  Journal* journal = nullptr;
  std::string filter = "*";  // glob over scenario names
  std::function<void(const std::string& id)> on_start;
  std::function<void(const CaseResult&)> on_result;
  std::function<bool()> stop;  // checked between scenarios (SIGINT)
};

struct FaultsOutcome {
  std::vector<CaseResult> cases;
  nlohmann::json section = nlohmann::json::array();  // the report's sections["faults"]
};

// The scenario names, in the order they run.
std::vector<std::string> FaultScenarioNames();
// How many of them `filter` selects.
int CountFaultScenarios(const std::string& filter);

// Runs the selected scenarios one after another (they need root). Never throws.
FaultsOutcome RunFaults(const FaultsConfig& config);

}  // namespace polyarch

#endif  // POLYARCH_SUITES_FAULTS_FAULTS_H_
