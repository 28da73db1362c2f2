// `polyarch merge`: reports of several runs made into one. Two modes, chosen from what it is
// given:
//   - shards of one plan (`polyarch run --shard I/N`, I = 1..N): one report, as the
//     unsharded run would have written it in cases and verdicts. A shard missing, given
//     twice, or of another plan (another fingerprint) is an error naming the file;
//   - whole runs of the same plan on several hosts: a fleet report, which lines the hosts up
//     (host x layer x arch), lists the cases whose verdicts differ between hosts, puts the
//     hosts' throughput side by side and names the context fields that differ (kernel, QEMU,
//     runtime versions), beside the failures they line up with.
// Pure over loaded reports; the command reads and writes the files.
#ifndef POLYARCH_HARNESS_MERGE_MERGE_H_
#define POLYARCH_HARNESS_MERGE_MERGE_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/report/result.h"

namespace polyarch {

struct NamedReport {
  std::string file;  // as given, for messages
  RunReport report;
};

enum class MergeMode { kShards, kFleet };
// Shards when every report is one, fleet when none is; InvalidArgument naming the files
// otherwise, or when fewer than two reports are given.
Result<MergeMode> ChooseMergeMode(const std::vector<NamedReport>& reports);

// The shards as one report, cases in id order, exit code and reasons decided again over the
// union. `out_dir` is where the merged files go (the report's paths section).
Result<RunReport> MergeShards(const std::vector<NamedReport>& shards, const std::string& out_dir);

// The fleet report (kind polyarch.fleet), its exit code under "exit_code": the worst of the
// hosts' (4 interrupted, 3 environment, 1 failed, 0 all passed).
Result<nlohmann::json> BuildFleetReport(const std::vector<NamedReport>& hosts);
std::string FormatFleetConsole(const nlohmann::json& fleet, bool color);
std::string FormatFleetHtml(const nlohmann::json& fleet);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_MERGE_MERGE_H_
