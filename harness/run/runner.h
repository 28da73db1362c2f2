// `polyarch run`: the main job, as a pipeline of named passes.
//
//   preflight → binfmt → images → daemons → layers → cases → cleanup → reports → exit code
//
// Every pass records what it found in the report's context or sections; a layer or arch the
// host cannot provide turns its cases into skips with the reason; the report is rewritten as
// cases finish, so an interrupted or crashed run still leaves everything it finished.
#ifndef POLYARCH_HARNESS_RUN_RUNNER_H_
#define POLYARCH_HARNESS_RUN_RUNNER_H_

#include <string>

#include "harness/run/expectations.h"
#include "harness/run/plan.h"

namespace polyarch {

struct RunSettings {
  Plan plan;
  // The known deviations applied to the cases as they finish (LoadRunExpectations of the
  // plan's files, loaded before the run so a bad file touches nothing).
  Expectations expectations;
  std::string state_dir = "/var/lib/polyarch";
  std::string probe_dir;  // where the built probes are (<dir>/<arch>/probe)
  std::string deb_dir = "/var/cache/polyarch/debs";
  std::string command_line;
  std::string version;
  bool color = false;  // ANSI colors on the console
  bool tty = false;    // a live progress line instead of one line per case
};

// Runs the plan and returns the process exit code: 0 all pass, 1 a case failed (or, with
// strict, was skipped or passed as a stale expectation), 2 bad plan, 3 environment unusable,
// 4 interrupted.
int ExecuteRun(const RunSettings& settings);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_RUNNER_H_
