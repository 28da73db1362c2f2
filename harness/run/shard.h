// Sharding a run: `polyarch run --shard I/N` runs the I-th of N parts of the plan, so that N
// runs (on N machines, or N CI runners) with I = 1..N cover the unsharded plan exactly once,
// and `polyarch merge` puts their reports back together.
//
// The plan is cut into units, not cases: a unit is what must run whole on one machine.
//   - a case of lifecycle, crossarch or spec is its own unit, with all its --repeat runs
//     ("spec/runc/s390x/process_args");
//   - a restart scenario is one unit over every layer and arch it serves
//     ("restart/containerd_sigkill_keeps_containers"): one daemon event serves them all;
//   - the throughput suite is one unit ("throughput"): its figures are read side by side;
//   - the fault suite is one unit ("faults").
// Without weights a unit goes to shard 1 + (FNV-1a 64 of its id) mod N: stable across
// machines, across polyarch versions and across changes of plan order or of other units.
// With weights (the seconds each unit took in an earlier report) the units are dealt
// heaviest first to the least loaded shard (ties by id, then by shard number), which keeps
// the slowest shard close to the mean; a unit the weights do not know weighs the median.
#ifndef POLYARCH_HARNESS_RUN_SHARD_H_
#define POLYARCH_HARNESS_RUN_SHARD_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/report/result.h"

namespace polyarch {

struct ShardSpec {
  int index = 0;  // 1-based; 0 with count 0: not sharded
  int count = 0;
  bool active() const { return count > 0; }
  std::string ToString() const { return std::to_string(index) + "/" + std::to_string(count); }
};
// "2/3" -> {2, 3}. InvalidArgument unless 1 <= I <= N <= 1000.
Result<ShardSpec> ParseShard(std::string_view text);

// The unit a case belongs to, from its suite, its id without the repeat suffix and its name.
std::string ShardUnitOf(std::string_view suite, std::string_view id, std::string_view name);
std::string ShardUnitOf(const CaseResult& c);

// Seconds per unit, summed over the cases of an earlier report (every repeat counted).
std::map<std::string, double> ShardWeightsFromReport(const RunReport& report);
// The same, read from a report.json; the error names the file.
Result<std::map<std::string, double>> LoadShardWeights(const std::string& path);

// Deals `units` (any order, duplicates ignored) over `count` shards: unit -> 1..count.
// Empty weights: by hash. Otherwise heaviest first to the least loaded shard.
std::map<std::string, int> AssignShards(const std::vector<std::string>& units, int count,
                                        const std::map<std::string, double>& weights);
// The weight each shard is given, index 0 for shard 1 (the median for unknown units); all
// zero without weights.
std::vector<double> ShardLoads(const std::map<std::string, int>& assignment, int count,
                               const std::map<std::string, double>& weights);

// What identifies a plan across machines: sha256 (first 16 hex digits) of the sorted unit
// ids and the selection that produced them. Two runs with the same fingerprint planned the
// same cases.
std::string PlanFingerprint(std::vector<std::string> units, const nlohmann::json& selection);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_SHARD_H_
