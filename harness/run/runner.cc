#include "harness/run/runner.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "binfmt/procfs.h"
#include "harness/compare/compare.h"
#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/log.h"
#include "harness/core/mountinfo.h"
#include "harness/core/reaper.h"
#include "harness/core/timing.h"
#include "harness/host/doctor.h"
#include "harness/host/facts.h"
#include "harness/report/console_reporter.h"
#include "harness/report/html_reporter.h"
#include "harness/report/json_reporter.h"
#include "harness/report/junit_reporter.h"
#include "harness/report/views.h"
#include "harness/run/case_queue.h"
#include "harness/run/mount_check.h"
#include "harness/run/outcome.h"
#include "harness/run/recovery.h"
#include "harness/run/report_sink.h"
#include "harness/run/run_binfmt.h"
#include "harness/run/run_stack.h"
#include "harness/run/shard.h"
#include "images/builder.h"
#include "images/digest.h"
#include "suites/crossarch/crossarch_suite.h"
#include "suites/faults/faults.h"
#include "suites/lifecycle/lifecycle_suite.h"
#include "suites/restart/restart.h"
#include "suites/spec/spec_suite.h"
#include "suites/throughput/throughput.h"

namespace polyarch {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};

void OnSignal(int sig) { g_signal.store(sig); }

std::string NewRunId() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
  return std::string(buf) + "-" + suffix;
}

struct Item {
  const Suite* suite;
  const CaseDef* def;
  LayerSlot* slot;
  const ArchInfo* arch;
  int repeat;
};

class Run {
 public:
  explicit Run(const RunSettings& s) : s_(s), plan_(s.plan) {}
  int Execute();

 private:
  Status Preflight();
  Status BuildImageSet();
  std::vector<Item> PlanCases();
  void RunCases(std::vector<Item> items);
  void RunOne(const Item& item, std::map<std::string, std::unique_ptr<Driver>>& drivers);
  void RunRestart();
  void RunThroughput();
  void RunFaults();
  void Cleanup();
  int Report();

  SuiteEnv EnvFor(LayerSlot* slot);
  // sharded false: every scenario the filter selects, whichever shard owns it.
  RestartConfig RestartSettings(bool sharded = true);
  bool Wants(const char* suite) const {
    return std::find(plan_.suites.begin(), plan_.suites.end(), suite) != plan_.suites.end();
  }
  // Whether this run (its shard, if it is one) runs the unit (harness/run/shard.h).
  bool Owns(const std::string& unit) const {
    if (plan_.shard_count == 0) return true;
    auto it = shard_of_.find(unit);
    return it != shard_of_.end() && it->second == plan_.shard_index;
  }
  // Cuts the plan into units, records the plan's fingerprint (and the shard) in the context
  // and, for a shard, keeps only its own items; an error when the weights cannot be read.
  Status ApplyShard(std::vector<Item>* items);
  // The fault suite brings its own daemons and layers: a run of it alone needs none of the
  // run's, only the native image.
  bool FaultsOnly() const { return plan_.suites == std::vector<std::string>{"faults"}; }

  const RunSettings& s_;
  Plan plan_;
  std::string run_id_, run_dir_, report_dir_, prefix_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<ReportSink> sink_;
  json context_ = json::object();
  json cleanup_ = json::object();
  std::vector<std::string> cleanup_problems_;  // what cleanup could not restore, for the exit
  std::vector<Mount> mounts_before_;

  std::vector<const ArchInfo*> arches_;
  std::unique_ptr<RunBinfmt> binfmt_;  // the run's emulators, once the journal is open
  ImageSet images_;
  std::map<std::string, int> shard_of_;  // unit -> shard, when sharded

  RunStack stack_;

  std::vector<std::unique_ptr<Suite>> suites_;
  std::map<const Suite*, std::vector<CaseDef>> defs_;
  std::vector<RestartScenario> restart_scenarios_;
};

Status Run::Preflight() {
  PA_RETURN_IF_ERROR(::geteuid() == 0 ? Status::Ok()
                                      : PermissionDenied("polyarch run needs root: it registers "
                                                         "binfmt entries, runs runtimes and "
                                                         "daemons; run it with sudo"));
  run_id_ = NewRunId();
  prefix_ = "pa" + run_id_.substr(run_id_.size() - 4) + "-";
  run_dir_ = s_.state_dir + "/runs/" + run_id_;
  report_dir_ = plan_.report_dir.empty() ? s_.state_dir + "/reports/" + run_id_ : plan_.report_dir;
  PA_RETURN_IF_ERROR(MakeDirs(run_dir_, 0700));
  PA_RETURN_IF_ERROR(MakeDirs(report_dir_));
  PA_ASSIGN_OR_RETURN(Journal j, Journal::Open(s_.state_dir + "/journal.jsonl"));
  journal_ = std::make_unique<Journal>(std::move(j));
  // What a killed earlier run left goes first, so this run starts from a clean host.
  if (auto runs = ListRuns(*journal_); runs.ok()) {
    for (const auto& stale : *runs) {
      if (stale.alive) continue;
      RecoveryReport rep = RecoverRun(*journal_, stale);
      PA_LOG(kInfo) << "cleaned up after run " << stale.id << " (" << rep.actions.size()
                    << " things removed)";
      for (const auto& p : rep.problems) PA_LOG(kWarning) << "cleanup of " << stale.id << ": " << p;
    }
  }
  PA_RETURN_IF_ERROR(
      journal_->Add({kJournalKindRun,
                     run_id_,
                     {{"pid", ::getpid()}, {"run_dir", run_dir_}, {"prefix", prefix_}}}));
  journal_->SetRun(run_id_);
  auto mounts = ReadMountInfo();
  if (mounts.ok()) mounts_before_ = std::move(*mounts);

  DoctorOptions d;
  d.state_dir = s_.state_dir;
  d.probe_runtimes = false;  // each runtime layer probes its runtime itself
  DoctorReport doctor = RunDoctor(d);
  json problems = json::array();
  for (const auto& c : doctor.checks) {
    if (c.status != CheckStatus::kOk) {
      problems.push_back(
          {{"id", c.id}, {"status", CheckStatusName(c.status)}, {"reason", c.reason}});
    }
  }
  const HostFacts& h = doctor.host;
  context_["polyarch"] = {{"version", s_.version},
                          {"command_line", s_.command_line},
                          {"run_id", run_id_},
                          {"plan", plan_.ToJson()}};
  context_["host"] = {
      {"node", plan_.node.empty() ? h.hostname : plan_.node},
      {"hostname", h.hostname},
      // Hashed: it tells two hosts apart without publishing the id itself.
      {"machine_id",
       h.machine_id.empty() ? std::string() : Sha256Hex("polyarch:" + h.machine_id).substr(0, 16)},
      {"kernel", h.kernel.release},
      {"machine", h.machine},
      {"cpu_model", h.cpu_model},
      {"cpus", h.cpus},
      {"memory_bytes", h.memory_bytes},
      {"distro", h.distro},
      {"cgroup_mode", CgroupModeName(h.cgroups.mode)},
      {"cgroup_v2_controllers", h.cgroups.v2_controllers}};
  // The programs of every layer as installed on the host (the layers' own entries say what a
  // --runtime-binary or an external daemon answered).
  json tools = json::object();
  for (const auto& [name, flag] :
       std::vector<std::pair<std::string, std::string>>{{"runc", "--version"},
                                                        {"crun", "--version"},
                                                        {"containerd", "--version"},
                                                        {"dockerd", "--version"},
                                                        {"podman", "--version"},
                                                        {"conmon", "--version"}}) {
    ToolVersion v = ProbeToolVersion(name, flag);
    tools[name] = v.path.empty() ? std::string() : v.version;
  }
  context_["host"]["tools"] = tools;
  context_["doctor"] = {{"ok", doctor.Count(CheckStatus::kOk)},
                        {"warn", doctor.Count(CheckStatus::kWarn)},
                        {"fail", doctor.Count(CheckStatus::kFail)},
                        {"problems", problems}};
  ToolVersion qemu = ProbeToolVersion("/usr/bin/qemu-s390x-static", "--version");
  context_["qemu"] = {{"version", qemu.version},
                      {"emulator_dir", std::string(kDefaultEmulatorDir)}};

  arches_ = plan_.arches.empty() ? ImageArches() : plan_.arches;
  if (FaultsOnly() && HostArch() != nullptr) arches_ = {HostArch()};
  // The native image first: the other arches are read against it.
  std::stable_sort(arches_.begin(), arches_.end(), [](const ArchInfo* a, const ArchInfo* b) {
    return a == HostArch() && b != HostArch();
  });
  return Status::Ok();
}

Status Run::BuildImageSet() {
  ImageBuildOptions o;
  o.arches = arches_;
  o.out_dir = s_.state_dir + "/images";
  o.deb_dir = s_.deb_dir;
  o.probe_dir = s_.probe_dir;
  PA_ASSIGN_OR_RETURN(images_, BuildImages(o));
  json images = ImageSetJson(images_);
  for (auto& i : images["images"]) i.erase("rebuilt");
  context_["images"] = images;
  return Status::Ok();
}

SuiteEnv Run::EnvFor(LayerSlot* slot) {
  SuiteEnv env;
  env.run_prefix = prefix_;
  env.step_timeout = plan_.step_timeout;
  env.scratch_dir = run_dir_ + "/scratch";
  env.new_driver = [slot] { return slot->layer->NewDriver(); };
  env.has_busybox = [this](const ArchInfo& a) {
    const BuiltImage* img = images_.Find(&a);
    return img != nullptr && img->busybox;
  };
  env.binfmt_flags = [this](const ArchInfo& a) { return binfmt_->FlagsFor(a); };
  env.with_preserve_argv0 = [this](const ArchInfo& a, const std::function<void()>& fn) {
    return binfmt_->WithPreserveArgv0(a, fn);
  };
  return env;
}

std::vector<Item> Run::PlanCases() {
  std::vector<Item> items;
  for (const auto& suite_name : plan_.suites) {
    const Suite* suite = nullptr;
    for (const auto& s : suites_) {
      if (s->name() == suite_name) suite = s.get();
    }
    if (suite == nullptr) continue;
    defs_[suite] = suite->Cases();  // stable storage: items point into it
    const auto& defs = defs_;
    for (auto& slot : stack_.layers()) {
      for (const ArchInfo* arch : arches_) {
        const BuiltImage* img = images_.Find(arch);
        std::optional<Capabilities> caps;
        if (slot->layer) caps = slot->layer->capabilities();
        for (const CaseDef& c : defs.at(suite)) {
          if (!Applies(c, *arch, img != nullptr && img->busybox, caps ? &*caps : nullptr)) continue;
          std::string id =
              suite_name + "/" + slot->name + "/" + std::string(arch->name) + "/" + c.name;
          if (!GlobMatch(plan_.filter, c.name) && !GlobMatch(plan_.filter, id)) continue;
          for (int r = 0; r < plan_.repeat; ++r) items.push_back({suite, &c, slot.get(), arch, r});
        }
      }
    }
  }
  return items;
}

// A case that ends before its body runs (skipped) or outside it (an error), named as RunCase
// names the ones it runs.
CaseResult Ended(const Item& item, CaseStatus status, std::string reason) {
  CaseResult c;
  c.suite = std::string(item.suite->name());
  c.layer = item.slot->name;
  c.arch = std::string(item.arch->name);
  c.name = item.def->name;
  c.repeat = item.repeat;
  c.spec_ref = item.def->spec_ref;
  c.status = status;
  c.reason = std::move(reason);
  return c;
}

void Run::RunOne(const Item& item, std::map<std::string, std::unique_ptr<Driver>>& drivers) {
  std::string reason;
  if (!item.slot->layer) {
    reason = item.slot->unavailable;
  } else if (std::string why = binfmt_->Unavailable(*item.arch); !why.empty()) {
    reason = why;
  } else if (Status s = item.slot->layer->Supports(*item.arch); !s.ok()) {
    reason = s.message();
  }
  if (!reason.empty()) {
    sink_->Add(Ended(item, CaseStatus::kSkip, std::move(reason)));
    return;
  }
  auto& driver = drivers[item.slot->name];
  if (!driver) driver = item.slot->layer->NewDriver();
  sink_->Started(Ended(item, CaseStatus::kPass, "").Id());
  SuiteEnv env = EnvFor(item.slot);
  sink_->Add(RunCase(*item.suite, *item.def, *driver, *item.arch, env, item.repeat));
}

void Run::RunCases(std::vector<Item> items) {
  std::vector<CaseQueue::Entry> entries;
  for (const auto& i : items) entries.push_back({std::string(i.arch->name), i.def->serial});
  CaseQueue queue(std::move(entries));
  auto worker = [&] {
    std::map<std::string, std::unique_ptr<Driver>> drivers;  // one per layer, per worker
    while (auto index = queue.Next([] { return g_signal.load() != 0; })) {
      const Item& item = items[*index];
      // RunCase already turns an exception in a case body into that case's error; this
      // catches one from anywhere else on the way (a driver's construction), so it too ends
      // one case and not the run.
      std::string thrown;
      try {
        RunOne(item, drivers);
      } catch (const std::exception& e) {
        thrown = e.what();
      } catch (...) {
        thrown = "an exception that is not a std::exception";
      }
      if (!thrown.empty()) {
        drivers.erase(item.slot->name);  // it may be in any state now
        sink_->Add(
            Ended(item, CaseStatus::kError, "the harness stopped on an exception: " + thrown));
      }
      queue.Done(*index);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, plan_.jobs); ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
}

// The restart suite takes the run's own daemons down and back: it runs alone, after every
// other case, one daemon at a time.
RestartConfig Run::RestartSettings(bool sharded) {
  RestartConfig c;
  c.run_prefix = prefix_;
  c.step_timeout = plan_.step_timeout;
  c.jobs = plan_.jobs;
  const std::string filter = plan_.filter;
  c.selected = [this, filter, sharded](const std::string& name, const std::string& id) {
    if (sharded && !Owns(ShardUnitOf("restart", id, name))) return false;
    return GlobMatch(filter, name) || GlobMatch(filter, id);
  };
  c.stop = [] { return g_signal.load() != 0; };
  c.on_start = [this](const std::string& id) { sink_->Started(id); };
  c.on_result = [this](CaseResult r) { sink_->Add(std::move(r)); };
  c.arch_unavailable = [this](const ArchInfo& a) { return binfmt_->Unavailable(a); };
  return c;
}

Status Run::ApplyShard(std::vector<Item>* items) {
  std::vector<std::string> units;
  auto unit_of = [](const Item& i) {
    return ShardUnitOf(i.suite->name(),
                       std::string(i.suite->name()) + "/" + i.slot->name + "/" +
                           std::string(i.arch->name) + "/" + i.def->name,
                       i.def->name);
  };
  for (const Item& i : *items) units.push_back(unit_of(i));
  if (Wants("restart")) {
    RestartConfig all = RestartSettings(/*sharded=*/false);
    for (const RestartScenario& sc : restart_scenarios_) {
      if (CountRestartCases(all, {sc}, arches_) > 0) units.push_back("restart/" + sc.name);
    }
  }
  if (Wants("throughput")) units.emplace_back("throughput");
  if (Wants("faults") && CountFaultScenarios(plan_.filter) > 0) units.emplace_back("faults");
  std::vector<std::string> arch_names;
  for (const ArchInfo* a : arches_) arch_names.emplace_back(a->name);
  json selection = {{"suites", plan_.suites},
                    {"layers", plan_.layers},
                    {"arches", arch_names},
                    {"filter", plan_.filter},
                    {"repeat", plan_.repeat}};
  if (Wants("throughput")) selection["throughput"] = plan_.ToJson()["throughput"];
  const std::string fingerprint = PlanFingerprint(units, selection);
  context_["polyarch"]["plan_fingerprint"] = fingerprint;
  std::set<std::string> unique(units.begin(), units.end());
  context_["polyarch"]["plan_units"] = unique.size();
  if (plan_.shard_count == 0) return Status::Ok();

  std::map<std::string, double> weights;
  if (!plan_.shard_weights.empty()) {
    PA_ASSIGN_OR_RETURN(weights, LoadShardWeights(plan_.shard_weights));
  }
  shard_of_ = AssignShards(units, plan_.shard_count, weights);
  int mine = 0;
  for (const auto& [unit, shard] : shard_of_) mine += shard == plan_.shard_index;
  json shard = {{"index", plan_.shard_index},
                {"count", plan_.shard_count},
                {"units", mine},
                {"weights", plan_.shard_weights}};
  if (!weights.empty()) {
    std::vector<double> loads = ShardLoads(shard_of_, plan_.shard_count, weights);
    shard["predicted_seconds"] = loads;
  }
  context_["polyarch"]["shard"] = shard;
  const size_t before = items->size();
  std::erase_if(*items, [&](const Item& i) { return !Owns(unit_of(i)); });
  PA_LOG(kInfo) << "shard " << plan_.shard_index << "/" << plan_.shard_count << ": " << mine
                << " of " << unique.size() << " units of plan " << fingerprint << " ("
                << items->size() << " of " << before << " cases of the case suites)";
  return Status::Ok();
}

void Run::RunRestart() {
  if (!Wants("restart") || g_signal.load() != 0) return;
  RunRestartSuite(RestartSettings(), restart_scenarios_, arches_);
}

// The throughput suite measures: it runs alone, after every other case, one layer at a time.
void Run::RunThroughput() {
  if (!Wants("throughput") || !Owns("throughput")) return;
  const ThroughputPlan& tp = plan_.throughput;
  ThroughputRunConfig c;
  // ValidatePlan accepted the cycle, and KnownCycles() are the names ParseCyclePath reads.
  c.path = ParseCyclePath(tp.cycle).value();
  c.containers = tp.containers;
  c.concurrency = tp.concurrency;
  c.warmup = tp.warmup;
  c.duration_s = tp.duration_s;
  c.trials = tp.trials;
  c.mixed_arch = tp.mixed_arch;
  c.step_timeout = plan_.step_timeout;
  c.id_prefix = prefix_;
  c.daemon_pids = stack_.DaemonPids();
  c.stop = [] { return g_signal.load() != 0; };
  c.on_start = [this](const std::string& id) { sink_->Started(id); };
  c.on_result = [this](CaseResult r) { sink_->Add(std::move(r)); };
  c.arch_unavailable = [this](const ArchInfo& a) { return binfmt_->Unavailable(a); };
  std::vector<ThroughputLayerRef> layers;
  for (const auto& slot : stack_.layers()) {
    layers.push_back({slot->name, slot->layer.get(), slot->unavailable});
  }
  ThroughputSections out = RunThroughputSuite(c, layers, arches_);
  std::lock_guard<std::mutex> lock(sink_->mu());
  sink_->report().sections["throughput"] = std::move(out.rows);
  sink_->report().sections["calibration"] = std::move(out.calibration);
}

// The fault suite injects failures for real: it runs alone, after every other case, each
// scenario with daemons and layers of its own under the run directory.
void Run::RunFaults() {
  if (!Wants("faults") || !Owns("faults")) return;
  FaultsConfig c;
  c.dir = run_dir_ + "/faults";
  c.images = &images_;
  c.run_prefix = prefix_;
  c.step_timeout =
      std::min<std::chrono::milliseconds>(plan_.step_timeout, std::chrono::seconds(10));
  c.journal = journal_.get();
  c.filter = plan_.filter;
  c.on_start = [this](const std::string& id) { sink_->Started(id); };
  c.on_result = [this](const CaseResult& r) { sink_->Add(r); };
  c.stop = [] { return g_signal.load() != 0; };
  FaultsOutcome out = polyarch::RunFaults(c);
  std::lock_guard<std::mutex> lock(sink_->mu());
  sink_->report().sections["faults"] = out.section;
}

void Run::Cleanup() {
  json layers = json::object(), daemons = json::object();
  auto problem = [this](std::string what) { cleanup_problems_.push_back(std::move(what)); };
  stack_.Stop(&layers, &daemons, &cleanup_problems_);
  // Entries this run registered go; entries that were there before stay.
  json removed = binfmt_ ? binfmt_->RemoveRegistered(&cleanup_problems_) : json::array();
  // Cgroups of the run: named after its containers (prefix), its containerd namespace and
  // dockerd's cgroup parent (both "polyarch-<run id>").
  std::vector<std::string> cgroups_left = RemoveCgroups({prefix_, "polyarch-" + run_id_});
  for (const auto& c : cgroups_left) problem("cgroup " + c + " was left");
  // The host's mounts must be the ones it had, by identity and not by count, over the places a
  // run can change, except what polyarch leaves by design (binfmt_misc); each one is named.
  MountDiff mounts;
  auto after = ReadMountInfo();
  if (!after.ok()) {
    problem("cannot read the mount table: " + after.status().message());
  } else {
    mounts = DiffMounts(mounts_before_, *after, RunMountScope(s_.state_dir, run_dir_));
    for (const auto& m : mounts.added) problem("mount " + m + " was left");
    for (const auto& m : mounts.removed)
      problem("mount " + m + " was there before the run and is gone");
    int under_run_dir = 0;
    for (const auto& m : *after) under_run_dir += PathUnder(m.mount_point, run_dir_);
    cleanup_["mounts_left_under_run_dir"] = under_run_dir;
  }
  if (!plan_.keep) {
    Status s = RemoveTree(run_dir_);
    if (!s.ok()) {
      cleanup_["run_dir_error"] = s.message();
      problem("the run directory was not removed: " + s.message());
    }
  }
  const bool ok = cleanup_problems_.empty();
  if (ok) (void)journal_->Remove(kJournalKindRun, run_id_);  // else `polyarch cleanup` retries
  cleanup_["layers"] = layers;
  cleanup_["daemons"] = daemons;
  cleanup_["binfmt_removed"] = removed;
  cleanup_["mounts_before"] = static_cast<int>(mounts_before_.size());
  cleanup_["mounts_after"] = after.ok() ? static_cast<int>(after->size()) : -1;
  cleanup_["mounts_added"] = mounts.added;
  cleanup_["mounts_removed"] = mounts.removed;
  cleanup_["mounts_kept_by_design"] = mounts.kept_by_design;
  cleanup_["run_dir_kept"] = plan_.keep;
  cleanup_["cgroups_left"] = cgroups_left;
  cleanup_["problems"] = cleanup_problems_;
  cleanup_["ok"] = ok;
}

int Run::Report() {
  RunReport& r = sink_->report();
  std::lock_guard<std::mutex> lock(sink_->mu());
  r.finished_at = UtcNow();
  r.sections["cleanup"] = cleanup_;
  // The cross-arch timings side by side with native, for the HTML chart.
  json crossarch = CrossArchTimings(r.cases, HostArch() ? std::string(HostArch()->name) : "");
  if (!crossarch.empty()) r.sections["crossarch"] = crossarch;
  r.sections["paths"] = {{"report_json", report_dir_ + "/report.json"},
                         {"junit", report_dir_ + "/junit.xml"},
                         {"html", report_dir_ + "/report.html"}};

  // The sink met each case with the expectations as it finished; this pass changes no status
  // and finds the entries that matched nothing.
  const ExpectationsApplied applied = ApplyExpectations(s_.expectations, &r.cases);
  r.sections["expectations"] = ExpectationsSection(s_.expectations, applied);

  OutcomeInputs in;
  in.summary = Summarize(r.cases);
  in.stale_expectations = applied.stale;
  in.unused_expectations = DescribeUnused(s_.expectations, applied);
  if (g_signal.load() != 0) in.interrupted_by = sigabbrev_np(g_signal.load());
  in.cleanup_problems = cleanup_problems_;
  in.strict = plan_.strict;
  in.baseline = plan_.baseline;
  // The same gate as `polyarch compare`, on this report, before it is written: the pages
  // must carry the exit code the run ends with.
  std::optional<CompareResult> cmp;
  if (!plan_.baseline.empty()) {
    auto baseline = LoadReportFile(plan_.baseline);
    Result<CompareResult> compared =
        baseline.ok() ? CompareReports(*baseline, r,
                                       CompareOptions{.max_regression = plan_.max_regression,
                                                      .baseline_name = plan_.baseline,
                                                      .current_name = report_dir_ + "/report.json"})
                      : Result<CompareResult>(baseline.status());
    if (!compared.ok()) {
      PA_LOG(kError) << "baseline: " << compared.status().message();
      in.baseline_error = compared.status().message();
    } else {
      cmp = std::move(*compared);
      in.regression = cmp->HasRegression();
      Status w = WriteFileAtomic(report_dir_ + "/compare.json", CompareJson(*cmp).dump(2));
      if (!w.ok()) PA_LOG(kError) << "cannot write compare.json: " << w.message();
    }
  }
  Outcome outcome = DecideOutcome(in);
  r.exit_code = outcome.code;
  r.exit_reasons = outcome.reasons;
  r.sections["warnings"] = outcome.warnings;
  r.complete = in.interrupted_by.empty();
  if (!r.complete) r.incomplete_reason = "interrupted by " + in.interrupted_by;
  for (const auto& [file, text] :
       {std::pair{"report.json", FormatJsonReport(r)}, std::pair{"junit.xml", FormatJUnit(r)},
        std::pair{"report.html", FormatHtml(r)}}) {
    Status w = WriteFileAtomic(report_dir_ + "/" + file, text);
    if (!w.ok()) {
      PA_LOG(kError) << "cannot write the report: " << w.message();
      if (in.report_error.empty()) in.report_error = w.message();
    }
  }
  std::fputs(FormatConsoleSummary(r, s_.color).c_str(), stdout);
  if (cmp) std::printf("\n%s", FormatCompareTable(*cmp).c_str());
  std::fflush(stdout);
  return DecideOutcome(in).code;  // a report that could not be written is known only now
}

int Run::Execute() {
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  auto restore = [&] {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  };

  if (Status s = Preflight(); !s.ok()) {
    PA_LOG(kError) << s.message();
    restore();
    return ExitCodeFor(s);
  }
  PA_LOG(kInfo) << "run " << run_id_ << ": " << run_dir_ << ", reports in " << report_dir_;
  binfmt_ = std::make_unique<RunBinfmt>(journal_.get());
  context_["binfmt"] = binfmt_->Register(arches_, run_dir_);
  if (Status s = BuildImageSet(); !s.ok()) {
    PA_LOG(kError) << "images: " << s.message();
    Cleanup();
    restore();
    return kExitEnvironment;
  }
  suites_.push_back(std::make_unique<LifecycleSuite>());
  suites_.push_back(std::make_unique<CrossArchSuite>(ComputeNativeGolden(images_), &images_));
  suites_.push_back(std::make_unique<SpecSuite>());
  if (!FaultsOnly()) {
    stack_.Start({&plan_, run_id_, run_dir_, &images_, journal_.get()});
    context_["daemons"] = stack_.DaemonsContext();
    context_["layers"] = stack_.LayersContext();
  }
  std::vector<Item> items = PlanCases();
  if (Wants("restart")) restart_scenarios_ = stack_.RestartScenarios();
  if (Status s = ApplyShard(&items); !s.ok()) {
    PA_LOG(kError) << s.message();
    Cleanup();
    restore();
    return ExitCodeFor(s);
  }
  int total = static_cast<int>(items.size());
  if (Wants("throughput") && Owns("throughput")) {
    const ThroughputPlan& tp = plan_.throughput;
    int per_arch_set = static_cast<int>(tp.concurrency.size()) * tp.trials;
    int sets = static_cast<int>(arches_.size()) + (tp.mixed_arch && arches_.size() > 1 ? 1 : 0);
    total += static_cast<int>(stack_.layers().size()) * sets * per_arch_set;
  }
  if (Wants("restart")) total += CountRestartCases(RestartSettings(), restart_scenarios_, arches_);
  if (Wants("faults") && Owns("faults")) total += CountFaultScenarios(plan_.filter);
  sink_ = std::make_unique<ReportSink>(report_dir_, s_.tty, total, &s_.expectations);
  sink_->report().context = context_;
  sink_->report().started_at = UtcNow();
  (void)sink_->Write();
  RunCases(std::move(items));
  RunRestart();
  RunThroughput();
  RunFaults();
  sink_->FinishProgress();
  Cleanup();
  int code = Report();
  restore();
  return code;
}

}  // namespace

int ExecuteRun(const RunSettings& settings) {
  Run run(settings);
  return run.Execute();
}

}  // namespace polyarch
