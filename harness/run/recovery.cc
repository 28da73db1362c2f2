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
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/unix_http.h"

namespace polyarch {
namespace {

bool Under(const std::string& path, const std::string& dir) {
  return !dir.empty() && (path == dir || path.rfind(dir + "/", 0) == 0);
}

// The process `pid` is still this run's polyarch: alive, and polyarch by its command line.
bool StillRunning(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  auto cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16);
  return cmdline.ok() && cmdline->find("polyarch") != std::string::npos;
}

// Kills what is still inside one of the run's cgroups (and the cgroups below it). A container
// whose shim died before anyone ran `runc delete` for it (its shim was killed when the run
// died) has no runtime state left to delete by, but it is still in the cgroup named after it;
// its name carries the run's prefix, so whatever is in it is the run's. A frozen process
// cannot act on SIGKILL: thaw first. Returns how many processes were signalled.
int KillCgroupProcesses(const std::string& cg) {
  int n = 0;
  auto write = [](const std::string& file, std::string_view value) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, value.data(), value.size());
    ::close(fd);
  };
  write(cg + "/freezer.state", "THAWED");  // v1 freezer hierarchy
  write(cg + "/cgroup.freeze", "0");       // v2
  if (auto procs = ReadFile(cg + "/cgroup.procs", 1 << 20); procs.ok()) {
    std::istringstream in(*procs);
    for (pid_t pid; in >> pid;) n += pid > 1 && ::kill(pid, SIGKILL) == 0;
  }
  if (DIR* d = ::opendir(cg.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(cg + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& c : children) n += KillCgroupProcesses(c);
  }
  return n;
}

std::string Describe(const Result<ProcessResult>& r) {
  if (!r.ok()) return r.status().ToString();
  std::string err = r->err.Text();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return r->Describe() + (err.empty() ? "" : ": " + err);
}

}  // namespace

Result<std::vector<RunRecord>> ListRuns(const Journal& journal) {
  PA_ASSIGN_OR_RETURN(auto live, journal.Live());
  std::map<std::string, RunRecord> runs;
  for (const auto& r : live) {
    if (r.kind == kJournalKindRun) {
      RunRecord& run = runs[r.key];
      run.id = r.key;
      run.pid = r.data.value("pid", 0);
      run.run_dir = r.data.value("run_dir", "");
      run.prefix = r.data.value("prefix", "");
    } else if (!r.run.empty()) {
      runs[r.run].id = r.run;
      runs[r.run].records.push_back(r);
    }
  }
  std::vector<RunRecord> out;
  for (auto& [id, run] : runs) {
    run.alive = StillRunning(run.pid);
    out.push_back(std::move(run));
  }
  return out;
}

RecoveryReport RecoverRun(Journal& journal, const RunRecord& run) {
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
    note(RecoverDaemon(r.data),
         "stopped daemon " + r.data.value("daemon", std::string("?")) + " of " + r.key);
    forget.emplace_back(r.kind, r.key);
  }
  // The run's private containerd daemons, by the address their shims were given.
  std::vector<std::string> containerd_addresses;
  for (const auto& r : run.records) {
    if (r.kind == "daemon" && r.data.value("daemon", "") == "containerd") {
      containerd_addresses.push_back(r.data.value("dir", "") + "/containerd.sock");
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
            ShimSocketPath(address, r.data.value("namespace", ""), r.data.value("id", ""));
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
      auto res = RunProcess({r.data.value("binary", ""), "--root", r.data.value("root", ""),
                             "delete", "--force", r.data.value("id", "")},
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
      std::string socket = r.data.value("socket", "");
      if (!socket.empty() && !Under(socket, run.run_dir) && PathExists(socket)) {
        std::string target = r.kind == "docker-container"
                                 ? "/v1.41/containers/" + r.key + "?force=1&v=1"
                                 : "/v1.41/images/" + r.data.value("reference", r.key) + "?force=1";
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
      std::string address = r.data.value("address", "");
      if (!address.empty() && !Under(address, run.run_dir) && PathExists(address)) {
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
  RealProcFs procfs;
  for (const auto& r : run.records) {
    if (r.kind != std::string(kJournalKindBinfmt)) continue;
    auto e = ParseRegistration(r.data.value("line", ""));
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
    auto mounts = MountsUnder(run.run_dir);
    std::vector<std::string> points;
    if (mounts.ok()) {
      for (const auto& line : *mounts) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp;
        f >> id >> parent >> dev >> root >> mp;
        points.push_back(mp);
      }
    }
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
  for (const auto& cg : FindCgroups(names)) {
    Status s = RemoveCgroupTree(cg);
    if (!s.ok()) {
      int killed = KillCgroupProcesses(cg);
      if (killed > 0) {
        rep.actions.push_back("killed " + std::to_string(killed) + " process(es) left in " + cg);
      }
    }
    // A process killed just now leaves its cgroup only once its parent has reaped it.
    for (int i = 0; !s.ok() && i < 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = RemoveCgroupTree(cg);
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
