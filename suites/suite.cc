#include "suites/suite.h"

#include <sys/syscall.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;

// Outputs kept in the report stay small: this is for reading a failure, not for logs.
constexpr size_t kKeptOutput = 4096;

std::string Clip(std::string s) {
  if (s.size() > kKeptOutput) {
    s = s.substr(0, kKeptOutput / 2) + "\n[... " + std::to_string(s.size() - kKeptOutput) +
        " bytes dropped ...]\n" + s.substr(s.size() - kKeptOutput / 2);
  }
  return s;
}

}  // namespace

CaseContext::CaseContext(Driver& driver, const ArchInfo& arch, const SuiteEnv& env,
                         CaseResult* result)
    : driver_(driver), arch_(arch), env_(env), result_(result) {}

CaseContext::~CaseContext() {
  // Whatever the case left behind goes, whatever happened; these steps are recorded too.
  std::set<std::string> left = live_;
  for (const auto& id : left) {
    StepResult r = Guarded([&] { return driver_.Delete(id, /*force=*/true); });
    StepRecord s;
    s.name = "cleanup delete --force";
    s.verb = "cleanup";
    s.operation = r.operation;
    s.duration_ns = r.duration_ns;
    s.ok = r.ok();
    if (!r.ok()) s.error = r.status.ToString();
    result_->steps.push_back(std::move(s));
  }
}

std::string CaseContext::NewId(std::string_view tag) {
  // A layer named ENGINE:RUNTIME: ids allow no ':'.
  std::string layer(driver_.layer_name());
  std::replace(layer.begin(), layer.end(), ':', '-');
  const std::string head = env_.run_prefix + layer + "-" + std::string(arch_.name) + "-";
  const std::string tail = (result_->repeat ? "-r" + std::to_string(result_->repeat) : "") + "-" +
                           std::string(tag) + std::to_string(counter_++);
  std::string name = result_->name;
  // containerd takes ids of at most 76 characters: a long case name is cut, and a hash of
  // the whole name keeps the ids of two cases apart.
  constexpr size_t kMaxId = 76;
  if (head.size() + name.size() + tail.size() > kMaxId) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : result_->name) h = (h ^ c) * 16777619u;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", h);
    const size_t room = kMaxId - head.size() - tail.size();
    name = name.substr(0, room > 9 ? room - 9 : 0) + "-" + hex;
  }
  return head + name + tail;
}

ContainerSpec CaseContext::Spec(const std::string& id, std::vector<std::string> argv) const {
  ContainerSpec s;
  s.id = id;
  s.arch = &arch_;
  s.argv = std::move(argv);
  return s;
}

template <typename R>
R CaseContext::Record(std::string verb, std::string name, R r) {
  StepRecord s;
  s.verb = std::move(verb);
  s.name = std::move(name);
  s.operation = r.operation;
  s.duration_ns = r.duration_ns;
  s.ok = r.ok();
  if (!r.ok()) {
    s.error = r.status.ToString();
    s.output = Clip(r.output.Text());
    // A stack that stopped answering aborts the case, whatever the case expected.
    if (r.status.code() == Code::kUnavailable) {
      if (result_->status == CaseStatus::kPass || result_->status == CaseStatus::kFail) {
        result_->status = CaseStatus::kAborted;
        result_->reason = "the stack stopped answering: " + r.status.message();
      }
    }
  }
  result_->steps.push_back(std::move(s));
  return r;
}

StepResult CaseContext::Create(const ContainerSpec& spec) {
  StepResult r = Record("create", "create", driver_.Create(spec));
  if (r.ok()) live_.insert(spec.id);
  return r;
}
StepResult CaseContext::Start(const std::string& id) {
  return Record("start", "start", driver_.Start(id));
}
StateResult CaseContext::State(const std::string& id) {
  return Record("state", "state", driver_.State(id));
}
StepResult CaseContext::Pause(const std::string& id) {
  return Record("pause", "pause", driver_.Pause(id));
}
StepResult CaseContext::Resume(const std::string& id) {
  return Record("resume", "resume", driver_.Resume(id));
}
ExecResult CaseContext::Exec(const std::string& id, const std::vector<std::string>& argv) {
  std::string name = "exec";
  for (const auto& a : argv) name += " " + a;
  return Record("exec", Clip(name), driver_.Exec(id, argv, env_.step_timeout));
}
StepResult CaseContext::Kill(const std::string& id, int signal) {
  return Record("kill", "kill " + std::to_string(signal), driver_.Kill(id, signal));
}
WaitResult CaseContext::Wait(const std::string& id, std::chrono::milliseconds timeout) {
  return Record("wait", "wait", driver_.Wait(id, timeout));
}
StepResult CaseContext::Delete(const std::string& id, bool force) {
  const char* verb = force ? "delete --force" : "delete";
  StepResult r = Record(verb, verb, driver_.Delete(id, force));
  if (r.ok()) live_.erase(id);
  return r;
}
ListResult CaseContext::List() { return Record("list", "list", driver_.List()); }

bool CaseContext::Run(const ContainerSpec& spec) {
  return Ok(Create(spec), "create " + spec.id) && Ok(Start(spec.id), "start " + spec.id);
}

void CaseContext::Note(StepRecord step) { result_->steps.push_back(std::move(step)); }

void CaseContext::Fail(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kFail;
  result_->reason = std::move(reason);
}

void CaseContext::Skip(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kSkip;
  result_->reason = std::move(reason);
}

void CaseContext::Error(std::string reason) {
  if (result_->status != CaseStatus::kPass) return;
  result_->status = CaseStatus::kError;
  result_->reason = std::move(reason);
}

bool CaseContext::Expect(bool ok, const std::string& reason) {
  if (!ok) Fail(reason);
  return ok;
}

bool CaseContext::ExpectNone(const std::vector<std::string>& failures) {
  if (failures.empty()) return true;
  std::string reason;
  for (const auto& f : failures) reason += (reason.empty() ? "" : "; ") + f;
  Fail(std::move(reason));
  return false;
}

bool CaseContext::Ok(const StepResult& r, std::string_view what) {
  if (r.ok()) return true;
  Fail(std::string(what) + " failed: " + r.status.message());
  return false;
}

bool CaseContext::Refused(const StepResult& r, std::string_view what) {
  if (!r.ok()) {
    // The refusal is the answer the case wanted: when it was recorded (the last step), it is
    // marked so reports do not count it as a failed step.
    if (!result_->steps.empty()) {
      StepRecord& last = result_->steps.back();
      if (!last.ok && last.operation == r.operation && last.duration_ns == r.duration_ns) {
        last.expected_refusal = true;
      }
    }
    return true;
  }
  Fail(std::string(what) + " succeeded but must fail");
  return false;
}

const std::vector<std::string> kProbeSleeper = {"/probe", "sleep", "600"};

void AddCase(std::vector<CaseDef>& v, std::string name, std::string spec_ref,
             std::vector<Need> needs, std::function<void(CaseContext&)> body, bool serial,
             bool emulated_only) {
  v.push_back({std::move(name), std::move(spec_ref), std::move(needs), std::move(body), serial,
               emulated_only});
}

bool Applies(const CaseDef& c, const ArchInfo& arch, bool has_busybox, const Capabilities* caps) {
  if (c.emulated_only && (!arch.has_binfmt() || &arch == HostArch())) return false;
  if (caps != nullptr) {
    if ((caps->settings & c.settings) != c.settings) return false;
    if (c.settings_any != 0 && (caps->settings & c.settings_any) == 0) return false;
  }
  for (Need n : c.needs) {
    if (n == Need::kBusybox && !has_busybox) return false;
  }
  return true;
}

std::string MissingNeed(const CaseDef& c, const Capabilities& caps, bool has_busybox) {
  for (Need n : c.needs) {
    switch (n) {
      case Need::kPause:
        if (!caps.pause) return "the layer cannot pause containers";
        break;
      case Need::kExec:
        if (!caps.exec) return "the layer cannot exec in containers";
        break;
      case Need::kKill:
        if (!caps.kill) return "the layer cannot signal containers";
        break;
      case Need::kWaitExitCode:
        if (!caps.wait_exit_code) return "the layer does not report exit codes";
        break;
      case Need::kStatePid:
        if (!caps.state_pid) return "the layer does not report the container's pid";
        break;
      case Need::kCreatedState:
        if (!caps.created_state) return "the layer has no created-but-not-started state";
        break;
      case Need::kBusybox:
        if (!has_busybox) return "no busybox for this arch (Debian 12 ships none): probe only";
        break;
    }
  }
  return "";
}

CaseResult RunCase(const Suite& suite, const CaseDef& c, Driver& driver, const ArchInfo& arch,
                   const SuiteEnv& env, int repeat) {
  CaseResult result;
  result.suite = std::string(suite.name());
  result.layer = std::string(driver.layer_name());
  result.arch = std::string(arch.name);
  result.name = c.name;
  result.repeat = repeat;
  result.spec_ref = c.spec_ref;
  auto start = Clock::now();
  std::string missing =
      MissingNeed(c, driver.capabilities(), env.has_busybox ? env.has_busybox(arch) : true);
  if (!missing.empty()) {
    result.status = CaseStatus::kSkip;
    result.reason = missing;
    return result;
  }
  std::string thrown;
  {
    CaseContext ctx(driver, arch, env, &result);
    // The last line of defence: the body reads what the stack answered through checked
    // accessors, but an exception that escapes anyway ends this case, not the run.
    try {
      c.body(ctx);
    } catch (const std::exception& e) {
      thrown = e.what();
    } catch (...) {
      thrown = "an exception that is not a std::exception";
    }
  }  // the context's cleanup runs here, inside the case's time
  if (!thrown.empty()) {
    result.reason = "the case stopped on an exception: " + thrown +
                    (result.status == CaseStatus::kPass ? "" : " (after: " + result.reason + ")");
    result.status = CaseStatus::kError;
  }
  result.duration_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  return result;
}

double WaitPidAsleep(int pid, std::chrono::milliseconds max) {
  if (pid <= 0) return -1;
  const auto start = std::chrono::steady_clock::now();
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string path = proc + "/syscall";
  bool probe = false;
  for (const auto deadline = start + max;;) {
    // Only the probe is watched; under an emulator its command line starts with the
    // interpreter. Start may return before the runtime's init has exec'd it (the pid is
    // still `runc init`): that is waited through, not taken for another program.
    if (!probe) {
      auto cmdline = ReadFile(proc + "/cmdline", 4096);
      if (!cmdline.ok()) return -1;
      probe = cmdline->find("/probe") != std::string::npos;
      if (!probe) {
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    }
    auto text = ReadFile(path, 256);
    if (!text.ok()) return -1;
    const long nr = std::strtol(text->c_str(), nullptr, 10);
    if (nr == SYS_nanosleep || nr == SYS_clock_nanosleep) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
          .count();
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace polyarch
