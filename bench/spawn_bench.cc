// The cost of starting a process, which every throughput figure of polyarch contains.
//
// Side by side in one run: a raw posix_spawn + waitpid loop (the floor), polyarch's
// Subprocess (posix_spawn plus pipes, a pidfd and bounded capture), the same with output to
// /dev/null, and Boost.Process v2's default launcher. At the end it prints the ratios of the
// medians; the target is polyarch's capture path within 1.10x of the raw floor.
#include <spawn.h>
#include <sys/wait.h>

// Boost 1.81's process/v2 headers use boost::optional and <type_traits> without including
// them when BOOST_PROCESS_USE_STD_FS is set.
#include <type_traits>

#include <boost/asio/io_context.hpp>
#include <boost/optional.hpp>
#include <boost/process/v2/process.hpp>
#include <cstdio>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "bench/ratio_reporter.h"

#include "harness/core/subprocess.h"

extern char** environ;

namespace {

constexpr const char* kTrue = "/bin/true";

void BM_RawPosixSpawn(benchmark::State& state) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  for (auto _ : state) {
    pid_t pid;
    if (posix_spawn(&pid, kTrue, nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("posix_spawn failed");
      break;
    }
    int status;
    waitpid(pid, &status, 0);
  }
  state.counters["spawns_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_PolyarchSubprocess(benchmark::State& state) {
  polyarch::SpawnOptions o;
  o.argv = {kTrue};
  for (auto _ : state) {
    auto r = polyarch::RunProcess(o, std::chrono::seconds(10));
    if (!r.ok() || !r->success()) {
      state.SkipWithError("spawn failed");
      break;
    }
  }
  state.counters["spawns_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_PolyarchSubprocessNoCapture(benchmark::State& state) {
  polyarch::SpawnOptions o;
  o.argv = {kTrue};
  o.stdout_mode = polyarch::OutputMode::kNull;
  o.stderr_mode = polyarch::OutputMode::kNull;
  for (auto _ : state) {
    auto r = polyarch::RunProcess(o, std::chrono::seconds(10));
    if (!r.ok() || !r->success()) {
      state.SkipWithError("spawn failed");
      break;
    }
  }
  state.counters["spawns_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_BoostProcessV2Default(benchmark::State& state) {
  boost::asio::io_context ctx;
  for (auto _ : state) {
    boost::system::error_code ec;
    boost::process::v2::process p(ctx, kTrue, std::vector<std::string>{});
    p.wait(ec);
    if (ec) {
      state.SkipWithError("boost process failed");
      break;
    }
  }
  state.counters["spawns_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_RawPosixSpawn)->UseRealTime();
BENCHMARK(BM_PolyarchSubprocess)->UseRealTime();
BENCHMARK(BM_PolyarchSubprocessNoCapture)->UseRealTime();
BENCHMARK(BM_BoostProcessV2Default)->UseRealTime();

int main(int argc, char** argv) {
  // Medians of repeated runs by default; flags given on the command line come later and win.
  std::vector<char*> args(argv, argv + argc);
  char reps[] = "--benchmark_repetitions=5";
  char min_time[] = "--benchmark_min_time=0.5";
  args.insert(args.begin() + 1, {reps, min_time});
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  polyarch::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double raw = reporter.Median("BM_RawPosixSpawn");
  if (raw <= 0) return 0;  // filtered out: nothing to compare against
  auto line = [&](const char* name, const char* label) {
    double t = reporter.Median(name);
    if (t > 0) std::printf("  %-44s %6.3fx  (%.0f us per spawn)\n", label, t / raw, t / 1000);
  };
  std::printf(
      "\nspawn cost relative to a raw posix_spawn+waitpid loop (medians of repetitions; lower is "
      "better; target for polyarch: <= 1.10x):\n");
  line("BM_RawPosixSpawn", "raw posix_spawn (floor)");
  line("BM_PolyarchSubprocess", "polyarch Subprocess, capturing output");
  line("BM_PolyarchSubprocessNoCapture", "polyarch Subprocess, output to /dev/null");
  line("BM_BoostProcessV2Default", "Boost.Process v2 default launcher");
  return 0;
}
