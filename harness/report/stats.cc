#include "harness/report/stats.h"

#include <algorithm>
#include <cmath>

#include "harness/core/json_int.h"

namespace polyarch {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  if (sorted.size() == 1) return sorted[0];
  double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Distribution ComputeDistribution(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.count = static_cast<int64_t>(values.size());
  d.min = values.front();
  d.max = values.back();
  d.p50 = Percentile(values, 50);
  d.p90 = Percentile(values, 90);
  d.p99 = Percentile(values, 99);
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values) sq += (v - d.mean) * (v - d.mean);
    d.stddev = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  d.cv = d.mean != 0 ? d.stddev / d.mean : 0;
  return d;
}

nlohmann::json DistributionJson(const Distribution& d) {
  return {{"count", d.count}, {"min", d.min},       {"p50", d.p50},
          {"p90", d.p90},     {"p99", d.p99},       {"max", d.max},
          {"mean", d.mean},   {"stddev", d.stddev}, {"cv", d.cv}};
}

bool DistributionFromJson(const nlohmann::json& j, Distribution* out) {
  *out = Distribution{};
  if (!j.is_object() || !j.contains("count")) return false;
  std::optional<int64_t> count = JsonInteger<int64_t>(j["count"]);
  if (!count || *count < 0) return false;
  auto num = [&](const char* key, double* v) {
    auto it = j.find(key);
    if (it != j.end() && it->is_number()) *v = it->get<double>();
  };
  out->count = *count;
  num("min", &out->min);
  num("p50", &out->p50);
  num("p90", &out->p90);
  num("p99", &out->p99);
  num("max", &out->max);
  num("mean", &out->mean);
  num("stddev", &out->stddev);
  num("cv", &out->cv);
  return true;
}

}  // namespace polyarch
