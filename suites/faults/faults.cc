#include "suites/faults/faults.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/reaper.h"
#include "suites/faults/scenario.h"
#include "suites/lifecycle/lifecycle_suite.h"

namespace polyarch {
namespace faults {

using nlohmann::json;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// ScenarioContext

ScenarioContext::ScenarioContext(const FaultsConfig& config, std::string dir, std::string tag,
                                 CaseResult* result)
    : config_(config), dir_(std::move(dir)), tag_(std::move(tag)), result_(result) {
  prefix_ = config_.run_prefix + tag_ + "-";
  run_id_ = config_.run_prefix + tag_;
  polyarch_ = config_.polyarch_binary;
  if (polyarch_.empty()) {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) polyarch_.assign(buf, static_cast<size_t>(n));
  }
  scope_.dirs = {dir_};
  scope_.tokens = {prefix_, "polyarch-" + run_id_};
}

void ScenarioContext::Observed(std::string what) { observed_.push_back(std::move(what)); }

std::string ScenarioContext::observed() const {
  std::string s;
  for (const auto& o : observed_) s += (s.empty() ? "" : "; ") + o;
  return s;
}

void ScenarioContext::Fail(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kFail;
  result_->reason = std::move(reason);
}

void ScenarioContext::Error(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kError;
  result_->reason = std::move(reason);
}

void ScenarioContext::Skip(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kSkip;
  result_->reason = std::move(reason);
}

bool ScenarioContext::Expect(bool ok, const std::string& reason) {
  if (!ok) Fail(reason);
  return ok;
}

void ScenarioContext::Step(std::string name, std::string operation, Clock::duration took,
                           const Status& status, std::string output) {
  StepRecord s;
  s.name = std::move(name);
  s.operation = std::move(operation);
  s.duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  s.ok = status.ok();
  if (!status.ok()) s.error = status.ToString();
  s.output = std::move(output);
  result_->steps.push_back(std::move(s));
}

// ---------------------------------------------------------------------------------------------
// Helpers

double Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
}

std::string FormatMs(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + " ms";
}

const CaseDef* FindLifecycleCase(const std::vector<CaseDef>& cases, const std::string& name) {
  for (const auto& c : cases) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

SuiteEnv ScenarioSuiteEnv(ScenarioContext& ctx, Layer& layer, const std::string& id_prefix) {
  SuiteEnv env;
  env.run_prefix = id_prefix;
  env.step_timeout = ctx.step_timeout();
  env.new_driver = [&layer] { return layer.NewDriver(); };
  const ImageSet* images = ctx.config().images;
  env.has_busybox = [images](const ArchInfo& a) {
    const BuiltImage* img = images ? images->Find(&a) : nullptr;
    return img != nullptr && img->busybox;
  };
  env.binfmt_flags = [](const ArchInfo&) { return std::string(); };
  return env;
}

CaseResult RunLifecycleCase(ScenarioContext& ctx, Layer& layer, const std::string& case_name,
                            const std::string& id_prefix) {
  LifecycleSuite suite;
  std::vector<CaseDef> cases = suite.Cases();
  CaseResult r;
  const CaseDef* def = FindLifecycleCase(cases, case_name);
  auto t0 = Clock::now();
  if (def == nullptr) {
    r.status = CaseStatus::kError;
    r.reason = "the lifecycle suite has no case " + case_name;
  } else {
    std::unique_ptr<Driver> driver = layer.NewDriver();
    SuiteEnv env = ScenarioSuiteEnv(ctx, layer, id_prefix);
    r = RunCase(suite, *def, *driver, ctx.arch(), env);
  }
  Status st = r.status == CaseStatus::kPass
                  ? Status::Ok()
                  : Status(Code::kFailedPrecondition,
                           std::string(CaseStatusName(r.status)) + ": " + r.reason);
  ctx.Step("lifecycle " + case_name + " on " + std::string(layer.name()), "RunCase",
           Clock::now() - t0, st);
  return r;
}

Result<ProcessResult> RunPolyarch(ScenarioContext& ctx, const std::vector<std::string>& args,
                                  milliseconds timeout) {
  SpawnOptions o;
  o.argv = {ctx.polyarch()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.capture_head_bytes = 256 * 1024;
  o.capture_tail_bytes = 64 * 1024;
  auto t0 = Clock::now();
  auto r = RunProcess(o, timeout);
  Status st = !r.ok()        ? r.status()
              : r->success() ? Status::Ok()
                             : Status(Code::kFailedPrecondition, r->Describe());
  ctx.Step("polyarch " + (args.size() > 2 ? args[2] : std::string()), QuoteArgv(o.argv),
           Clock::now() - t0, st);
  return r;
}

std::string DescribeChild(const ProcessResult& r) {
  std::string err = r.err.Text();
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
  return r.Describe() + (err.empty() ? "" : " (stderr ends: " + err + ")");
}

namespace {

int64_t StatusKb(const char* field) {
  auto text = ReadFile("/proc/self/status", 1 << 20);
  if (!text.ok()) return -1;
  auto at = text->find(std::string("\n") + field + ":");
  if (at == std::string::npos) return -1;
  return std::strtoll(text->c_str() + at + std::strlen(field) + 2, nullptr, 10);
}

}  // namespace

bool ResetPeakRss() {
  int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

int64_t PeakRssBytes() {
  int64_t kb = StatusKb("VmHWM");
  return kb < 0 ? -1 : kb * 1024;
}

int64_t RssBytes() {
  int64_t kb = StatusKb("VmRSS");
  return kb < 0 ? -1 : kb * 1024;
}

int ThreadCount() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout, milliseconds poll) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

namespace {

// The scenario's body runs on its own thread so its deadline holds whatever it waits on. What
// the thread touches lives here, shared: a body that overruns is abandoned (its thread detached)
// and must not find its state gone.
struct Running {
  CaseResult result;
  std::unique_ptr<ScenarioContext> ctx;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

std::vector<ScenarioDef> AllScenarios() {
  std::vector<ScenarioDef> all;
  for (auto part : {DaemonScenarios, RuntimeScenarios, ProcessScenarios, CliScenarios}) {
    for (auto& d : part()) all.push_back(std::move(d));
  }
  // The order they were asked for in: f1..f11 name their directories and ids.
  static const std::vector<std::string> kOrder = {
      "containerd_killed_mid_lifecycle",    "dockerd_killed_mid_lifecycle",
      "runtime_hangs_or_dies_after_create", "container_ignores_sigterm",
      "daemon_socket_never_answers",        "output_flood_invalid_utf8",
      "daemonized_grandchild_holds_pipe",   "polyarch_killed_then_cleanup",
      "foreign_binfmt_entries_untouched",   "report_disk_full",
      "podman_service_killed_mid_lifecycle"};
  auto rank = [&](const ScenarioDef& d) {
    auto it = std::find(kOrder.begin(), kOrder.end(), d.name);
    return it - kOrder.begin();
  };
  std::stable_sort(all.begin(), all.end(),
                   [&](const ScenarioDef& a, const ScenarioDef& b) { return rank(a) < rank(b); });
  return all;
}

std::string HostArchName() { return HostArch() ? std::string(HostArch()->name) : "unknown"; }

std::string CaseId(const ScenarioDef& d) {
  return "faults/" + d.layer + "/" + HostArchName() + "/" + d.name;
}

// As the run's --filter: a glob over the case's name or its id.
bool Selected(const std::string& filter, const ScenarioDef& d) {
  return filter.empty() || ::fnmatch(filter.c_str(), d.name.c_str(), 0) == 0 ||
         ::fnmatch(filter.c_str(), CaseId(d).c_str(), 0) == 0;
}

// Host state settles a little after a scenario: the reaper collects adopted zombies every
// 100 ms, a shim removes its socket as it exits. A leak stays; a transient does not.
json SettledDiff(const HostState& before, const HostStateScope& scope, HostState* after) {
  json diff;
  auto deadline = Clock::now() + milliseconds(5000);
  for (;;) {
    *after = TakeHostState(scope);
    diff = DiffHostState(before, *after);
    if (diff.empty() || Clock::now() >= deadline) return diff;
    std::this_thread::sleep_for(milliseconds(250));
  }
}

CaseResult RunScenario(const FaultsConfig& config, const ScenarioDef& def, int number) {
  auto run = std::make_shared<Running>();
  CaseResult& skeleton = run->result;
  skeleton.suite = "faults";
  skeleton.layer = def.layer;
  skeleton.arch = HostArchName();
  skeleton.name = def.name;
  skeleton.spec_ref = def.spec_ref;
  const std::string tag = "f" + std::to_string(number);
  const std::string dir = config.dir + "/" + tag;
  run->ctx = std::make_unique<ScenarioContext>(config, dir, tag, &run->result);
  ScenarioContext& ctx = *run->ctx;
  auto t0 = Clock::now();
  if (Status s = MakeDirs(dir, 0700); !s.ok()) {
    ctx.Error("cannot create the scenario's directory: " + s.message());
    return run->result;
  }
  HostState before = TakeHostState(ctx.scope());
  ScenarioDef body_def = def;
  std::thread worker([run, body_def] {
    try {
      body_def.body(*run->ctx);
    } catch (const std::exception& e) {
      run->ctx->Error(std::string("the scenario threw: ") + e.what());
    } catch (...) {
      run->ctx->Error("the scenario threw");
    }
    std::lock_guard<std::mutex> lock(run->mu);
    run->done = true;
    run->cv.notify_all();
  });
  bool finished;
  {
    std::unique_lock<std::mutex> lock(run->mu);
    finished = run->cv.wait_for(lock, def.deadline, [&] { return run->done; });
  }
  CaseResult result;
  if (finished) {
    worker.join();
    result = run->result;
    result.data["injected"] = ctx.injected();
    result.data["observed"] = ctx.observed();
  } else {
    // Abandoned: the body may still be writing its own copy; this result is a fresh one.
    worker.detach();
    result.suite = "faults";
    result.layer = def.layer;
    result.arch = skeleton.arch;
    result.name = def.name;
    result.spec_ref = def.spec_ref;
    result.status = CaseStatus::kError;
    result.reason = "the scenario did not finish within its deadline of " +
                    std::to_string(def.deadline.count()) + " s";
    result.data["injected"] = "see the scenario";
    result.data["observed"] = "hung";
  }
  HostState after;
  json diff = SettledDiff(before, ctx.scope(), &after);
  result.data["host_diff"] = diff;
  result.data["host_checked"] = {{"before", HostStateCounts(before)},
                                 {"after", HostStateCounts(after)},
                                 {"scope",
                                  {{"dirs", ctx.scope().dirs},
                                   {"tokens", ctx.scope().tokens},
                                   {"binfmt_names", ctx.scope().binfmt_names}}}};
  if (!diff.empty() && result.status == CaseStatus::kPass) {
    std::string d = diff.dump();
    if (d.size() > 1500) d = d.substr(0, 1500) + "...";
    result.status = CaseStatus::kFail;
    result.reason = "the host is not as the scenario found it: " + d;
  }
  if (finished) {
    Status rm = RemoveTree(dir);
    if (!rm.ok() && result.status == CaseStatus::kPass) {
      result.status = CaseStatus::kFail;
      result.reason = "the scenario's directory could not be removed: " + rm.message();
    }
  }
  result.duration_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  return result;
}

}  // namespace
}  // namespace faults

std::vector<std::string> FaultScenarioNames() {
  std::vector<std::string> names;
  for (const auto& d : faults::AllScenarios()) names.push_back(d.name);
  return names;
}

int CountFaultScenarios(const std::string& filter) {
  int n = 0;
  for (const auto& d : faults::AllScenarios()) n += faults::Selected(filter, d);
  return n;
}

FaultsOutcome RunFaults(const FaultsConfig& config) {
  FaultsOutcome out;
  std::vector<faults::ScenarioDef> defs = faults::AllScenarios();
  auto fail_all = [&](const std::string& why) {
    for (const auto& d : defs) {
      if (!faults::Selected(config.filter, d)) continue;
      CaseResult c;
      c.suite = "faults";
      c.layer = d.layer;
      c.arch = faults::HostArchName();
      c.name = d.name;
      c.spec_ref = d.spec_ref;
      c.status = CaseStatus::kError;
      c.reason = why;
      if (config.on_result) config.on_result(c);
      out.cases.push_back(std::move(c));
    }
  };
  if (HostArch() == nullptr || config.images == nullptr ||
      config.images->Find(HostArch()) == nullptr) {
    fail_all("the fault suite needs the host's own image, which was not built");
    return out;
  }
  if (::geteuid() != 0) {
    fail_all("the fault suite injects faults for real and needs root");
    return out;
  }
  // Daemons' shims and daemonized grandchildren must come back to polyarch to be reaped.
  if (Status s = Reaper::Instance().Enable(); !s.ok()) {
    fail_all("cannot make polyarch a subreaper: " + s.message());
    return out;
  }
  if (Status s = MakeDirs(config.dir, 0700); !s.ok()) {
    fail_all("cannot create " + config.dir + ": " + s.message());
    return out;
  }
  int number = 0;
  for (const auto& def : defs) {
    ++number;
    if (!faults::Selected(config.filter, def)) continue;
    if (config.stop && config.stop()) break;
    if (config.on_start) config.on_start(faults::CaseId(def));
    CaseResult c = faults::RunScenario(config, def, number);
    out.section.push_back(
        {{"name", c.name},
         {"layer", c.layer},
         {"status", std::string(CaseStatusName(c.status))},
         {"duration_ms", c.duration_ns / 1000000},
         {"injected", c.data.value("injected", "")},
         {"observed", c.data.value("observed", "")},
         {"host_diff_empty", c.data.value("host_diff", nlohmann::json::object()).empty()},
         {"reason", c.reason}});
    if (config.on_result) config.on_result(c);
    out.cases.push_back(std::move(c));
  }
  (void)RemoveTree(config.dir);
  return out;
}

}  // namespace polyarch
