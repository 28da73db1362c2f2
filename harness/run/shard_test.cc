#include "harness/run/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace polyarch {
namespace {

TEST(ShardTest, ParsesIOverN) {
  auto s = ParseShard("2/3");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 3);
  EXPECT_EQ(s->ToString(), "2/3");
  for (const char* bad : {"", "3", "0/3", "4/3", "1/0", "a/3", "1/3x", "-1/3", "1/1001", "/"}) {
    auto r = ParseShard(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("I/N"), std::string::npos);
    }
  }
}

TEST(ShardTest, UnitsKeepWhatMustRunWhole) {
  EXPECT_EQ(ShardUnitOf("spec", "spec/runc/s390x/process_args", "process_args"),
            "spec/runc/s390x/process_args");
  EXPECT_EQ(ShardUnitOf("restart", "restart/docker/amd64/dockerd_x", "dockerd_x"),
            "restart/dockerd_x");
  EXPECT_EQ(ShardUnitOf("throughput", "throughput/runc/amd64/k4", "k4"), "throughput");
  EXPECT_EQ(ShardUnitOf("faults", "faults/x/amd64/y", "y"), "faults");
  CaseResult c;
  c.suite = "lifecycle";
  c.layer = "crun";
  c.arch = "arm64";
  c.name = "create";
  c.repeat = 2;  // repeats stay with their case
  EXPECT_EQ(ShardUnitOf(c), "lifecycle/crun/arm64/create");
}

std::vector<std::string> ManyUnits(int n) {
  std::vector<std::string> units;
  for (int i = 0; i < n; ++i) units.push_back("spec/runc/amd64/rule_" + std::to_string(i));
  units.emplace_back("restart/containerd_sigterm_keeps_containers");
  units.emplace_back("throughput");
  return units;
}

TEST(ShardTest, ByHashEveryUnitOnceAndStableUnderOrderAndNeighbours) {
  std::vector<std::string> units = ManyUnits(600);
  auto a = AssignShards(units, 3, {});
  ASSERT_EQ(a.size(), units.size());
  std::vector<int> per(3, 0);
  for (const auto& [u, s] : a) {
    ASSERT_GE(s, 1);
    ASSERT_LE(s, 3);
    ++per[s - 1];
  }
  for (int n : per) EXPECT_GT(n, 150) << "a hash that spreads poorly";
  // Another order, duplicates, and units added or removed elsewhere move nothing.
  std::vector<std::string> other(units.rbegin(), units.rend());
  other.push_back(units[5]);
  other.emplace_back("lifecycle/crun/amd64/new_case");
  auto b = AssignShards(other, 3, {});
  for (const auto& [u, s] : a) EXPECT_EQ(b.at(u), s) << u;
  // Pinned: a change of the hash would move cases between runners of one plan that run
  // different polyarch builds.
  EXPECT_EQ(AssignShards({"throughput"}, 3, {}).at("throughput"), 1);
  EXPECT_EQ(AssignShards({"spec/runc/amd64/rule_0"}, 7, {}).at("spec/runc/amd64/rule_0"), 6);
  EXPECT_EQ(ShardLoads(a, 3, {}), (std::vector<double>{0, 0, 0}));
}

TEST(ShardTest, WeightsBalanceTheSlowestShardNearTheMean) {
  std::vector<std::string> units = ManyUnits(300);
  std::map<std::string, double> w;
  // Skewed durations: a few heavy units (the restart scenario, throughput), many light ones,
  // some unknown to the weights (they weigh the median).
  for (int i = 0; i < 280; ++i)
    w["spec/runc/amd64/rule_" + std::to_string(i)] = 0.2 + (i % 17) * 0.3;
  w["restart/containerd_sigterm_keeps_containers"] = 40;
  w["throughput"] = 60;
  for (int n : {2, 3, 4, 7}) {
    auto a = AssignShards(units, n, w);
    ASSERT_EQ(a.size(), units.size());
    std::vector<double> loads = ShardLoads(a, n, w);
    double total = std::accumulate(loads.begin(), loads.end(), 0.0);
    double slowest = *std::max_element(loads.begin(), loads.end());
    EXPECT_LE(slowest, 1.3 * total / n) << n << " shards";
    // Deterministic: the same input deals the same way.
    EXPECT_EQ(AssignShards(units, n, w), a);
  }
  // By hash alone the same units are far less even.
  auto by_hash = AssignShards(units, 3, {});
  std::vector<double> loads = ShardLoads(by_hash, 3, w);
  EXPECT_GT(*std::max_element(loads.begin(), loads.end()), 0);
}

TEST(ShardTest, WeightsFromAReportSumCasesPerUnit) {
  RunReport r;
  auto add = [&](std::string suite, std::string name, int repeat, int64_t ms) {
    CaseResult c;
    c.suite = std::move(suite);
    c.layer = "runc";
    c.arch = "amd64";
    c.name = std::move(name);
    c.repeat = repeat;
    c.duration_ns = ms * 1000000;
    r.cases.push_back(c);
  };
  add("spec", "a", 0, 100);
  add("spec", "a", 1, 300);
  add("restart", "containerd_sigkill_keeps_containers", 0, 2000);
  add("throughput", "k1", 0, 5000);
  add("throughput", "k4", 0, 1000);
  auto w = ShardWeightsFromReport(r);
  EXPECT_DOUBLE_EQ(w.at("spec/runc/amd64/a"), 0.4);
  EXPECT_DOUBLE_EQ(w.at("restart/containerd_sigkill_keeps_containers"), 2.0);
  EXPECT_DOUBLE_EQ(w.at("throughput"), 6.0);
  EXPECT_EQ(w.size(), 3u);
  auto missing = LoadShardWeights("/nonexistent/report.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--shard-weights"), std::string::npos);
}

TEST(ShardTest, FingerprintIsTheUnitSetAndSelectionNotTheirOrder) {
  nlohmann::json sel = {{"suites", {"spec"}}, {"arches", {"amd64"}}};
  std::string a = PlanFingerprint({"b", "a", "c"}, sel);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(PlanFingerprint({"c", "b", "a", "a"}, sel), a);
  EXPECT_NE(PlanFingerprint({"a", "b"}, sel), a);
  EXPECT_NE(PlanFingerprint({"a", "b", "c"}, {{"suites", {"lifecycle"}}}), a);
}

}  // namespace
}  // namespace polyarch
