// Result values: what a run produced, as plain data. Suites fill them; statistics are
// computed from them by pure functions; reporters only format them.
#ifndef POLYARCH_HARNESS_REPORT_RESULT_H_
#define POLYARCH_HARNESS_REPORT_RESULT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"

namespace polyarch {

enum class CaseStatus {
  kPass,
  kFail,     // the stack under test did not do what the case requires
  kSkip,     // not run, for a stated reason (a capability the layer lacks, a host limit)
  kError,    // the harness could not run the case (bad set-up, a deadline in the harness)
  kAborted,  // the stack died under it (a daemon vanished mid-case)
  // A failure an expectations file lists as a known deviation of the stack: reported, not
  // failing the run (harness/run/expectations.h).
  kXfail,
  // A pass of a case an expectations file lists as a known deviation: the entry is stale. It
  // fails the run under --strict.
  kXpass,
};
std::string_view CaseStatusName(CaseStatus s);
bool ParseCaseStatus(std::string_view name, CaseStatus* out);

// The member of `counts` (a Summary, a StatusCounts: anything with one int per status, named
// like the statuses) that counts status `s`.
template <typename Counts>
auto& CounterOf(Counts& counts, CaseStatus s) {
  switch (s) {
    case CaseStatus::kPass:
      return counts.pass;
    case CaseStatus::kFail:
      return counts.fail;
    case CaseStatus::kSkip:
      return counts.skip;
    case CaseStatus::kError:
      return counts.error;
    case CaseStatus::kAborted:
      return counts.aborted;
    case CaseStatus::kXfail:
      return counts.xfail;
    case CaseStatus::kXpass:
      return counts.xpass;
  }
  return counts.error;
}

// One operation a case performed through a driver.
struct StepRecord {
  std::string name;       // "create", "exec /probe info", "kill 15", "create <id>"
  std::string operation;  // what the driver did: "runc create", "POST /containers/create"
  int64_t duration_ns = 0;
  bool ok = true;
  std::string error;   // the step's Status when not ok
  std::string output;  // bounded output, kept when the step or the case failed
  // The driver verb, without the details a name carries: "create", "exec", "kill",
  // "delete --force", "cleanup". Latency is grouped by it. Reports written before it existed
  // lack it; StepVerb() then derives it from the name.
  std::string verb;
  // A step the case required the stack to refuse (start twice, pause a stopped container):
  // its failure is the expected answer, not a failed step.
  bool expected_refusal = false;
};

// The step's verb, or for a record without one, its name's first word ("delete --force" and
// "cleanup delete --force" as they are).
std::string StepVerb(const StepRecord& s);

struct CaseResult {
  std::string suite;     // "lifecycle", "crossarch", "throughput", "faults"
  std::string layer;     // "runc", "crun", "containerd", "docker", "null"
  std::string arch;      // "amd64", "s390x", or "mixed"
  std::string name;      // "create_reports_created"
  int repeat = 0;        // 0-based, for --repeat
  std::string spec_ref;  // the requirement it checks, e.g. "OCI runtime-spec runtime.md#create"
  CaseStatus status = CaseStatus::kPass;
  std::string reason;  // why it failed, was skipped, errored or aborted; empty on pass
  int64_t duration_ns = 0;
  std::vector<StepRecord> steps;
  // Numbers a case measured (latencies, rates, ratios); name -> value.
  std::map<std::string, double> metrics;
  // Structured extra data (the probe's info record, throughput distributions).
  nlohmann::json data = nlohmann::json::object();

  // "lifecycle/runc/s390x/create_reports_created" (+ "#2" for repeats)
  std::string Id() const;
};

struct Summary {
  int total = 0, pass = 0, fail = 0, skip = 0, error = 0, aborted = 0, xfail = 0, xpass = 0;
  int64_t duration_ns = 0;
};
Summary Summarize(const std::vector<CaseResult>& cases);

struct RunReport {
  // What the results depend on: host, kernel, cgroup mode, CPU, runtime/daemon/QEMU versions,
  // binfmt entries and flags, image digests, polyarch version and command line.
  nlohmann::json context = nlohmann::json::object();
  std::vector<CaseResult> cases;
  // Per-run data that is not a case: throughput tables, calibration, cleanup checks.
  nlohmann::json sections = nlohmann::json::object();
  bool complete = false;          // false while running, or when the run was interrupted
  std::string incomplete_reason;  // "interrupted by SIGINT", "polyarch crashed"
  std::string started_at;         // RFC 3339 UTC
  std::string finished_at;
  int exit_code = 0;
  // Why the exit code is what it is, one reason per line of argument ("3 cases failed",
  // "cleanup did not restore the host: mount /x (overlay) was left"); empty for exit 0.
  std::vector<std::string> exit_reasons;
};

inline constexpr int kReportSchemaVersion = 1;

// The report as JSON (schema: docs/report.schema.json) and back. FromJson checks the shape
// and returns InvalidArgument naming the field when it is not a polyarch report.
nlohmann::json ReportToJson(const RunReport& report);
Result<RunReport> ReportFromJson(const nlohmann::json& j);
nlohmann::json CaseToJson(const CaseResult& c);
Result<CaseResult> CaseFromJson(const nlohmann::json& j);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_RESULT_H_
