#include "harness/run/runner.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "binfmt/procfs.h"
#include "binfmt/proof.h"
#include "binfmt/registry.h"
#include "harness/compare/compare.h"
#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/log.h"
#include "harness/core/mountinfo.h"
#include "harness/core/reaper.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/oci_runtime.h"
#include "harness/host/doctor.h"
#include "harness/host/facts.h"
#include "harness/report/console_reporter.h"
#include "harness/report/html_reporter.h"
#include "harness/report/json_reporter.h"
#include "harness/report/junit_reporter.h"
#include "harness/run/recovery.h"
#include "images/builder.h"
#include "suites/crossarch/crossarch_suite.h"
#include "suites/faults/faults.h"
#include "suites/lifecycle/lifecycle_suite.h"
#include "suites/throughput/throughput.h"

namespace polyarch {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};

void OnSignal(int sig) { g_signal.store(sig); }

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

// What a run may leave mounted by design (docs/host.md, what polyarch changes on a host): the
// binfmt_misc file system, mounted to register the emulators when the host had not.
bool MountKeptByDesign(const Mount& m) {
  return m.fstype == "binfmt_misc" && m.mount_point == kBinfmtDir;
}

// The mounts of `a` that `b` lacks, by mount id (a mount unmounted and made again is new).
std::vector<const Mount*> MountsMissingFrom(const std::vector<Mount>& a,
                                            const std::vector<Mount>& b) {
  std::set<int> ids;
  for (const auto& m : b) ids.insert(m.id);
  std::vector<const Mount*> out;
  for (const auto& m : a) {
    if (!ids.count(m.id)) out.push_back(&m);
  }
  return out;
}

// The report, written as cases finish: at most once a second while running, and at the end.
class ReportSink {
 public:
  ReportSink(std::string dir, bool tty, int total)
      : dir_(std::move(dir)), progress_(stderr, tty, total) {}

  RunReport& report() { return report_; }
  std::mutex& mu() { return mu_; }

  void Started(const std::string& id) { progress_.CaseStarted(id); }

  void Add(CaseResult c) {
    progress_.CaseFinished(c);
    std::lock_guard<std::mutex> lock(mu_);
    report_.cases.push_back(std::move(c));
    if (Clock::now() - last_write_ > std::chrono::seconds(1)) {
      Status s = WriteLocked();
      if (!s.ok()) PA_LOG(kWarning) << "report not updated: " << s.message();
    }
  }

  Status Write() {
    std::lock_guard<std::mutex> lock(mu_);
    return WriteLocked();
  }

  void FinishProgress() { progress_.Finish(); }
  const std::string& dir() const { return dir_; }

 private:
  Status WriteLocked() {
    last_write_ = Clock::now();
    // Temporary file, fsync, rename: a full disk leaves the previous report, never half of one.
    return WriteFileAtomic(dir_ + "/report.json", FormatJsonReport(report_));
  }

  std::string dir_;
  std::mutex mu_;
  RunReport report_;
  ProgressPrinter progress_;
  Clock::time_point last_write_{};
};

struct LayerSlot {
  std::string name;
  std::unique_ptr<Layer> layer;
  std::string unavailable;  // why its cases are skipped
};

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
  void RegisterBinfmt();
  Status BuildImageSet();
  void StartLayers();
  std::vector<Item> PlanCases();
  void RunCases(std::vector<Item> items);
  void RunOne(const Item& item, std::map<std::string, std::unique_ptr<Driver>>& drivers);
  void RunThroughput();
  void RunFaults();
  void Cleanup();
  int Report();

  SuiteEnv EnvFor(LayerSlot* slot);
  bool Wants(const char* suite) const {
    return std::find(plan_.suites.begin(), plan_.suites.end(), suite) != plan_.suites.end();
  }
  // The fault suite brings its own daemons and layers: a run of it alone needs none of the
  // run's, only the native image.
  bool FaultsOnly() const { return plan_.suites == std::vector<std::string>{"faults"}; }
  Status WithPreserveArgv0(const ArchInfo& arch, const std::function<void()>& fn);
  std::string FlagsFor(const ArchInfo& arch) const;

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
  std::map<const ArchInfo*, std::string> arch_unavailable_;
  std::map<const ArchInfo*, std::string> arch_flags_;
  std::vector<Entry> registered_;  // binfmt entries this run added (and removes)
  ImageSet images_;

  std::unique_ptr<ContainerdDaemon> containerd_;
  std::unique_ptr<DockerdDaemon> dockerd_;
  std::string containerd_address_, containerd_unavailable_;
  std::vector<std::unique_ptr<LayerSlot>> layers_;

  std::vector<std::unique_ptr<Suite>> suites_;
  std::map<const Suite*, std::vector<CaseDef>> defs_;
  std::mutex binfmt_mu_;
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
  context_["host"] = {{"hostname", h.hostname},
                      {"kernel", h.kernel.release},
                      {"machine", h.machine},
                      {"cpu_model", h.cpu_model},
                      {"cpus", h.cpus},
                      {"cgroup_mode", CgroupModeName(h.cgroups.mode)},
                      {"cgroup_v2_controllers", h.cgroups.v2_controllers}};
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

void Run::RegisterBinfmt() {
  std::vector<const ArchInfo*> foreign;
  for (const ArchInfo* a : arches_) {
    if (a != HostArch() && a->has_binfmt()) foreign.push_back(a);
  }
  json entries = json::array();
  if (foreign.empty()) {
    context_["binfmt"] = entries;
    return;
  }
  RealProcFs procfs;
  InstallRequest req;
  req.arches = foreign;
  auto plan = PlanInstall(req);
  if (!plan.ok()) {
    for (const ArchInfo* a : foreign) arch_unavailable_[a] = plan.status().message();
    context_["binfmt"] = {{"error", plan.status().message()}};
    return;
  }
  auto report = Install(procfs, *journal_, *plan, /*replace=*/false);
  if (!report.ok()) {
    for (const ArchInfo* a : foreign) arch_unavailable_[a] = report.status().message();
    context_["binfmt"] = {{"error", report.status().message()}};
    return;
  }
  for (const auto& o : report->outcomes) {
    json e = {{"arch", o.arch->name},
              {"entry", o.entry.name},
              {"action", InstallActionName(o.action)},
              {"flags", o.entry.flags},
              {"interpreter", o.entry.interpreter},
              {"owner", o.owned ? "polyarch" : "other"}};
    if (o.action == InstallAction::kRegistered) registered_.push_back(o.entry);
    arch_flags_[o.arch] = o.entry.flags;
    if (o.action == InstallAction::kConflict && o.existing) arch_flags_[o.arch] = o.existing->flags;
    // C is never polyarch's default, but an entry already in place (installed on request with
    // `binfmt install --flags FC`, or another owner's) may carry it: say so in the report.
    std::vector<std::string> warnings = FlagWarnings(arch_flags_[o.arch]);
    for (const auto& w : o.warnings) {
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    }
    if (!warnings.empty()) e["warnings"] = warnings;
    // Whatever entry handles the arch, it must really run its programs.
    ProofResult proof = ProveOnHost(*o.arch, run_dir_);
    e["proven"] = proof.ok;
    if (!proof.ok) {
      arch_unavailable_[o.arch] = "no working binfmt_misc handler for " +
                                  std::string(o.arch->name) + " (" +
                                  std::string(InstallActionName(o.action)) + "): " + proof.detail;
    }
    entries.push_back(std::move(e));
  }
  context_["binfmt"] = entries;
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

void Run::StartLayers() {
  auto needs = [&](const char* n) {
    return std::find(plan_.layers.begin(), plan_.layers.end(), n) != plan_.layers.end();
  };
  json daemons = json::object();
  // The daemons fork shims that daemonize. Whether an orphan goes to a subreaper is fixed when
  // its ancestors are forked, so polyarch becomes one before any daemon starts: what they
  // orphan then comes back to polyarch to be reaped (or to whoever adopts a killed polyarch's
  // children), never to init.
  if (Status s = Reaper::Instance().Enable(); !s.ok()) PA_LOG(kWarning) << s.message();
  // One containerd serves the containerd layer and, under dockerd, the docker layer.
  if ((needs("containerd") && plan_.containerd_address.empty()) ||
      (needs("docker") && plan_.docker_host.empty())) {
    ContainerdOptions o;
    o.run_dir = run_dir_ + "/daemons";
    o.journal = journal_.get();
    auto d = ContainerdDaemon::Start(o);
    if (d.ok()) {
      containerd_ = std::move(*d);
      daemons["containerd"] = {{"owned", true},
                               {"version", containerd_->version()},
                               {"address", containerd_->address()}};
    } else {
      containerd_unavailable_ = d.status().message();
      daemons["containerd"] = {{"owned", true}, {"error", containerd_unavailable_}};
    }
  }
  containerd_address_ = plan_.containerd_address.empty()
                            ? (containerd_ ? containerd_->address() : "")
                            : plan_.containerd_address.substr(
                                  plan_.containerd_address.rfind("unix://", 0) == 0 ? 7 : 0);
  if (!plan_.containerd_address.empty()) {
    daemons["containerd"] = {{"owned", false}, {"address", containerd_address_}};
  }

  for (const auto& name : plan_.layers) {
    auto slot = std::make_unique<LayerSlot>();
    slot->name = name;
    if (name == "runc" || name == "crun") {
      OciRuntimeOptions o;
      o.name = name;
      auto it = plan_.runtime_binaries.find(name);
      o.binary = it == plan_.runtime_binaries.end() ? name : it->second;
      o.run_dir = run_dir_;
      o.images = &images_;
      o.step_timeout = plan_.step_timeout;
      o.journal = journal_.get();
      auto l = OciRuntimeLayer::Create(o);
      if (l.ok()) {
        slot->layer = std::move(*l);
      } else {
        slot->unavailable = l.status().message();
      }
    } else if (name == "containerd") {
      if (containerd_address_.empty()) {
        slot->unavailable = "containerd did not start: " + containerd_unavailable_;
      } else {
        ContainerdLayerOptions o;
        o.address = containerd_address_;
        o.run_id = run_id_;
        o.run_dir = run_dir_;
        o.images = &images_;
        o.step_timeout = plan_.step_timeout;
        o.journal = journal_.get();
        auto l = ContainerdLayer::Create(o);
        if (l.ok()) {
          slot->layer = std::move(*l);
        } else {
          slot->unavailable = l.status().message();
        }
      }
    } else if (name == "docker") {
      std::string socket;
      if (!plan_.docker_host.empty()) {
        socket = plan_.docker_host.substr(7);
        daemons["dockerd"] = {{"owned", false}, {"address", socket}};
      } else if (!containerd_) {
        slot->unavailable =
            "dockerd needs polyarch's containerd, which did not start: " + containerd_unavailable_;
      } else {
        DockerdOptions o;
        o.run_dir = run_dir_ + "/daemons";
        o.journal = journal_.get();
        // Containers' cgroups under the run's name, which the run's cleanup also looks for.
        o.cgroup_parent = "polyarch-" + run_id_ + "-docker";
        auto d = DockerdDaemon::Start(o, containerd_->address());
        if (d.ok()) {
          dockerd_ = std::move(*d);
          socket = dockerd_->address();
          daemons["dockerd"] = {{"owned", true},
                                {"version", dockerd_->version().version},
                                {"api_version", dockerd_->version().api_version},
                                {"address", socket}};
        } else {
          slot->unavailable = "dockerd did not start: " + d.status().message();
          daemons["dockerd"] = {{"owned", true}, {"error", d.status().message()}};
        }
      }
      if (!socket.empty()) {
        DockerLayerOptions o;
        o.socket_path = socket;
        o.run_id = run_id_;
        o.images = &images_;
        o.step_timeout = plan_.step_timeout;
        o.journal = journal_.get();
        auto l = DockerLayer::Create(o);
        if (l.ok()) {
          slot->layer = std::move(*l);
        } else {
          slot->unavailable = l.status().message();
        }
      }
    }
    layers_.push_back(std::move(slot));
  }
  context_["daemons"] = daemons;
  json layers = json::object();
  for (const auto& slot : layers_) {
    layers[slot->name] =
        slot->layer ? slot->layer->Context() : json{{"unavailable", slot->unavailable}};
    if (!slot->unavailable.empty()) {
      PA_LOG(kWarning) << slot->name << ": " << slot->unavailable;
    }
  }
  context_["layers"] = layers;
}

std::string Run::FlagsFor(const ArchInfo& arch) const {
  auto it = arch_flags_.find(&arch);
  return it == arch_flags_.end() ? "" : it->second;
}

Status Run::WithPreserveArgv0(const ArchInfo& arch, const std::function<void()>& fn) {
  std::lock_guard<std::mutex> lock(binfmt_mu_);
  RealProcFs procfs;
  Entry e = EntryForArch(arch, "polyarch-p-", kDefaultEmulatorDir, "PF");
  PA_RETURN_IF_ERROR(ValidateEntry(e));
  if (procfs.ReadEntry(e.name).ok()) {
    return AlreadyExists("an entry named " + e.name + " is already registered");
  }
  PA_RETURN_IF_ERROR(
      journal_->Add({std::string(kJournalKindBinfmt),
                     e.name,
                     {{"arch", std::string(arch.name)}, {"line", e.RegistrationLine()}}}));
  Status reg = procfs.Register(e.RegistrationLine());
  if (!reg.ok()) {
    (void)journal_->Remove(kJournalKindBinfmt, e.name);
    return reg;
  }
  fn();
  Status rm = procfs.RemoveEntry(e.name);
  if (rm.ok()) (void)journal_->Remove(kJournalKindBinfmt, e.name);
  return rm;
}

SuiteEnv Run::EnvFor(LayerSlot* slot) {
  SuiteEnv env;
  env.run_prefix = prefix_;
  env.step_timeout = plan_.step_timeout;
  env.new_driver = [slot] { return slot->layer->NewDriver(); };
  env.has_busybox = [this](const ArchInfo& a) {
    const BuiltImage* img = images_.Find(&a);
    return img != nullptr && img->busybox;
  };
  env.binfmt_flags = [this](const ArchInfo& a) { return FlagsFor(a); };
  env.with_preserve_argv0 = [this](const ArchInfo& a, const std::function<void()>& fn) {
    return WithPreserveArgv0(a, fn);
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
    for (auto& slot : layers_) {
      for (const ArchInfo* arch : arches_) {
        const BuiltImage* img = images_.Find(arch);
        for (const CaseDef& c : defs.at(suite)) {
          if (!Applies(c, *arch, img != nullptr && img->busybox)) continue;
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
  } else if (auto it = arch_unavailable_.find(item.arch); it != arch_unavailable_.end()) {
    reason = it->second;
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
  std::deque<Item> parallel, serial;
  for (auto& i : items) (i.def->serial ? serial : parallel).push_back(i);
  std::mutex mu;
  auto worker = [&](std::deque<Item>* queue) {
    std::map<std::string, std::unique_ptr<Driver>> drivers;  // one per layer, per worker
    for (;;) {
      Item item;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (queue->empty() || g_signal.load() != 0) return;
        item = queue->front();
        queue->pop_front();
      }
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
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, plan_.jobs); ++i) threads.emplace_back(worker, &parallel);
  for (auto& t : threads) t.join();
  worker(&serial);  // serial cases one at a time, with nothing else running
}

// The throughput suite measures: it runs alone, after every other case, one layer at a time.
void Run::RunThroughput() {
  if (std::find(plan_.suites.begin(), plan_.suites.end(), "throughput") == plan_.suites.end()) {
    return;
  }
  const ThroughputPlan& tp = plan_.throughput;
  Calibration cal = Calibrate();
  json rows = json::array();
  std::vector<int> daemon_pids;
  if (containerd_) daemon_pids.push_back(containerd_->pid());
  if (dockerd_) daemon_pids.push_back(dockerd_->pid());
  int serial = 0;
  auto measure = [&](LayerSlot& slot, const std::vector<const ArchInfo*>& arches,
                     std::vector<ThroughputMeasurement>* out) {
    std::string arch_name = arches.size() == 1 ? std::string(arches[0]->name) : "mixed";
    for (int k : tp.concurrency) {
      for (int trial = 0; trial < tp.trials; ++trial) {
        if (g_signal.load() != 0) return;
        CaseResult c;
        c.suite = "throughput";
        c.layer = slot.name;
        c.arch = arch_name;
        c.name = "k" + std::to_string(k);
        c.repeat = trial;
        c.spec_ref = "closed loop: create, start, wait, delete; at most K in flight";
        std::string why;
        if (!slot.layer) why = slot.unavailable;
        for (const ArchInfo* a : arches) {
          if (!why.empty()) break;
          if (auto it = arch_unavailable_.find(a); it != arch_unavailable_.end())
            why = it->second;
          else if (Status st = slot.layer->Supports(*a); !st.ok())
            why = st.message();
        }
        if (!why.empty()) {
          c.status = CaseStatus::kSkip;
          c.reason = why;
          sink_->Add(std::move(c));
          continue;
        }
        sink_->Started(c.Id());
        ThroughputConfig cfg;
        cfg.containers = tp.containers;
        cfg.concurrency = k;
        cfg.warmup = tp.warmup;
        cfg.duration_s = tp.duration_s;
        cfg.step_timeout = plan_.step_timeout;
        cfg.id_prefix = prefix_ + "tp" + std::to_string(serial++) + "-";
        cfg.arches = arches;
        auto t0 = Clock::now();
        ThroughputMeasurement m = MeasureThroughput(*slot.layer, cfg, daemon_pids, trial);
        c.duration_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        c.metrics["starts_per_s"] = m.starts_per_s;
        c.metrics["started"] = m.started;
        c.metrics["errors"] = m.errors;
        c.metrics["timeouts"] = m.timeouts;
        if (auto e2e = m.latency_ms.find("end_to_end"); e2e != m.latency_ms.end()) {
          c.metrics["e2e_p50_ms"] = e2e->second.p50;
          c.metrics["e2e_p99_ms"] = e2e->second.p99;
        }
        if (cal.raw_spawn_per_s > 0)
          c.metrics["starts_vs_spawn_floor"] = m.starts_per_s / cal.raw_spawn_per_s;
        if (m.errors > 0 || m.started < tp.containers) {
          c.status = CaseStatus::kFail;
          c.reason = std::to_string(m.errors) + " of " + std::to_string(m.started + m.errors) +
                     " cycles failed" + (m.first_errors.empty() ? "" : ": " + m.first_errors[0]);
        }
        c.data = MeasurementJson(m);
        out->push_back(m);
        sink_->Add(std::move(c));
      }
    }
  };
  for (auto& slot : layers_) {
    for (const ArchInfo* a : arches_) {
      std::vector<ThroughputMeasurement> ms;
      measure(*slot, {a}, &ms);
      auto scaling = ComputeScaling(ms);
      for (size_t i = 0; i < ms.size(); ++i) {
        json row = MeasurementJson(ms[i]);
        row["efficiency"] = scaling[i].efficiency;
        row["p99_over_p50_at_1"] = scaling[i].p99_over_p50_at_1;
        rows.push_back(std::move(row));
      }
    }
    if (tp.mixed_arch && arches_.size() > 1) {
      std::vector<ThroughputMeasurement> ms;
      measure(*slot, arches_, &ms);
      for (const auto& m : ms) rows.push_back(MeasurementJson(m));
    }
  }
  std::lock_guard<std::mutex> lock(sink_->mu());
  sink_->report().sections["throughput"] = rows;
  json calibration = CalibrationJson(cal);
  // The ceiling against the fastest real layer: the harness must not be what is measured.
  double fastest = 0;
  for (const auto& r : rows) fastest = std::max(fastest, r.value("starts_per_s", 0.0));
  if (fastest > 0) calibration["null_vs_fastest_layer"] = cal.null_cycles_per_s / fastest;
  sink_->report().sections["calibration"] = calibration;
}

// The fault suite injects failures for real: it runs alone, after every other case, each
// scenario with daemons and layers of its own under the run directory.
void Run::RunFaults() {
  if (!Wants("faults")) return;
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
  json layers = json::object();
  auto problem = [this](std::string what) { cleanup_problems_.push_back(std::move(what)); };
  for (auto& slot : layers_) {
    if (!slot->layer) continue;
    Status s = slot->layer->Cleanup();
    layers[slot->name] = {{"ok", s.ok()}, {"error", s.ok() ? "" : s.message()}};
    if (!s.ok()) problem("layer " + slot->name + ": " + s.message());
  }
  layers_.clear();  // drivers and layers go before their daemons
  json daemons = json::object();
  if (dockerd_) {
    Status s = dockerd_->Stop();
    daemons["dockerd"] = {{"ok", s.ok()}, {"error", s.ok() ? "" : s.message()}};
    if (!s.ok()) problem("stopping dockerd: " + s.message());
    dockerd_.reset();
  }
  if (containerd_) {
    Status s = containerd_->Stop();
    daemons["containerd"] = {{"ok", s.ok()}, {"error", s.ok() ? "" : s.message()}};
    if (!s.ok()) problem("stopping containerd: " + s.message());
    containerd_.reset();
  }
  // Entries this run registered go; entries that were there before stay.
  json removed = json::array();
  RealProcFs procfs;
  for (const Entry& e : registered_) {
    auto text = procfs.ReadEntry(e.name);
    if (!text.ok()) continue;
    auto k = ParseKernelEntry(e.name, *text);
    if (!k.ok() || !SameContent(e, *k)) continue;
    Status s = procfs.RemoveEntry(e.name);
    if (s.ok()) (void)journal_->Remove(kJournalKindBinfmt, e.name);
    removed.push_back({{"entry", e.name}, {"ok", s.ok()}});
    if (!s.ok()) problem("binfmt entry " + e.name + " not removed: " + s.message());
  }
  // Cgroups of the run: named after its containers (prefix), its containerd namespace and
  // dockerd's cgroup parent (both "polyarch-<run id>").
  std::vector<std::string> cgroups_left = RemoveCgroups({prefix_, "polyarch-" + run_id_});
  for (const auto& c : cgroups_left) problem("cgroup " + c + " was left");
  // The host's mounts must be the ones it had, by identity and not by count, except what
  // polyarch leaves by design (binfmt_misc); each difference is named.
  json mounts_added = json::array(), mounts_removed = json::array(), mounts_kept = json::array();
  auto after = ReadMountInfo();
  if (!after.ok()) {
    problem("cannot read the mount table: " + after.status().message());
  } else {
    for (const Mount* m : MountsMissingFrom(*after, mounts_before_)) {
      if (MountKeptByDesign(*m)) {
        mounts_kept.push_back(m->Describe());
        continue;
      }
      mounts_added.push_back(m->Describe());
      problem("mount " + m->Describe() + " was left");
    }
    int under_run_dir = 0;
    for (const auto& m : *after) under_run_dir += PathUnder(m.mount_point, run_dir_);
    cleanup_["mounts_left_under_run_dir"] = under_run_dir;
    for (const Mount* m : MountsMissingFrom(mounts_before_, *after)) {
      mounts_removed.push_back(m->Describe());
      problem("mount " + m->Describe() + " was there before the run and is gone");
    }
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
  cleanup_["mounts_added"] = mounts_added;
  cleanup_["mounts_removed"] = mounts_removed;
  cleanup_["mounts_kept_by_design"] = mounts_kept;
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
  json crossarch = json::array();
  std::map<std::string, const CaseResult*> native_start, native_probe;
  for (const auto& c : r.cases) {
    if (c.suite != "crossarch" || HostArch() == nullptr || c.arch != HostArch()->name) continue;
    if (c.name == "start_latency") native_start[c.layer] = &c;
    if (c.name == "probe_info_matches_native") native_probe[c.layer] = &c;
  }
  for (const auto& c : r.cases) {
    if (c.suite != "crossarch" || c.name != "start_latency" || !c.metrics.count("start_ms"))
      continue;
    json row = {
        {"layer", c.layer}, {"arch", c.arch}, {"emulated_start_ms", c.metrics.at("start_ms")}};
    if (native_start.count(c.layer) && native_start[c.layer]->metrics.count("start_ms")) {
      row["native_start_ms"] = native_start[c.layer]->metrics.at("start_ms");
    }
    for (const auto& p : r.cases) {
      if (p.suite == "crossarch" && p.layer == c.layer && p.arch == c.arch &&
          p.name == "probe_info_matches_native" && p.metrics.count("probe_run_ms")) {
        row["probe_run_ms"] = p.metrics.at("probe_run_ms");
      }
    }
    if (native_probe.count(c.layer) && native_probe[c.layer]->metrics.count("probe_run_ms")) {
      row["native_probe_run_ms"] = native_probe[c.layer]->metrics.at("probe_run_ms");
    }
    crossarch.push_back(std::move(row));
  }
  if (!crossarch.empty()) r.sections["crossarch"] = crossarch;
  r.sections["paths"] = {{"report_json", report_dir_ + "/report.json"},
                         {"junit", report_dir_ + "/junit.xml"},
                         {"html", report_dir_ + "/report.html"}};

  Summary sum = Summarize(r.cases);
  int code = 0;
  std::vector<std::string> reasons;
  const int not_passing = sum.fail + sum.error + sum.aborted;
  if (g_signal.load() != 0) {
    code = 4;
    reasons.push_back(std::string("interrupted by ") + sigabbrev_np(g_signal.load()));
  }
  if (not_passing > 0) {
    if (code == 0) code = 1;
    std::string counts;
    for (auto [n, what] : {std::pair{sum.fail, "failed"}, std::pair{sum.error, "errored"},
                           std::pair{sum.aborted, "aborted"}}) {
      if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    }
    reasons.push_back(std::to_string(not_passing) + " of " + std::to_string(sum.total) +
                      (not_passing == 1 ? " case" : " cases") + " did not pass (" + counts + ")");
  }
  if (!cleanup_.value("ok", true)) {
    if (code == 0) code = 1;
    std::string what;
    for (const auto& p : cleanup_problems_) what += (what.empty() ? "" : "; ") + p;
    reasons.push_back("cleanup did not restore the host: " + what);
  }
  if (plan_.strict && sum.skip > 0) {
    if (code == 0) code = 1;
    reasons.push_back("--strict: " + std::to_string(sum.skip) + " skipped case" +
                      (sum.skip == 1 ? " counts" : "s count") + " as failures");
  }
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
      if (code == 0) code = 2;
      reasons.push_back("baseline " + plan_.baseline + ": " + compared.status().message());
    } else {
      cmp = std::move(*compared);
      Status w = WriteFileAtomic(report_dir_ + "/compare.json", CompareJson(*cmp).dump(2));
      if (!w.ok()) PA_LOG(kError) << "cannot write compare.json: " << w.message();
      if (cmp->HasRegression()) {
        if (code == 0) code = 1;
        reasons.push_back("a regression against the baseline " + plan_.baseline +
                          " (compare.json)");
      }
    }
  }
  r.exit_code = code;
  r.exit_reasons = reasons;
  r.complete = g_signal.load() == 0;
  if (!r.complete) {
    r.incomplete_reason = std::string("interrupted by ") + sigabbrev_np(g_signal.load());
  }
  Status w1 = WriteFileAtomic(report_dir_ + "/report.json", FormatJsonReport(r));
  Status w2 = WriteFileAtomic(report_dir_ + "/junit.xml", FormatJUnit(r));
  Status w3 = WriteFileAtomic(report_dir_ + "/report.html", FormatHtml(r));
  for (const Status* s : {&w1, &w2, &w3}) {
    if (!s->ok()) {
      PA_LOG(kError) << "cannot write the report: " << s->message();
      if (code == 0) code = 3;
    }
  }
  std::fputs(FormatConsoleSummary(r, s_.color).c_str(), stdout);
  if (cmp) std::printf("\n%s", FormatCompareTable(*cmp).c_str());
  std::fflush(stdout);
  return code;
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
    return s.code() == Code::kInvalidArgument ? 2 : 3;
  }
  PA_LOG(kInfo) << "run " << run_id_ << ": " << run_dir_ << ", reports in " << report_dir_;
  RegisterBinfmt();
  if (Status s = BuildImageSet(); !s.ok()) {
    PA_LOG(kError) << "images: " << s.message();
    Cleanup();
    restore();
    return 3;
  }
  suites_.push_back(std::make_unique<LifecycleSuite>());
  suites_.push_back(std::make_unique<CrossArchSuite>(ComputeNativeGolden(images_), &images_));
  if (!FaultsOnly()) StartLayers();
  std::vector<Item> items = PlanCases();
  int total = static_cast<int>(items.size());
  if (std::find(plan_.suites.begin(), plan_.suites.end(), "throughput") != plan_.suites.end()) {
    const ThroughputPlan& tp = plan_.throughput;
    int per_arch_set = static_cast<int>(tp.concurrency.size()) * tp.trials;
    int sets = static_cast<int>(arches_.size()) + (tp.mixed_arch && arches_.size() > 1 ? 1 : 0);
    total += static_cast<int>(layers_.size()) * sets * per_arch_set;
  }
  if (Wants("faults")) total += CountFaultScenarios(plan_.filter);
  sink_ = std::make_unique<ReportSink>(report_dir_, s_.tty, total);
  sink_->report().context = context_;
  sink_->report().started_at = UtcNow();
  (void)sink_->Write();
  RunCases(std::move(items));
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
