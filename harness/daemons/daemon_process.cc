#include "harness/daemons/daemon_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/mountinfo.h"
#include "harness/core/proc.h"
#include "harness/core/strings.h"
#include "harness/daemons/http_client.h"

extern char** environ;

namespace polyarch::daemons_internal {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr size_t kSunPathMax = sizeof(sockaddr_un::sun_path) - 1;

std::string FormatMs(milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

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
  Status first;
  Status walk = WalkSameFileSystem(
      dir, depth, [&first](const std::string& path, const std::string&, const struct stat& st) {
        if (S_ISSOCK(st.st_mode) && ::unlink(path.c_str()) != 0 && errno != ENOENT && first.ok()) {
          first = ErrnoStatus(errno, "unlink " + path);
        }
        return WalkNext::kDescend;
      });
  return first.ok() ? walk : first;
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

bool WaitGone(pid_t pid, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!ProcessGone(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::map<pid_t, pid_t> ParentMap() {
  std::map<pid_t, pid_t> parents;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return parents;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ProcStat st;
    if (ReadProcStat(static_cast<pid_t>(std::atoi(e->d_name)), &st)) parents[st.pid] = st.ppid;
  }
  ::closedir(d);
  return parents;
}

std::set<pid_t> Descendants(const std::map<pid_t, pid_t>& parents, const std::set<pid_t>& roots) {
  std::set<pid_t> under(roots);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parents) {
      if (under.count(ppid) > 0 && under.insert(pid).second) grew = true;
    }
  }
  for (pid_t r : roots) under.erase(r);
  return under;
}

Status KillProcessesNaming(const std::string& dir, pid_t except) {
  const std::map<pid_t, pid_t> parents = ParentMap();
  const std::string prefix = dir + "/";
  std::set<pid_t> naming;
  for (const auto& [pid, ppid] : parents) {
    if (pid == except || pid == ::getpid()) continue;
    for (const auto& arg : ProcessArgv(std::to_string(pid))) {
      if (arg.find(prefix) != std::string::npos) {
        naming.insert(pid);
        break;
      }
    }
  }
  if (naming.empty()) return Status::Ok();
  // Never polyarch itself or what runs it.
  for (pid_t p = ::getpid(); p > 1;) {
    naming.erase(p);
    auto it = parents.find(p);
    p = it == parents.end() ? 0 : it->second;
  }
  for (pid_t p : Descendants(parents, naming)) ::kill(p, SIGKILL);
  for (pid_t p : naming) ::kill(p, SIGTERM);
  Status first;
  for (pid_t p : naming) {
    if (WaitGone(p, milliseconds(2000))) continue;
    ::kill(p, SIGKILL);
    if (!WaitGone(p, milliseconds(5000)) && first.ok()) {
      first = Internal("process " + std::to_string(p) + " of " + dir + " survived SIGKILL");
    }
  }
  if (first.ok()) PA_LOG(kInfo) << "ended " << naming.size() << " process(es) left by " << dir;
  return first;
}

std::vector<std::string> DaemonEnvironment() {
  std::vector<std::string> env;
  std::string path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("NOTIFY_SOCKET=") || kv.starts_with("LISTEN_") ||
        kv.starts_with("DOCKER_") || kv.starts_with("CONTAINERD_") ||
        kv.starts_with("CONTAINERS_") || kv.starts_with("CONTAINER_HOST=") ||
        kv.starts_with("CONTAINER_CONNECTION=")) {
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

std::string ShortSnippet(std::string_view s) {
  std::string out(s.substr(0, 120));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

bool IsPrivateDaemonDir(std::string_view path) {
  if (!path.starts_with(kPrivateDaemonDirPrefix)) return false;
  std::string_view name = path.substr(std::string_view(kPrivateDaemonDirPrefix).size());
  return !name.empty() && name.find('/') == std::string_view::npos &&
         name.find("..") == std::string_view::npos;
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
  PA_RETURN_IF_ERROR(d->Launch(/*fresh_log=*/true));
  return d;
}

Status DaemonProcess::Launch(bool fresh_log) {
  const Spec& s = spec_;
  nlohmann::json record = {{"daemon", s.name},
                           {"dir", s.dir},
                           {"log", s.log_path},
                           {"argv", s.argv},
                           {"created_host_dirs", s.created_host_dirs},
                           {"cgroup_parents", s.cgroup_parents},
                           {"private_dirs", s.private_dirs}};
  if (s.journal != nullptr) {
    PA_RETURN_IF_ERROR(s.journal->Add({"daemon", s.dir, record}));
  }
  // A fresh log per start: the tail quoted on failure must be this start's. A restart appends
  // (the daemon's shutdown and restore read as one story).
  int log_fd = ::open(s.log_path.c_str(),
                      O_WRONLY | O_CREAT | (fresh_log ? O_TRUNC : 0) | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoStatus(errno, "open " + s.log_path);
  SpawnOptions o;
  o.argv = s.argv;
  std::vector<std::string> env = DaemonEnvironment();
  env.insert(env.end(), s.env.begin(), s.env.end());
  o.env = std::move(env);
  o.cwd = s.dir;
  o.stdout_mode = OutputMode::kFd;
  o.stderr_mode = OutputMode::kFd;
  o.stdout_fd = log_fd;
  o.stderr_fd = log_fd;
  auto p = Subprocess::Start(o);
  ::close(log_fd);
  if (!p.ok()) {
    if (s.journal != nullptr && fresh_log) (void)s.journal->Remove("daemon", s.dir);
    return p.status().WithContext("start " + s.name);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    process_ = std::move(p).value();
    pid_ = process_->pid();
    exit_.reset();
  }
  PA_LOG(kDebug) << "started " << s.name << " (pid " << pid_ << "): " << QuoteArgv(s.argv);
  if (s.journal != nullptr) {
    record["pid"] = pid_;
    PA_RETURN_IF_ERROR(s.journal->Add({"daemon", s.dir, record}));
  }
  return Status::Ok();
}

Result<ProcessResult> DaemonProcess::Interrupt(int signal, milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!AliveLocked()) {
    return FailedPrecondition(spec_.name + " (pid " + std::to_string(pid_) + ") is not running");
  }
  // Its own process group only (Subprocess made one): shims and conmon run in sessions of
  // their own and are not in it.
  PA_RETURN_IF_ERROR(process_->Signal(signal));
  exit_ = process_->Wait(timeout);
  return *exit_;
}

Status DaemonProcess::Respawn() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (AliveLocked()) {
      return FailedPrecondition(spec_.name + " (pid " + std::to_string(pid_) +
                                ") is still running");
    }
    if (stopped_) return FailedPrecondition(spec_.name + " was stopped for good");
  }
  return Launch(/*fresh_log=*/false);
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
  for (const auto& d : spec_.private_dirs) {
    if (!IsPrivateDaemonDir(d)) continue;
    Status u = UnmountAllUnder(d);
    keep(u);
    if (u.ok()) keep(RemoveTree(d));
  }
  // What still runs under the daemon's cgroup parents is a container of its own that nobody
  // stopped (seen after dockerd was killed mid-lifecycle and containerd's stop had ended the
  // shims): it is killed, and the tree removed once the reaper has collected it.
  for (const auto& cgroup : RemoveCgroups(spec_.cgroup_parents)) {
    int killed = 0;
    Status s = RemoveCgroupTreeKillingWhatIsLeft(cgroup, &killed);
    if (killed > 0) {
      PA_LOG(kWarning) << spec_.name << ": killed " << killed << " process(es) left in " << cgroup;
    }
    if (!s.ok()) keep(FailedPrecondition("cgroup " + cgroup + " could not be removed"));
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

}  // namespace polyarch::daemons_internal
