#include "suites/crossarch/crossarch_suite.h"

#include <dirent.h>

#include <functional>

#include "harness/core/fs.h"
#include "harness/core/strings.h"
#include "harness/core/subprocess.h"
#include "images/probe_record.h"

namespace polyarch {

using nlohmann::json;

// sort, sed, awk, sha256sum, a tar round trip and shell arithmetic; everything it prints must
// come out the same on every architecture. Applets run as "$BB applet", a path, so the shell
// execs busybox itself instead of re-executing /proc/self/exe under the applet's name, which
// only works under emulation when the binfmt entry preserves argv[0] (P; see the
// busybox_applet_reexec case). WORK and BB let the native run use a scratch directory and the
// native image's busybox.
const char kCrossArchWorkload[] =
    "BB=${BB:-/bin/busybox}; cd \"${WORK:-/tmp}\" && "
    "printf '3\\n10\\n2\\nb\\na\\n' | $BB sort && "
    "echo 'hello world' | $BB sed 's/world/polyarch/' && "
    "printf 'a 1\\nb 2\\nc 39\\n' | $BB awk '{ s += $2 } END { print s, NR }' && "
    "printf 'polyarch' | $BB sha256sum && "
    "$BB mkdir -p t/d && echo payload > t/d/f && $BB tar -cf t.tar t && $BB rm -rf t && "
    "$BB tar -xf t.tar && $BB cat t/d/f && $BB rm -rf t t.tar && "
    "echo $(( (1 << 20) + 7 * 6 - 255 / 5 )) $(( -17 % 5 ))";

// An applet called by its bare name: busybox's shell re-executes itself under that name.
const char kAppletReexec[] = "echo hello | sed s/hello/reexec-ok/";

namespace {

bool HasQemu(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (n.find("qemu") != std::string::npos) found = true;
    if (e->d_type == DT_DIR) subdirs.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const auto& s : subdirs) found = found || HasQemu(s);
  return found;
}

// Runs the probe's info through exec in a running container of the case's arch.
bool ProbeInfo(CaseContext& ctx, const std::vector<std::string>& argv, json* info,
               int64_t* duration_ns) {
  std::string id = ctx.NewId();
  if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return false;
  ExecResult e = ctx.Exec(id, argv);
  if (!ctx.Ok(e, "exec probe info")) return false;
  *duration_ns = e.duration_ns;
  if (!ctx.Expect(e.exit_code == 0, "probe info exited " + std::to_string(e.exit_code) + ": " +
                                        std::string(Trim(e.err)))) {
    return false;
  }
  *info = json::parse(e.out, nullptr, false);
  return ctx.Expect(!info->is_discarded() && info->is_object(),
                    "probe info did not print a JSON object: '" + std::string(Trim(e.out)) + "'");
}

}  // namespace

NativeGolden ComputeNativeGolden(const ImageSet& images) {
  NativeGolden g;
  const BuiltImage* native = images.Find(HostArch());
  if (native == nullptr) {
    g.error = "no native image was built, so there is nothing to compare with";
    return g;
  }
  const std::string root = native->bundle_dir + "/rootfs";
  auto info = RunProcess({root + "/probe", "info"}, std::chrono::seconds(60));
  if (!info.ok() || !info->success()) {
    g.error = "the native probe failed on this host: " +
              (info.ok() ? info->Describe() + " " + info->err.Text() : info.status().ToString());
    return g;
  }
  g.probe_info = json::parse(info->out.Text(), nullptr, false);
  if (g.probe_info.is_discarded()) {
    g.error = "the native probe printed no JSON";
    return g;
  }
  if (native->busybox) {
    auto work = TempDir::Create("polyarch-golden-");
    if (!work.ok()) {
      g.error = work.status().ToString();
      return g;
    }
    SpawnOptions o;
    o.argv = {root + "/bin/busybox", "sh", "-c", kCrossArchWorkload};
    o.env = std::vector<std::string>{"WORK=" + work->path(), "BB=" + root + "/bin/busybox",
                                     "PATH=" + root + "/bin"};
    auto w = RunProcess(o, std::chrono::seconds(60));
    if (!w.ok() || !w->success()) {
      g.error = "the native busybox workload failed: " +
                (w.ok() ? w->Describe() + " " + w->err.Text() : w.status().ToString());
      return g;
    }
    g.workload_output = w->out.Text();
  }
  return g;
}

std::vector<CaseDef> CrossArchSuite::Cases() const {
  std::vector<CaseDef> v;
  const NativeGolden* golden = &golden_;
  const ImageSet* images = images_;

  AddCase(v, "probe_info_matches_native", "the probe's deterministic work is arch-independent",
          {Need::kExec}, [golden](CaseContext& ctx) {
            json info;
            int64_t ns = 0;
            if (!ProbeInfo(ctx, {"/probe", "info"}, &info, &ns)) return;
            ctx.Data()["probe_info"] = info;
            ctx.Metric("probe_run_ms", static_cast<double>(ns) / 1e6);
            if (!ctx.ExpectNone(CheckProbeIdentity(info, ctx.arch()))) return;
            if (!golden->error.empty()) {
              ctx.Error(golden->error);
              return;
            }
            ctx.ExpectNone(CheckProbeRecord(info, ctx.arch(), golden->probe_info));
          });

  AddCase(v, "busybox_workload_matches_native", "sort, sed, awk, sha256sum, tar, shell arithmetic",
          {Need::kExec, Need::kBusybox}, [golden](CaseContext& ctx) {
            if (!golden->error.empty() || golden->workload_output.empty()) {
              ctx.Error(golden->error.empty() ? "the native image has no busybox" : golden->error);
              return;
            }
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            ExecResult e = ctx.Exec(id, {"/bin/sh", "-c", kCrossArchWorkload});
            if (!ctx.Ok(e, "exec the workload")) return;
            ctx.Metric("workload_run_ms", static_cast<double>(e.duration_ns) / 1e6);
            if (!ctx.Expect(e.exit_code == 0, "the workload exited " + std::to_string(e.exit_code) +
                                                  ": " + std::string(Trim(e.err)))) {
              return;
            }
            ctx.Expect(e.out == golden->workload_output, "output differs from the native run:\n" +
                                                             e.out + "--- native ---\n" +
                                                             golden->workload_output);
          });

  AddCase(v, "start_latency", "reported against native, not gated", {Need::kWaitExitCode},
          [](CaseContext& ctx) {
            std::string id = ctx.NewId();
            StepResult c = ctx.Create(ctx.Spec(id, {"/probe", "exit", "0"}));
            if (!ctx.Ok(c, "create")) return;
            StepResult s = ctx.Start(id);
            if (!ctx.Ok(s, "start")) return;
            WaitResult w = ctx.Wait(id, ctx.timeout());
            if (!ctx.Ok(w, "wait") ||
                !ctx.Expect(w.exited && w.exit_code == 0, "the probe did not exit 0")) {
              return;
            }
            ctx.Metric("create_ms", static_cast<double>(c.duration_ns) / 1e6);
            ctx.Metric("start_ms", static_cast<double>(c.duration_ns + s.duration_ns) / 1e6);
            ctx.Metric("run_to_exit_ms",
                       static_cast<double>(c.duration_ns + s.duration_ns + w.duration_ns) / 1e6);
            ctx.Ok(ctx.Delete(id, false), "delete");
          });

  AddCase(
      v, "runs_without_emulator_in_image", "binfmt_misc F flag", {Need::kExec},
      [images](CaseContext& ctx) {
        const BuiltImage* img = images ? images->Find(&ctx.arch()) : nullptr;
        if (!ctx.Expect(img != nullptr, "no image for the arch")) return;
        if (!ctx.Expect(!HasQemu(img->bundle_dir + "/rootfs"),
                        "the image holds a qemu file, so it proves nothing about F")) {
          return;
        }
        std::string flags = ctx.env().binfmt_flags ? ctx.env().binfmt_flags(ctx.arch()) : "";
        json info;
        int64_t ns = 0;
        if (!ProbeInfo(ctx, {"/probe", "info"}, &info, &ns)) return;
        ctx.Data()["binfmt_flags"] = flags;
        ctx.ExpectNone(CheckProbeMachine(info, ctx.arch()));
      },
      /*serial=*/false, /*emulated_only=*/true);

  AddCase(v, "argv0_as_binfmt_flags_say", "binfmt_misc P flag (preserve argv[0])", {Need::kExec},
          [](CaseContext& ctx) {
            bool emulated = ctx.arch().has_binfmt() && &ctx.arch() != HostArch();
            std::string flags = ctx.env().binfmt_flags ? ctx.env().binfmt_flags(ctx.arch()) : "";
            // Called through PATH as "probe": the kernel runs /bin/probe. Without P the emulator
            // only gets the file name, which becomes argv[0]; with P it gets the original too.
            std::string want =
                !emulated || flags.find('P') != std::string::npos ? "probe" : "/bin/probe";
            json info;
            int64_t ns = 0;
            if (!ProbeInfo(ctx, {"probe", "info"}, &info, &ns)) return;
            ctx.Data()["binfmt_flags"] = flags;
            std::vector<std::string> failures = CheckProbeArgv0(info, want);
            for (auto& f : failures) f += " (binfmt flags '" + flags + "')";
            ctx.ExpectNone(failures);
          });

  AddCase(v, "busybox_applet_reexec", "binfmt_misc P flag (preserve argv[0])",
          {Need::kExec, Need::kBusybox}, [](CaseContext& ctx) {
            bool emulated = ctx.arch().has_binfmt() && &ctx.arch() != HostArch();
            std::string flags = ctx.env().binfmt_flags ? ctx.env().binfmt_flags(ctx.arch()) : "";
            // Without P the emulator only learns the file it runs (/proc/self/exe), not the
            // applet name busybox re-executed itself under, so the applet is "not found".
            bool should_work = !emulated || flags.find('P') != std::string::npos;
            std::string id = ctx.NewId();
            if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
            ExecResult e = ctx.Exec(id, {"/bin/sh", "-c", kAppletReexec});
            if (!ctx.Ok(e, "exec the applet")) return;
            bool worked = e.exit_code == 0 && Trim(e.out) == "reexec-ok";
            ctx.Data()["binfmt_flags"] = flags;
            ctx.Data()["applet_reexec_worked"] = worked;
            ctx.Expect(worked == should_work,
                       std::string("an applet re-executed by name ") +
                           (worked ? "worked" : "failed") + " (exit " +
                           std::to_string(e.exit_code) + ": " + std::string(Trim(e.err)) +
                           ") under binfmt flags '" + flags + "', which predict it " +
                           (should_work ? "works" : "fails"));
          });

  AddCase(
      v, "argv0_with_preserve_flag", "binfmt_misc P flag (preserve argv[0])", {Need::kExec},
      [](CaseContext& ctx) {
        if (!ctx.env().with_preserve_argv0) {
          ctx.Skip("this run cannot register a temporary binfmt entry with P");
          return;
        }
        Status s = ctx.env().with_preserve_argv0(ctx.arch(), [&] {
          std::string id = ctx.NewId();
          if (!ctx.Run(ctx.Spec(id, kProbeSleeper))) return;
          ExecResult info = ctx.Exec(id, {"probe", "info"});
          if (!ctx.Ok(info, "exec probe info")) return;
          std::vector<std::string> failures =
              CheckProbeArgv0(json::parse(info.out, nullptr, false), "probe");
          for (auto& f : failures) f = "with P, " + f;
          ctx.ExpectNone(failures);
          // With P, busybox's applet re-exec works under emulation too.
          if (!ctx.env().has_busybox || !ctx.env().has_busybox(ctx.arch())) return;
          ExecResult e = ctx.Exec(id, {"/bin/sh", "-c", kAppletReexec});
          if (!ctx.Ok(e, "exec the applet")) return;
          ctx.Expect(e.exit_code == 0 && Trim(e.out) == "reexec-ok",
                     "with P, an applet re-executed by name still failed (exit " +
                         std::to_string(e.exit_code) + ": " + std::string(Trim(e.err)) + ")");
        });
        if (!s.ok()) ctx.Error("could not register the temporary P entry: " + s.message());
      },
      /*serial=*/true, /*emulated_only=*/true);

  return v;
}

}  // namespace polyarch
