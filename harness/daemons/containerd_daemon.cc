#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/strings.h"
#include "harness/core/timing.h"
#include "harness/daemons/unix_http.h"
#include "images/digest.h"

extern char** environ;

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kSunPathMax = sizeof(sockaddr_un::sun_path) - 1;

// Fixed by containerd and its runc shim, not by config.toml.
constexpr char kRunContainerd[] = "/run/containerd";

std::string FormatMs(milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

// A basic TOML string: paths may hold quotes or backslashes in theory.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Mount points in /proc/self/mountinfo escape space, tab, newline and backslash as \ooo.
std::string UnescapeMountPoint(std::string_view s) {
  std::string out;
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

Result<std::vector<std::string>> MountPointsUnder(const std::string& dir) {
  PA_ASSIGN_OR_RETURN(std::vector<std::string> lines, MountsUnder(dir));
  std::vector<std::string> points;
  for (const auto& line : lines) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    points.push_back(UnescapeMountPoint(mount_point));
  }
  return points;
}

// A daemon killed before its own shutdown leaves mounts behind (dockerd bind-mounts its
// data root onto itself; a shim's container rootfs sits under containerd's state). Deepest
// first; a busy mount is detached lazily so the directory can still be removed.
Status UnmountAllUnder(const std::string& dir) {
  PA_ASSIGN_OR_RETURN(std::vector<std::string> points, MountPointsUnder(dir));
  std::sort(points.begin(), points.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& mp : points) {
    if (::umount2(mp.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) continue;  // already gone with a parent
    if (::umount2(mp.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
        errno != ENOENT) {
      return ErrnoStatus(errno, "umount -l " + mp);
    }
    PA_LOG(kInfo) << mp << " was busy; detached it lazily";
  }
  PA_ASSIGN_OR_RETURN(std::vector<std::string> left, MountPointsUnder(dir));
  if (!left.empty()) {
    std::string m = "mounts remain under " + dir + ":";
    for (const auto& l : left) m += " " + l;
    return FailedPrecondition(m);
  }
  return Status::Ok();
}

// Unlinks socket files under `dir`, `depth` levels down, never crossing into another mount.
Status RemoveSockets(const std::string& dir, int depth) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return ErrnoStatus(errno, "opendir " + dir);
  }
  struct stat dir_st {};
  ::fstat(::dirfd(d), &dir_st);
  Status first;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string path = dir + "/" + e->d_name;
    if (S_ISSOCK(st.st_mode)) {
      if (::unlinkat(::dirfd(d), e->d_name, 0) != 0 && errno != ENOENT && first.ok()) {
        first = ErrnoStatus(errno, "unlink " + path);
      }
    } else if (S_ISDIR(st.st_mode) && depth > 0 && st.st_dev == dir_st.st_dev) {
      Status s = RemoveSockets(path, depth - 1);
      if (!s.ok() && first.ok()) first = s;
    }
  }
  ::closedir(d);
  return first;
}

// pid → parent pid of every process on the host.
std::map<pid_t, pid_t> ParentMap() {
  std::map<pid_t, pid_t> parents;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return parents;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto stat = ReadFilePrefix(std::string("/proc/") + e->d_name + "/stat", 4096);
    if (!stat.ok()) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    size_t close = stat->rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat->substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parents[static_cast<pid_t>(std::atoi(e->d_name))] = ppid;
  }
  ::closedir(d);
  return parents;
}

// Removes empty directories under and including `dir`, depth first; anything holding a
// file stays. Used only on directories this start created outside the run directory.
void RemoveEmptyDirs(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> subdirs;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (e->d_type == DT_DIR) subdirs.push_back(dir + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& sub : subdirs) RemoveEmptyDirs(sub);
  }
  ::rmdir(dir.c_str());  // ENOTEMPTY: someone's files are there; leave them
}

// True when `pid` no longer runs: gone, or a zombie its new parent has not reaped yet.
bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  auto stat = ReadFilePrefix("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return true;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z';
}

bool WaitGone(pid_t pid, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!ProcessGone(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

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
  std::map<pid_t, pid_t> parents = ParentMap();
  std::set<pid_t> under;
  for (const OrphanShim& shim : shims) under.insert(shim.pid);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parents) {
      if (under.count(ppid) > 0 && under.insert(pid).second) grew = true;
    }
  }
  for (const OrphanShim& shim : shims) under.erase(shim.pid);
  for (pid_t p : under) ::kill(p, SIGKILL);

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

}  // namespace

namespace daemons_internal {

std::vector<std::string> DaemonEnvironment() {
  std::vector<std::string> env;
  std::string path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("NOTIFY_SOCKET=") || kv.starts_with("LISTEN_") ||
        kv.starts_with("DOCKER_") || kv.starts_with("CONTAINERD_")) {
      continue;
    }
    if (kv.starts_with("PATH=")) {
      path = std::string(kv.substr(5));
      continue;
    }
    env.emplace_back(kv);
  }
  // runc lives in /usr/sbin: a PATH from a non-login shell may lack it, and containerd and
  // dockerd find runc and the shims through PATH.
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (((":" + path + ":").find(std::string(":") + dir + ":")) == std::string::npos) {
      path += path.empty() ? dir : std::string(":") + dir;
    }
  }
  env.push_back("PATH=" + path);
  return env;
}

Status MakePrivateDir(const std::string& dir) {
  PA_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + dir);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(dir + " is not a directory");
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, "chmod 0700 " + dir);
  }
  return Status::Ok();
}

Status ClaimSocketPath(const std::string& socket_path) {
  if (socket_path.size() > kSunPathMax) {
    return InvalidArgument("socket path " + socket_path + " is " +
                           std::to_string(socket_path.size()) + " bytes; a unix socket path " +
                           "holds at most " + std::to_string(kSunPathMax) +
                           ": choose a shorter run directory");
  }
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "stat " + socket_path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return FailedPrecondition(socket_path + " exists and is not a socket");
  }
  if (CheckUnixSocketAccepts(socket_path, milliseconds(500)).ok()) {
    return AlreadyExists("a daemon already answers on " + socket_path +
                         ": stop it or use another run directory");
  }
  if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove stale socket " + socket_path);
  }
  return Status::Ok();
}

Result<std::unique_ptr<DaemonProcess>> DaemonProcess::Spawn(Spec spec) {
  std::unique_ptr<DaemonProcess> d(new DaemonProcess(std::move(spec)));
  const Spec& s = d->spec_;
  nlohmann::json record = {{"daemon", s.name},
                           {"dir", s.dir},
                           {"log", s.log_path},
                           {"argv", s.argv},
                           {"created_host_dirs", s.created_host_dirs},
                           {"cgroup_parents", s.cgroup_parents}};
  if (s.journal != nullptr) {
    PA_RETURN_IF_ERROR(s.journal->Add({"daemon", s.dir, record}));
  }
  // A fresh log per start: the tail quoted on failure must be this start's.
  int log_fd =
      ::open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoStatus(errno, "open " + s.log_path);
  SpawnOptions o;
  o.argv = s.argv;
  o.env = DaemonEnvironment();
  o.cwd = s.dir;
  o.stdout_mode = OutputMode::kFd;
  o.stderr_mode = OutputMode::kFd;
  o.stdout_fd = log_fd;
  o.stderr_fd = log_fd;
  auto p = Subprocess::Start(o);
  ::close(log_fd);
  if (!p.ok()) {
    if (s.journal != nullptr) (void)s.journal->Remove("daemon", s.dir);
    return p.status().WithContext("start " + s.name);
  }
  d->process_ = std::move(p).value();
  d->pid_ = d->process_->pid();
  PA_LOG(kDebug) << "started " << s.name << " (pid " << d->pid_ << "): " << QuoteArgv(s.argv);
  if (s.journal != nullptr) {
    record["pid"] = d->pid_;
    PA_RETURN_IF_ERROR(s.journal->Add({"daemon", s.dir, record}));
  }
  return d;
}

DaemonProcess::~DaemonProcess() {
  if (!stopped()) {
    Status s = Stop(std::chrono::seconds(10));
    if (!s.ok()) {
      PA_LOG(kWarning) << "stopping " << spec_.name << ": " << s.ToString();
    }
  }
}

bool DaemonProcess::AliveLocked() {
  if (exit_ || !process_) return false;
  siginfo_t info{};
  int r;
  do {
    // WNOWAIT: only look. Subprocess reaps it below, so its result is complete.
    r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r != 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return true;
  // It exited (or someone else reaped it): collect the result without signalling anything;
  // an exited child is reaped before Wait looks at its deadline.
  exit_ = process_->Wait(milliseconds(0));
  return false;
}

bool DaemonProcess::Alive() {
  std::lock_guard<std::mutex> lock(mu_);
  return AliveLocked();
}

std::optional<ProcessResult> DaemonProcess::ExitResult() {
  std::lock_guard<std::mutex> lock(mu_);
  AliveLocked();
  return exit_;
}

bool DaemonProcess::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

Status DaemonProcess::WaitReady(milliseconds timeout,
                                const std::function<Status(Clock::time_point)>& probe) {
  const auto deadline = Clock::now() + timeout;
  const std::string who = spec_.name + " (pid " + std::to_string(pid_) + ")";
  auto interval = milliseconds(20);
  for (;;) {
    if (std::optional<ProcessResult> r = ExitResult()) {
      return Unavailable(WithLogTail(who + " exited during start-up (" + r->Describe() + ")"));
    }
    Status last = probe(deadline);
    if (last.ok()) return Status::Ok();
    auto now = Clock::now();
    if (now >= deadline) {
      // It may have died while the probe ran: say so rather than "did not answer".
      if (std::optional<ProcessResult> r = ExitResult()) {
        return Unavailable(WithLogTail(who + " exited during start-up (" + r->Describe() + ")"));
      }
      return DeadlineExceeded(WithLogTail(who + " did not become ready within " +
                                          FormatMs(timeout) + " (last check: " + last.message() +
                                          ")"));
    }
    std::this_thread::sleep_for(
        std::min<Clock::duration>(interval, std::chrono::ceil<milliseconds>(deadline - now)));
    interval = std::min(interval * 2, milliseconds(250));
  }
}

Status DaemonProcess::Stop(milliseconds grace, const std::function<Status()>& after_exit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (AliveLocked()) {
    const ProcessResult& r = process_->Stop(grace);
    exit_ = r;
    if (r.escalated) {
      PA_LOG(kWarning) << spec_.name << " (pid " << pid_ << ") was still running "
                       << FormatMs(grace) << " after SIGTERM; sent SIGKILL";
    }
  }
  Status first;
  if (after_exit) first = after_exit();
  Status c = Cleanup();
  if (first.ok()) first = c;
  if (first.ok() && spec_.journal != nullptr) first = spec_.journal->Remove("daemon", spec_.dir);
  stopped_ = true;
  return first;
}

Status DaemonProcess::Cleanup() {
  Status first = UnmountAllUnder(spec_.dir);
  auto keep = [&first](Status s) {
    if (!s.ok() && first.ok()) first = std::move(s);
  };
  keep(RemoveSockets(spec_.dir, 0));
  for (const auto& tree : spec_.socket_trees) keep(RemoveSockets(tree, 16));
  for (const auto& f : spec_.pid_files) {
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) keep(ErrnoStatus(errno, "unlink " + f));
  }
  for (const auto& left : RemoveCgroups(spec_.cgroup_parents)) {
    keep(FailedPrecondition("cgroup " + left + " could not be removed"));
  }
  return first;
}

std::string DaemonProcess::LogTail(size_t lines) const {
  constexpr off_t kWindow = 256 * 1024;
  int fd = ::open(spec_.log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  std::string data;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    off_t start = st.st_size > kWindow ? st.st_size - kWindow : 0;
    data.resize(static_cast<size_t>(st.st_size - start));
    ssize_t n = ::pread(fd, data.data(), data.size(), start);
    data.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  ::close(fd);
  std::vector<std::string_view> all;
  std::string_view rest(data);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!Trim(line).empty()) all.push_back(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  size_t from = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (size_t i = from; i < all.size(); ++i) {
    out.append(all[i]);
    out += '\n';
  }
  return out;
}

std::string DaemonProcess::WithLogTail(std::string_view what) const {
  std::string m(what);
  std::string tail = LogTail(kDaemonLogTailLines);
  if (tail.empty()) return m + "; its log " + spec_.log_path + " is empty";
  m += "; the log " + spec_.log_path + " ends with:\n";
  std::string_view rest(tail);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    m += "    ";
    m.append(rest.substr(0, nl));
    m += '\n';
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (!m.empty() && m.back() == '\n') m.pop_back();
  return m;
}

}  // namespace daemons_internal

std::string ContainerdConfig(const std::string& dir, const std::string& log_level,
                             const std::string& extra_config) {
  std::string c;
  c += "# Written by polyarch for one run. Everything containerd keeps lives under this\n";
  c += "# directory and it listens on unix sockets only: no debug or metrics listener.\n";
  c += "version = 2\n";
  c += "root = " + TomlString(dir + "/root") + "\n";
  c += "state = " + TomlString(dir + "/state") + "\n";
  // polyarch drives containerd through its own API: the CRI plugin would only add a
  // Kubernetes surface and a CNI dependency.
  c += "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\n";
  c += "[grpc]\n";
  c += "  address = " + TomlString(dir + "/containerd.sock") + "\n";
  c += "  tcp_address = \"\"\n";
  c += "  uid = 0\n  gid = 0\n\n";
  c += "[ttrpc]\n";
  c += "  address = " + TomlString(dir + "/containerd.sock.ttrpc") + "\n\n";
  c += "[debug]\n";
  c += "  address = \"\"\n";
  c += "  level = " + TomlString(log_level) + "\n\n";
  c += "[metrics]\n";
  c += "  address = \"\"\n\n";
  c += "[plugins]\n";
  c += "  [plugins.\"io.containerd.internal.v1.opt\"]\n";
  c += "    path = " + TomlString(dir + "/opt") + "\n";
  if (!extra_config.empty()) c += "\n" + extra_config + "\n";
  return c;
}

Result<std::string> ParseCtrServerVersion(std::string_view ctr_output) {
  bool in_server = false;
  std::string_view rest = ctr_output;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    std::string_view line = Trim(raw);
    if (!raw.empty() && raw.front() != ' ' && raw.front() != '\t') {
      in_server = line == "Server:";  // a new top-level section
      continue;
    }
    if (in_server && std::string_view(line).starts_with("Version:")) {
      std::string_view v = Trim(line.substr(8));
      if (!v.empty()) return std::string(v);
    }
  }
  return NotFound("`ctr version` printed no server version");
}

Result<std::unique_ptr<ContainerdDaemon>> ContainerdDaemon::Start(
    const ContainerdOptions& options) {
  using daemons_internal::DaemonProcess;
  std::string run_dir = options.run_dir;
  while (run_dir.size() > 1 && run_dir.back() == '/') run_dir.pop_back();
  if (run_dir.empty() || run_dir[0] != '/') {
    return InvalidArgument("the containerd run directory must be an absolute path, got '" +
                           options.run_dir + "'");
  }
  auto containerd = FindProgram(options.containerd_path);
  if (!containerd.ok()) {
    return containerd.status().WithContext("containerd is needed (install the containerd package)");
  }
  auto ctr = FindProgram(options.ctr_path);
  if (!ctr.ok()) return ctr.status().WithContext("ctr is needed (part of the containerd package)");

  std::unique_ptr<ContainerdDaemon> d(new ContainerdDaemon());
  d->dir_ = run_dir + "/containerd";
  d->address_ = d->dir_ + "/containerd.sock";
  d->ttrpc_address_ = d->address_ + ".ttrpc";
  d->config_path_ = d->dir_ + "/config.toml";
  PA_RETURN_IF_ERROR(daemons_internal::MakePrivateDir(d->dir_));
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(d->address_));
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(d->ttrpc_address_));
  d->created_run_containerd_ = !PathExists(kRunContainerd);
  PA_RETURN_IF_ERROR(WriteFileAtomic(
      d->config_path_, ContainerdConfig(d->dir_, options.log_level, options.extra_config), 0600));

  DaemonProcess::Spec spec;
  spec.name = "containerd";
  spec.dir = d->dir_;
  spec.log_path = d->dir_ + "/containerd.log";
  spec.argv = {*containerd, "--config", d->config_path_};
  if (d->created_run_containerd_) spec.created_host_dirs = {kRunContainerd};
  spec.argv.insert(spec.argv.end(), options.extra_args.begin(), options.extra_args.end());
  const std::string pid_file = d->dir_ + "/containerd.pid";
  spec.pid_files = {pid_file};
  spec.journal = options.journal;
  PA_ASSIGN_OR_RETURN(d->process_, DaemonProcess::Spawn(std::move(spec)));
  // containerd writes no pid file; this one lets a later sweep find a daemon whose polyarch
  // died, by PID, not by name.
  PA_RETURN_IF_ERROR(WriteFileAtomic(pid_file, std::to_string(d->pid()) + "\n", 0600));

  const std::string ctr_path = *ctr;
  ContainerdDaemon* self = d.get();
  auto probe = [self, &ctr_path](Clock::time_point deadline) -> Status {
    PA_RETURN_IF_ERROR(CheckUnixSocketAccepts(
        self->address_, Remaining(deadline, milliseconds(50), milliseconds(1000))));
    SpawnOptions o;
    o.argv = {ctr_path, "--address", self->address_, "version"};
    o.env = daemons_internal::DaemonEnvironment();
    o.kill_grace = milliseconds(500);
    PA_ASSIGN_OR_RETURN(ProcessResult r,
                        RunProcess(o, Remaining(deadline, milliseconds(200), milliseconds(10000))));
    if (!r.success()) {
      std::string err(Trim(r.err.Text()));
      if (size_t nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
      return Unavailable("`ctr version` " + r.Describe() + (err.empty() ? "" : ": " + err));
    }
    PA_ASSIGN_OR_RETURN(self->version_, ParseCtrServerVersion(r.out.Text()));
    return Status::Ok();
  };
  Status ready = d->process_->WaitReady(options.start_timeout, probe);
  if (!ready.ok()) {
    Status stopped = d->Stop(std::chrono::seconds(2));
    if (!stopped.ok()) {
      PA_LOG(kWarning) << "after a failed start: " << stopped.ToString();
    }
    return ready.WithContext("start containerd");
  }
  // containerd makes its sockets 0660; only root may talk to polyarch's daemon. The 0700
  // directory already keeps everyone else out, this keeps it so if the directory is moved.
  for (const std::string& sock : {d->address_, d->ttrpc_address_}) {
    if (::chmod(sock.c_str(), 0600) != 0) return ErrnoStatus(errno, "chmod 0600 " + sock);
  }
  PA_LOG(kInfo) << "containerd " << d->version_ << " ready on " << d->address_ << " (pid "
                << d->pid() << ")";
  return d;
}

ContainerdDaemon::~ContainerdDaemon() {
  if (process_ && !process_->stopped()) {
    Status s = Stop();
    if (!s.ok()) {
      PA_LOG(kWarning) << s.ToString();
    }
  }
}

Status ContainerdDaemon::Stop(milliseconds grace) {
  auto after_exit = [this]() -> Status {
    Status s = KillOrphanShims(address_);
    Status sockets = RemoveStaleShimSockets(dir_);
    if (s.ok()) s = sockets;
    // Shims put their sockets in /run/containerd/s and runc keeps state in
    // /run/containerd/runc whatever the config says; when this start found no
    // /run/containerd, the empty directories left there are this run's.
    if (created_run_containerd_) RemoveEmptyDirs(kRunContainerd);
    return s;
  };
  Status s = process_->Stop(grace, after_exit);
  return s.WithContext("stop containerd (" + dir_ + ")");
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
  keep(UnmountAllUnder(dir));
  keep(RemoveSockets(dir, 16));
  // The fixed directories the daemon's start created, when nothing is left in them. Only these
  // paths, whatever the record says: a journal is a file on disk.
  if (record.contains("created_host_dirs") && record["created_host_dirs"].is_array()) {
    for (const auto& d : record["created_host_dirs"]) {
      if (!d.is_string()) continue;
      const std::string path = d.get<std::string>();
      if (path == kRunContainerd || path == "/run/docker/plugins" || path == "/run/docker") {
        RemoveEmptyDirs(path);
      }
    }
  }
  // The daemon's own cgroup parents, only under the names polyarch gives them.
  if (record.contains("cgroup_parents") && record["cgroup_parents"].is_array()) {
    for (const auto& c : record["cgroup_parents"]) {
      if (!c.is_string() || !ValidCgroupParent(c.get<std::string>())) continue;
      for (const auto& left : RemoveCgroups({c.get<std::string>()})) {
        keep(FailedPrecondition("cgroup " + left + " could not be removed"));
      }
    }
  }
  return first;
}

}  // namespace polyarch
