// Scenarios against the OCI runtime layer: a runtime that hangs or dies right after create, a
// container that ignores SIGTERM, and a process that floods its output with invalid UTF-8.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"
#include "harness/drivers/oci_runtime.h"
#include "harness/report/json_reporter.h"
#include "harness/report/text.h"
#include "suites/faults/scenario.h"
#include "suites/lifecycle/lifecycle_suite.h"

namespace polyarch::faults {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kFloodBytes = uint64_t{1} << 30;
constexpr int64_t kMaxRssGrowth = int64_t{64} << 20;

Result<std::unique_ptr<OciRuntimeLayer>> RuncLayer(ScenarioContext& ctx, const std::string& binary,
                                                   const std::string& run_dir,
                                                   milliseconds step_timeout) {
  OciRuntimeOptions o;
  o.name = "runc";
  o.binary = binary;
  o.run_dir = run_dir;
  o.images = ctx.config().images;
  o.step_timeout = step_timeout;
  o.journal = ctx.config().journal;
  return OciRuntimeLayer::Create(o);
}

// A wrapper around the real runc that passes every verb through except `create`, which runs the
// real create and then does `after`.
Status WriteWrapper(const std::string& path, const std::string& runc, const std::string& after) {
  std::string script =
      "#!/bin/sh\n"
      "# Written by polyarch's fault suite: runc, except that `create` misbehaves after the\n"
      "# real create has made the container.\n"
      "for arg in \"$@\"; do\n"
      "  if [ \"$arg\" = create ]; then\n"
      "    '" +
      runc + "' \"$@\"\n" + after +
      "  fi\n"
      "done\n"
      "exec '" +
      runc + "' \"$@\"\n";
  return WriteFileAtomic(path, script, 0755);
}

// One part of the hang/die scenario: create through the wrapper must fail as `want` says, then
// the layer's Cleanup (the real runc through the wrapper) must sweep the container.
void MisbehavingCreate(ScenarioContext& ctx, const std::string& part, const std::string& runc,
                       const std::string& after, bool expect_deadline, json* out) {
  const std::string base = ctx.dir() + "/" + part;
  const std::string wrapper = base + "-runc";
  const milliseconds step{5000};
  if (Status s = MakeDirs(base, 0700); !s.ok()) return ctx.Error(s.message());
  if (Status s = WriteWrapper(wrapper, runc, after); !s.ok()) return ctx.Error(s.message());
  auto layer = RuncLayer(ctx, wrapper, base, step);
  if (!layer.ok()) return ctx.Error("the wrapped runc layer: " + layer.status().message());
  std::unique_ptr<Driver> driver = (*layer)->NewDriver();
  ContainerSpec spec;
  spec.id = ctx.prefix() + part;
  spec.arch = &ctx.arch();
  spec.argv = {"/probe", "sleep", "600"};
  auto t0 = Clock::now();
  StepResult created = driver->Create(spec);
  auto took = Clock::now() - t0;
  ctx.Step(part + ": create through the wrapper", created.operation, took, created.status);
  (*out)["create_error"] = created.status.ToString();
  (*out)["create_ms"] = Ms(took);
  ctx.Metric(part + "_create_ms", Ms(took));
  ctx.Expect(!created.ok(), part + ": create succeeded although the runtime misbehaved");
  // A runtime that ignores TERM costs the deadline plus Subprocess's TERM→KILL grace.
  const auto bound = expect_deadline ? step + milliseconds(2000) + milliseconds(1500) : step;
  ctx.Expect(took <= bound,
             part + ": create took " + FormatMs(took) + " to fail (bound " + FormatMs(bound) + ")");
  if (expect_deadline) {
    ctx.Expect(
        created.status.code() == Code::kDeadlineExceeded,
        part + ": a hung create must fail as deadline_exceeded, got " + created.status.ToString());
  } else {
    ctx.Expect(
        created.status.code() != Code::kDeadlineExceeded &&
            created.status.message().find("SIGKILL") != std::string::npos,
        part + ": a create killed by a signal must say so, got " + created.status.ToString());
  }
  // The real create did make the container: the runtime knows it and its cgroup exists. Not a
  // recorded step: what the runtime answers is evidence for the cleanup check below, kept in
  // the scenario's data.
  StateResult st = driver->State(spec.id);
  (*out)["state_after_create"] = std::string(ContainerStateName(st.state));
  (*out)["cgroups_before_cleanup"] = FindCgroups({spec.id}).size();
  driver.reset();

  t0 = Clock::now();
  Status cleaned = (*layer)->Cleanup();
  ctx.Step(part + ": layer cleanup", "OciRuntimeLayer::Cleanup", Clock::now() - t0, cleaned);
  ctx.Expect(cleaned.ok(), part + ": cleanup: " + cleaned.message());
  std::vector<std::string> cgroups = FindCgroups({spec.id});
  bool state_gone = !PathExists((*layer)->state_root() + "/" + spec.id);
  auto mounts = MountPointsUnder(base);
  bool mounts_gone = mounts.ok() && mounts->empty();
  ctx.Expect(cgroups.empty(), part + ": cgroups remain: " + json(cgroups).dump());
  ctx.Expect(state_gone, part + ": runc's state directory for " + spec.id + " remains");
  ctx.Expect(mounts_gone, part + ": mounts remain under " + base);
  (*out)["swept"] = {{"cgroups_left", cgroups.size()},
                     {"state_dir_gone", state_gone},
                     {"mounts_gone", mounts_gone}};
  ctx.Observed(part + ": create failed after " + FormatMs(took) + " (" +
               created.status.ToString().substr(0, 240) + "), state then '" +
               std::string(ContainerStateName(st.state)) + "'; cleanup " +
               (cleaned.ok() && cgroups.empty() && state_gone && mounts_gone
                    ? "swept cgroup, state and mounts"
                    : "left something"));
}

void RuntimeHangsOrDies(ScenarioContext& ctx) {
  auto runc = FindProgram("runc");
  if (!runc.ok()) return ctx.Skip("runc is not installed: " + runc.status().message());
  ctx.Injected("a wrapper around " + *runc +
               " whose create runs the real create and then (a) sleeps for ever ignoring SIGTERM, "
               "(b) kills itself with SIGKILL; every other verb passes through");
  json parts = json::object();
  MisbehavingCreate(ctx, "hang", *runc,
                    "    trap '' TERM\n"
                    "    while :; do sleep 1; done\n",
                    /*expect_deadline=*/true, &parts["a_hang"]);
  MisbehavingCreate(ctx, "die", *runc, "    kill -KILL $$\n", /*expect_deadline=*/false,
                    &parts["b_die"]);
  ctx.Data()["parts"] = parts;
}

void IgnoresSigterm(ScenarioContext& ctx) {
  auto layer = RuncLayer(ctx, "runc", ctx.dir(), ctx.step_timeout());
  if (!layer.ok()) return ctx.Error("the runc layer: " + layer.status().message());
  const milliseconds grace = kLifecycleStopGrace;
  ctx.Injected(
      "a container whose process ignores SIGTERM (/probe trap-term), stopped by the "
      "lifecycle suite's stop: TERM, a " +
      std::to_string(grace.count()) + " ms grace, KILL");
  CaseResult r = RunLifecycleCase(ctx, **layer, "stop_escalates_to_kill_137", ctx.prefix());
  // From the end of the TERM step to the end of the wait that saw the exit.
  int64_t after_term_ns = 0;
  bool counting = false;
  size_t last_wait = 0;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    if (r.steps[i].name == "wait") last_wait = i;
  }
  for (size_t i = 0; i < r.steps.size() && i <= last_wait; ++i) {
    if (counting) after_term_ns += r.steps[i].duration_ns;
    if (r.steps[i].name == "kill " + std::to_string(SIGTERM)) counting = true;
  }
  double term_to_exit_ms = after_term_ns / 1e6;
  ctx.Metric("term_to_exit_ms", term_to_exit_ms);
  ctx.Metric("grace_ms", static_cast<double>(grace.count()));
  ctx.Data()["lifecycle_case"] = CaseToJson(r);
  ctx.Expect(
      r.status == CaseStatus::kPass,
      "stop_escalates_to_kill_137 " + std::string(CaseStatusName(r.status)) + ": " + r.reason);
  ctx.Expect(counting && term_to_exit_ms > grace.count() * 0.9,
             "the exit came " + std::to_string(static_cast<int>(term_to_exit_ms)) +
                 " ms after TERM, before the grace period was over");
  ctx.Expect(term_to_exit_ms <= grace.count() + 2000.0,
             "the exit came " + std::to_string(static_cast<int>(term_to_exit_ms)) +
                 " ms after TERM, more than grace + 2 s");
  ctx.Observed("TERM ignored; KILL after the grace; exit " +
               std::string(r.status == CaseStatus::kPass ? "137" : "not 137 (" + r.reason + ")") +
               " " + std::to_string(static_cast<int>(term_to_exit_ms)) + " ms after TERM (grace " +
               std::to_string(grace.count()) + " ms)");
  Status cleaned = (*layer)->Cleanup();
  ctx.Expect(cleaned.ok(), "runc layer cleanup: " + cleaned.message());
}

// The dropped-byte count from a capture's Text(): "[... N bytes dropped ...]" after the head.
uint64_t DroppedFromText(const std::string& text, size_t head) {
  size_t at = text.find("[... ", head > 2 ? head - 2 : 0);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + 5, nullptr, 10);
}

// Checks what a flooded capture became in a report: bounded, and valid UTF-8 JSON.
void CheckRecorded(ScenarioContext& ctx, const std::string& how, const std::string& text,
                   uint64_t dropped, int64_t rss_growth, json* out) {
  // The kernel syncs each thread's RSS counters in batches: a process whose memory did not grow
  // can read a few hundred KiB below the peak just reset. That is no growth.
  rss_growth = std::max<int64_t>(rss_growth, 0);
  RunReport report;
  CaseResult c;
  c.suite = "faults";
  c.layer = "runc";
  c.arch = std::string(ctx.arch().name);
  c.name = "flood";
  c.status = CaseStatus::kFail;
  c.reason = "flood";
  c.steps.push_back({"exec", how, 0, false, "flood", text});
  report.cases.push_back(c);
  std::string j = FormatJsonReport(report);
  bool utf8 = IsValidUtf8(j);
  bool parses = !json::parse(j, nullptr, /*allow_exceptions=*/false).is_discarded();
  const size_t bound = 2 * 64 * 1024 + 128;
  (*out)["recorded_bytes"] = text.size();
  (*out)["dropped_bytes"] = dropped;
  (*out)["report_json_bytes"] = j.size();
  (*out)["report_json_valid_utf8"] = utf8;
  (*out)["rss_growth_bytes"] = rss_growth;
  ctx.Metric(how + "_dropped_bytes", static_cast<double>(dropped));
  ctx.Metric(how + "_recorded_bytes", static_cast<double>(text.size()));
  ctx.Metric(how + "_rss_growth_mib", rss_growth / 1048576.0);
  ctx.Expect(text.size() <= bound, how + ": the recorded output is " + std::to_string(text.size()) +
                                       " bytes, not bounded");
  ctx.Expect(dropped >= kFloodBytes - bound, how + ": only " + std::to_string(dropped) +
                                                 " bytes counted as dropped of " +
                                                 std::to_string(kFloodBytes));
  ctx.Expect(utf8, how + ": the report's JSON is not valid UTF-8");
  ctx.Expect(parses, how + ": the report's JSON does not parse");
  ctx.Expect(rss_growth < kMaxRssGrowth,
             how + ": polyarch's peak RSS grew by " + std::to_string(rss_growth >> 20) + " MiB");
  ctx.Observed(how + ": kept " + std::to_string(text.size()) + " bytes, counted " +
               std::to_string(dropped) + " dropped, peak RSS +" + std::to_string(rss_growth >> 20) +
               " MiB, report JSON " + (utf8 && parses ? "valid UTF-8" : "INVALID"));
}

void OutputFlood(ScenarioContext& ctx) {
  const std::vector<std::string> flood = {
      "/bin/sh", "-c", "head -c " + std::to_string(kFloodBytes) + " /dev/urandom"};
  ctx.Injected("1 GiB of /dev/urandom (invalid UTF-8) on stdout: `" + flood[2] +
               "` through the runc layer's exec in a native busybox container, and through "
               "Subprocess directly");
  json data = json::object();
  const BuiltImage* img = ctx.config().images->Find(&ctx.arch());
  if (img == nullptr || !img->busybox) return ctx.Error("the native image has no busybox");

  // Through the runc layer's exec.
  auto layer = RuncLayer(ctx, "runc", ctx.dir(), ctx.step_timeout());
  if (!layer.ok()) return ctx.Error("the runc layer: " + layer.status().message());
  {
    std::unique_ptr<Driver> driver = (*layer)->NewDriver();
    ContainerSpec spec;
    spec.id = ctx.prefix() + "flood";
    spec.arch = &ctx.arch();
    spec.argv = {"/probe", "sleep", "600"};
    StepResult c = driver->Create(spec);
    StepResult s = c.ok() ? driver->Start(spec.id) : c;
    ctx.Step("create and start", c.operation, std::chrono::nanoseconds(c.duration_ns), s.status);
    if (s.ok()) {
      bool reset = ResetPeakRss();
      int64_t base = PeakRssBytes();
      auto t0 = Clock::now();
      ExecResult e = driver->Exec(spec.id, flood, milliseconds(120000));
      auto took = Clock::now() - t0;
      int64_t peak = PeakRssBytes();
      ctx.Step("exec the flood", e.operation, took, e.status);
      ctx.Metric("runc_exec_ms", Ms(took));
      ctx.Expect(reset, "cannot reset the peak RSS (/proc/self/clear_refs)");
      ctx.Expect(e.ok() && e.exit_code == 0,
                 "the flooding exec did not complete: " + e.status.ToString() + " exit " +
                     std::to_string(e.exit_code));
      CheckRecorded(ctx, "runc_exec", e.out, DroppedFromText(e.out, 64 * 1024), peak - base,
                    &data["runc_exec"]);
    } else {
      ctx.Error("the container for the exec did not start: " + s.status.message());
    }
    // Clean-up, not a step of the scenario: only its failure matters, as an expectation.
    StepResult d = driver->Delete(spec.id, true);
    ctx.Expect(d.ok() || !c.ok(), "delete of the flood container: " + d.status.message());
  }
  Status cleaned = (*layer)->Cleanup();
  ctx.Expect(cleaned.ok(), "runc layer cleanup: " + cleaned.message());

  // Through Subprocess itself.
  {
    SpawnOptions o;
    o.argv = flood;
    bool reset = ResetPeakRss();
    int64_t base = PeakRssBytes();
    auto t0 = Clock::now();
    auto r = RunProcess(o, milliseconds(120000));
    auto took = Clock::now() - t0;
    int64_t peak = PeakRssBytes();
    ctx.Step("subprocess flood", QuoteArgv(o.argv), took, r.status());
    ctx.Metric("subprocess_ms", Ms(took));
    ctx.Expect(reset, "cannot reset the peak RSS (/proc/self/clear_refs)");
    if (!r.ok()) return ctx.Error("cannot run the flood: " + r.status().message());
    ctx.Expect(r->success(), "the flood did not exit 0: " + r->Describe());
    ctx.Expect(r->out.total_bytes == kFloodBytes, "Subprocess counted " +
                                                      std::to_string(r->out.total_bytes) +
                                                      " bytes of " + std::to_string(kFloodBytes));
    CheckRecorded(ctx, "subprocess", r->out.Text(), r->out.dropped_bytes, peak - base,
                  &data["subprocess"]);
  }
  ctx.Data()["flood"] = data;
}

}  // namespace

std::vector<ScenarioDef> RuntimeScenarios() {
  return {
      {"runtime_hangs_or_dies_after_create", "runc",
       "a runtime that hangs after create fails the step at its deadline (deadline_exceeded); one "
       "that dies says which signal; the layer's cleanup sweeps cgroup, state and mounts",
       seconds(90), RuntimeHangsOrDies},
      {"container_ignores_sigterm", "runc",
       "stop escalates TERM to KILL within the grace: exit 137 at most grace + 2 s after TERM",
       seconds(60), IgnoresSigterm},
      {"output_flood_invalid_utf8", "runc",
       "1 GiB of invalid UTF-8 output: polyarch's peak RSS grows < 64 MiB, the recorded output "
       "is bounded, the dropped bytes are counted and the report's JSON stays valid UTF-8",
       seconds(240), OutputFlood},
  };
}

}  // namespace polyarch::faults
