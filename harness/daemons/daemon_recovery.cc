#include "harness/daemons/daemon_recovery.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/json_read.h"
#include "harness/core/log.h"
#include "harness/core/proc.h"
#include "harness/core/strings.h"
#include "harness/daemons/daemon_process.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/http_client.h"
#include "harness/daemons/podman_service.h"
#include "images/digest.h"

namespace polyarch {
namespace {

using namespace daemons_internal;
using std::chrono::milliseconds;

struct OrphanShim {
  pid_t pid = -1;
  std::string ns;      // -namespace
  std::string id;      // -id: the container
  std::string socket;  // its own socket in /run/containerd/s, from its bundle's "address" file
};

// The socket a shim serves, as its `start` wrote it into the bundle (its working directory):
// "unix:///run/containerd/s/<hash>". A shim removes it when containerd shuts it down; one that
// has to be killed cannot, and the file would stay behind.
std::string BundleSocket(const std::string& bundle) {
  auto text = ReadFile(bundle + "/address", 4096);
  if (!text.ok()) return "";
  std::string address(Trim(*text));
  while (!address.empty() && address.back() == '\n') address.pop_back();
  if (std::string_view(address).starts_with("unix://")) address = address.substr(7);
  // Only a socket in the shims' own directory: never anything a bundle file could point at.
  const std::string dir = std::string(kRunContainerd) + "/s/";
  if (!std::string_view(address).starts_with(dir) ||
      address.find('/', dir.size()) != std::string::npos)
    return "";
  return address;
}

}  // namespace

std::string ShimSocketPath(const std::string& address, const std::string& ns,
                           const std::string& id) {
  return std::string(kRunContainerd) + "/s/" + Sha256Hex(address + "/" + ns + "/" + id);
}

namespace {

std::string ShimSocket(pid_t shim) {
  char cwd[4096] = {};
  std::string link = "/proc/" + std::to_string(shim) + "/cwd";
  ssize_t n = ::readlink(link.c_str(), cwd, sizeof cwd - 1);
  if (n <= 0) return "";
  return BundleSocket(std::string(cwd, static_cast<size_t>(n)));
}

}  // namespace

// A shim that died without containerd asking it to (killed, or cut off in the middle of a
// delete when its client went away) leaves its socket in /run/containerd/s. Its bundle in the
// daemon's own state directory still names it; remove each such socket nobody answers on.
Status RemoveStaleShimSockets(const std::string& daemon_dir) {
  const std::string tasks = daemon_dir + "/state/io.containerd.runtime.v2.task";
  Status first;
  DIR* nss = ::opendir(tasks.c_str());
  if (nss == nullptr) return first;
  std::vector<std::string> bundles;
  while (dirent* ns = ::readdir(nss)) {
    if (ns->d_name[0] == '.') continue;
    const std::string ns_dir = tasks + "/" + ns->d_name;
    if (DIR* ids = ::opendir(ns_dir.c_str())) {
      while (dirent* id = ::readdir(ids)) {
        if (id->d_name[0] != '.') bundles.push_back(ns_dir + "/" + id->d_name);
      }
      ::closedir(ids);
    }
  }
  ::closedir(nss);
  for (const auto& bundle : bundles) {
    std::string socket = BundleSocket(bundle);
    if (socket.empty() || !PathExists(socket)) continue;
    if (CheckUnixSocketAccepts(socket, milliseconds(200)).ok()) continue;  // a live shim's
    if (::unlink(socket.c_str()) != 0 && errno != ENOENT && first.ok()) {
      first = ErrnoStatus(errno, "remove the stale shim socket " + socket);
    }
  }
  return first;
}

namespace {

std::string ArgAfter(const std::vector<std::string>& argv, std::string_view flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag || argv[i] == "-" + std::string(flag)) return argv[i + 1];
  }
  return "";
}

// The runtime binary and runc root the shim uses: from options.json in its bundle (its
// working directory) when the client passed runc options, else the shim's defaults.
std::pair<std::string, std::string> RuntimeOf(pid_t shim) {
  std::string binary = "runc";
  std::string root = "/run/containerd/runc";
  char cwd[4096] = {};
  std::string link = "/proc/" + std::to_string(shim) + "/cwd";
  ssize_t n = ::readlink(link.c_str(), cwd, sizeof cwd - 1);
  if (n > 0) {
    auto text = ReadFile(std::string(cwd, static_cast<size_t>(n)) + "/options.json", 1 << 20);
    if (text.ok()) {
      auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (j.is_object()) {
        if (auto it = j.find("binary_name");
            it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
          binary = it->get<std::string>();
        }
        if (auto it = j.find("root");
            it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
          root = it->get<std::string>();
        }
      }
    }
  }
  return {binary, root};
}

}  // namespace

// Shims outlive containerd on purpose (a restarted containerd finds its tasks again). This
// containerd does not come back, so a shim still serving its address, with the container
// under it, is a leftover of this run. Shims are found by the exact "-address <socket>" on
// their command line, never by name alone. Each container is removed the way its runtime
// would (`runc delete --force`: processes, cgroups, state), then the shim is asked to exit
// (SIGTERM lets it remove its socket in /run/containerd/s) and killed if it does not.
Status KillOrphanShims(const std::string& address) {
  std::vector<OrphanShim> shims;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return ErrnoStatus(errno, "opendir /proc");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::vector<std::string> argv = ProcessArgv(e->d_name);
    if (argv.empty()) continue;
    std::string base = argv[0].substr(argv[0].rfind('/') + 1);
    if (!std::string_view(base).starts_with("containerd-shim") ||
        ArgAfter(argv, "-address") != address)
      continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    OrphanShim shim{pid, ArgAfter(argv, "-namespace"), ArgAfter(argv, "-id"), ShimSocket(pid)};
    // A shim cut off in the middle of a delete works in a bundle containerd already removed:
    // its socket is then known only by containerd's naming rule.
    if (shim.socket.empty() && !shim.ns.empty() && !shim.id.empty()) {
      shim.socket = ShimSocketPath(address, shim.ns, shim.id);
    }
    shims.push_back(std::move(shim));
  }
  ::closedir(d);
  if (shims.empty()) return Status::Ok();
  PA_LOG(kWarning) << shims.size() << " shim(s) of " << address
                   << " outlived containerd; removing their containers";

  for (const OrphanShim& shim : shims) {
    if (shim.ns.empty() || shim.id.empty()) continue;
    auto [binary, root] = RuntimeOf(shim.pid);
    // A shim whose task was never created (containerd died during Tasks.Create) has no runc
    // state to delete; asking runc anyway would create its root under /run/containerd.
    if (!PathExists(root + "/" + shim.ns + "/" + shim.id)) continue;
    SpawnOptions o;
    o.argv = {binary, "--root", root + "/" + shim.ns, "delete", "--force", shim.id};
    o.env = daemons_internal::DaemonEnvironment();
    auto r = RunProcess(o, std::chrono::seconds(10));
    if (!r.ok() || !r->success()) {
      PA_LOG(kWarning) << QuoteArgv(o.argv) << ": "
                       << (r.ok() ? r->Describe() + " " + r->err.Text() : r.status().ToString());
    }
  }
  // Whatever still runs under a shim (runc failed, or a process escaped the container).
  std::set<pid_t> roots;
  for (const OrphanShim& shim : shims) roots.insert(shim.pid);
  for (pid_t p : Descendants(ParentMap(), roots)) ::kill(p, SIGKILL);

  Status first;
  for (const OrphanShim& shim : shims) {
    ::kill(shim.pid, SIGTERM);
    if (!WaitGone(shim.pid, milliseconds(2000))) {
      ::kill(shim.pid, SIGKILL);
      if (!WaitGone(shim.pid, milliseconds(5000))) {
        if (first.ok()) {
          first =
              Internal("shim " + std::to_string(shim.pid) + " of " + address + " survived SIGKILL");
        }
        continue;
      }
    }
    if (!shim.socket.empty() && ::unlink(shim.socket.c_str()) != 0 && errno != ENOENT &&
        first.ok()) {
      first = ErrnoStatus(errno, "remove the socket of shim " + std::to_string(shim.pid));
    }
  }
  return first;
}

Status RecoverDaemon(const nlohmann::json& record) {
  if (!record.is_object()) return InvalidArgument("daemon record is not an object");
  const std::string dir = record.value("dir", "");
  if (dir.empty() || dir[0] != '/') return InvalidArgument("daemon record names no directory");
  const pid_t pid = record.value("pid", 0);
  Status first;
  auto keep = [&](Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  if (pid > 0 && !ProcessGone(pid)) {
    // Only the recorded daemon: a recycled pid would not name this directory.
    bool ours = false;
    for (const auto& arg : ProcessArgv(std::to_string(pid))) {
      if (arg.find(dir) != std::string::npos) ours = true;
    }
    if (ours) {
      ::kill(pid, SIGTERM);
      if (!WaitGone(pid, milliseconds(10000))) {
        ::kill(pid, SIGKILL);
        if (!WaitGone(pid, milliseconds(5000))) {
          keep(Internal("daemon " + std::to_string(pid) + " survived SIGKILL"));
        }
      }
    }
  }
  if (record.value("daemon", "") == "containerd") {
    keep(KillOrphanShims(dir + "/containerd.sock"));
    keep(RemoveStaleShimSockets(dir));
  }
  // podman's conmons (and their containers) outlive the service.
  if (record.value("daemon", "") == "podman") keep(KillProcessesNaming(dir));
  keep(UnmountAllUnder(dir));
  keep(RemoveSockets(dir, 16));
  if (record.contains("private_dirs") && record["private_dirs"].is_array()) {
    for (const auto& d : record["private_dirs"]) {
      if (!d.is_string() || !IsPrivateDaemonDir(d.get<std::string>())) continue;
      Status u = UnmountAllUnder(d.get<std::string>());
      keep(u);
      if (u.ok()) keep(RemoveTree(d.get<std::string>()));
    }
  }
  // The fixed directories the daemon's start created, when nothing is left in them. Only these
  // paths, whatever the record says: a journal is a file on disk.
  if (record.contains("created_host_dirs") && record["created_host_dirs"].is_array()) {
    for (const auto& d : record["created_host_dirs"]) {
      if (!d.is_string()) continue;
      const std::string path = d.get<std::string>();
      if (path == kRunContainerd || path == "/run/docker/plugins" || path == "/run/docker") {
        RemoveEmptyDirs(path);
      } else if (path == kVarLibContainers) {
        RemovePodmanHostCache();
      }
    }
  }
  // The daemon's own cgroup parents, only under the names polyarch gives them. The daemon is
  // dead: a container it started and nobody stopped (its shim was killed) is left over.
  if (record.contains("cgroup_parents") && record["cgroup_parents"].is_array()) {
    for (const auto& c : record["cgroup_parents"]) {
      if (!c.is_string() || !ValidCgroupParent(c.get<std::string>())) continue;
      for (const auto& cg : FindCgroups({c.get<std::string>()})) {
        keep(RemoveCgroupTreeKillingWhatIsLeft(cg));
      }
    }
  }
  return first;
}

}  // namespace polyarch
