// Statistics over measured values: pure functions, no I/O. Timings are reported as
// distributions (count, percentiles, max, errors), never as a mean alone.
#ifndef POLYARCH_HARNESS_REPORT_STATS_H_
#define POLYARCH_HARNESS_REPORT_STATS_H_

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyarch {

struct Distribution {
  int64_t count = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  double mean = 0, stddev = 0;
  double cv = 0;  // coefficient of variation: stddev / mean (0 when mean is 0)
};

// Percentiles by linear interpolation between closest ranks (the definition NumPy calls
// "linear"); an empty input gives a zero Distribution with count 0.
Distribution ComputeDistribution(std::vector<double> values);
double Percentile(const std::vector<double>& sorted, double p);

nlohmann::json DistributionJson(const Distribution& d);
// The inverse, for reports read back (a throughput section). Tolerant: a missing or
// non-numeric field stays 0; false only when j is not an object with a numeric "count".
bool DistributionFromJson(const nlohmann::json& j, Distribution* out);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_REPORT_STATS_H_
