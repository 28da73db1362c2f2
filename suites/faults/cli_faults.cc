// Scenarios that run the polyarch binary itself: killed mid-run and cleaned up after, binfmt
// entries of other owners left alone, and a report directory whose disk is full.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "binfmt/procfs.h"
#include "binfmt/registry.h"
#include "harness/core/fs.h"
#include "harness/report/text.h"
#include "suites/faults/scenario.h"

namespace polyarch::faults {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// sun_path holds 107 bytes; a child run puts its containerd's ttrpc socket this deep.
constexpr size_t kSunPathMax = 107;
constexpr char kDeepestSocket[] =
    "/runs/20250101T000000-abcd/daemons/containerd/containerd.sock.ttrpc";

// The id a child run announces on stderr ("run 20250101T000000-abcd: <dir>, reports in ...").
std::string RunIdFromLog(const std::string& log) {
  for (size_t at = log.find("run "); at != std::string::npos; at = log.find("run ", at + 1)) {
    std::string id = log.substr(at + 4, 20);
    if (id.size() == 20 && id[8] == 'T' && id[15] == '-' && log.size() > at + 24 &&
        log[at + 24] == ':' && std::isdigit(static_cast<unsigned char>(id[0]))) {
      return id;
    }
  }
  return "";
}

// A child run's names: its containers ("pa<last 4>-") and its containerd namespace and docker
// cgroup parent ("polyarch-<id>"), so the closing snapshot sees what it might leave.
void AddRunTokens(ScenarioContext& ctx, const std::string& run_id) {
  if (run_id.size() < 4) return;
  ctx.scope().tokens.push_back("polyarch-" + run_id);
  ctx.scope().tokens.push_back("pa" + run_id.substr(run_id.size() - 4) + "-");
}

bool Exited(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: only look; Subprocess reaps it.
  int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  return r != 0 || info.si_pid != 0;
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

void KilledThenCleanup(ScenarioContext& ctx) {
  // The child's state directory: under the scenario's own when its daemons' sockets fit in
  // sun_path there, else a short one in /tmp (owned and removed the same way).
  std::string state = ctx.dir() + "/state";
  std::unique_ptr<TempDir> short_dir;
  if (state.size() + std::strlen(kDeepestSocket) > kSunPathMax) {
    auto t = TempDir::Create("paf8-", "/tmp");
    if (!t.ok()) return ctx.Error("cannot create a state directory: " + t.status().message());
    short_dir = std::make_unique<TempDir>(std::move(*t));
    state = short_dir->path() + "/state";
    ctx.scope().dirs.push_back(short_dir->path());
    ctx.Data()["state_dir_note"] =
        "the scenario directory is too deep for the child's daemon sockets (sun_path holds " +
        std::to_string(kSunPathMax) + " bytes): state in " + state;
  }
  ctx.Data()["state_dir"] = state;
  const std::string reports = state + "/reports";
  const std::string host = std::string(ctx.arch().name);
  std::vector<std::string> args = {ctx.polyarch(),
                                   "--state-dir",
                                   state,
                                   "run",
                                   "--layer",
                                   "runc,containerd,docker",
                                   "--arch",
                                   host,
                                   "--suite",
                                   "lifecycle",
                                   "--jobs",
                                   "4",
                                   "--step-timeout",
                                   "10",
                                   "--report-dir",
                                   reports,
                                   "--no-color"};
  // The child's output goes to a file: nobody reads a pipe while the report is polled.
  const std::string log = ctx.dir() + "/run.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return ctx.Error("cannot open " + log);
  SpawnOptions o;
  o.argv = args;
  o.stdout_mode = OutputMode::kFd;
  o.stdout_fd = log_fd;
  o.stderr_mode = OutputMode::kFd;
  o.stderr_fd = log_fd;
  auto child = Subprocess::Start(o);
  ::close(log_fd);
  if (!child.ok()) return ctx.Error("cannot start polyarch: " + child.status().message());
  const pid_t pid = (*child)->pid();
  auto t0 = Clock::now();

  // Until the report it rewrites as cases finish shows 20 of them, and the containerd layer's
  // have begun (its cases follow runc's): the kill then lands with containers in flight in a
  // daemon, not only in runc.
  int finished = 0, containerd_finished = 0;
  std::string run_id;
  bool exited = false;
  WaitUntil(
      [&] {
        exited = Exited(pid);
        auto text = ReadFile(reports + "/report.json");
        if (text.ok()) {
          json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
          if (j.is_object()) {
            json cases = j.value("cases", json::array());
            finished = static_cast<int>(cases.size());
            containerd_finished = 0;
            for (const auto& c : cases) {
              containerd_finished += c.is_object() && c.value("layer", "") == "containerd";
            }
            const json::json_pointer ptr("/context/polyarch/run_id");
            if (j.contains(ptr) && j[ptr].is_string()) run_id = j[ptr].get<std::string>();
          }
        }
        return exited || (finished >= 20 && containerd_finished > 0);
      },
      milliseconds(180000), milliseconds(200));
  ctx.Metric("cases_finished_when_killed", finished);
  ctx.Metric("containerd_cases_finished_when_killed", containerd_finished);
  ctx.Metric("run_ms_before_kill", Ms(Clock::now() - t0));
  if (run_id.empty()) {
    auto text = ReadFile(log, 1 << 20);
    if (text.ok()) run_id = RunIdFromLog(*text);
  }
  AddRunTokens(ctx, run_id);
  ctx.Data()["child_run_id"] = run_id;
  if (exited || finished < 20 || containerd_finished == 0) {
    const ProcessResult& r = (*child)->Wait(milliseconds(10000));
    auto text = ReadFile(log, 1 << 20);
    return ctx.Error("the child run " + std::string(exited ? "ended" : "did not reach 20 cases") +
                     " before it could be killed (" + std::to_string(finished) + " cases; " +
                     r.Describe() + "): " + Tail(text.ok() ? *text : "", 600));
  }
  ctx.Injected(
      "SIGKILL to a running `polyarch run --layer runc,containerd,docker --jobs 4` "
      "(pid " +
      std::to_string(pid) + ") after " + std::to_string(finished) + " finished cases (" +
      std::to_string(containerd_finished) + " of them containerd's), then `polyarch --state-dir " +
      state + " cleanup`");
  ::kill(pid, SIGKILL);
  const ProcessResult& killed = (*child)->Wait(milliseconds(10000));
  ctx.Step("kill polyarch run", "kill(" + std::to_string(pid) + ", SIGKILL)", Clock::now() - t0,
           killed.signal == SIGKILL ? Status::Ok() : Internal(killed.Describe()));
  // What the killed run left for cleanup to find: its daemons, shims, containers, mounts.
  HostState left = TakeHostState(ctx.scope());
  ctx.Data()["left_by_the_kill"] = HostStateCounts(left);
  json left_detail = {{"sockets", left.sockets}, {"paths", left.paths}};
  for (const auto& p : left.processes) {
    if (!p.argv.empty()) left_detail["processes"].push_back(QuoteArgv(p.argv).substr(0, 300));
  }
  ctx.Data()["left_by_the_kill_detail"] = left_detail;

  auto cleaned = RunPolyarch(ctx, {"--state-dir", state, "-v", "cleanup"}, milliseconds(120000));
  if (!cleaned.ok()) return ctx.Error("cannot run polyarch cleanup: " + cleaned.status().message());
  ctx.Data()["cleanup_stdout"] = Tail(cleaned->out.Text(), 4000);
  ctx.Data()["cleanup_stderr"] = Tail(cleaned->err.Text(), 4000);
  ctx.Expect(
      cleaned->exited && cleaned->exit_code == 0,
      "polyarch cleanup: " + DescribeChild(*cleaned) + ": " + Tail(cleaned->out.Text(), 600));
  const std::string run_dir = state + "/runs/" + run_id;
  ctx.Expect(!run_id.empty() && !PathExists(run_dir), "the run directory " + run_dir + " remains");
  ctx.Observed("killed after " + std::to_string(finished) + " cases, leaving " +
               std::to_string(left.processes.size()) + " process(es), " +
               std::to_string(left.mounts.size()) + " mount(s), " +
               std::to_string(left.sockets.size()) + " socket(s), " +
               std::to_string(left.cgroups.size()) + " cgroup(s); cleanup " + cleaned->Describe() +
               " and the run directory is " + (PathExists(run_dir) ? "still there" : "gone"));
  Status rm = RemoveTree(state);
  ctx.Expect(rm.ok(), "the child's state directory: " + rm.message());
}

struct OwnEntry {
  std::string name;
  std::string line;
  std::string text;  // status text right after registration
  bool registered = false;
};

Status RegisterOwn(ScenarioContext& ctx, ProcFs& procfs, OwnEntry* e) {
  if (Journal* j = ctx.config().journal) {
    PA_RETURN_IF_ERROR(j->Add({std::string(kJournalKindBinfmt), e->name, {{"line", e->line}}}));
  }
  Status s = procfs.Register(e->line);
  if (!s.ok()) {
    if (Journal* j = ctx.config().journal) (void)j->Remove(kJournalKindBinfmt, e->name);
    return s.WithContext("register " + e->name);
  }
  e->registered = true;
  auto text = procfs.ReadEntry(e->name);
  if (!text.ok()) return text.status();
  e->text = *text;
  return Status::Ok();
}

void ForeignBinfmt(ScenarioContext& ctx) {
  RealProcFs procfs;
  if (!procfs.Mounted()) return ctx.Skip("binfmt_misc is not mounted");
  auto conf = ReadFile("/usr/lib/binfmt.d/qemu-s390x.conf");
  if (!conf.ok()) return ctx.Skip("no Debian qemu-s390x entry to copy: " + conf.status().message());
  std::string debian;
  for (size_t start = 0; start < conf->size();) {
    size_t end = conf->find('\n', start);
    if (end == std::string::npos) end = conf->size();
    std::string line = conf->substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line[0] == ':') {
      debian = line;
      break;
    }
  }
  // :name:type:offset:magic:mask:interpreter:flags
  std::vector<std::string> f;
  for (size_t start = 1; start <= debian.size();) {
    size_t end = debian.find(':', start);
    if (end == std::string::npos) end = debian.size();
    f.push_back(debian.substr(start, end - start));
    start = end + 1;
  }
  if (f.size() != 7) return ctx.Error("cannot read Debian's qemu-s390x line: '" + debian + "'");
  OwnEntry other{ctx.prefix() + "other", ""};
  other.line = ":" + other.name + ":M::\\x7fPAFAULT::/bin/true:";
  OwnEntry distro{ctx.prefix() + "qemu-s390x", ""};
  std::string interpreter = f[5];
  if (::access(interpreter.c_str(), X_OK) != 0) interpreter = "/usr/bin/qemu-s390x-static";
  distro.line = ":" + distro.name + ":" + f[1] + ":" + f[2] + ":" + f[3] + ":" + f[4] + ":" +
                interpreter + ":" + f[6];
  ctx.scope().binfmt_names = {other.name, distro.name};
  ctx.Injected("two entries of another owner under the install prefix: " + other.name +
               " (arbitrary magic, /bin/true) and " + distro.name +
               " (Debian's qemu-s390x line: " + distro.line +
               "), then binfmt install --arch all, a small s390x run and binfmt "
               "uninstall, all with --prefix " +
               ctx.prefix());
  auto remove_own = [&] {
    for (OwnEntry* e : {&other, &distro}) {
      if (!e->registered) continue;
      Status s = procfs.RemoveEntry(e->name);
      ctx.Step("remove " + e->name, "write -1 to its own file", Clock::duration::zero(), s);
      if (s.ok()) {
        e->registered = false;
        if (Journal* j = ctx.config().journal) (void)j->Remove(kJournalKindBinfmt, e->name);
      }
      ctx.Expect(s.ok(), "cannot remove " + e->name + ": " + s.message());
    }
  };
  for (OwnEntry* e : {&other, &distro}) {
    Status s = RegisterOwn(ctx, procfs, e);
    ctx.Step("register " + e->name, e->line, Clock::duration::zero(), s);
    if (!s.ok()) {
      remove_own();
      return ctx.Error(s.message());
    }
  }

  const std::string state = ctx.dir() + "/state";
  int checks = 0;
  auto unchanged = [&](const std::string& after) {
    for (const OwnEntry* e : {&other, &distro}) {
      auto text = procfs.ReadEntry(e->name);
      ++checks;
      ctx.Expect(text.ok() && *text == e->text,
                 e->name + " changed after " + after + ": " +
                     (text.ok() ? "'" + *text + "'" : text.status().message()));
    }
  };
  std::vector<std::string> exits;
  auto step = [&](const std::string& what, std::vector<std::string> args) {
    auto r = RunPolyarch(ctx, args, milliseconds(240000));
    if (!r.ok()) {
      ctx.Error("cannot run polyarch " + what + ": " + r.status().message());
      return;
    }
    AddRunTokens(ctx, RunIdFromLog(r->err.Text()));
    // The run's own verdict line ("4 cases: 4 pass, ..."), so the record shows it ran cases.
    std::string summary;
    const std::string out = r->out.Text();
    if (size_t at = out.find(" cases: "); at != std::string::npos) {
      size_t start = out.rfind('\n', at);
      start = start == std::string::npos ? 0 : start + 1;
      summary = " (" + out.substr(start, out.find(';', at) - start) + ")";
    }
    exits.push_back(what + ": " + r->Describe() + summary);
    ctx.Expect(r->exited && r->exit_code == 0, "polyarch " + what + ": " + DescribeChild(*r));
    unchanged(what);
  };
  step("binfmt install",
       {"--state-dir", state, "binfmt", "install", "--arch", "all", "--prefix", ctx.prefix()});
  step("run", {"--state-dir", state, "run", "--layer", "runc", "--arch", "s390x", "--suite",
               "lifecycle", "--filter", "exit_code_*", "--step-timeout", "10", "--report-dir",
               state + "/reports", "--no-color"});
  step("binfmt uninstall",
       {"--state-dir", state, "binfmt", "uninstall", "--arch", "all", "--prefix", ctx.prefix()});
  // Only the two foreign entries carry the prefix now: polyarch's own are gone.
  std::vector<std::string> left;
  if (auto names = procfs.ListEntries(); names.ok()) {
    for (const auto& n : *names) {
      if (n.rfind(ctx.prefix(), 0) == 0 && n != other.name && n != distro.name) left.push_back(n);
    }
  }
  ctx.Expect(left.empty(), "entries of polyarch's install remain: " + json(left).dump());
  ctx.Metric("entry_checks", checks);
  ctx.Observed("both entries byte-identical after install, run and uninstall (" +
               std::to_string(checks) + " checks); " + json(exits).dump());
  remove_own();
}

void DiskFull(ScenarioContext& ctx) {
  const std::string reports = ctx.dir() + "/reports";
  if (Status s = MakeDirs(reports, 0700); !s.ok()) return ctx.Error(s.message());
  if (::mount("tmpfs", reports.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64k,mode=0700") != 0) {
    return ctx.Error(ErrnoStatus(errno, "mount a 64k tmpfs on " + reports).message());
  }
  ctx.Step("mount tmpfs", "mount -t tmpfs -o size=64k tmpfs " + reports, Clock::duration::zero(),
           Status::Ok());
  // 60 KiB of the 64: not even the first report (the context block alone) fits in what is left.
  Status filled = WriteFileAtomic(reports + "/filler", std::string(60 * 1024, 'x'), 0600);
  ctx.Injected(
      "--report-dir on a 64 KiB tmpfs with 60 KiB already used, for `polyarch run "
      "--layer runc --filter exit_code_0`");
  if (filled.ok()) {
    const std::string state = ctx.dir() + "/state";
    auto r =
        RunPolyarch(ctx,
                    {"--state-dir", state, "run", "--layer", "runc", "--arch",
                     std::string(ctx.arch().name), "--suite", "lifecycle", "--filter",
                     "exit_code_0", "--step-timeout", "10", "--report-dir", reports, "--no-color"},
                    milliseconds(180000));
    if (r.ok()) {
      AddRunTokens(ctx, RunIdFromLog(r->err.Text()));
      const std::string err = r->err.Text();
      ctx.Data()["stderr_tail"] = Tail(err, 2000);
      ctx.Expect(r->exited && r->exit_code == 3,
                 "exit " + r->Describe() + ", expected 3 (the report cannot be written)");
      bool names_report = err.find("report") != std::string::npos;
      bool names_cause = err.find("No space left on device") != std::string::npos ||
                         err.find("ENOSPC") != std::string::npos;
      ctx.Expect(names_report && names_cause,
                 "stderr does not name the report and ENOSPC: " + Tail(err, 600));
      // What is on the full disk: the filler, complete reports, nothing half-written.
      std::vector<std::string> names;
      bool temporaries = false;
      std::string json_state = "absent";
      if (DIR* d = ::opendir(reports.c_str())) {
        while (dirent* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n == "." || n == "..") continue;
          names.push_back(n);
          temporaries |= n.find(".tmp") != std::string::npos;
        }
        ::closedir(d);
      }
      if (auto text = ReadFile(reports + "/report.json"); text.ok()) {
        bool parses = !json::parse(*text, nullptr, /*allow_exceptions=*/false).is_discarded();
        json_state = parses && IsValidUtf8(*text) ? "complete" : "TRUNCATED";
        if (parses) {
          json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
          if (j.is_object() && !j.value("complete", true)) {
            json_state += " (the earlier version, written before the disk filled, kept in place)";
          }
        }
        ctx.Expect(parses, "report.json is there but is not complete JSON");
      }
      ctx.Data()["files_left"] = names;
      ctx.Expect(!temporaries, "temporary files remain: " + json(names).dump());
      std::string line;
      if (size_t at = err.find("cannot write the report"); at != std::string::npos) {
        line = err.substr(at, err.find('\n', at) - at);
      }
      ctx.Observed("exit " + std::to_string(r->exit_code) + "; stderr: '" + line.substr(0, 300) +
                   "'; report.json " + json_state + "; files left: " + json(names).dump());
    } else {
      ctx.Error("cannot run polyarch: " + r.status().message());
    }
  } else {
    ctx.Error("cannot fill the tmpfs: " + filled.message());
  }
  Status um =
      ::umount2(reports.c_str(), 0) == 0 ? Status::Ok() : ErrnoStatus(errno, "umount " + reports);
  ctx.Step("unmount tmpfs", "umount " + reports, Clock::duration::zero(), um);
  ctx.Expect(um.ok(), um.message());
}

}  // namespace

std::vector<ScenarioDef> CliScenarios() {
  return {
      {"polyarch_killed_then_cleanup", "harness",
       "after polyarch is SIGKILLed mid-run, `polyarch cleanup` exits 0 and leaves no daemon, "
       "shim, mount, cgroup, socket or run directory behind",
       seconds(300), KilledThenCleanup},
      {"foreign_binfmt_entries_untouched", "harness",
       "binfmt install, run and uninstall never modify or remove entries polyarch did not "
       "register, even under its own prefix or with a distro's magic",
       seconds(300), ForeignBinfmt},
      {"report_disk_full", "harness",
       "a full report disk: a clear ENOSPC error naming the report, exit 3, no truncated "
       "report.json and no temporary files",
       seconds(180), DiskFull},
  };
}

}  // namespace polyarch::faults
