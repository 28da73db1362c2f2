// Comparing two polyarch reports: what nightly CI gates on. Pure logic over two RunReport
// values (no I/O besides LoadReportFile): conformance cases are matched by id, throughput
// groups by layer × arch × concurrency, and every comparison becomes a plain row value that
// the table and the JSON document only format.
//
// A performance change is called a regression only when it is larger than BOTH the threshold
// the user chose and noise_k times the run-to-run noise seen across trials: a 15% slowdown on
// a machine whose trials differ by 10% is not evidence of anything, and CI that cries wolf
// gets ignored.
#ifndef POLYARCH_HARNESS_COMPARE_COMPARE_H_
#define POLYARCH_HARNESS_COMPARE_COMPARE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/report/result.h"

namespace polyarch {

// The throughput figures compare knows. Latencies are milliseconds, lower is better;
// starts_per_s is higher-is-better.
enum class Metric {
  kStartsPerS,  // "starts_per_s"
  kE2eP50,      // "e2e_p50": latency.end_to_end.p50
  kE2eP99,      // "e2e_p99": latency.end_to_end.p99
  kCreateP50,   // "create_p50"
  kStartP50,    // "start_p50"
  kWaitP50,     // "wait_p50"
  kDeleteP50,   // "delete_p50"
};
std::string_view MetricName(Metric m);
bool HigherIsBetter(Metric m);
// Every metric, in the order of the enum (the order tables list them).
const std::vector<Metric>& AllMetrics();
// starts_per_s, e2e_p50, e2e_p99.
std::vector<Metric> DefaultMetrics();
// "starts_per_s,e2e_p99": comma-separated names, spaces around names ignored, duplicates
// dropped. InvalidArgument naming the unknown metric and the known ones.
Result<std::vector<Metric>> ParseMetricList(std::string_view list);

// "10%" or "0.1" → 0.1. A bare number above 1 is refused rather than guessed at ("10" could
// mean 10% or 1000%). InvalidArgument for anything else or a negative value.
Result<double> ParseThreshold(std::string_view text);

struct CompareOptions {
  double max_regression = 0.10;  // relative worsening allowed before a change counts
  // A change must also exceed noise_k × the combined CV. 3, not 2: one gate makes many
  // comparisons, and three trials estimate the spread only roughly.
  double noise_k = 3;
  std::vector<Metric> metrics = DefaultMetrics();
  // Cases that passed and are now skipped or gone, and throughput groups that are gone,
  // count as regressions (CI runs with --strict so a silently lost layer cannot pass).
  bool strict = false;
  // How the two reports are named in errors and output (the CLI passes the file paths).
  std::string baseline_name = "baseline";
  std::string current_name = "current";
};

enum class RowKind { kConformance, kPerformance };
std::string_view RowKindName(RowKind k);

enum class Verdict {
  // No change worth reporting, a change between two non-passing statuses (fail → xfail), or
  // between pass and xpass.
  kOk,
  // Better beyond threshold and noise; a case fixed (not pass → pass or xpass).
  kImproved,
  // Worse beyond threshold and noise; pass or xpass → fail/error/aborted/xfail; errors
  // appeared.
  kRegression,
  kNoise,    // beyond the threshold, but within noise_k × noise: not evidence either way
  kNew,      // only in the current report
  kMissing,  // only in the baseline report
  kSkipped,  // a case that passed and is now skipped (a regression instead with strict)
};
std::string_view VerdictName(Verdict v);

struct CompareRow {
  RowKind kind = RowKind::kPerformance;
  // Conformance: the case id (suite/layer/arch/name[#N]). Performance: "layer/arch/K".
  std::string id;
  // Performance: "starts_per_s", "e2e_p50", ..., "errors" (cycles that failed, summed over
  // trials), or "" for a whole group present in one report only. Conformance: "status".
  std::string metric;

  // Performance only.
  std::string layer, arch;
  int concurrency = 0;
  std::optional<double> baseline, current;  // median over trials; absent on that side
  int baseline_trials = 0, current_trials = 0;
  std::optional<double> change;  // relative; positive means worse; absent when undefined
  std::optional<double> noise;   // both sides' trial CVs combined (root sum of squares);
                                 // absent when unknown (1 trial each)
  double threshold = 0;
  bool higher_is_better = false;

  // Conformance only: statuses ("" on the side that lacks the case) and the current
  // report's reason (the baseline's for a missing case).
  std::string baseline_status, current_status;
  std::string reason;

  Verdict verdict = Verdict::kOk;
  std::string note;  // "pass -> fail", "noise unknown (1 trial)", "errors appeared"
};

struct CompareSummary {
  int groups_compared = 0;  // throughput groups present in both reports
  int cases_compared = 0;   // cases present in both reports
  int cases_unchanged = 0;  // ... whose status is the same (they have no row)
  int performance_regressions = 0;
  int conformance_regressions = 0;
  // Rows by verdict.
  int ok = 0, improved = 0, regression = 0, noise = 0, added = 0, missing = 0, skipped = 0;

  int regressions() const { return performance_regressions + conformance_regressions; }
};

struct CompareResult {
  CompareOptions options;
  bool baseline_complete = true, current_complete = true;
  std::string baseline_started_at, current_started_at;
  // Performance rows first (groups in baseline order, then groups only in current), then
  // conformance rows (baseline case order, then cases only in current). Conformance cases
  // whose status did not change have no row; they are counted in the summary.
  std::vector<CompareRow> rows;
  CompareSummary summary;

  bool HasRegression() const { return summary.regressions() > 0; }
};

// Compares `current` against `baseline`. InvalidArgument, naming the report (by the names in
// options) and the field, when a throughput section is malformed or the options are unusable.
Result<CompareResult> CompareReports(const RunReport& baseline, const RunReport& current,
                                     const CompareOptions& options);

// Reads and validates a report.json. InvalidArgument naming the file (and the field, for a
// file that is JSON but not a polyarch report) for every failure, unreadable files included:
// to `compare` they are all bad input.
Result<RunReport> LoadReportFile(const std::string& path);

// The table people read: performance rows with aligned columns (layer/arch/K, metric,
// baseline, current, change, noise, verdict), the conformance changes with their reasons,
// and a one-line verdict. Text from the reports is made printable (no terminal escapes).
std::string FormatCompareTable(const CompareResult& result);

// {"schema_version":1,"kind":"polyarch.compare","baseline","current","max_regression",
//  "noise_k","metrics","strict","rows":[...],"summary":{...}}; see docs/compare.md.
nlohmann::json CompareJson(const CompareResult& result);

inline constexpr int kCompareSchemaVersion = 1;

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_COMPARE_COMPARE_H_
