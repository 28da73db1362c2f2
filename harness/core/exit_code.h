// The exit codes of every polyarch command, in one place (README.md, Exit codes). CI gates on
// them.
#ifndef POLYARCH_HARNESS_CORE_EXIT_CODE_H_
#define POLYARCH_HARNESS_CORE_EXIT_CODE_H_

#include "harness/core/status.h"

namespace polyarch {

enum ExitCode : int {
  kExitOk = 0,           // everything checked passed
  kExitCheckFailed = 1,  // a check, case or proof failed
  kExitUsage = 2,        // usage error or bad input; nothing was changed
  kExitEnvironment = 3,  // the host cannot be used as it is (not root, binfmt_misc missing, ...)
  kExitAborted = 4,      // interrupted
};

// The exit code for a Status that stops a command: bad input (kInvalidArgument, and
// kNotFound, a named thing that does not exist) is a usage error, kAborted an interruption,
// everything else means the environment is not usable.
inline ExitCode ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
      return kExitUsage;
    case Code::kAborted:
      return kExitAborted;
    default:
      return kExitEnvironment;
  }
}

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_EXIT_CODE_H_
