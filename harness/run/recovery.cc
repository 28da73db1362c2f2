#include "harness/run/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <sstream>
#include <thread>

#include "binfmt/entry.h"
#include "binfmt/procfs.h"
#include "binfmt/registry.h"
#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/json_read.h"
#include "harness/core/mountinfo.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/daemon_recovery.h"
#include "harness/daemons/http_client.h"

namespace polyarch {
namespace {

// A string field of a journal record, "" when it is missing or of another type: the journal is
// a file on disk, and a record someone edited must not stop the recovery of the others.
std::string Field(const nlohmann::json& data, const char* key) {
  auto v = StringField(data, key);
  return v.ok() ? *v : "";
}

// The process `pid` is still this run's polyarch: alive, and polyarch by its command line.
bool StillRunning(int pid, const std::string& proc_root) {
  if (pid <= 0) return false;
  if (proc_root.empty() && ::kill(pid, 0) != 0) return false;
  auto cmdline = ReadFile(proc_root + "/proc/" + std::to_string(pid) + "/cmdline", 1 << 16);
  return cmdline.ok() && cmdline->find("polyarch") != std::string::npos;
}

std::string Describe(const Result<ProcessResult>& r) {
  if (!r.ok()) return r.status().ToString();
  std::string err = r->err.Text();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return r->Describe() + (err.empty() ? "" : ": " + err);
}

}  // namespace

Result<std::vector<RunRecord>> ListRuns(const Journal& journal, const std::string& proc_root) {
  PA_ASSIGN_OR_RETURN(auto live, journal.Live());
  std::map<std::string, RunRecord> runs;
  for (const auto& r : live) {
    if (r.kind == kJournalKindRun) {
      RunRecord& run = runs[r.key];
      run.id = r.key;
      auto pid = IntegerField<int>(r.data, "pid");
      run.pid = pid.ok() ? *pid : 0;
      run.run_dir = Field(r.data, "run_dir");
      run.prefix = Field(r.data, "prefix");
    } else if (!r.run.empty()) {
      runs[r.run].id = r.run;
      runs[r.run].records.push_back(r);
    }
  }
  std::vector<RunRecord> out;
  for (auto& [id, run] : runs) {
    run.alive = StillRunning(run.pid, proc_root);
    out.push_back(std::move(run));
  }
  return out;
}

RecoveryReport RecoverRun(Journal& journal, const RunRecord& run) {
  RealProcFs procfs;
  return RecoverRun(journal, run, procfs);
}

RecoveryReport RecoverRun(Journal& journal, const RunRecord& run, ProcFs& procfs) {
  RecoveryReport rep;
  rep.run = run.id;
  if (run.alive) {
    rep.problems.push_back("run " + run.id + " is still running (pid " + std::to_string(run.pid) +
                           "); stop it first: it cleans up after itself on SIGINT/SIGTERM");
    return rep;
  }
  auto note = [&](const Status& s, const std::string& what) {
    if (s.ok()) {
      rep.actions.push_back(what);
    } else {
      rep.problems.push_back(what + ": " + s.message());
    }
  };
  std::vector<std::pair<std::string, std::string>> forget;  // kind, key

  // Daemons first: with them gone, nothing recreates what is removed next.
  for (const auto& r : run.records) {
    if (r.kind != "daemon") continue;
    note(RecoverDaemon(r.data), "stopped daemon " + Field(r.data, "daemon") + " of " + r.key);
    forget.emplace_back(r.kind, r.key);
  }
  // The run's private containerd daemons, by the address their shims were given.
  std::vector<std::string> containerd_addresses;
  for (const auto& r : run.records) {
    if (r.kind == "daemon" && Field(r.data, "daemon") == "containerd") {
      containerd_addresses.push_back(Field(r.data, "dir") + "/containerd.sock");
    }
  }
  for (const auto& r : run.records) {
    if (r.kind == "containerd-container" && r.data.contains("id")) {
      // A shim cut off in the middle of a delete when the run died cannot remove its socket
      // in /run/containerd/s: containerd removes the bundle that names it first. The name is
      // containerd's own rule, sha256 of "<daemon address>/<namespace>/<container id>"; only a
      // socket nobody answers on goes.
      for (const auto& address : containerd_addresses) {
        std::string socket =
            ShimSocketPath(address, Field(r.data, "namespace"), Field(r.data, "id"));
        if (!PathExists(socket) ||
            CheckUnixSocketAccepts(socket, std::chrono::milliseconds(200)).ok()) {
          continue;
        }
        note(::unlink(socket.c_str()) == 0 || errno == ENOENT
                 ? Status::Ok()
                 : ErrnoStatus(errno, "unlink " + socket),
             "removed the stale shim socket " + socket + " of " + r.key);
      }
    }
    if (r.kind == "container" && r.data.contains("binary")) {
      // An OCI runtime container: its runtime removes processes, cgroups and state.
      auto res = RunProcess({Field(r.data, "binary"), "--root", Field(r.data, "root"), "delete",
                             "--force", Field(r.data, "id")},
                            std::chrono::seconds(30));
      bool gone = res.ok() &&
                  (res->success() || res->err.Text().find("does not exist") != std::string::npos ||
                   res->err.Text().find("not found") != std::string::npos);
      if (gone) {
        rep.actions.push_back("removed container " + r.key);
      } else {
        rep.problems.push_back("container " + r.key + ": " + Describe(res));
      }
      forget.emplace_back(r.kind, r.key);
    } else if (r.kind == "docker-container" || r.kind == "docker-image") {
      // Only an engine outside the run directory still exists to ask.
      std::string socket = Field(r.data, "socket");
      if (!socket.empty() && !PathUnder(socket, run.run_dir) && PathExists(socket)) {
        std::string target =
            r.kind == "docker-container"
                ? "/v1.41/containers/" + r.key + "?force=1&v=1"
                : "/v1.41/images/" +
                      (Field(r.data, "reference").empty() ? r.key : Field(r.data, "reference")) +
                      "?force=1";
        auto res = UnixHttpRequest(socket, "DELETE", target, "", std::chrono::seconds(30));
        if (res.ok() && (res->status < 300 || res->status == 404)) {
          rep.actions.push_back("removed " + r.kind + " " + r.key);
        } else {
          rep.problems.push_back(r.kind + " " + r.key + ": " +
                                 (res.ok() ? "HTTP " + std::to_string(res->status) + " " + res->body
                                           : res.status().message()));
        }
      }
      forget.emplace_back(r.kind, r.key);
    } else if (r.kind == "containerd-namespace") {
      // An external containerd: remove the run's namespace and everything in it with ctr.
      std::string address = Field(r.data, "address");
      if (!address.empty() && !PathUnder(address, run.run_dir) && PathExists(address)) {
        const std::string ns = r.key;
        auto ctr = [&](std::vector<std::string> args) {
          args.insert(args.begin(), {"ctr", "--address", address, "-n", ns});
          return RunProcess(args, std::chrono::seconds(60));
        };
        auto list = ctr({"containers", "ls", "-q"});
        if (list.ok()) {
          std::string ids = list->out.Text();
          size_t start = 0;
          while (start < ids.size()) {
            size_t end = ids.find('\n', start);
            if (end == std::string::npos) end = ids.size();
            std::string id = ids.substr(start, end - start);
            start = end + 1;
            if (id.empty()) continue;
            (void)ctr({"tasks", "kill", "-s", "SIGKILL", id});
            (void)ctr({"tasks", "delete", "-f", id});
            (void)ctr({"containers", "delete", id});
          }
        }
        for (const char* kind : {"images", "leases", "snapshots"}) {
          auto l = ctr({kind, "ls", "-q"});
          if (!l.ok()) continue;
          std::string items = l->out.Text();
          size_t start = 0;
          while (start < items.size()) {
            size_t end = items.find('\n', start);
            if (end == std::string::npos) end = items.size();
            std::string item = items.substr(start, end - start);
            start = end + 1;
            if (!item.empty()) (void)ctr({kind, "rm", item});
          }
        }
        auto rm = RunProcess({"ctr", "--address", address, "namespaces", "rm", ns},
                             std::chrono::seconds(30));
        if (rm.ok() && rm->success()) {
          rep.actions.push_back("removed containerd namespace " + ns);
        } else {
          rep.problems.push_back("containerd namespace " + ns + ": " + Describe(rm));
        }
      }
      forget.emplace_back(r.kind, r.key);
    } else if (r.kind != "daemon" && r.kind != std::string(kJournalKindBinfmt)) {
      // Inside a private daemon's state (containerd-*, leases, snapshots): gone with it.
      forget.emplace_back(r.kind, r.key);
    }
  }

  // binfmt entries the run registered: removed only while they hold what it wrote.
  for (const auto& r : run.records) {
    if (r.kind != std::string(kJournalKindBinfmt)) continue;
    auto e = ParseRegistration(Field(r.data, "line"));
    auto text = procfs.ReadEntry(r.key);
    if (e.ok() && text.ok()) {
      auto k = ParseKernelEntry(r.key, *text);
      if (k.ok() && SameContent(*e, *k)) {
        note(procfs.RemoveEntry(r.key), "removed binfmt entry " + r.key);
      } else {
        rep.actions.push_back("left binfmt entry " + r.key + ": changed since the run wrote it");
      }
    }
    forget.emplace_back(r.kind, r.key);
  }

  if (!run.run_dir.empty()) {
    // Deepest first: a mount inside another must go before it.
    auto mounts = MountPointsUnder(run.run_dir);
    std::vector<std::string> points = mounts.ok() ? *mounts : std::vector<std::string>{};
    std::sort(points.begin(), points.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& mp : points) {
      if (::umount2(mp.c_str(), MNT_DETACH) == 0) {
        rep.actions.push_back("unmounted " + mp);
      } else {
        rep.problems.push_back(ErrnoStatus(errno, "umount " + mp).message());
      }
    }
  }
  std::vector<std::string> names = {"polyarch-" + run.id};
  if (!run.prefix.empty()) names.push_back(run.prefix);
  // A container whose shim died before anyone ran `runc delete` for it (its shim was killed
  // when the run died) has no runtime state left to delete it by, but it is still in the
  // cgroup named after it; its name carries the run's prefix, so whatever is in it is the run's.
  for (const auto& cg : FindCgroups(names)) {
    int killed = 0;
    Status s = RemoveCgroupTreeKillingWhatIsLeft(cg, &killed);
    if (killed > 0) {
      rep.actions.push_back("killed " + std::to_string(killed) + " process(es) left in " + cg);
    }
    note(s, "removed cgroup " + cg);
  }
  if (!run.run_dir.empty() && PathExists(run.run_dir)) {
    note(RemoveTree(run.run_dir), "removed " + run.run_dir);
  }
  for (const auto& [kind, key] : forget) (void)journal.Remove(kind, key);
  if (rep.ok()) (void)journal.Remove(kJournalKindRun, run.id);
  return rep;
}

}  // namespace polyarch
