// Pure groupings of a RunReport that more than one reporter shows: the arch x layer matrix,
// the skip reasons, the step latency distributions. Kept here so the console and the HTML
// page cannot disagree about a count, and so the reporters themselves only format.
#ifndef POLYARCH_HARNESS_REPORT_VIEWS_H_
#define POLYARCH_HARNESS_REPORT_VIEWS_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/report/result.h"
#include "harness/report/stats.h"

namespace polyarch {

// Appends `s` unless `v` holds it already: lists in first-seen order.
void AddUnique(std::vector<std::string>* v, const std::string& s);

struct StatusCounts {
  int pass = 0, fail = 0, skip = 0, error = 0, aborted = 0, xfail = 0, xpass = 0;
  void Add(CaseStatus s);
  int Total() const { return pass + fail + skip + error + aborted + xfail + xpass; }
  // The status a reader should see first: aborted, error, fail, xpass (a stale expectation),
  // xfail (a known deviation), skip (when nothing passed), then pass.
  CaseStatus Worst() const;
};

// What a matrix cell adds to its "pass/fail/skip" counts: " E1 A2 XF3 XP1", each only when
// nonzero (they are rare, and a column of zeros would hide them).
std::string RareCounts(const StatusCounts& c);

// Arches and layers in the order they first appear among the cases, which is the run's plan
// order (the order the user listed them), not alphabetical.
struct StatusMatrix {
  std::vector<std::string> arches;
  std::vector<std::string> layers;
  std::map<std::pair<std::string, std::string>, StatusCounts> cells;  // (arch, layer)

  // Counts for one cell; nullptr when no case ran there.
  const StatusCounts* Cell(const std::string& arch, const std::string& layer) const;
};
StatusMatrix BuildStatusMatrix(const std::vector<CaseResult>& cases);

// Skipped cases grouped by reason, most frequent first (ties: first seen first).
struct SkipGroup {
  std::string reason;
  int count = 0;
};
std::vector<SkipGroup> GroupSkips(const std::vector<CaseResult>& cases);

// What separates the two halves of an xfail case's reason, as ApplyExpectations
// (harness/run/expectations.h) writes it: "known deviation: <entry> [<reference>]
// (<source>); observed: <the case's own reason>".
inline constexpr std::string_view kObservedSeparator = "; observed: ";

// xfail cases grouped by the known deviation they are (their reason up to
// kObservedSeparator, which names the entry), most frequent first (ties: first seen first).
std::vector<SkipGroup> GroupKnownDeviations(const std::vector<CaseResult>& cases);

// The cases of one status, in run order.
std::vector<const CaseResult*> CasesWithStatus(const std::vector<CaseResult>& cases,
                                               CaseStatus status);

// Cases that need attention: fail, error and aborted, in run order.
std::vector<const CaseResult*> NotPassing(const std::vector<CaseResult>& cases);

// Wall-clock latency of one driver verb ("create", "exec", "delete --force") within one
// layer, over every case of that layer: steps are grouped by verb, not by name, which may
// carry a container id or an argv. Only successful steps enter the distribution: a failed
// step's duration is usually a deadline, not a latency. Failed ones are counted in `errors`,
// except the refusals a case required (start twice, pause a stopped container), which are
// the stack doing the right thing and are counted in `expected_refusals`.
struct StepLatency {
  std::string step;
  Distribution ms;  // milliseconds
  int errors = 0;
  int expected_refusals = 0;
};
struct LayerLatency {
  std::string layer;
  std::vector<StepLatency> steps;  // step names in first-seen order
};
std::vector<LayerLatency> StepLatencyByLayer(const std::vector<CaseResult>& cases);

// The cross-arch section: for each crossarch start_latency case of any arch, the layer, arch
// and start time, beside the native run's (`native_arch`) start and the probe's run time of
// both, when those cases measured them. Rows in case order; [] without such cases.
nlohmann::json CrossArchTimings(const std::vector<CaseResult>& cases,
                                const std::string& native_arch);

// The run's warnings (sections.warnings, an array of strings): what did not change the exit
// code but a reader must see, such as a stale expectation without --strict. Tolerant: what is
// not a string is left out.
std::vector<std::string> ReportWarnings(const RunReport& report);

// A context value by dotted path ("host.kernel"): strings as they are, numbers and booleans
// as JSON text, "" when absent or an object or array. Reports from older or partial runs
// lack keys, so reporters must not assume any is present.
std::string ContextValue(const nlohmann::json& context, std::string_view dotted_path);

// The context facts every reporter's header shows, as (label, value) pairs in a fixed order,
// leaving out what the context lacks: host.* (host.tools.* last), polyarch.* (with the plan
// fingerprint and shard), qemu.version, then the version of
// each runtime, layer and daemon recorded (runtimes.<name>.version, layers.<name>.version,
// daemons.<name>.version).
std::vector<std::pair<std::string, std::string>> ContextBasics(const nlohmann::json& context);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_VIEWS_H_
