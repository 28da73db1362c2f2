#include "harness/daemons/dockerd_daemon.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/timing.h"
#include "harness/daemons/daemon_recovery.h"
#include "harness/daemons/http_client.h"
#include "images/digest.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Fixed by dockerd 20.10 (daemon/daemon_linux.go: getPluginExecRoot), not by --exec-root.
constexpr char kRunDocker[] = "/run/docker";
constexpr char kPluginExecRoot[] = "/run/docker/plugins";
// The name under which DockerdOptions::runtime_binary is registered.
constexpr char kDockerdRuntimeName[] = "polyarch-runtime";

std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool ValidCgroupParent(std::string_view name) {
  return (name.starts_with("polyarch-") || name.starts_with("pa")) && name.size() > 3 &&
         name.find('/') == std::string_view::npos && name.find("..") == std::string_view::npos;
}

std::string DockerdCgroupParent(const std::string& dir, const DockerdOptions& options) {
  if (!options.cgroup_parent.empty()) return options.cgroup_parent;
  return "polyarch-dockerd-" + Sha256Hex(dir).substr(0, 12);
}

std::vector<std::string> DockerdArgs(const std::string& dockerd, const std::string& dir,
                                     const std::string& containerd_address,
                                     const DockerdOptions& options) {
  std::vector<std::string> argv = {
      dockerd,
      "--config-file",
      dir + "/daemon.json",
      "--data-root",
      dir + "/data",
      "--exec-root",
      dir + "/exec",
      "--pidfile",
      dir + "/dockerd.pid",
      "--host",
      "unix://" + dir + "/docker.sock",
      "--containerd",
      containerd_address,
      "--storage-driver",
      options.storage_driver,
      "--log-level",
      options.log_level,
      "--shutdown-timeout",
      std::to_string(options.shutdown_timeout.count()),
      // No network but unix sockets, and no change to the host's network configuration.
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-masq=false",
      "--ip-forward=false",
      "--userland-proxy=false",
      // Containers' cgroups under a name of polyarch's, never the host's shared /docker.
      "--cgroup-parent",
      DockerdCgroupParent(dir, options),
  };
  for (const auto& [name, binary] : options.runtimes) {
    argv.insert(argv.end(), {"--add-runtime", name + "=" + binary});
  }
  if (!options.runtime_binary.empty()) {
    argv.insert(argv.end(),
                {"--add-runtime", std::string(kDockerdRuntimeName) + "=" + options.runtime_binary,
                 "--default-runtime", kDockerdRuntimeName});
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

Result<DockerVersion> ParseDockerVersion(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("GET /version did not return a JSON object: '" +
                           daemons_internal::ShortSnippet(json) + "'");
  }
  DockerVersion v;
  v.version = StringField(j, "Version");
  v.api_version = StringField(j, "ApiVersion");
  v.min_api_version = StringField(j, "MinAPIVersion");
  if (v.version.empty() || v.api_version.empty()) {
    return InvalidArgument("GET /version lacks Version or ApiVersion: '" +
                           daemons_internal::ShortSnippet(json) + "'");
  }
  return v;
}

bool ApiVersionAtLeast(std::string_view version, std::string_view minimum) {
  auto next = [](std::string_view& s) {
    int n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) n = 0;
    size_t used = static_cast<size_t>(p - s.data());
    s.remove_prefix(std::min(s.size(), used + 1));  // the number and its '.'
    return n;
  };
  while (!version.empty() || !minimum.empty()) {
    int a = next(version);
    int b = next(minimum);
    if (a != b) return a > b;
  }
  return true;
}

Result<DockerVersion> ProbeEngineApi(const std::string& socket, Clock::time_point deadline) {
  PA_ASSIGN_OR_RETURN(HttpResponse ping,
                      UnixHttpRequest(socket, "GET", "/_ping", "",
                                      Remaining(deadline, milliseconds(100), milliseconds(2000))));
  if (ping.status != 200 || ping.body != "OK") {
    return Unavailable("GET /_ping answered " + std::to_string(ping.status) + " '" +
                       daemons_internal::ShortSnippet(ping.body) + "'");
  }
  PA_ASSIGN_OR_RETURN(HttpResponse version,
                      UnixHttpRequest(socket, "GET", "/version", "",
                                      Remaining(deadline, milliseconds(100), milliseconds(5000))));
  if (version.status != 200) {
    return Unavailable("GET /version answered " + std::to_string(version.status) + " '" +
                       daemons_internal::ShortSnippet(version.body) + "'");
  }
  return ParseDockerVersion(version.body);
}

Result<std::unique_ptr<DockerdDaemon>> DockerdDaemon::Start(const DockerdOptions& options,
                                                            const std::string& containerd_address) {
  using daemons_internal::DaemonProcess;
  std::string run_dir = options.run_dir;
  while (run_dir.size() > 1 && run_dir.back() == '/') run_dir.pop_back();
  if (run_dir.empty() || run_dir[0] != '/') {
    return InvalidArgument("the dockerd run directory must be an absolute path, got '" +
                           options.run_dir + "'");
  }
  auto dockerd = FindProgram(options.dockerd_path);
  if (!dockerd.ok()) {
    return dockerd.status().WithContext("dockerd is needed (install the docker.io package)");
  }
  // dockerd waits a long time for a containerd that is not there; say so at once instead.
  if (Status s = CheckUnixSocketAccepts(containerd_address, milliseconds(1000)); !s.ok()) {
    return FailedPrecondition("dockerd needs containerd, which does not answer at " +
                              containerd_address + " (" + s.message() + ")");
  }

  if (!ValidCgroupParent(DockerdCgroupParent(run_dir + "/dockerd", options))) {
    return InvalidArgument(
        "a dockerd cgroup parent is one name of polyarch's (\"polyarch-...\" or "
        "a run prefix \"pa...\"), got '" +
        options.cgroup_parent + "'");
  }

  std::unique_ptr<DockerdDaemon> d(new DockerdDaemon());
  d->dir_ = run_dir + "/dockerd";
  d->cgroup_parent_ = DockerdCgroupParent(d->dir_, options);
  d->address_ = d->dir_ + "/docker.sock";
  d->data_root_ = d->dir_ + "/data";
  d->exec_root_ = d->dir_ + "/exec";
  d->containerd_address_ = containerd_address;
  // dockerd binds <exec-root>/libnetwork/<12 hex>.sock: fail here rather than deep inside it.
  const std::string longest_socket = d->exec_root_ + "/libnetwork/0123456789ab.sock";
  if (longest_socket.size() > sizeof(sockaddr_un::sun_path) - 1) {
    return InvalidArgument("run directory " + run_dir + " is too long: dockerd would bind " +
                           longest_socket + ", longer than a unix socket path may be");
  }
  PA_RETURN_IF_ERROR(daemons_internal::MakePrivateDir(d->dir_));
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(d->address_));
  // A private configuration file: /etc/docker/daemon.json is never read. The trust key can
  // only be moved here (there is no such flag), or dockerd writes /etc/docker/key.json.
  d->live_restore_ = options.live_restore;
  PA_RETURN_IF_ERROR(d->WriteConfig());
  d->created_run_docker_ = !PathExists(kRunDocker);
  d->created_plugins_dir_ = !PathExists(kPluginExecRoot);

  DaemonProcess::Spec spec;
  spec.name = "dockerd";
  spec.dir = d->dir_;
  spec.log_path = d->dir_ + "/dockerd.log";
  spec.argv = DockerdArgs(*dockerd, d->dir_, containerd_address, options);
  if (d->created_plugins_dir_) spec.created_host_dirs.push_back(kPluginExecRoot);
  if (d->created_run_docker_) spec.created_host_dirs.push_back(kRunDocker);
  spec.pid_files = {d->dir_ + "/dockerd.pid"};
  spec.socket_trees = {d->exec_root_};
  spec.cgroup_parents = {d->cgroup_parent_};
  spec.journal = options.journal;
  PA_ASSIGN_OR_RETURN(d->process_, DaemonProcess::Spawn(std::move(spec)));

  Status ready = d->WaitUntilReady(options.start_timeout);
  if (!ready.ok()) {
    Status stopped = d->Stop(std::chrono::seconds(2));
    if (!stopped.ok()) {
      PA_LOG(kWarning) << "after a failed start: " << stopped.ToString();
    }
    return ready.WithContext("start dockerd");
  }
  PA_LOG(kInfo) << "dockerd " << d->version_.version << " (API " << d->version_.api_version
                << ") ready on " << d->address_ << " (pid " << d->pid() << ")";
  return d;
}

DockerdDaemon::~DockerdDaemon() {
  if (process_ && !process_->stopped()) {
    Status s = Stop();
    if (!s.ok()) {
      PA_LOG(kWarning) << s.ToString();
    }
  }
}

nlohmann::json DockerdConfig(const std::string& dir, bool live_restore) {
  return {{"deprecated-key-path", dir + "/key.json"}, {"live-restore", live_restore}};
}

Result<bool> ParseLiveRestoreEnabled(std::string_view json) {
  nlohmann::json info = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!info.is_object()) return InvalidArgument("GET /info did not answer a JSON object");
  auto it = info.find("LiveRestoreEnabled");
  if (it == info.end() || !it->is_boolean()) {
    return InvalidArgument("GET /info has no boolean LiveRestoreEnabled");
  }
  return it->get<bool>();
}

Status DockerdDaemon::WriteConfig() {
  return WriteFileAtomic(dir_ + "/daemon.json", DockerdConfig(dir_, live_restore_).dump(2) + "\n",
                         0600);
}

Status DockerdDaemon::WaitUntilReady(milliseconds timeout) {
  auto probe = [this](Clock::time_point deadline) -> Status {
    if (!PathExists(address_)) return Unavailable("no socket " + address_ + " yet");
    PA_ASSIGN_OR_RETURN(version_, ProbeEngineApi(address_, deadline));
    return Status::Ok();
  };
  PA_RETURN_IF_ERROR(process_->WaitReady(timeout, probe));
  // dockerd makes its socket 0660 for the "docker" group; only root may use polyarch's.
  if (::chmod(address_.c_str(), 0600) != 0) return ErrnoStatus(errno, "chmod 0600 " + address_);
  return Status::Ok();
}

Status DockerdDaemon::Interrupt(int signal, milliseconds timeout) {
  PA_ASSIGN_OR_RETURN(ProcessResult r, process_->Interrupt(signal, timeout));
  PA_LOG(kInfo) << "dockerd (pid " << process_->pid() << ") interrupted: " << r.Describe();
  return Status::Ok();
}

Status DockerdDaemon::Restart(milliseconds timeout) {
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(address_));
  PA_RETURN_IF_ERROR(process_->Respawn());
  return WaitUntilReady(timeout).WithContext("restart dockerd");
}

Status DockerdDaemon::SetLiveRestore(bool on, milliseconds timeout) {
  live_restore_ = on;
  PA_RETURN_IF_ERROR(WriteConfig());
  if (!Alive()) return Status::Ok();  // read at the next start
  if (::kill(pid(), SIGHUP) != 0) return ErrnoStatus(errno, "kill -HUP dockerd");
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    auto info = UnixHttpRequest(address_, "GET", "/info", "",
                                Remaining(deadline, milliseconds(100), milliseconds(5000)));
    if (!info.ok()) {
      last = info.status().message();
    } else if (info->status != 200) {
      last = "GET /info answered " + std::to_string(info->status);
    } else {
      Result<bool> enabled = ParseLiveRestoreEnabled(info->body);
      if (enabled.ok() && *enabled == on) return Status::Ok();
      last = enabled.ok()
                 ? "LiveRestoreEnabled is still " + std::string(*enabled ? "true" : "false")
                 : enabled.status().message();
    }
    if (Clock::now() >= deadline) {
      return DeadlineExceeded(process_->WithLogTail(
          "dockerd did not reload live-restore=" + std::string(on ? "true" : "false") + " within " +
          std::to_string(timeout.count()) + " ms (" + last + ")"));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

bool VersionListsContainerd(std::string_view json) {
  nlohmann::json v = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object()) return false;
  auto it = v.find("Components");
  if (it == v.end() || !it->is_array()) return false;
  for (const auto& c : *it) {
    if (c.is_object() && c.value("Name", nlohmann::json()) == "containerd") return true;
  }
  return false;
}

Status DockerdDaemon::WaitContainerdReachable(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    auto v = UnixHttpRequest(address_, "GET", "/version", "",
                             Remaining(deadline, milliseconds(100), milliseconds(5000)));
    if (v.ok() && v->status == 200 && VersionListsContainerd(v->body)) return Status::Ok();
    last = !v.ok() ? v.status().message()
                   : "GET /version answered " + std::to_string(v->status) +
                         " without a containerd component";
    if (Clock::now() >= deadline) {
      return DeadlineExceeded("dockerd did not reach containerd again within " +
                              std::to_string(timeout.count()) + " ms (" + last + ")");
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

Status DockerdDaemon::Stop(milliseconds grace) {
  auto after_exit = [this]() -> Status {
    // The shim of one of its containers cut off mid-delete with a containerd that then
    // stopped leaves its socket in /run/containerd/s, named only by containerd's rule from
    // the container's id in dockerd's namespace "moby": removed when nobody answers on it.
    if (DIR* d = ::opendir((data_root_ + "/containers").c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const std::string socket = ShimSocketPath(containerd_address_, "moby", e->d_name);
        if (PathExists(socket) && !CheckUnixSocketAccepts(socket, milliseconds(200)).ok()) {
          ::unlink(socket.c_str());
        }
      }
      ::closedir(d);
    }
    // Only what this start created, and only when empty: another dockerd may use it.
    if (created_plugins_dir_ && ::rmdir(kPluginExecRoot) != 0 && errno != ENOENT &&
        errno != ENOTEMPTY && errno != EEXIST) {
      return ErrnoStatus(errno, std::string("rmdir ") + kPluginExecRoot);
    }
    if (created_run_docker_ && ::rmdir(kRunDocker) != 0 && errno != ENOENT && errno != ENOTEMPTY &&
        errno != EEXIST) {
      return ErrnoStatus(errno, std::string("rmdir ") + kRunDocker);
    }
    return Status::Ok();
  };
  return process_->Stop(grace, after_exit).WithContext("stop dockerd (" + dir_ + ")");
}

}  // namespace polyarch
