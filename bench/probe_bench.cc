// What emulation costs, per architecture: the probe run directly on the host, natively and
// through binfmt_misc + qemu-user, side by side in one run. Two workloads: `exit 0` (start-up
// cost: the emulator loading and translating the program) and `info` (the probe's
// deterministic work: checksums, SHA-256 of 1 MiB, threads, signals). Prints the emulated /
// native ratio of medians per arch.
//
// Root: it registers its own binfmt entries (prefix polyarch-bench-, journaled in a
// temporary state directory) and removes them at the end.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "bench/ratio_reporter.h"

#include "binfmt/procfs.h"
#include "binfmt/registry.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/subprocess.h"
#include "images/builder.h"
#include "tests/build_paths.h"

namespace polyarch {
namespace {

struct World {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Journal> journal;
  ImageSet images;
  std::vector<const ArchInfo*> registered;
};
World* g_world = nullptr;

void RunProbe(benchmark::State& state, const ArchInfo* arch, std::vector<std::string> args) {
  const BuiltImage* img = g_world->images.Find(arch);
  if (img == nullptr) {
    state.SkipWithError("no image for this arch");
    return;
  }
  SpawnOptions o;
  o.argv = {img->bundle_dir + "/rootfs/probe"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.stdout_mode = OutputMode::kNull;
  for (auto _ : state) {
    auto r = RunProcess(o, std::chrono::seconds(60));
    if (!r.ok() || !r->success()) {
      state.SkipWithError("the probe did not run (is a binfmt handler registered?)");
      break;
    }
  }
  state.counters["runs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

Status SetUp(World& w) {
  PA_ASSIGN_OR_RETURN(TempDir d, TempDir::Create("polyarch-probe-bench-", "/var/tmp"));
  w.dir = std::make_unique<TempDir>(std::move(d));
  PA_ASSIGN_OR_RETURN(Journal j, Journal::Open(w.dir->path() + "/journal.jsonl"));
  w.journal = std::make_unique<Journal>(std::move(j));
  ImageBuildOptions io;
  io.out_dir = w.dir->path() + "/images";
  io.probe_dir = testing::kProbeDir;
  PA_ASSIGN_OR_RETURN(w.images, BuildImages(io));
  InstallRequest req;
  for (const auto& img : w.images.images) {
    if (img.arch != HostArch() && img.arch->has_binfmt()) req.arches.push_back(img.arch);
  }
  req.prefix = "polyarch-bench-";
  PA_ASSIGN_OR_RETURN(auto plan, PlanInstall(req));
  RealProcFs procfs;
  PA_ASSIGN_OR_RETURN(auto report, Install(procfs, *w.journal, plan, false));
  for (const auto& o : report.outcomes) {
    if (o.action == InstallAction::kRegistered) w.registered.push_back(o.arch);
  }
  return Status::Ok();
}

void TearDown(World& w) {
  if (!w.journal) return;
  RealProcFs procfs;
  (void)Uninstall(procfs, *w.journal, w.registered, "polyarch-bench-");
}

}  // namespace
}  // namespace polyarch

using namespace polyarch;

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  char reps[] = "--benchmark_repetitions=3";
  char min_time[] = "--benchmark_min_time=0.3";
  args.insert(args.begin() + 1, {reps, min_time});
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "probe_bench: run as root (it registers binfmt entries)\n");
    return 3;
  }
  World world;
  g_world = &world;
  if (Status s = SetUp(world); !s.ok()) {
    std::fprintf(stderr, "probe_bench: %s\n", s.ToString().c_str());
    TearDown(world);
    return 3;
  }
  // One pair of benchmarks per arch, registered now that the images are known.
  for (const auto& img : world.images.images) {
    const ArchInfo* a = img.arch;
    benchmark::RegisterBenchmark(("exit0/" + std::string(a->name)).c_str(),
                                 [a](benchmark::State& s) {
                                   RunProbe(s, a, {"exit", "0"});
                                 })
        ->UseRealTime();
    benchmark::RegisterBenchmark(("info/" + std::string(a->name)).c_str(),
                                 [a](benchmark::State& s) { RunProbe(s, a, {"info"}); })
        ->UseRealTime();
  }
  polyarch::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  TearDown(world);

  const std::string native(HostArch()->name);
  std::printf("\nemulated / native, ratio of medians (higher is slower):\n");
  std::printf("  %-10s %12s %12s\n", "arch", "start (exit)", "work (info)");
  for (const auto& img : world.images.images) {
    std::string a(img.arch->name);
    double e = reporter.Median("exit0/" + a), en = reporter.Median("exit0/" + native);
    double i = reporter.Median("info/" + a), in = reporter.Median("info/" + native);
    if (e <= 0 || en <= 0 || i <= 0 || in <= 0) {
      std::printf("  %-10s %12s %12s\n", a.c_str(), "-", "-");
      continue;
    }
    std::printf("  %-10s %11.1fx %11.1fx\n", a.c_str(), e / en, i / in);
  }
  return 0;
}
