// polyarch compare BASELINE.json CURRENT.json: the nightly gate on conformance and start-time
// regressions between two reports written by `polyarch run`.
#include <iostream>
#include <memory>

#include "harness/cli/cli.h"
#include "harness/compare/compare.h"
#include "harness/core/fs.h"

namespace polyarch {

void AddCompareCommand(CLI::App& app, const GlobalOptions& /*global*/, int& exit_code) {
  struct Opts {
    std::string baseline;
    std::string current;
    std::string max_regression = "10%";
    std::string metrics = "starts_per_s,e2e_p50,e2e_p99";
    double noise_k = CompareOptions().noise_k;
    std::string json_out;
    bool strict = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare two reports written by `polyarch run` (report.json) and fail on a regression.\n"
      "Conformance: cases are matched by id; a case that passed and now fails, errors or\n"
      "aborts is a regression (pass -> skip and missing cases only with --strict).\n"
      "Performance: throughput rows are grouped by layer x arch x concurrency, repeated trials\n"
      "reduced to their median; a worsening is a regression only when it exceeds both\n"
      "--max-regression and --noise-k x the coefficient of variation across trials. Failed\n"
      "cycles in a group that had none are a regression too. Changes nothing.\n"
      "Exit: 0 no regression, 1 regression, 2 bad input (unreadable or invalid report, bad "
      "flag).");
  cmd->add_option("BASELINE", o->baseline, "The reference report.json")->required();
  cmd->add_option("CURRENT", o->current, "The report.json to judge")->required();
  cmd->add_option("--max-regression", o->max_regression,
                  "Worsening allowed before a change counts: 10% or 0.1")
      ->capture_default_str();
  cmd->add_option("--metric", o->metrics,
                  "Comma-separated metrics: starts_per_s, e2e_p50, e2e_p99, create_p50, "
                  "start_p50, wait_p50, delete_p50")
      ->capture_default_str();
  cmd->add_option("--noise-k", o->noise_k,
                  "A change must also exceed this many times the trials' coefficient of "
                  "variation")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--json-out", o->json_out,
                  "Also write the comparison as JSON (kind polyarch.compare) to this file");
  cmd->add_flag("--strict", o->strict,
                "Count cases now skipped or missing, and throughput groups now missing, as "
                "regressions");
  cmd->callback(Command(exit_code, [o]() -> Result<int> {
    // Every flag and both files are checked before anything is printed, so a bad invocation
    // in CI shows one error line, not half a table.
    auto threshold = ParseThreshold(o->max_regression);
    if (!threshold.ok()) return threshold.status().WithContext("--max-regression");
    auto metrics = ParseMetricList(o->metrics);
    if (!metrics.ok()) return metrics.status().WithContext("--metric");
    auto baseline = LoadReportFile(o->baseline);
    if (!baseline.ok()) return baseline.status();
    auto current = LoadReportFile(o->current);
    if (!current.ok()) return current.status();
    CompareOptions options;
    options.max_regression = *threshold;
    options.noise_k = o->noise_k;
    options.metrics = *metrics;
    options.strict = o->strict;
    options.baseline_name = o->baseline;
    options.current_name = o->current;
    auto result = CompareReports(*baseline, *current, options);
    if (!result.ok()) return result.status();
    std::cout << FormatCompareTable(*result) << std::flush;
    if (!o->json_out.empty()) {
      std::string doc =
          CompareJson(*result).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      if (Status st = WriteFileAtomic(o->json_out, doc); !st.ok()) {
        return st.WithContext("--json-out");
      }
    }
    return result->HasRegression() ? kExitCheckFailed : kExitOk;
  }));
}

}  // namespace polyarch
