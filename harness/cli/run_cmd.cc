// polyarch run: the main job.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "binfmt/arch.h"
#include "harness/cli/cli.h"
#include "harness/compare/compare.h"
#include "harness/run/expectations.h"
#include "harness/run/plan.h"
#include "harness/run/runner.h"
#include "harness/run/shard.h"

namespace polyarch {

void AddRunCommand(CLI::App& app, const GlobalOptions& global, int& exit_code,
                   const std::string& command_line) {
  struct Opts {
    std::string suite_file, suites, layers, arches, filter, report_dir;
    std::vector<std::string> runtime_binary;
    std::string containerd_address, docker_host, baseline, max_regression;
    int repeat = 1, jobs = 1, step_timeout_s = 60;
    int containers = 40, warmup = 2, trials = 1;
    double duration = 0;
    std::string concurrency, cycle;
    bool mixed_arch = false;
    bool keep = false, strict = false, no_color = false;
    std::vector<std::string> expectations;
    bool no_builtin_expectations = false;
    std::string shard, shard_weights, node;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The main job. With no arguments: doctor pre-flight, register every QEMU emulator (F),\n"
      "build the images (cached), start a private containerd, dockerd and a podman service\n"
      "per runtime, run the lifecycle, cross-arch and spec suites over every layer (runc, crun,\n"
      "containerd, docker and podman, each engine over runc and crun) x every arch, then the\n"
      "restart suite (each daemon taken down and brought back under live containers), write\n"
      "report.json, junit.xml and report.html, clean up, and exit:\n"
      "0 all pass, 1 a case failed (with --strict: or was skipped, or passed although listed\n"
      "as a known deviation), 2 usage or bad plan, 3 environment unusable, 4 interrupted (the\n"
      "report is kept, marked incomplete). A failure an expectations file lists as a known\n"
      "deviation is reported as xfail and does not fail the run; a listed case that passes is\n"
      "xpass (the entry is stale). The built-in expectations (suites/expectations.json) always\n"
      "apply unless --no-builtin-expectations.\n"
      "A suite file (YAML or JSON) can give the plan; flags given as well override it.");
  cmd->add_option("--suite-file", o->suite_file, "Plan from a YAML or JSON file");
  cmd->add_option(
      "--suite", o->suites,
      "Suites: lifecycle, crossarch, spec (OCI config rules, docs/spec.md), restart (each "
      "daemon taken down and brought back under live containers) - these four are the default; "
      "throughput (a benchmark: opt-in), "
      "faults (failures injected for real, each with its own daemons: opt-in)");
  cmd->add_option("--layer", o->layers,
                  "Layers: " + LayerNames() +
                      " (default all; containerd means containerd:runc, docker docker:runc, "
                      "podman podman:crun)");
  cmd->add_option("--arch", o->arches, "Arches: all (default) or a list, e.g. amd64,s390x");
  cmd->add_option("--filter", o->filter,
                  "Glob over case names or ids (e.g. 'exit_code_*', '*/s390x/*')");
  cmd->add_option("--repeat", o->repeat, "Run every case N times")->check(CLI::Range(1, 1000));
  cmd->add_option("--jobs", o->jobs,
                  "Cases run in parallel, each worker with its own drivers (default: one per "
                  "usable core, " +
                      std::to_string(UsableCores()) + " here; cases that must run alone still do)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--report-dir", o->report_dir,
                  "Where the reports go (default <state-dir>/reports/<run-id>)");
  cmd->add_flag("--keep", o->keep, "Leave the run directory (bundles, daemon state, logs)");
  cmd->add_flag("--strict", o->strict,
                "A skipped case counts as a failure, and so does a case that passed although an "
                "expectations file lists it as a known deviation (xpass: a stale entry); CI uses "
                "it");
  cmd->add_option("--expectations", o->expectations,
                  "Known deviations from FILE (JSON, docs/run.md#known-deviations) besides the "
                  "built-in ones: a listed case that fails is xfail and does not fail the run. "
                  "Repeatable")
      ->allow_extra_args(false)
      ->type_name("FILE");
  cmd->add_flag("--no-builtin-expectations", o->no_builtin_expectations,
                "Do not apply the built-in known deviations (suites/expectations.json): every "
                "failure fails the run");
  cmd->add_option("--runtime-binary", o->runtime_binary,
                  "Use another runtime binary for a layer: LAYER=PATH, once per layer; runc and "
                  "crun run it, containerd's shim calls it instead of the layer's runtime, the "
                  "private dockerd registers it as the layer's runtime, the layer's podman "
                  "service runs every container with it; a bare PATH means runc");
  cmd->add_option("--containerd-address", o->containerd_address,
                  "Use this containerd (unix socket) instead of a private one; only the run's "
                  "own namespace is touched");
  cmd->add_option("--docker-host", o->docker_host,
                  "Use this dockerd (unix:///path) instead of a private one; only the run's "
                  "own containers are touched");
  cmd->add_option("--step-timeout", o->step_timeout_s, "Deadline of every step, in seconds")
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--no-color", o->no_color, "No ANSI colors on the console");
  cmd->add_option("--baseline", o->baseline,
                  "At the end, compare with this earlier report as `polyarch compare` does "
                  "(writes compare.json; a regression makes the exit code 1)");
  cmd->add_option("--max-regression", o->max_regression,
                  "Threshold for --baseline: '10%' or '0.1' (default 10%)");
  cmd->add_option("--shard", o->shard,
                  "Run only part I of N of the plan (e.g. 2/3): N runs with I = 1..N cover it "
                  "exactly once, cut by case id so every machine cuts it the same; a restart "
                  "scenario, the throughput suite and the fault suite each stay whole. "
                  "`polyarch merge` joins the N reports");
  cmd->add_option("--shard-weights", o->shard_weights,
                  "With --shard: an earlier report.json whose case durations balance the parts "
                  "(heaviest first to the lightest part) instead of cutting by id alone");
  cmd->add_option("--node", o->node,
                  "The host's name in the report (default: its hostname), e.g. a Kubernetes "
                  "node name; `polyarch merge` tells hosts apart by it");
  auto* tp = cmd->add_option_group("throughput", "For --suite throughput");
  tp->add_option("--cycle", o->cycle,
                 "One container's cycle: run (one call of the stack: `crun run`, `runc run`), "
                 "lifecycle (create, start, wait, delete, each timed: per-operation "
                 "percentiles), or auto (the default: run where the layer has it in one call, "
                 "lifecycle elsewhere)")
      ->check(CLI::IsMember(KnownCycles()));
  tp->add_option("--containers", o->containers, "Containers per measurement (N)")
      ->check(CLI::Range(1, 100000));
  tp->add_option("--concurrency", o->concurrency, "At most K in flight, a list: 1,2,4,10,50");
  tp->add_option("--duration", o->duration, "Keep starting for S seconds (N is then a minimum)")
      ->check(CLI::Range(0.0, 86400.0));
  tp->add_option("--warmup", o->warmup, "Cycles per worker before timing")
      ->check(CLI::Range(0, 1000));
  tp->add_option("--trials", o->trials, "Repeat each measurement (the noise model uses it)")
      ->check(CLI::Range(1, 100));
  tp->add_flag("--mixed-arch", o->mixed_arch, "Also a storm spread over every arch at once");
  cmd->callback(Command(exit_code, [o, cmd, &global, command_line]() -> Result<int> {
    Plan plan;
    if (!o->suite_file.empty()) {
      auto p = LoadSuiteFile(o->suite_file);
      if (!p.ok()) return p.status();
      plan = *p;
    }
    auto given = [&](const char* flag) { return cmd->get_option(flag)->count() > 0; };
    if (given("--suite")) {
      auto l = ParseNameList(o->suites, KnownSuites(), "suite");
      if (!l.ok()) return l.status();
      plan.suites = *l;
    }
    if (given("--layer")) {
      auto l = ParseNameList(o->layers, KnownLayers(), "layer");
      if (!l.ok()) return l.status();
      plan.layers = *l;
    }
    if (given("--arch")) {
      auto a = ParseArchList(o->arches, ArchScope::kAll);
      if (!a.ok()) return a.status();
      plan.arches = *a;
    }
    if (given("--filter")) plan.filter = o->filter;
    if (given("--repeat")) plan.repeat = o->repeat;
    if (given("--jobs")) plan.jobs = o->jobs;
    if (given("--report-dir")) plan.report_dir = o->report_dir;
    if (given("--step-timeout")) plan.step_timeout = std::chrono::seconds(o->step_timeout_s);
    if (given("--containerd-address")) plan.containerd_address = o->containerd_address;
    if (given("--docker-host")) plan.docker_host = o->docker_host;
    if (given("--cycle")) plan.throughput.cycle = o->cycle;
    if (given("--containers")) plan.throughput.containers = o->containers;
    if (given("--warmup")) plan.throughput.warmup = o->warmup;
    if (given("--trials")) plan.throughput.trials = o->trials;
    if (given("--duration")) plan.throughput.duration_s = o->duration;
    if (o->mixed_arch) plan.throughput.mixed_arch = true;
    if (given("--concurrency")) {
      std::vector<int> ks;
      std::string list = o->concurrency;
      size_t start = 0;
      while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(start, end - start);
        start = end + 1;
        char* stop = nullptr;
        long k = std::strtol(item.c_str(), &stop, 10);
        if (item.empty() || *stop != '\0' || k < 1 || k > 1000) {
          return InvalidArgument("--concurrency takes integers from 1 to 1000, got '" + item + "'");
        }
        ks.push_back(static_cast<int>(k));
      }
      plan.throughput.concurrency = ks;
    }
    if (given("--shard")) {
      auto shard = ParseShard(o->shard);
      if (!shard.ok()) return shard.status();
      plan.shard_index = shard->index;
      plan.shard_count = shard->count;
    }
    if (given("--shard-weights")) {
      // Read now so a bad file is refused before the run; the run reads it again.
      auto w = LoadShardWeights(o->shard_weights);
      if (!w.ok()) return w.status();
      plan.shard_weights = o->shard_weights;
    }
    if (given("--node")) {
      if (o->node.empty()) return InvalidArgument("--node needs a name");
      plan.node = o->node;
    }
    if (given("--baseline")) plan.baseline = o->baseline;
    if (given("--max-regression")) {
      auto t = ParseThreshold(o->max_regression);
      if (!t.ok()) return t.status();
      plan.max_regression = *t;
    }
    if (!plan.baseline.empty()) {
      // A baseline that cannot be read is refused before the run, not after it.
      auto b = LoadReportFile(plan.baseline);
      if (!b.ok()) return b.status();
    }
    plan.keep |= o->keep;
    plan.strict |= o->strict;
    // Files from the flags add to the suite file's; a bad one is refused before the run.
    for (const auto& f : o->expectations) plan.expectations.push_back(f);
    if (o->no_builtin_expectations) plan.builtin_expectations = false;
    auto expectations = LoadRunExpectations(plan.builtin_expectations, plan.expectations);
    if (!expectations.ok()) return expectations.status();
    for (const std::string& given : o->runtime_binary) {
      auto eq = given.find('=');
      std::string layer = CanonicalLayer(eq == std::string::npos ? "runc" : given.substr(0, eq));
      std::string path = eq == std::string::npos ? given : given.substr(eq + 1);
      if (!IsRuntimeBinaryLayer(layer) || path.empty()) {
        return InvalidArgument("--runtime-binary takes LAYER=PATH with LAYER a layer's name (" +
                               LayerNames() + "), got '" + given + "'");
      }
      // The daemons resolve it from their own working directory: made absolute here.
      if (path.find('/') != std::string::npos && path[0] != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd) != nullptr) path = std::string(cwd) + "/" + path;
      }
      plan.runtime_binaries[layer] = path;
    }
    PA_RETURN_IF_ERROR(ValidatePlan(plan));
    RunSettings settings;
    settings.plan = plan;
    settings.expectations = std::move(*expectations);
    settings.state_dir = global.state_dir;
    settings.probe_dir = DefaultProbeDir();
    settings.command_line = command_line;
    settings.version = POLYARCH_VERSION;
    settings.tty = ::isatty(STDERR_FILENO) == 1;
    settings.color = !o->no_color && ::isatty(STDOUT_FILENO) == 1;
    return ExecuteRun(settings);
  }));
}

}  // namespace polyarch
