#include "suites/spec/spec_suite.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <thread>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/proc.h"
#include "harness/core/strings.h"

namespace polyarch {

using nlohmann::json;

// What running one config's container gave: the observation, or why there is none.
struct SpecOutcome {
  bool ok = false;
  std::string error;  // why there is no observation
  std::string by;     // the case that ran the container
  SpecObservation obs;
};

namespace {

// Where the probe leaves its record inside the container (a tmpfs every config has).
constexpr char kRecordPath[] = "/tmp/.polyarch-check.json";
// How long the probe may take to write it: an emulated start on a busy host included.
constexpr auto kRecordDeadline = std::chrono::seconds(30);

// The OCI namespace types and the names the kernel gives them under /proc/<pid>/ns.
const std::vector<std::pair<std::string, std::string>>& NsNames() {
  static const auto* v = new std::vector<std::pair<std::string, std::string>>{
      {"pid", "pid"}, {"mount", "mnt"}, {"network", "net"},  {"ipc", "ipc"},
      {"uts", "uts"}, {"user", "user"}, {"cgroup", "cgroup"}};
  return *v;
}

std::string ReadLink(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The namespaces of process `proc` ("self" or a pid), by OCI type.
json NamespacesOf(const std::string& proc) {
  json j = json::object();
  for (const auto& [type, file] : NsNames()) {
    std::string link = ReadLink("/proc/" + proc + "/ns/" + file);
    j[type] = link.empty() ? json() : json(link);
  }
  return j;
}

json IntFile(const std::string& path) {
  auto text = ReadFile(path, 4096);
  if (!text.ok()) return json();
  std::string t(Trim(*text));
  char* end = nullptr;
  long v = std::strtol(t.c_str(), &end, 10);
  return end != t.c_str() && *end == '\0' ? json(v) : json();
}

// The cgroup files the rules read, for each controller the container's process is in, as the
// host sees them: v1 hierarchies by controller name, the v2 one as "unified".
json CgroupFacts(int pid) {
  static const std::map<std::string, std::vector<std::string>> kFiles = {
      {"memory", {"memory.limit_in_bytes"}},
      {"cpu", {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"}},
      {"pids", {"pids.max"}},
      {"devices", {"devices.list"}},
      {"blkio", {"blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"}},
      {"unified", {"memory.max", "cpu.max", "cpu.weight", "pids.max", "io.max"}},
  };
  json out = json::object();
  for (const ProcessCgroup& pc : ProcessCgroups(pid)) {
    for (const auto& name : pc.controllers) {
      auto files = kFiles.find(name);
      if (files == kFiles.end()) continue;
      const std::string dir = CgroupDir(name, pc.path);
      json c = {{"path", pc.path}};
      for (const auto& f : files->second) {
        auto content = ReadFile(dir + "/" + f, 65536);
        if (content.ok()) c[f] = std::string(Trim(*content));
      }
      out[name] = c;
    }
  }
  return out;
}

int ParentPid(int pid) {
  auto status = ReadFile("/proc/" + std::to_string(pid) + "/status", 65536);
  if (!status.ok()) return 0;
  for (const auto& line : Split(*status, '\n')) {
    if (line.rfind("PPid:", 0) == 0) return std::atoi(line.c_str() + 5);
  }
  return 0;
}

// What the hooks of the hooks config wrote into `dir`: each stage's stdin (the state), and
// the order they ran in.
json HookRecords(const std::string& dir) {
  json out = json::object();
  for (const char* stage :
       {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
    auto text = ReadFile(dir + "/" + stage + ".json", 65536);
    out[stage] = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (out[stage].is_discarded()) out[stage] = text.ok() ? json(*text) : json();
  }
  auto order = ReadFile(dir + "/order", 65536);
  out["order"] = order.ok() ? json(Split(*order, '\n')) : json();
  return out;
}

// Runs `cfg`'s container through `ctx` and reads what it and the host saw. Failures are
// recorded on `ctx` (the case that ran it) and returned for the others of the group.
SpecOutcome Observe(CaseContext& ctx, const SpecConfig& cfg) {
  SpecOutcome out;
  auto fail = [&](std::string why) {
    ctx.Fail(why);
    out.error = std::move(why);
    return out;
  };
  const Capabilities caps = ctx.driver().capabilities();
  int sibling_pid = 0;
  if (cfg.sibling) {
    std::string sib = ctx.NewId("sib");
    if (!ctx.Run(ctx.Spec(sib, kProbeSleeper))) return fail("the sibling container did not run");
    StateResult st = ctx.State(sib);
    if (!st.ok() || st.pid <= 0) return fail("the sibling container reports no pid");
    sibling_pid = st.pid;
    out.obs.host["ns_sibling"] = NamespacesOf(std::to_string(sibling_pid));
  }
  out.obs.id = ctx.NewId(cfg.name);
  const std::string scratch =
      ctx.env().scratch_dir.empty() ? "" : ctx.env().scratch_dir + "/" + out.obs.id;
  if (!scratch.empty()) {
    if (Status s = MakeDirs(scratch, 0700); !s.ok()) return fail(s.ToString());
  }
  out.obs.settings = cfg.settings(caps, out.obs.id, sibling_pid, scratch);
  std::vector<std::string> argv = {"/probe", "check", "--out", kRecordPath, "--hold"};
  argv.insert(argv.end(), cfg.probe_args.begin(), cfg.probe_args.end());
  ContainerSpec spec = ctx.Spec(out.obs.id, argv);
  spec.env.insert(spec.env.end(), cfg.env.begin(), cfg.env.end());
  out.obs.args = argv;
  out.obs.env = spec.env;
  spec.settings = std::make_shared<const SpecSettings>(out.obs.settings);
  if (!ctx.Run(spec)) return fail("the container with the " + cfg.name + " config did not run");
  StateResult st = ctx.State(out.obs.id);
  if (!ctx.Ok(st, "state")) return fail("state failed: " + st.status.ToString());
  if (st.pid <= 0) {
    // Say what the layer saw: a container that already ended (its exit code) is another
    // failure than one the layer cannot find the process of.
    std::string why = "state reports no pid for the running container (state '" +
                      std::string(ContainerStateName(st.state)) + "'";
    if (st.state == ContainerState::kStopped) {
      WaitResult w = ctx.Wait(out.obs.id, std::chrono::milliseconds(500));
      if (w.exited) why += ", exit code " + std::to_string(w.exit_code);
    }
    return fail(why + ")");
  }
  const int pid = st.pid;
  const std::string record = "/proc/" + std::to_string(pid) + "/root" + kRecordPath;
  const auto deadline = std::chrono::steady_clock::now() + kRecordDeadline;
  Result<std::string> text = NotFound("not yet");
  while (true) {
    text = ReadFile(record, 1 << 20);
    if (text.ok() || std::chrono::steady_clock::now() > deadline || ProcessGone(pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The host's view, while the process still runs.
  out.obs.host["pid"] = pid;
  out.obs.host["ns"] = NamespacesOf(std::to_string(pid));
  out.obs.host["ns_runtime"] = NamespacesOf("self");
  out.obs.host["oom_score_adj"] = IntFile("/proc/" + std::to_string(pid) + "/oom_score_adj");
  if (int ppid = ParentPid(pid); ppid > 0) {
    out.obs.host["parent_oom_score_adj"] =
        IntFile("/proc/" + std::to_string(ppid) + "/oom_score_adj");
  }
  out.obs.host["cgroup"] = CgroupFacts(pid);
  if (!text.ok()) {
    WaitResult w = ctx.Wait(out.obs.id, std::chrono::milliseconds(100));
    return fail("the probe wrote no record in " + std::string(kRecordPath) +
                (w.exited ? " (it exited " + std::to_string(w.exit_code) + ")"
                          : " within " + std::to_string(kRecordDeadline.count()) + " s"));
  }
  out.obs.record = json::parse(*text, nullptr, false);
  if (!out.obs.record.is_object()) {
    return fail("the probe's record is not a JSON object: '" + text->substr(0, 200) + "'");
  }
  // Gone before the group's other cases read the outcome; then what its hooks left.
  StepResult d = ctx.Delete(out.obs.id, true);
  if (!ctx.Ok(d, "delete")) return fail("delete failed: " + d.status.ToString());
  if (!out.obs.settings.hooks.empty()) out.obs.host["hooks"] = HookRecords(scratch);
  out.ok = true;
  return out;
}

}  // namespace

struct SpecSuite::Cache {
  struct Entry {
    bool done = false;
    SpecOutcome outcome;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::shared_ptr<Entry>> entries;

  // The observation of `cfg` on the case's layer and arch: run by the first case of the group
  // to ask, waited for by the others.
  const SpecOutcome& Get(CaseContext& ctx, const SpecConfig& cfg, const std::string& case_name) {
    const std::string key = std::string(ctx.driver().layer_name()) + "/" +
                            std::string(ctx.arch().name) + "/" + cfg.name + "#" +
                            std::to_string(ctx.repeat());
    std::shared_ptr<Entry> e;
    {
      std::unique_lock<std::mutex> lock(mu);
      auto it = entries.find(key);
      if (it == entries.end()) {
        e = entries[key] = std::make_shared<Entry>();
      } else {
        e = it->second;
        cv.wait(lock, [&] { return e->done; });
        return e->outcome;
      }
    }
    SpecOutcome o;
    try {
      o = Observe(ctx, cfg);
    } catch (const std::exception& ex) {
      o.error = std::string("observing threw: ") + ex.what();
      ctx.Error(o.error);
    }
    o.by = case_name;
    // A container Observe gave up on is removed as well.
    if (!o.ok && !o.obs.id.empty()) ctx.Delete(o.obs.id, true);
    {
      std::lock_guard<std::mutex> lock(mu);
      e->outcome = std::move(o);
      e->done = true;
    }
    cv.notify_all();
    return e->outcome;
  }
};

SpecSuite::SpecSuite() : cache_(std::make_shared<Cache>()) {}

std::string SpecRuleRef(const SpecRule& r) {
  return "OCI runtime-spec " + std::string(kSpecVersion) + " " + r.section + " (" + r.level +
         "): " + r.text;
}

std::vector<CaseDef> SpecSuite::Cases() const {
  std::vector<CaseDef> v;
  std::map<std::string, const SpecConfig*> configs;
  for (const auto& c : SpecConfigs()) configs[c.name] = &c;
  for (const SpecRule& rule : SpecRules()) {
    const SpecRule* r = &rule;
    if (rule.own) {
      AddCase(v, rule.name, SpecRuleRef(rule), {Need::kStatePid}, [r](CaseContext& ctx) {
        std::string why = r->own(ctx);
        if (!why.empty() && !ctx.done()) ctx.Fail(why);
      });
      v.back().settings = rule.settings;
      v.back().settings_any = rule.settings_any;
      continue;
    }
    const SpecConfig* cfg = configs.at(rule.config);
    std::shared_ptr<Cache> cache = cache_;
    AddCase(v, rule.name, SpecRuleRef(rule), {Need::kStatePid}, [cache, cfg, r](CaseContext& ctx) {
      const SpecOutcome& o = cache->Get(ctx, *cfg, r->name);
      if (!o.ok) {
        if (!ctx.done()) {
          ctx.Fail("the " + cfg->name + " container (run by case " + o.by +
                   ") gave no observation: " + o.error);
        }
        return;
      }
      ctx.Data()["container"] = o.obs.id;
      ctx.Data()["config"] = cfg->name;
      if (o.by != r->name) ctx.Data()["observed_by"] = o.by;
      std::string why;
      try {
        why = r->check(o.obs);
      } catch (const std::exception& e) {
        why = std::string("the observation has an unexpected shape: ") + e.what();
      }
      constexpr std::string_view kSkip = "SKIP: ";
      if (why.rfind(kSkip, 0) == 0) {
        ctx.Skip(why.substr(kSkip.size()));
      } else if (!why.empty()) {
        ctx.Fail(why);
      }
    });
    v.back().settings = rule.settings;
    v.back().settings_any = rule.settings_any;
  }
  return v;
}

}  // namespace polyarch
