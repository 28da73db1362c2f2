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
#include "harness/core/proc.h"
#include "harness/core/strings.h"
#include "harness/core/timing.h"
#include "harness/daemons/daemon_recovery.h"
#include "harness/daemons/http_client.h"
#include "images/digest.h"

extern char** environ;

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace daemons_internal;

// A basic TOML string: paths may hold quotes or backslashes in theory.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

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

  d->ctr_path_ = *ctr;
  Status ready = d->WaitUntilReady(options.start_timeout);
  if (!ready.ok()) {
    Status stopped = d->Stop(std::chrono::seconds(2));
    if (!stopped.ok()) {
      PA_LOG(kWarning) << "after a failed start: " << stopped.ToString();
    }
    return ready.WithContext("start containerd");
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

Status ContainerdDaemon::WaitUntilReady(milliseconds timeout) {
  auto probe = [this](Clock::time_point deadline) -> Status {
    PA_RETURN_IF_ERROR(CheckUnixSocketAccepts(
        address_, Remaining(deadline, milliseconds(50), milliseconds(1000))));
    SpawnOptions o;
    o.argv = {ctr_path_, "--address", address_, "version"};
    o.env = daemons_internal::DaemonEnvironment();
    o.kill_grace = milliseconds(500);
    PA_ASSIGN_OR_RETURN(ProcessResult r,
                        RunProcess(o, Remaining(deadline, milliseconds(200), milliseconds(10000))));
    if (!r.success()) {
      std::string err(Trim(r.err.Text()));
      if (size_t nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
      return Unavailable("`ctr version` " + r.Describe() + (err.empty() ? "" : ": " + err));
    }
    PA_ASSIGN_OR_RETURN(version_, ParseCtrServerVersion(r.out.Text()));
    return Status::Ok();
  };
  PA_RETURN_IF_ERROR(process_->WaitReady(timeout, probe));
  // containerd makes its sockets 0660; only root may talk to polyarch's daemon. The 0700
  // directory already keeps everyone else out, this keeps it so if the directory is moved.
  for (const std::string& sock : {address_, ttrpc_address_}) {
    if (::chmod(sock.c_str(), 0600) != 0) return ErrnoStatus(errno, "chmod 0600 " + sock);
  }
  return Status::Ok();
}

Status ContainerdDaemon::Interrupt(int signal, milliseconds timeout) {
  PA_ASSIGN_OR_RETURN(ProcessResult r, process_->Interrupt(signal, timeout));
  PA_LOG(kInfo) << "containerd (pid " << process_->pid() << ") interrupted: " << r.Describe();
  return Status::Ok();
}

Status ContainerdDaemon::Restart(milliseconds timeout) {
  // A SIGKILLed containerd leaves its sockets; nothing answers on them.
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(address_));
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(ttrpc_address_));
  PA_RETURN_IF_ERROR(process_->Respawn());
  PA_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/containerd.pid", std::to_string(pid()) + "\n", 0600));
  return WaitUntilReady(timeout).WithContext("restart containerd");
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

}  // namespace polyarch
