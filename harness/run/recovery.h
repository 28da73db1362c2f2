// Recovery: removing what a killed run left on the host, from the journal alone.
//
// Every run records itself ("run" record: pid, run directory, container prefix) and every
// thing it creates, each tagged with the run. A run is stale when its process is gone. Its
// recovery stops its daemons (only if the recorded pid still names the run's directory),
// removes the containers its runtimes and shims still hold, unmounts what is under the run
// directory, removes its cgroups (by the run's names) and the binfmt entries it registered
// (only if their content is still what it wrote), deletes the run directory, and forgets the
// records. Nothing the journal does not name is touched.
#ifndef POLYARCH_HARNESS_RUN_RECOVERY_H_
#define POLYARCH_HARNESS_RUN_RECOVERY_H_

#include <string>
#include <vector>

#include "binfmt/procfs.h"
#include "harness/core/journal.h"
#include "harness/core/status.h"

namespace polyarch {

inline constexpr char kJournalKindRun[] = "run";

struct RunRecord {
  std::string id;
  int pid = 0;
  std::string run_dir;
  std::string prefix;                  // container id prefix
  bool alive = false;                  // its polyarch process still runs
  std::vector<JournalRecord> records;  // everything tagged with this run
};

// The runs the journal knows, with their records and whether their process still runs (its
// command line under `proc_root`: "" is the real /proc; tests point it at a fake tree).
Result<std::vector<RunRecord>> ListRuns(const Journal& journal, const std::string& proc_root = "");

struct RecoveryReport {
  std::string run;
  std::vector<std::string> actions;   // what was removed
  std::vector<std::string> problems;  // what could not be
  bool ok() const { return problems.empty(); }
};

// Removes everything of one stale run. Refuses a run whose process still runs. The binfmt
// entries go through `procfs` (the real one by default; tests give a fake).
RecoveryReport RecoverRun(Journal& journal, const RunRecord& run);
RecoveryReport RecoverRun(Journal& journal, const RunRecord& run, ProcFs& procfs);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_RECOVERY_H_
