// The drivers must not be what a benchmark measures. Side by side, in one run, each pair does
// the same work: a probe that exits at once, run to its end and removed.
//
//   null driver              vs  raw posix_spawn loop of /bin/true (the harness ceiling)
//   polyarch Subprocess      vs  raw posix_spawn loop (target: >= 0.9x the raw rate)
//   crun, runc: the driver's Run  vs  a plain shell loop of `crun run` / `runc run`
//                            (the throughput suite's default cycle; target: >= 0.95x its rate)
//   crun through the driver's four verbs  vs  a shell loop of the same verbs (>= 0.95x)
//   dockerd, Engine API      vs  the docker CLI's `run --rm` (target: <= 0.85x its latency)
//   containerd, gRPC         vs  `ctr run --rm` (target: <= 0.8x its latency)
//   podman service, its Engine API  vs  `podman run --rm` on the same storage (<= 0.85x)
//
// It starts its own containerd, dockerd and podman service under a temporary directory and
// builds the
// images it needs (amd64 only); run it as root. The ratios at the end are of medians.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "bench/ratio_reporter.h"

#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/podman_service.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/null_driver.h"
#include "harness/drivers/oci_runtime.h"
#include "images/builder.h"
#include "tests/build_paths.h"

extern char** environ;

namespace polyarch {
namespace {

struct World {
  std::unique_ptr<TempDir> dir;
  ImageSet images;
  std::unique_ptr<ContainerdDaemon> containerd;
  std::unique_ptr<DockerdDaemon> dockerd;
  std::unique_ptr<PodmanService> podman;
  std::unique_ptr<Journal> journal;  // as a run keeps one: its records are part of the cost
  std::unique_ptr<Layer> null_layer, crun, runc, ctd, docker, pdm;
  std::string ctd_ns;
  std::string error;
};
World* g_world = nullptr;
std::atomic<int> g_seq{0};

std::string NextId(const char* tag) {
  return std::string("pabench-") + tag + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(g_seq++);
}

Status SetUp(World& w) {
  PA_ASSIGN_OR_RETURN(TempDir d, TempDir::Create("polyarch-bench-", "/var/tmp"));
  w.dir = std::make_unique<TempDir>(std::move(d));
  ImageBuildOptions io;
  io.arches = {HostArch()};
  io.out_dir = w.dir->path() + "/images";
  io.probe_dir = testing::kProbeDir;
  PA_ASSIGN_OR_RETURN(w.images, BuildImages(io));
  w.null_layer = std::make_unique<NullLayer>();

  PA_ASSIGN_OR_RETURN(Journal journal, Journal::Open(w.dir->path() + "/journal.jsonl"));
  w.journal = std::make_unique<Journal>(std::move(journal));
  for (const char* name : {"crun", "runc"}) {
    OciRuntimeOptions ro;
    ro.journal = w.journal.get();
    ro.name = name;
    ro.binary = name;
    ro.run_dir = w.dir->path() + "/run";
    ro.images = &w.images;
    PA_ASSIGN_OR_RETURN(auto layer, OciRuntimeLayer::Create(ro));
    (std::string_view(name) == "crun" ? w.crun : w.runc) = std::move(layer);
  }

  ContainerdOptions co;
  co.run_dir = w.dir->path() + "/daemons";
  PA_ASSIGN_OR_RETURN(w.containerd, ContainerdDaemon::Start(co));
  ContainerdLayerOptions lo;
  lo.address = w.containerd->address();
  lo.run_id = "bench" + std::to_string(::getpid());
  lo.run_dir = w.dir->path() + "/run";
  lo.images = &w.images;
  PA_ASSIGN_OR_RETURN(auto ctd, ContainerdLayer::Create(lo));
  w.ctd_ns = ctd->ns();
  w.ctd = std::move(ctd);

  DockerdOptions dopt;
  dopt.run_dir = w.dir->path() + "/daemons";
  PA_ASSIGN_OR_RETURN(w.dockerd, DockerdDaemon::Start(dopt, w.containerd->address()));
  DockerLayerOptions dl;
  dl.socket_path = w.dockerd->address();
  dl.run_id = "bench" + std::to_string(::getpid());
  dl.images = &w.images;
  PA_ASSIGN_OR_RETURN(w.docker, DockerLayer::Create(dl));

  PodmanServiceOptions po;
  po.run_dir = w.dir->path() + "/daemons";
  po.name = "podman-crun";
  PA_ASSIGN_OR_RETURN(po.runtime_binary, FindProgram("crun"));
  po.cgroup_parent = "polyarch-bench-" + std::to_string(::getpid()) + "-podman";
  PA_ASSIGN_OR_RETURN(w.podman, PodmanService::Start(po));
  DockerLayerOptions pl = PodmanLayerOptions(*w.podman, "podman:crun");
  pl.run_id = "bench" + std::to_string(::getpid());
  pl.images = &w.images;
  PA_ASSIGN_OR_RETURN(w.pdm, DockerLayer::Create(pl));
  return Status::Ok();
}

void TearDown(World& w) {
  for (Layer* l : {w.crun.get(), w.runc.get(), w.ctd.get(), w.docker.get(), w.pdm.get()}) {
    if (l) (void)l->Cleanup();
  }
  w.crun.reset();
  w.runc.reset();
  w.ctd.reset();
  w.docker.reset();
  w.pdm.reset();
  if (w.podman) (void)w.podman->Stop();
  if (w.dockerd) (void)w.dockerd->Stop();
  if (w.containerd) (void)w.containerd->Stop();
}

// Milliseconds each step of the lifecycle took, summed over a benchmark's iterations.
struct StepTimes {
  double create = 0, start = 0, wait = 0, del = 0;
};

// One container through a driver: the sequence every comparison uses.
bool Lifecycle(Driver& d, const char* tag, StepTimes* times) {
  ContainerSpec s;
  s.id = NextId(tag);
  s.arch = HostArch();
  s.argv = {"/probe", "exit", "0"};
  s.writable_tmp = false;
  s.network_sandbox = true;  // as the CLI's `run --network none` it is compared with
  StepResult c = d.Create(s);
  times->create += c.duration_ns / 1e6;
  if (!c.ok()) return false;
  StepResult st = d.Start(s.id);
  times->start += st.duration_ns / 1e6;
  if (!st.ok()) return false;
  WaitResult w = d.Wait(s.id, std::chrono::seconds(60));
  times->wait += w.duration_ns / 1e6;
  bool ok = w.ok() && w.exited && w.exit_code == 0;
  StepResult del = d.Delete(s.id, false);
  times->del += del.duration_ns / 1e6;
  return del.ok() && ok;
}

void Rate(benchmark::State& state) {
  state.counters["per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_RawPosixSpawn(benchmark::State& state) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  for (auto _ : state) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("posix_spawn failed");
      break;
    }
    int st;
    waitpid(pid, &st, 0);
  }
  Rate(state);
}

void BM_PolyarchSpawn(benchmark::State& state) {
  SpawnOptions o;
  o.argv = {"/bin/true"};
  for (auto _ : state) {
    auto r = RunProcess(o, std::chrono::seconds(10));
    if (!r.ok() || !r->success()) {
      state.SkipWithError("spawn failed");
      break;
    }
  }
  Rate(state);
}

void DriverLoop(benchmark::State& state, Layer* layer, const char* tag) {
  if (layer == nullptr) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  auto d = layer->NewDriver();
  StepTimes times;
  for (auto _ : state) {
    if (!Lifecycle(*d, tag, &times)) {
      state.SkipWithError("a lifecycle step failed");
      break;
    }
  }
  Rate(state);
  // Where a container's time goes, per step (the driver's own timing of each call).
  const double n = std::max<double>(1, static_cast<double>(state.iterations()));
  state.counters["create_ms"] = times.create / n;
  state.counters["start_ms"] = times.start / n;
  state.counters["wait_ms"] = times.wait / n;
  state.counters["delete_ms"] = times.del / n;
}

// The driver's Run: one call of the runtime per container, the throughput suite's default.
void RunLoop(benchmark::State& state, Layer* layer, const char* tag) {
  if (layer == nullptr) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  auto d = layer->NewDriver();
  for (auto _ : state) {
    ContainerSpec s;
    s.id = NextId(tag);
    s.arch = HostArch();
    s.argv = {"/probe", "exit", "0"};
    s.writable_tmp = false;
    s.network_sandbox = true;  // as the CLI's `run --network none` it is compared with
    WaitResult w = d->Run(s, std::chrono::seconds(60));
    if (!w.ok() || !w.exited || w.exit_code != 0) {
      state.SkipWithError(("run failed: " + w.status.ToString()).c_str());
      break;
    }
  }
  Rate(state);
}

void BM_CrunRun(benchmark::State& state) { RunLoop(state, g_world->crun.get(), "crun"); }
void BM_RuncRun(benchmark::State& state) { RunLoop(state, g_world->runc.get(), "runc"); }

void BM_NullDriver(benchmark::State& state) {
  DriverLoop(state, g_world->null_layer.get(), "null");
}
void BM_CrunDriver(benchmark::State& state) { DriverLoop(state, g_world->crun.get(), "crun"); }
void BM_ContainerdDriver(benchmark::State& state) { DriverLoop(state, g_world->ctd.get(), "ctd"); }
void BM_DockerDriver(benchmark::State& state) { DriverLoop(state, g_world->docker.get(), "dkr"); }
void BM_PodmanDriver(benchmark::State& state) { DriverLoop(state, g_world->pdm.get(), "pdm"); }

// Runs `script` (one container's worth of work, `$ID` set) once per iteration, timing only
// the shell; the shell's own start is part of what a plain loop costs too.
void ShellLoop(benchmark::State& state, const std::string& script) {
  for (auto _ : state) {
    SpawnOptions o;
    o.argv = {"/bin/sh", "-c", script, "sh", NextId("sh")};
    auto r = RunProcess(o, std::chrono::seconds(120));
    if (!r.ok() || !r->success()) {
      state.SkipWithError(
          ("shell loop failed: " + (r.ok() ? r->err.Text() : r.status().ToString())).c_str());
      break;
    }
  }
  Rate(state);
}

// A bundle for the shell loops, prepared once like the driver's image rootfs: the image's
// config with the probe exiting at once and the rootfs read-only.
std::string ShellBundle() {
  const std::string bundle = g_world->dir->path() + "/shell-bundle";
  if (PathExists(bundle + "/config.json")) return bundle;
  const BuiltImage* img = g_world->images.Find(HostArch());
  std::string spec = ReadFile(img->bundle_dir + "/config.json").value();
  auto j = nlohmann::json::parse(spec);
  j["process"]["args"] = {"/probe", "exit", "0"};
  j["root"] = {{"path", img->bundle_dir + "/rootfs"}, {"readonly", true}};
  (void)MakeDirs(bundle);
  (void)WriteFileAtomic(bundle + "/config.json", j.dump());
  return bundle;
}

// "<binary> --root <the layer's state root>", as a user's script would call the runtime.
std::string RuntimeCommand(Layer* layer) {
  auto* oci = static_cast<OciRuntimeLayer*>(layer);
  return oci->binary() + " --root " + oci->state_root();
}

// What a user compares a runtime's speed with: `crun run` in a loop.
void RuntimeRunShellLoop(benchmark::State& state, Layer* layer) {
  if (layer == nullptr) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  ShellLoop(state, RuntimeCommand(layer) + " run --bundle " + ShellBundle() + " \"$1\"");
}
void BM_CrunRunShellLoop(benchmark::State& state) {
  RuntimeRunShellLoop(state, g_world->crun.get());
}
void BM_RuncRunShellLoop(benchmark::State& state) {
  RuntimeRunShellLoop(state, g_world->runc.get());
}

// The same verbs the driver's lifecycle uses, as a user's shell script would: create, start,
// poll state until stopped, delete.
void BM_CrunShellLoop(benchmark::State& state) {
  if (!g_world->crun) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  const std::string bundle = ShellBundle();
  const std::string c = RuntimeCommand(g_world->crun.get());
  ShellLoop(state, c + " create --bundle " + bundle + " \"$1\" && " + c + " start \"$1\" && " +
                       "until " + c + " state \"$1\" | grep -q '\"stopped\"'; do :; done && " + c +
                       " delete \"$1\"");
}

void BM_DockerCliRunRm(benchmark::State& state) {
  if (!g_world->dockerd) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  ShellLoop(state, "/usr/bin/docker -H unix://" + g_world->dockerd->address() +
                       " run --rm --network none --name \"$1\" " + kImageRepository + ":" +
                       std::string(HostArch()->name) + " /probe exit 0 >/dev/null");
}

// podman as its users run it: the CLI alone, no service, on the service's storage and
// configuration, with the same runtime, cgroup parent and limits as the driver's containers.
void BM_PodmanCliRunRm(benchmark::State& state) {
  if (!g_world->podman) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  const PodmanService& p = *g_world->podman;
  const std::string dir = p.dir();
  std::string cmd = "CONTAINERS_CONF=" + dir +
                    "/cfg/containers.conf CONTAINERS_STORAGE_CONF=" + dir +
                    "/cfg/storage.conf CONTAINERS_REGISTRIES_CONF=" + dir +
                    "/cfg/registries.conf TMPDIR=" + dir + "/imgtmp /usr/bin/podman --root " + dir +
                    "/root --runroot " + p.run_root() + " --tmpdir " + dir +
                    "/tmp --cgroup-manager cgroupfs --events-backend file --network-backend cni "
                    "--network-config-dir " +
                    dir + "/cni --hooks-dir " + dir + "/hooks --runtime " + dir +
                    "/runtime run --rm --network none --cgroup-parent /" + p.cgroup_parent();
  for (const auto& [name, value] : p.container_limits()) {
    cmd += " --ulimit " + name + "=" + std::to_string(value) + ":" + std::to_string(value);
  }
  ShellLoop(state, cmd + " --name \"$1\" " + kImageRepository + ":" +
                       std::string(HostArch()->name) + " /probe exit 0 >/dev/null");
}

void BM_CtrRunRm(benchmark::State& state) {
  if (!g_world->containerd) {
    state.SkipWithError(g_world->error.c_str());
    return;
  }
  ShellLoop(state, "ctr --address " + g_world->containerd->address() + " -n " + g_world->ctd_ns +
                       " run --rm --fifo-dir " + g_world->dir->path() + "/ctr-fifo --runc-root " +
                       g_world->dir->path() + "/ctr-runc " + kImageRepository +
                       ":all \"$1\" /probe exit 0");
}

}  // namespace
}  // namespace polyarch

using namespace polyarch;

BENCHMARK(BM_RawPosixSpawn)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_PolyarchSpawn)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_NullDriver)->UseRealTime()->MinTime(0.5);
// Six repetitions: a run is a few tens of milliseconds, and this machine's drift between
// repetitions is of the order of the 5% the target allows.
BENCHMARK(BM_CrunRun)->UseRealTime()->Iterations(40)->Repetitions(6);
BENCHMARK(BM_CrunRunShellLoop)->UseRealTime()->Iterations(40)->Repetitions(6);
BENCHMARK(BM_RuncRun)->UseRealTime()->Iterations(40)->Repetitions(6);
BENCHMARK(BM_RuncRunShellLoop)->UseRealTime()->Iterations(40)->Repetitions(6);
BENCHMARK(BM_CrunDriver)->UseRealTime()->Iterations(20);
BENCHMARK(BM_CrunShellLoop)->UseRealTime()->Iterations(20);
BENCHMARK(BM_ContainerdDriver)->UseRealTime()->Iterations(10);
BENCHMARK(BM_CtrRunRm)->UseRealTime()->Iterations(10);
BENCHMARK(BM_DockerDriver)->UseRealTime()->Iterations(10);
BENCHMARK(BM_DockerCliRunRm)->UseRealTime()->Iterations(10);
BENCHMARK(BM_PodmanDriver)->UseRealTime()->Iterations(10);
BENCHMARK(BM_PodmanCliRunRm)->UseRealTime()->Iterations(10);

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  // Repetitions of different benchmarks interleaved in random order: a pair's two sides see
  // the same drift of a shared machine instead of one side its first minute, the other its
  // second.
  char reps[] = "--benchmark_repetitions=3";
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, {reps, interleave});
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "driver_bench: run as root (it starts runtimes and daemons)\n");
    return 3;
  }
  World world;
  g_world = &world;
  if (Status s = SetUp(world); !s.ok()) {
    world.error = s.ToString();
    std::fprintf(stderr, "driver_bench: set-up incomplete: %s\n", world.error.c_str());
  }
  polyarch::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  TearDown(world);

  auto m = [&](const char* n) { return reporter.Median(n); };
  auto line = [](const char* what, double ratio, const char* target, bool met) {
    if (ratio <= 0) {
      std::printf("  %-58s  not measured\n", what);
      return;
    }
    std::printf("  %-58s %7.3f   target %-8s %s\n", what, ratio, target, met ? "met" : "NOT met");
  };
  std::printf("\nratios of medians (side by side in this run):\n");
  double null_vs_raw = m("BM_NullDriver") > 0 ? m("BM_RawPosixSpawn") / m("BM_NullDriver") : 0;
  std::printf("  %-58s %7.1fx  (ceiling of the harness itself)\n",
              "null driver rate / raw posix_spawn rate", null_vs_raw);
  double spawn = m("BM_PolyarchSpawn") > 0 ? m("BM_RawPosixSpawn") / m("BM_PolyarchSpawn") : 0;
  line("polyarch spawn rate / raw posix_spawn rate", spawn, ">= 0.90", spawn >= 0.90);
  for (const char* rt : {"Crun", "Runc"}) {
    const std::string driver = std::string("BM_") + rt + "Run", shell = driver + "ShellLoop";
    double ratio = m(driver.c_str()) > 0 ? m(shell.c_str()) / m(driver.c_str()) : 0;
    const std::string what = std::string(rt[0] == 'C' ? "crun" : "runc") +
                             " run via driver rate / shell loop of `run` rate";
    line(what.c_str(), ratio, ">= 0.95", ratio >= 0.95);
  }
  double crun = m("BM_CrunDriver") > 0 ? m("BM_CrunShellLoop") / m("BM_CrunDriver") : 0;
  line("crun four verbs via driver rate / shell loop rate", crun, ">= 0.95", crun >= 0.95);
  double docker = m("BM_DockerCliRunRm") > 0 ? m("BM_DockerDriver") / m("BM_DockerCliRunRm") : 0;
  line("dockerd via Engine API latency / docker CLI latency", docker, "<= 0.85",
       docker > 0 && docker <= 0.85);
  double ctd = m("BM_CtrRunRm") > 0 ? m("BM_ContainerdDriver") / m("BM_CtrRunRm") : 0;
  line("containerd via gRPC latency / ctr run --rm latency", ctd, "<= 0.80",
       ctd > 0 && ctd <= 0.80);
  double pdm = m("BM_PodmanCliRunRm") > 0 ? m("BM_PodmanDriver") / m("BM_PodmanCliRunRm") : 0;
  line("podman service via its API latency / podman run --rm latency", pdm, "<= 0.85",
       pdm > 0 && pdm <= 0.85);
  return 0;
}
