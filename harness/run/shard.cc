#include "harness/run/shard.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>

#include "harness/compare/compare.h"
#include "images/digest.h"

namespace polyarch {

Result<ShardSpec> ParseShard(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("--shard takes I/N with 1 <= I <= N <= 1000 (e.g. 2/3), got '" +
                           std::string(text) + "'");
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  auto number = [](std::string_view s, int* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  ShardSpec spec;
  if (!number(text.substr(0, slash), &spec.index) || !number(text.substr(slash + 1), &spec.count))
    return bad();
  if (spec.count < 1 || spec.count > 1000 || spec.index < 1 || spec.index > spec.count)
    return bad();
  return spec;
}

std::string ShardUnitOf(std::string_view suite, std::string_view id, std::string_view name) {
  if (suite == "restart") return "restart/" + std::string(name);
  if (suite == "throughput" || suite == "faults") return std::string(suite);
  return std::string(id);
}

std::string ShardUnitOf(const CaseResult& c) {
  return ShardUnitOf(c.suite, c.suite + "/" + c.layer + "/" + c.arch + "/" + c.name, c.name);
}

std::map<std::string, double> ShardWeightsFromReport(const RunReport& report) {
  std::map<std::string, double> w;
  for (const auto& c : report.cases) w[ShardUnitOf(c)] += static_cast<double>(c.duration_ns) / 1e9;
  return w;
}

Result<std::map<std::string, double>> LoadShardWeights(const std::string& path) {
  auto report = LoadReportFile(path);
  if (!report.ok()) return report.status().WithContext("--shard-weights");
  return ShardWeightsFromReport(*report);
}

namespace {

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 1.0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A unit's weight: what the earlier report says, the median of the known ones otherwise.
struct Weigher {
  explicit Weigher(const std::map<std::string, double>& w) : weights(w) {
    std::vector<double> all;
    for (const auto& [unit, s] : w) all.push_back(s);
    median = MedianOf(std::move(all));
  }
  double operator()(const std::string& unit) const {
    auto it = weights.find(unit);
    return it == weights.end() ? median : it->second;
  }
  const std::map<std::string, double>& weights;
  double median = 1.0;
};

}  // namespace

std::map<std::string, int> AssignShards(const std::vector<std::string>& units, int count,
                                        const std::map<std::string, double>& weights) {
  std::map<std::string, int> out;
  const std::set<std::string> unique(units.begin(), units.end());
  if (count < 1) return out;
  if (weights.empty()) {
    for (const auto& u : unique) out[u] = 1 + static_cast<int>(Fnv1a64(u) % count);
    return out;
  }
  Weigher weight(weights);
  std::vector<std::pair<double, std::string>> order;
  for (const auto& u : unique) order.emplace_back(weight(u), u);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<double> load(count, 0.0);
  for (const auto& [w, u] : order) {
    int least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += w;
    out[u] = least + 1;
  }
  return out;
}

std::vector<double> ShardLoads(const std::map<std::string, int>& assignment, int count,
                               const std::map<std::string, double>& weights) {
  std::vector<double> load(std::max(count, 0), 0.0);
  if (weights.empty()) return load;
  Weigher weight(weights);
  for (const auto& [unit, shard] : assignment) {
    if (shard >= 1 && shard <= count) load[shard - 1] += weight(unit);
  }
  return load;
}

std::string PlanFingerprint(std::vector<std::string> units, const nlohmann::json& selection) {
  std::sort(units.begin(), units.end());
  units.erase(std::unique(units.begin(), units.end()), units.end());
  std::string text = selection.dump() + "\n";
  for (const auto& u : units) text += u + "\n";
  return Sha256Hex(text).substr(0, 16);
}

}  // namespace polyarch
