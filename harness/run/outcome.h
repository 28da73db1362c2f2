// How a run ends: its exit code and the reasons for it, from what the run found. Pure, so the
// rule is in one place and tested on its own; the reports carry the reasons (exit_reasons) and
// the HTML banner shows them.
#ifndef POLYARCH_HARNESS_RUN_OUTCOME_H_
#define POLYARCH_HARNESS_RUN_OUTCOME_H_

#include <string>
#include <vector>

#include "harness/core/exit_code.h"
#include "harness/report/result.h"

namespace polyarch {

struct OutcomeInputs {
  Summary summary;
  std::string interrupted_by;                 // "SIGINT"; "" when the run was not interrupted
  std::vector<std::string> cleanup_problems;  // what cleanup could not restore
  bool strict = false;                        // a skipped case counts as a failure
  std::string baseline;                       // --baseline FILE; "" without
  std::string baseline_error;                 // why the comparison could not be made
  bool regression = false;                    // the comparison found one
  std::string report_error;                   // why a report file could not be written
};

struct Outcome {
  ExitCode code = kExitOk;
  std::vector<std::string> reasons;  // empty for exit code 0
};

// The first reason found decides the code, in this order: interrupted (4); cases that failed,
// errored or aborted, cleanup problems, skips under --strict, a regression (1); a baseline
// that cannot be compared (2); a report that cannot be written (3). Every reason is listed.
Outcome DecideOutcome(const OutcomeInputs& in);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_OUTCOME_H_
