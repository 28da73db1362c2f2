#include "harness/daemons/podman_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <sstream>

#include "harness/core/fs.h"
#include "harness/core/log.h"
#include "harness/core/subprocess.h"
#include "harness/core/timing.h"
#include "harness/daemons/http_client.h"
#include "images/digest.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// podman 4.3's open-file and process limit for a container of root that names none.
constexpr int64_t kPodmanDefaultLimit = 1048576;

// A string in TOML's basic (double-quoted) form.
std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One word for /bin/sh, single-quoted.
std::string ShellWord(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string PodmanContainersConf(const std::string& dir) {
  std::string c;
  c += "# polyarch's private podman service: nothing of the host's configuration applies.\n";
  c += "[containers]\n";
  c += "netns = \"none\"\n";
  c += "log_driver = \"k8s-file\"\n";
  c += "\n[network]\n";
  c += "network_backend = \"cni\"\n";
  c += "network_config_dir = " + TomlString(dir + "/cni") + "\n";
  c += "\n[engine]\n";
  c += "cgroup_manager = \"cgroupfs\"\n";
  c += "events_logger = \"file\"\n";
  c += "events_logfile_path = " + TomlString(dir + "/tmp/events.log") + "\n";
  c += "tmp_dir = " + TomlString(dir + "/tmp") + "\n";
  c += "lock_type = \"file\"\n";
  c += "image_copy_tmp_dir = " + TomlString(dir + "/imgtmp") + "\n";
  c += "volume_path = " + TomlString(dir + "/root/volumes") + "\n";
  c += "static_dir = " + TomlString(dir + "/root/libpod") + "\n";
  c += "hooks_dir = [" + TomlString(dir + "/hooks") + "]\n";
  return c;
}

Result<std::map<std::string, int64_t>> PodmanContainerLimits(std::string_view proc_limits) {
  std::map<std::string, int64_t> out;
  const std::pair<const char*, const char*> wanted[] = {{"Max open files", "nofile"},
                                                        {"Max processes", "nproc"}};
  for (const auto& [label, name] : wanted) {
    size_t at = proc_limits.find(label);
    if (at == std::string_view::npos) {
      return InvalidArgument(std::string("no '") + label + "' line in the limits");
    }
    std::string_view line = proc_limits.substr(at + std::strlen(label));
    line = line.substr(0, line.find('\n'));
    std::istringstream words{std::string(line)};
    std::string soft, hard;
    words >> soft >> hard;
    int64_t limit = std::numeric_limits<int64_t>::max();
    if (hard != "unlimited") {
      auto [p, ec] = std::from_chars(hard.data(), hard.data() + hard.size(), limit);
      if (ec != std::errc() || p != hard.data() + hard.size() || limit <= 0) {
        return InvalidArgument(std::string("'") + label + "': bad hard limit '" + hard + "'");
      }
    }
    out[name] = std::min<int64_t>(limit, kPodmanDefaultLimit);
  }
  return out;
}

std::string PodmanRuntimeWrapper(const std::string& binary, const std::string& state_dir) {
  return "#!/bin/sh\n# polyarch: the layer's OCI runtime, its state in the service's directory\n"
         "exec " +
         ShellWord(binary) + " --root " + ShellWord(state_dir) + " \"$@\"\n";
}

std::vector<std::string> PodmanServiceArgs(const std::string& podman, const std::string& dir,
                                           const PodmanServiceOptions& options) {
  std::vector<std::string> argv = {
      podman,
      "--root",
      dir + "/root",
      "--runroot",
      PodmanRunRoot(dir),
      "--tmpdir",
      dir + "/tmp",
      "--events-backend",
      "file",
      "--cgroup-manager",
      "cgroupfs",
      "--network-backend",
      "cni",
      "--network-config-dir",
      dir + "/cni",
      "--hooks-dir",
      dir + "/hooks",
      "--runtime",
      dir + "/runtime",
      "--log-level",
      options.log_level,
  };
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  argv.insert(argv.end(), {"system", "service", "--time", "0", "unix://" + dir + "/podman.sock"});
  return argv;
}

std::string PodmanRunRoot(const std::string& dir) {
  return std::string(daemons_internal::kPrivateDaemonDirPrefix) + "podman-" +
         Sha256Hex(dir).substr(0, 12);
}

void RemovePodmanHostCache() {
  const std::string cache = std::string(kVarLibContainers) + "/cache";
  for (const char* f : {"blob-info-cache-v1.boltdb", "blob-info-cache-v1.sqlite"}) {
    ::unlink((cache + "/" + f).c_str());
  }
  daemons_internal::RemoveEmptyDirs(kVarLibContainers);
}

Result<std::unique_ptr<PodmanService>> PodmanService::Start(const PodmanServiceOptions& options) {
  using daemons_internal::DaemonProcess;
  std::string run_dir = options.run_dir;
  while (run_dir.size() > 1 && run_dir.back() == '/') run_dir.pop_back();
  if (run_dir.empty() || run_dir[0] != '/') {
    return InvalidArgument("the podman run directory must be an absolute path, got '" +
                           options.run_dir + "'");
  }
  if (options.name.empty() || options.name.find('/') != std::string::npos) {
    return InvalidArgument("a podman service's name is one path component, got '" + options.name +
                           "'");
  }
  if (options.runtime_binary.empty() || options.runtime_binary[0] != '/') {
    return InvalidArgument("a podman service's runtime is an absolute path, got '" +
                           options.runtime_binary + "'");
  }
  if (!ValidCgroupParent(options.cgroup_parent)) {
    return InvalidArgument(
        "a podman cgroup parent is one name of polyarch's (\"polyarch-...\" or a run prefix "
        "\"pa...\"), got '" +
        options.cgroup_parent + "'");
  }
  auto podman = FindProgram(options.podman_path);
  if (!podman.ok()) {
    return podman.status().WithContext("podman is needed (install the podman package)");
  }

  std::unique_ptr<PodmanService> d(new PodmanService());
  d->dir_ = run_dir + "/" + options.name;
  d->address_ = d->dir_ + "/podman.sock";
  d->cgroup_parent_ = options.cgroup_parent;
  d->runtime_binary_ = options.runtime_binary;
  PA_RETURN_IF_ERROR(daemons_internal::MakePrivateDir(d->dir_));
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(d->address_));
  for (const char* sub : {"cfg", "root", "tmp", "imgtmp", "cni", "hooks", "oci"}) {
    PA_RETURN_IF_ERROR(MakeDirs(d->dir_ + "/" + sub, 0700));
  }
  d->run_root_ = PodmanRunRoot(d->dir_);
  const std::string cfg = d->dir_ + "/cfg";
  PA_RETURN_IF_ERROR(
      WriteFileAtomic(cfg + "/containers.conf", PodmanContainersConf(d->dir_), 0600));
  PA_RETURN_IF_ERROR(WriteFileAtomic(
      cfg + "/storage.conf",
      "[storage]\ndriver = \"overlay\"\ngraphroot = " + TomlString(d->dir_ + "/root") +
          "\nrunroot = " + TomlString(PodmanRunRoot(d->dir_)) + "\n",
      0600));
  // No registry is ever asked: images are loaded from the run's archives.
  PA_RETURN_IF_ERROR(
      WriteFileAtomic(cfg + "/registries.conf", "unqualified-search-registries = []\n", 0600));
  PA_RETURN_IF_ERROR(WriteFileAtomic(
      d->dir_ + "/runtime", PodmanRuntimeWrapper(options.runtime_binary, d->dir_ + "/oci"), 0700));
  d->created_var_lib_containers_ = !PathExists(kVarLibContainers);

  DaemonProcess::Spec spec;
  spec.name = "podman";
  spec.dir = d->dir_;
  spec.log_path = d->dir_ + "/podman.log";
  spec.argv = PodmanServiceArgs(*podman, d->dir_, options);
  spec.env = {"CONTAINERS_CONF=" + cfg + "/containers.conf",
              "CONTAINERS_STORAGE_CONF=" + cfg + "/storage.conf",
              "CONTAINERS_REGISTRIES_CONF=" + cfg + "/registries.conf",
              "TMPDIR=" + d->dir_ + "/imgtmp"};
  if (d->created_var_lib_containers_) spec.created_host_dirs.push_back(kVarLibContainers);
  spec.cgroup_parents = {d->cgroup_parent_};
  spec.private_dirs = {d->run_root_};
  // A conmon ended before its container was removed leaves its attach socket there.
  spec.socket_trees = {d->dir_ + "/root/overlay-containers"};
  spec.journal = options.journal;
  PA_RETURN_IF_ERROR(daemons_internal::MakePrivateDir(d->run_root_));
  PA_ASSIGN_OR_RETURN(d->process_, DaemonProcess::Spawn(std::move(spec)));

  Status ready = d->WaitUntilReady(options.start_timeout);
  if (!ready.ok()) {
    Status stopped = d->Stop(std::chrono::seconds(2));
    if (!stopped.ok()) PA_LOG(kWarning) << "after a failed start: " << stopped.ToString();
    return ready.WithContext("start podman system service");
  }
  // podman lowers its own limits as it starts; conmon and the runtime inherit them.
  auto limits = ReadFile("/proc/" + std::to_string(d->pid()) + "/limits", 16384);
  if (limits.ok()) {
    auto parsed = PodmanContainerLimits(*limits);
    if (parsed.ok()) d->container_limits_ = std::move(*parsed);
  }
  if (d->container_limits_.empty()) {
    return Internal("read the limits of the podman service (pid " + std::to_string(d->pid()) +
                    ") from /proc");
  }
  PA_LOG(kInfo) << "podman " << d->version_.version << " (API " << d->version_.api_version
                << ") serving on " << d->address_ << " (pid " << d->pid() << "), runtime "
                << options.runtime_binary;
  return d;
}

PodmanService::~PodmanService() {
  if (process_ && !process_->stopped()) {
    Status s = Stop();
    if (!s.ok()) PA_LOG(kWarning) << s.ToString();
  }
}

Status PodmanService::WaitUntilReady(milliseconds timeout) {
  auto probe = [this](Clock::time_point deadline) -> Status {
    if (!PathExists(address_)) return Unavailable("no socket " + address_ + " yet");
    PA_ASSIGN_OR_RETURN(version_, ProbeEngineApi(address_, deadline));
    return Status::Ok();
  };
  PA_RETURN_IF_ERROR(process_->WaitReady(timeout, probe));
  if (::chmod(address_.c_str(), 0600) != 0) return ErrnoStatus(errno, "chmod 0600 " + address_);
  return Status::Ok();
}

Status PodmanService::Interrupt(int signal, milliseconds timeout) {
  PA_ASSIGN_OR_RETURN(ProcessResult r, process_->Interrupt(signal, timeout));
  PA_LOG(kInfo) << "podman service (pid " << process_->pid() << ") interrupted: " << r.Describe();
  return Status::Ok();
}

Status PodmanService::Restart(milliseconds timeout) {
  PA_RETURN_IF_ERROR(daemons_internal::ClaimSocketPath(address_));
  PA_RETURN_IF_ERROR(process_->Respawn());
  return WaitUntilReady(timeout).WithContext("restart podman system service");
}

Status PodmanService::Stop(milliseconds grace) {
  auto after_exit = [this]() -> Status {
    // The conmons outlive the service; their containers' mounts and cgroups go with them.
    Status s = daemons_internal::KillProcessesNaming(dir_);
    if (created_var_lib_containers_) RemovePodmanHostCache();
    return s;
  };
  return process_->Stop(grace, after_exit).WithContext("stop podman (" + dir_ + ")");
}

}  // namespace polyarch
