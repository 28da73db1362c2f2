// A console reporter that also keeps every benchmark's per-repetition real time, so a
// program can print ratios of medians measured side by side in the same run.
#ifndef POLYARCH_BENCH_RATIO_REPORTER_H_
#define POLYARCH_BENCH_RATIO_REPORTER_H_

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace polyarch {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) {
        times_[r.run_name.function_name].push_back(r.GetAdjustedRealTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // Median real time per iteration over the repetitions, in the benchmark's time unit
  // (nanoseconds by default); 0 when the benchmark did not run.
  double Median(const std::string& name) const {
    auto it = times_.find(name);
    if (it == times_.end() || it->second.empty()) return 0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

 private:
  std::map<std::string, std::vector<double>> times_;
};

}  // namespace polyarch

#endif  // POLYARCH_BENCH_RATIO_REPORTER_H_
