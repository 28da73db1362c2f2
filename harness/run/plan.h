// The plan of a run: which suites, over which layers and arches, how often and how wide.
// It comes from `polyarch run` flags or from a suite file (YAML or JSON, the same keys),
// and is validated whole before anything on the host is touched.
#ifndef POLYARCH_HARNESS_RUN_PLAN_H_
#define POLYARCH_HARNESS_RUN_PLAN_H_

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "harness/core/proc.h"
#include "harness/core/status.h"

namespace polyarch {

inline const std::vector<std::string>& KnownSuites() {
  // throughput and faults are opt-in: a benchmark, and failures injected for real.
  static const std::vector<std::string> k = {"lifecycle", "crossarch",  "spec",
                                             "restart",   "throughput", "faults"};
  return k;
}
// A layer is an OCI runtime alone ("runc", "crun") or an engine over one, ENGINE:RUNTIME. The
// bare engine names keep their first meaning: "containerd" is containerd:runc, "docker" is
// docker:runc; those spellings are accepted and become the bare names (CanonicalLayer).
// podman came later and is always named with its runtime; a bare "podman" is its own
// default, podman:crun.
inline const std::vector<std::string>& KnownLayers() {
  static const std::vector<std::string> k = {
      "runc",   "crun",        "containerd",  "containerd:crun",
      "docker", "docker:crun", "podman:crun", "podman:runc"};
  return k;
}
// "runc, crun, ...": every known layer, for messages and --help.
inline std::string LayerNames() {
  std::string out;
  for (const auto& l : KnownLayers()) out += (out.empty() ? "" : ", ") + l;
  return out;
}
inline std::string CanonicalLayer(const std::string& name) {
  if (name == "containerd:runc") return "containerd";
  if (name == "docker:runc") return "docker";
  if (name == "podman") return "podman:crun";
  return name;
}
// The engine of a layer ("containerd", "docker", "podman"), "" for a runtime alone.
inline std::string LayerEngine(const std::string& layer) {
  if (layer == "runc" || layer == "crun") return "";
  return layer.substr(0, layer.find(':'));
}
// The OCI runtime a layer runs its containers with.
inline std::string LayerRuntime(const std::string& layer) {
  size_t colon = layer.find(':');
  if (colon != std::string::npos) return layer.substr(colon + 1);
  return layer == "crun" ? "crun" : "runc";
}

// The layers whose runtime binary a plan may replace (--runtime-binary LAYER=PATH): every one.
// The OCI runtime layers run it; containerd's runc shim calls it instead of the layer's
// runtime; the private dockerd registers it as the layer's runtime; the layer's podman service
// runs every container with it.
inline bool IsRuntimeBinaryLayer(const std::string& layer) {
  const auto& k = KnownLayers();
  return std::find(k.begin(), k.end(), layer) != k.end();
}

// What one container's cycle is in the throughput suite: "run" (one call of the stack where
// the layer has one, e.g. `crun run`), "lifecycle" (create, start, wait, delete, each timed),
// or "auto": run where the layer has a single-call run, lifecycle elsewhere.
inline const std::vector<std::string>& KnownCycles() {
  static const std::vector<std::string> k = {"auto", "run", "lifecycle"};
  return k;
}

struct ThroughputPlan {
  std::string cycle = "auto";                 // one of KnownCycles()
  int containers = 40;                        // N per layer × arch × K
  std::vector<int> concurrency = {1, 4, 10};  // the K values
  int warmup = 2;                             // iterations per worker not counted
  double duration_s = 0;                      // > 0: run for this long instead of N containers
  bool mixed_arch = false;                    // also a storm spread over every arch at once
  int trials = 1;                             // repetitions of each K, for the noise model
};

struct Plan {
  std::vector<std::string> suites = {"lifecycle", "crossarch", "spec", "restart"};
  std::vector<std::string> layers = KnownLayers();
  std::vector<const ArchInfo*> arches;  // empty: every arch that has an image
  std::string filter = "*";             // glob over case names ("exit_code_*", "*/s390x/*")
  int repeat = 1;
  int jobs = UsableCores();  // workers for the cases that may run side by side
  bool strict = false;       // a skip counts as a failure, and so does an xpass case
  bool keep = false;         // leave the run directory (bundles, daemon state, logs) behind
  std::string report_dir;
  std::chrono::milliseconds step_timeout{60000};
  std::map<std::string, std::string> runtime_binaries;  // layer -> binary ("runc" -> path)
  std::string containerd_address;  // use this containerd instead of a private one
  std::string docker_host;         // use this dockerd (unix:///path) instead of a private one
  std::string baseline;            // compare against this earlier report at the end
  double max_regression = 0.10;    // for the baseline comparison
  // Files of known deviations (harness/run/expectations.h), applied after the built-in set.
  std::vector<std::string> expectations;
  bool builtin_expectations = true;  // apply suites/expectations.json, carried by the binary
  ThroughputPlan throughput;
  // --shard I/N (harness/run/shard.h): run only the I-th of N parts; 0/0 runs everything.
  int shard_index = 0;
  int shard_count = 0;
  std::string shard_weights;  // an earlier report.json whose durations balance the shards
  std::string node;           // the host's name in reports (default: the hostname)

  nlohmann::json ToJson() const;
};

// Comma-separated names, each one of `known`. InvalidArgument names the bad one.
Result<std::vector<std::string>> ParseNameList(std::string_view list,
                                               const std::vector<std::string>& known,
                                               std::string_view what);

// Reads a suite file. Errors carry "file:line: " and name the key or value at fault.
Result<Plan> LoadSuiteFile(const std::string& path);
Result<Plan> ParseSuiteText(const std::string& text, const std::string& name);

// Checks values that flags and files can both get wrong (ranges, combinations).
Status ValidatePlan(const Plan& plan);

// fnmatch-style glob ('*', '?', '[...]').
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_PLAN_H_
