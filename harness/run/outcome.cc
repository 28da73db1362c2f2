#include "harness/run/outcome.h"

#include <utility>

namespace polyarch {
namespace {

// "a, b, c and 4 more": the first few items of what may be a long list (the report lists all).
std::string FirstFew(const std::vector<std::string>& items) {
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kShown) out += " and " + std::to_string(items.size() - kShown) + " more";
  return out;
}

}  // namespace

Outcome DecideOutcome(const OutcomeInputs& in) {
  Outcome out;
  auto because = [&out](ExitCode code, std::string reason) {
    if (out.code == kExitOk) out.code = code;
    out.reasons.push_back(std::move(reason));
  };
  const Summary& s = in.summary;
  if (!in.interrupted_by.empty()) because(kExitAborted, "interrupted by " + in.interrupted_by);
  const int not_passing = s.fail + s.error + s.aborted;
  if (not_passing > 0) {
    std::string counts;
    for (auto [n, what] : {std::pair{s.fail, "failed"}, std::pair{s.error, "errored"},
                           std::pair{s.aborted, "aborted"}}) {
      if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    }
    because(kExitCheckFailed, std::to_string(not_passing) + " of " + std::to_string(s.total) +
                                  (s.total == 1 ? " case" : " cases") + " did not pass (" + counts +
                                  ")");
  }
  if (!in.cleanup_problems.empty()) {
    std::string what;
    for (const auto& p : in.cleanup_problems) what += (what.empty() ? "" : "; ") + p;
    because(kExitCheckFailed, "cleanup did not restore the host: " + what);
  }
  if (in.strict && s.skip > 0) {
    because(kExitCheckFailed, "--strict: " + std::to_string(s.skip) + " skipped case" +
                                  (s.skip == 1 ? " counts" : "s count") + " as failures");
  }
  if (s.xpass > 0) {
    const std::string what =
        std::to_string(s.xpass) + (s.xpass == 1 ? " case" : " cases") +
        " passed that expectations list as known deviations (stale entries" +
        (in.strict ? "" : "; --strict fails the run") + ")" +
        (in.stale_expectations.empty() ? "" : ": " + FirstFew(in.stale_expectations));
    if (in.strict) {
      because(kExitCheckFailed, "--strict: " + what);
    } else {
      out.warnings.push_back(what);
    }
  }
  if (!in.unused_expectations.empty()) {
    const size_t n = in.unused_expectations.size();
    out.warnings.push_back(std::to_string(n) +
                           (n == 1 ? " expectations entry" : " expectations entries") +
                           " matched no case in this run: " + FirstFew(in.unused_expectations));
  }
  if (in.regression) {
    because(kExitCheckFailed,
            "a regression against the baseline " + in.baseline + " (compare.json)");
  }
  if (!in.baseline_error.empty()) {
    because(kExitUsage, "baseline " + in.baseline + ": " + in.baseline_error);
  }
  if (!in.report_error.empty()) {
    because(kExitEnvironment, "the report could not be written: " + in.report_error);
  }
  return out;
}

}  // namespace polyarch
