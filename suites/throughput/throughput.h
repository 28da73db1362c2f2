// The parallel-start throughput suite: a closed loop of N containers, at most K in flight,
// each running a probe that exits at once, with end-to-end latencies per container, through
// one driver per worker. A container's cycle is either the layer's run (one call of the stack
// where it has one: `crun run`, the path users compare a runtime with) or the four verbs
// create → start → wait → delete, each timed, which also yields per-operation percentiles. A full
// lifecycle is validated before timing and warm-up iterations are not counted. Calibration (the raw
// spawn floor, polyarch's own spawn path, the null driver's ceiling) is measured in the same run so
// every figure can be read as a ratio.
#ifndef POLYARCH_SUITES_THROUGHPUT_THROUGHPUT_H_
#define POLYARCH_SUITES_THROUGHPUT_THROUGHPUT_H_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/status.h"
#include "harness/drivers/driver.h"
#include "harness/report/result.h"
#include "harness/report/stats.h"

namespace polyarch {

// What one container's cycle is.
enum class CyclePath {
  kRun,        // Driver::Run: latency "run" (and end_to_end)
  kLifecycle,  // create, start, wait, delete: latencies per operation (and end_to_end)
};
std::string_view CyclePathName(CyclePath p);  // "run", "lifecycle"
// "auto" (nullopt: run where the layer has a single-call run, lifecycle elsewhere), "run",
// "lifecycle"; anything else is InvalidArgument.
Result<std::optional<CyclePath>> ParseCyclePath(std::string_view text);
// The path a layer is measured on when `chosen` is the plan's choice.
CyclePath CyclePathFor(const Capabilities& layer, std::optional<CyclePath> chosen);

struct ThroughputConfig {
  CyclePath path = CyclePath::kLifecycle;
  int containers = 40;    // N, counted containers per measurement
  int concurrency = 1;    // K
  int warmup = 2;         // per worker, not counted
  double duration_s = 0;  // > 0: keep starting until this much time has passed (N is a minimum)
  std::chrono::milliseconds step_timeout{60000};
  std::string id_prefix;
  std::vector<const ArchInfo*> arches;  // one arch, or several for a mixed-arch storm
};

// CPU time consumed during a measurement, in seconds.
struct CpuSample {
  double harness = 0;   // polyarch itself (RUSAGE_SELF)
  double children = 0;  // reaped children: runtimes, shims (RUSAGE_CHILDREN)
  double daemons = 0;   // containerd and dockerd, from their /proc stat
};

struct ThroughputMeasurement {
  std::string layer;
  std::string arch;  // or "mixed"
  CyclePath path = CyclePath::kLifecycle;
  int concurrency = 0;
  int trial = 0;
  int started = 0;   // counted containers that went through the whole cycle
  int errors = 0;    // cycles where a step failed
  int timeouts = 0;  // cycles where wait hit the deadline
  double wall_s = 0;
  double starts_per_s = 0;
  // run or create, start, wait, delete (by path); end_to_end
  std::map<std::string, Distribution> latency_ms;
  CpuSample cpu;
  std::vector<std::string> first_errors;  // a few, for the report
};

// Runs one measurement. `validate` first takes one container through the whole lifecycle
// and fails the measurement with its reason if it does not work.
ThroughputMeasurement MeasureThroughput(Layer& layer, const ThroughputConfig& config,
                                        const std::vector<int>& daemon_pids, int trial = 0);

// The floor and the ceiling, measured now: posix_spawn of /bin/true, polyarch's Subprocess
// of /bin/true, and the null driver's full cycle, as rates per second.
struct Calibration {
  double raw_spawn_per_s = 0;
  double polyarch_spawn_per_s = 0;
  double null_cycles_per_s = 0;
};
Calibration Calibrate(int iterations = 300);

nlohmann::json MeasurementJson(const ThroughputMeasurement& m);
nlohmann::json CalibrationJson(const Calibration& c);

// Scaling figures over the measurements of one layer × arch (pure): for each K, the
// efficiency T(K) / (K · T(1)) and p99(K) / p50(1) of the end-to-end latency.
struct Scaling {
  int concurrency = 0;
  double efficiency = 0;
  double p99_over_p50_at_1 = 0;
};
std::vector<Scaling> ComputeScaling(const std::vector<ThroughputMeasurement>& same_layer_arch);

// The suite as a run runs it: every layer × arch (and, with mixed_arch, a storm over every
// arch at once) × K × trial is a case, in that order, each reported as it finishes.
struct ThroughputRunConfig {
  std::optional<CyclePath> path;  // nullopt: CyclePathFor each layer
  int containers = 40;
  std::vector<int> concurrency = {1, 4, 10};
  int warmup = 2;
  double duration_s = 0;
  int trials = 1;
  bool mixed_arch = false;
  std::chrono::milliseconds step_timeout{60000};
  std::string id_prefix;         // the run's prefix; measurements add "tp<N>-"
  std::vector<int> daemon_pids;  // whose CPU time is counted as the daemons'
  std::function<bool()> stop;    // true once the run was interrupted
  std::function<void(const std::string& id)> on_start;
  std::function<void(CaseResult)> on_result;
  // Why an arch cannot run at all in this run (no emulator): "" when it can.
  std::function<std::string(const ArchInfo&)> arch_unavailable;
};
struct ThroughputLayerRef {
  std::string name;
  Layer* layer = nullptr;   // nullptr: the layer is unavailable
  std::string unavailable;  // why, then
};
struct ThroughputSections {
  nlohmann::json rows = nlohmann::json::array();  // sections.throughput
  nlohmann::json calibration;                     // sections.calibration
};
ThroughputSections RunThroughputSuite(const ThroughputRunConfig& config,
                                      const std::vector<ThroughputLayerRef>& layers,
                                      const std::vector<const ArchInfo*>& arches);

}  // namespace polyarch

#endif  // POLYARCH_SUITES_THROUGHPUT_THROUGHPUT_H_
