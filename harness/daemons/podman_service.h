// polyarch's private podman: `podman system service` on a unix socket in a directory of the
// run, serving the Docker-compatible Engine API, with one OCI runtime for all its containers.
//
// podman has no daemon of its own: each container is watched by a conmon process, which
// outlives the service, and its exit is handled by a `podman container cleanup` the conmon
// starts. Everything either of them writes lives in <run_dir>/<name> (mode 0700):
//   cfg/containers.conf, cfg/storage.conf, cfg/registries.conf   private configuration, given
//       by CONTAINERS_CONF and its siblings, so /etc/containers/*.conf and the user's files
//       are never read for settings (policy.json still is, read-only);
//   root/ (storage, --root), tmp/ (--tmpdir: locks, events, exit files),
//   imgtmp/ (TMPDIR of image copies), cni/ (--network-config-dir), hooks/ (empty: the host's
//   OCI hooks are not run), oci/ (the runtime's own state: --root of runc or crun),
//   runtime (a two-line wrapper that runs the layer's binary with --root oci/: podman passes
//   no state directory to the runtime, which would otherwise keep it in /run/runc or
//   /run/crun), podman.sock (0600), podman.log.
// The run root (--runroot: container state, the shm mounts of running containers) must be a
// path of at most 50 bytes (podman 4.3 refuses longer ones, its sockets live there): it is
// /run/polyarch-podman-<12 hex digits of the directory>, journaled with the service and
// removed, with what is mounted in it, once the service has stopped.
// Networking is off: containers get network mode "none" and no network is ever created.
// Lock files are files under tmp/ (not podman's shared /dev/shm/libpod_lock). The one path
// podman 4.3 fixes outside the directory is its blob-info cache,
// /var/lib/containers/cache/blob-info-cache-v1.boltdb, written when an image is loaded:
// when this start found no /var/lib/containers, Stop removes that file and the empty
// directories.
#ifndef POLYARCH_HARNESS_DAEMONS_PODMAN_SERVICE_H_
#define POLYARCH_HARNESS_DAEMONS_PODMAN_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/journal.h"
#include "harness/core/status.h"
#include "harness/daemons/daemon_process.h"
#include "harness/daemons/dockerd_daemon.h"

namespace polyarch {

// Fixed by podman 4.3 (containers/image's blob-info cache for root), not by --root.
inline constexpr char kVarLibContainers[] = "/var/lib/containers";

struct PodmanServiceOptions {
  std::string run_dir;          // absolute; the service lives in <run_dir>/<name>
  std::string name = "podman";  // its directory's name, e.g. "podman-crun"
  std::chrono::milliseconds start_timeout{std::chrono::seconds(30)};
  std::string podman_path = "podman";  // looked up in PATH unless it has a '/'
  // The OCI runtime every container of the service runs with: an absolute path.
  std::string runtime_binary;
  // The cgroup its containers go under (each container names it: HostConfig.CgroupParent),
  // and conmon in <parent>/conmon; one name of polyarch's (ValidCgroupParent). Stop removes it.
  std::string cgroup_parent;
  std::string log_level = "info";
  std::vector<std::string> extra_args;  // appended before `system service` (tests: a bad flag)
  Journal* journal = nullptr;           // optional: the service is recorded before it starts
};

class PodmanService {
 public:
  // Writes the private configuration and the runtime wrapper, starts the service and waits
  // until GET /_ping answers 200 "OK" and GET /version parses. On failure nothing is left
  // running and the error quotes the service's log.
  static Result<std::unique_ptr<PodmanService>> Start(const PodmanServiceOptions& options);

  ~PodmanService();  // Stop() with the default grace if still running
  PodmanService(const PodmanService&) = delete;
  PodmanService& operator=(const PodmanService&) = delete;

  const std::string& address() const { return address_; }  // .../<name>/podman.sock
  const std::string& dir() const { return dir_; }
  const std::string& log_path() const { return process_->log_path(); }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  const std::string& runtime_binary() const { return runtime_binary_; }
  const std::string& run_root() const { return run_root_; }
  // PodmanContainerLimits of the running service: what each container is to be given.
  const std::map<std::string, int64_t>& container_limits() const { return container_limits_; }
  const DockerVersion& version() const { return version_; }  // podman's, from GET /version
  pid_t pid() const { return process_->pid(); }
  bool Alive() { return process_->Alive(); }
  std::optional<ProcessResult> ExitResult() { return process_->ExitResult(); }

  // TERM, up to `grace`, KILL; then ends the conmon processes still naming dir() (a container
  // nobody removed, an exec session's conmon that lingers for minutes) and what runs under
  // them, unmounts what is left under dir() and removes sockets, its cgroup parent and the
  // blob-info cache when this start created /var/lib/containers. Ok when nothing is left.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // A restart, for the restart suite: `signal` to the service alone, then waits up to
  // `timeout` for it to exit. conmon and the containers, storage and run root stay.
  Status Interrupt(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Starts the service again on the same storage and waits until its API answers.
  Status Restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string LogTail(size_t lines = kDaemonLogTailLines) const { return process_->LogTail(lines); }

 private:
  Status WaitUntilReady(std::chrono::milliseconds timeout);
  PodmanService() = default;

  std::string dir_;
  std::string address_;
  std::string cgroup_parent_;
  std::string runtime_binary_;
  std::string run_root_;
  std::map<std::string, int64_t> container_limits_;
  DockerVersion version_;
  bool created_var_lib_containers_ = false;
  std::unique_ptr<daemons_internal::DaemonProcess> process_;
};

// The full command line of the service in `dir`, the runtime wrapper at <dir>/runtime.
std::vector<std::string> PodmanServiceArgs(const std::string& podman, const std::string& dir,
                                           const PodmanServiceOptions& options);

// The private containers.conf for `dir`.
std::string PodmanContainersConf(const std::string& dir);

// The open-file ("nofile") and process ("nproc") limits a container of the service can be
// given, from the service's /proc/<pid>/limits: its hard limits, at most podman's default.
// podman 4.3 gives a container of root 1048576 of each unless the container names them, and
// raising a hard limit needs CAP_SYS_RESOURCE, which a container host may not give root: the
// runtime's setrlimit would then fail every start. InvalidArgument for text without them.
Result<std::map<std::string, int64_t>> PodmanContainerLimits(std::string_view proc_limits);

// The service's --runroot for its directory `dir`: /run/polyarch-podman-<12 hex>.
std::string PodmanRunRoot(const std::string& dir);

// The runtime wrapper: runs `binary` with its state under `state_dir`, every argument passed on.
std::string PodmanRuntimeWrapper(const std::string& binary, const std::string& state_dir);

// Removes the blob-info cache podman writes under /var/lib/containers, then the directories
// there when empty; for a start (or a recovered run) that found no /var/lib/containers.
void RemovePodmanHostCache();

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_PODMAN_SERVICE_H_
