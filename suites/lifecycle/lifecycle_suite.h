// The lifecycle suite: the OCI runtime-spec state machine and what each layer promises
// (create, start, state, pause, exec, exit codes, signals, delete, refused transitions,
// many containers at once), one case per rule, each citing the rule where one exists.
#ifndef POLYARCH_SUITES_LIFECYCLE_LIFECYCLE_SUITE_H_
#define POLYARCH_SUITES_LIFECYCLE_LIFECYCLE_SUITE_H_

#include <chrono>

#include "suites/suite.h"

namespace polyarch {

// How long stop_escalates_to_kill_137 lets a process that ignores TERM run before KILL: long
// enough to show it did not exit on TERM.
inline constexpr std::chrono::milliseconds kLifecycleStopGrace{1000};

class LifecycleSuite : public Suite {
 public:
  std::string_view name() const override { return "lifecycle"; }
  std::vector<CaseDef> Cases() const override;
};

}  // namespace polyarch

#endif  // POLYARCH_SUITES_LIFECYCLE_LIFECYCLE_SUITE_H_
