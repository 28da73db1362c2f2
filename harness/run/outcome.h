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
  bool strict = false;  // a skipped case counts as a failure, and so does an xpass case
  // "<case id> (<entry source>)" of each xpass case: passed, although an expectations entry
  // lists it as a known deviation (ExpectationsApplied::stale).
  std::vector<std::string> stale_expectations;
  // "<entry source> (<cases glob>)" of each expectations entry that matched no case.
  std::vector<std::string> unused_expectations;
  std::string baseline;        // --baseline FILE; "" without
  std::string baseline_error;  // why the comparison could not be made
  bool regression = false;     // the comparison found one
  std::string report_error;    // why a report file could not be written
};

struct Outcome {
  ExitCode code = kExitOk;
  std::vector<std::string> reasons;  // empty for exit code 0
  // What did not change the code but a reader must see: xpass cases without --strict, unused
  // expectations entries.
  std::vector<std::string> warnings;
};

// The first reason found decides the code, in this order: interrupted (4); cases that failed,
// errored or aborted, cleanup problems, skips and xpass cases under --strict, a regression
// (1); a baseline that cannot be compared (2); a report that cannot be written (3). Every
// reason is listed. xfail cases never fail the run.
Outcome DecideOutcome(const OutcomeInputs& in);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_OUTCOME_H_
