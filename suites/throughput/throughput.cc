#include "suites/throughput/throughput.h"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/proc.h"
#include "harness/core/subprocess.h"
#include "harness/core/timing.h"
#include "harness/drivers/null_driver.h"
#include "suites/suite.h"

extern char** environ;

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

double ProcCpuSeconds(int pid) {
  ProcStat st;
  return ReadProcStat(pid, &st) ? st.CpuSeconds() : 0;
}

CpuSample SampleCpu(const std::vector<int>& daemon_pids) {
  CpuSample s;
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  s.harness = Seconds(self.ru_utime) + Seconds(self.ru_stime);
  s.children = Seconds(children.ru_utime) + Seconds(children.ru_stime);
  for (int pid : daemon_pids) s.daemons += ProcCpuSeconds(pid);
  return s;
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

struct Cycle {
  bool ok = false;
  bool timed_out = false;
  double create = 0, start = 0, wait = 0, del = 0, run = 0, total = 0;
  std::string error;
};

// What the step that waited for the probe (`verb`: run or wait) says of the cycle: the probe
// exited 0, or the cycle's error.
void JudgeExit(const WaitResult& w, const char* verb, Cycle* c) {
  if (!w.ok()) {
    c->error = std::string(verb) + ": " + w.status.message();
  } else if (!w.exited) {
    c->timed_out = true;
    c->error = std::string(verb) + ": the probe did not exit within the deadline";
  } else if (w.exit_code != 0) {
    c->error = "the probe exited " + std::to_string(w.exit_code);
  }
}

// One container's cycle. The verbs are not recorded as a case's steps: a measurement makes
// thousands of them, and what it reports is their durations, kept in the cycle, and its
// first error.
Cycle OneCycle(Driver& d, CyclePath path, const std::string& id, const ArchInfo& arch,
               std::chrono::milliseconds timeout) {
  Cycle c;
  auto t0 = Clock::now();
  ContainerSpec spec;
  spec.id = id;
  spec.arch = &arch;
  spec.argv = {"/probe", "exit", "0"};
  spec.writable_tmp = false;
  spec.network_sandbox = true;  // a start as `docker run --network none` makes it
  if (path == CyclePath::kRun) {
    WaitResult w = Guarded([&] { return d.Run(spec, timeout); });
    c.run = Ms(w.duration_ns);
    JudgeExit(w, "run", &c);
    c.total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    c.ok = c.error.empty();
    return c;
  }
  StepResult cr = Guarded([&] { return d.Create(spec); });
  c.create = Ms(cr.duration_ns);
  if (!cr.ok()) {
    c.error = "create: " + cr.status.message();
    return c;
  }
  StepResult st = Guarded([&] { return d.Start(id); });
  c.start = Ms(st.duration_ns);
  if (st.ok()) {
    WaitResult w = Guarded([&] { return d.Wait(id, timeout); });
    c.wait = Ms(w.duration_ns);
    JudgeExit(w, "wait", &c);
  } else {
    c.error = "start: " + st.status.message();
  }
  // Always delete: a failed cycle must not leave its container behind.
  StepResult dl = Guarded([&] { return d.Delete(id, /*force=*/!c.error.empty()); });
  c.del = Ms(dl.duration_ns);
  if (!dl.ok() && c.error.empty()) c.error = "delete: " + dl.status.message();
  c.total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  c.ok = c.error.empty();
  return c;
}

}  // namespace

std::string_view CyclePathName(CyclePath p) { return p == CyclePath::kRun ? "run" : "lifecycle"; }

Result<std::optional<CyclePath>> ParseCyclePath(std::string_view text) {
  if (text == "auto") return std::optional<CyclePath>();
  if (text == "run") return std::optional<CyclePath>(CyclePath::kRun);
  if (text == "lifecycle") return std::optional<CyclePath>(CyclePath::kLifecycle);
  return InvalidArgument("unknown cycle '" + std::string(text) + "' (known: auto, run, lifecycle)");
}

CyclePath CyclePathFor(const Capabilities& layer, std::optional<CyclePath> chosen) {
  if (chosen) return *chosen;
  return layer.single_call_run ? CyclePath::kRun : CyclePath::kLifecycle;
}

ThroughputMeasurement MeasureThroughput(Layer& layer, const ThroughputConfig& config,
                                        const std::vector<int>& daemon_pids, int trial) {
  ThroughputMeasurement m;
  m.layer = std::string(layer.name());
  m.arch = config.arches.size() == 1 ? std::string(config.arches[0]->name) : "mixed";
  m.path = config.path;
  m.concurrency = config.concurrency;
  m.trial = trial;
  const int k = std::max(1, config.concurrency);

  // Validate: one full lifecycle must work before anything is timed.
  {
    auto d = layer.NewDriver();
    Cycle v = OneCycle(*d, config.path, config.id_prefix + "validate", *config.arches[0],
                       config.step_timeout);
    if (!v.ok) {
      m.errors = 1;
      m.first_errors.push_back("validation: " + v.error);
      return m;
    }
  }

  std::mutex mu;
  std::vector<Cycle> cycles;
  std::atomic<int> next{0};
  std::atomic<int> seq{0};
  const int total = config.containers;
  const auto deadline = config.duration_s > 0
                            ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(config.duration_s))
                            : Clock::time_point::max();
  auto id_for = [&](int n) { return config.id_prefix + std::to_string(n); };

  // Warm-up outside the clock, one driver per worker, like the timed part.
  std::vector<std::unique_ptr<Driver>> drivers;
  for (int w = 0; w < k; ++w) drivers.push_back(layer.NewDriver());
  {
    std::vector<std::thread> threads;
    for (int w = 0; w < k; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < config.warmup; ++i) {
          int n = seq++;
          OneCycle(*drivers[w], config.path, id_for(n), *config.arches[n % config.arches.size()],
                   config.step_timeout);
        }
      });
    }
    for (auto& t : threads) t.join();
  }

  CpuSample before = SampleCpu(daemon_pids);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < k; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        int i = next++;
        bool more = i < total || (config.duration_s > 0 && Clock::now() < deadline);
        if (!more) return;
        int n = seq++;
        Cycle c = OneCycle(*drivers[w], config.path, id_for(n),
                           *config.arches[i % config.arches.size()], config.step_timeout);
        std::lock_guard<std::mutex> lock(mu);
        cycles.push_back(std::move(c));
      }
    });
  }
  for (auto& t : threads) t.join();
  m.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  CpuSample after = SampleCpu(daemon_pids);
  m.cpu = {after.harness - before.harness, after.children - before.children,
           after.daemons - before.daemons};

  std::map<std::string, std::vector<double>> series;
  for (const Cycle& c : cycles) {
    if (!c.ok) {
      ++m.errors;
      m.timeouts += c.timed_out;
      if (m.first_errors.size() < 5) m.first_errors.push_back(c.error);
      continue;
    }
    ++m.started;
    if (config.path == CyclePath::kRun) {
      series["run"].push_back(c.run);
    } else {
      series["create"].push_back(c.create);
      series["start"].push_back(c.start);
      series["wait"].push_back(c.wait);
      series["delete"].push_back(c.del);
    }
    series["end_to_end"].push_back(c.total);
  }
  for (auto& [op, values] : series) m.latency_ms[op] = ComputeDistribution(std::move(values));
  m.starts_per_s = m.wall_s > 0 ? m.started / m.wall_s : 0;
  return m;
}

Calibration Calibrate(int iterations) {
  Calibration c;
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  auto t0 = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    pid_t pid;
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) break;
    int st;
    ::waitpid(pid, &st, 0);
  }
  c.raw_spawn_per_s = iterations / std::chrono::duration<double>(Clock::now() - t0).count();
  SpawnOptions o;
  o.argv = {"/bin/true"};
  t0 = Clock::now();
  for (int i = 0; i < iterations; ++i) (void)RunProcess(o, std::chrono::seconds(10));
  c.polyarch_spawn_per_s = iterations / std::chrono::duration<double>(Clock::now() - t0).count();
  NullLayer null;
  auto d = null.NewDriver();
  const int cycles = iterations * 100;
  t0 = Clock::now();
  for (int i = 0; i < cycles; ++i) {
    OneCycle(*d, CyclePath::kLifecycle, "null-" + std::to_string(i), *HostArch(),
             std::chrono::seconds(1));
  }
  c.null_cycles_per_s = cycles / std::chrono::duration<double>(Clock::now() - t0).count();
  return c;
}

nlohmann::json MeasurementJson(const ThroughputMeasurement& m) {
  nlohmann::json lat = nlohmann::json::object();
  for (const auto& [op, d] : m.latency_ms) lat[op] = DistributionJson(d);
  double per_start = m.started > 0 ? 1.0 / m.started : 0;
  return {{"layer", m.layer},
          {"arch", m.arch},
          {"path", CyclePathName(m.path)},
          {"concurrency", m.concurrency},
          {"trial", m.trial},
          {"started", m.started},
          {"errors", m.errors},
          {"timeouts", m.timeouts},
          {"wall_s", m.wall_s},
          {"starts_per_s", m.starts_per_s},
          {"latency", lat},
          {"cpu_s_per_start",
           {{"harness", m.cpu.harness * per_start},
            {"runtime_and_shims", m.cpu.children * per_start},
            {"daemons", m.cpu.daemons * per_start}}},
          {"first_errors", m.first_errors}};
}

nlohmann::json CalibrationJson(const Calibration& c) {
  return {{"raw_spawn_per_s", c.raw_spawn_per_s},
          {"polyarch_spawn_per_s", c.polyarch_spawn_per_s},
          {"polyarch_spawn_vs_raw",
           c.raw_spawn_per_s > 0 ? c.polyarch_spawn_per_s / c.raw_spawn_per_s : 0},
          {"null_cycles_per_s", c.null_cycles_per_s}};
}

std::vector<Scaling> ComputeScaling(const std::vector<ThroughputMeasurement>& ms) {
  std::vector<Scaling> out;
  const ThroughputMeasurement* one = nullptr;
  for (const auto& m : ms) {
    if (m.concurrency == 1 && m.started > 0) one = &m;
  }
  for (const auto& m : ms) {
    Scaling s;
    s.concurrency = m.concurrency;
    if (one != nullptr && one->starts_per_s > 0) {
      s.efficiency = m.starts_per_s / (m.concurrency * one->starts_per_s);
      auto p99 = m.latency_ms.find("end_to_end");
      auto p50 = one->latency_ms.find("end_to_end");
      if (p99 != m.latency_ms.end() && p50 != one->latency_ms.end() && p50->second.p50 > 0) {
        s.p99_over_p50_at_1 = p99->second.p99 / p50->second.p50;
      }
    }
    out.push_back(s);
  }
  return out;
}

namespace {

// One measurement into its case: its figures as metrics, its row as data, failed when a
// cycle failed or fewer than N containers made it.
void RecordMeasurement(const ThroughputMeasurement& m, int containers, const Calibration& cal,
                       CaseResult* out) {
  CaseResult& c = *out;
  c.metrics["starts_per_s"] = m.starts_per_s;
  c.metrics["started"] = m.started;
  c.metrics["errors"] = m.errors;
  c.metrics["timeouts"] = m.timeouts;
  if (auto e2e = m.latency_ms.find("end_to_end"); e2e != m.latency_ms.end()) {
    c.metrics["e2e_p50_ms"] = e2e->second.p50;
    c.metrics["e2e_p99_ms"] = e2e->second.p99;
  }
  if (cal.raw_spawn_per_s > 0) {
    c.metrics["starts_vs_spawn_floor"] = m.starts_per_s / cal.raw_spawn_per_s;
  }
  if (m.errors > 0 || m.started < containers) {
    c.status = CaseStatus::kFail;
    c.reason = std::to_string(m.errors) + " of " + std::to_string(m.started + m.errors) +
               " cycles failed" + (m.first_errors.empty() ? "" : ": " + m.first_errors[0]);
  }
  c.data = MeasurementJson(m);
}

}  // namespace

ThroughputSections RunThroughputSuite(const ThroughputRunConfig& config,
                                      const std::vector<ThroughputLayerRef>& layers,
                                      const std::vector<const ArchInfo*>& arches) {
  ThroughputSections out;
  const Calibration cal = Calibrate();
  int serial = 0;
  auto measure = [&](const ThroughputLayerRef& slot, const std::vector<const ArchInfo*>& set,
                     std::vector<ThroughputMeasurement>* ms) {
    const std::string arch_name = set.size() == 1 ? std::string(set[0]->name) : "mixed";
    for (int k : config.concurrency) {
      for (int trial = 0; trial < config.trials; ++trial) {
        if (config.stop && config.stop()) return;
        std::string why = slot.layer == nullptr ? slot.unavailable : "";
        for (const ArchInfo* a : set) {
          if (!why.empty()) break;
          why = config.arch_unavailable ? config.arch_unavailable(*a) : "";
          if (Status st = slot.layer->Supports(*a); why.empty() && !st.ok()) why = st.message();
        }
        CaseResult c;
        c.suite = "throughput";
        c.layer = slot.name;
        c.arch = arch_name;
        c.name = "k" + std::to_string(k);
        c.repeat = trial;
        const CyclePath path = slot.layer != nullptr
                                   ? CyclePathFor(slot.layer->capabilities(), config.path)
                                   : config.path.value_or(CyclePath::kLifecycle);
        c.spec_ref = path == CyclePath::kRun
                         ? "closed loop: run to exit and removal in one call; at most K in flight"
                         : "closed loop: create, start, wait, delete; at most K in flight";
        if (why.empty()) {
          ThroughputConfig cfg;
          cfg.path = path;
          cfg.containers = config.containers;
          cfg.concurrency = k;
          cfg.warmup = config.warmup;
          cfg.duration_s = config.duration_s;
          cfg.step_timeout = config.step_timeout;
          cfg.id_prefix = config.id_prefix + "tp" + std::to_string(serial++) + "-";
          cfg.arches = set;
          if (config.on_start) config.on_start(c.Id());
          auto t0 = Clock::now();
          ThroughputMeasurement m = MeasureThroughput(*slot.layer, cfg, config.daemon_pids, trial);
          RecordMeasurement(m, config.containers, cal, &c);
          c.duration_ns = NanosSince(t0);
          ms->push_back(std::move(m));
        } else {
          c.status = CaseStatus::kSkip;
          c.reason = why;
        }
        if (config.on_result) config.on_result(std::move(c));
      }
    }
  };
  for (const auto& slot : layers) {
    for (const ArchInfo* a : arches) {
      std::vector<ThroughputMeasurement> ms;
      measure(slot, {a}, &ms);
      auto scaling = ComputeScaling(ms);
      for (size_t i = 0; i < ms.size(); ++i) {
        nlohmann::json row = MeasurementJson(ms[i]);
        row["efficiency"] = scaling[i].efficiency;
        row["p99_over_p50_at_1"] = scaling[i].p99_over_p50_at_1;
        out.rows.push_back(std::move(row));
      }
    }
    if (config.mixed_arch && arches.size() > 1) {
      std::vector<ThroughputMeasurement> ms;
      measure(slot, arches, &ms);
      for (const auto& m : ms) out.rows.push_back(MeasurementJson(m));
    }
  }
  out.calibration = CalibrationJson(cal);
  // The ceiling against the fastest real layer: the harness must not be what is measured.
  double fastest = 0;
  for (const auto& r : out.rows) {
    if (auto it = r.find("starts_per_s"); it != r.end() && it->is_number()) {
      fastest = std::max(fastest, it->get<double>());
    }
  }
  if (fastest > 0) out.calibration["null_vs_fastest_layer"] = cal.null_cycles_per_s / fastest;
  return out;
}

}  // namespace polyarch
