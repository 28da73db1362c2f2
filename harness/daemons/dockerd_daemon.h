// polyarch's private dockerd, on top of polyarch's own containerd.
//
// Everything it writes lives in <run_dir>/dockerd (mode 0700): daemon.json (private, so
// /etc/docker/daemon.json is never read), key.json (else dockerd 20.10 writes
// /etc/docker/key.json), data/ (--data-root), exec/ (--exec-root), docker.sock (0600),
// dockerd.pid, dockerd.log. Networking is off: no default bridge (it would claim
// 172.17.0.0/16), no iptables or ip6tables rules, no IP masquerading, no ip_forward change,
// no userland proxy; containers use network mode "none". The one path dockerd 20.10 fixes
// outside the run directory is /run/docker/plugins (its plugin exec root, hard-coded);
// polyarch removes it after the stop when this start created it and it is empty.
#ifndef POLYARCH_HARNESS_DAEMONS_DOCKERD_DAEMON_H_
#define POLYARCH_HARNESS_DAEMONS_DOCKERD_DAEMON_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/journal.h"
#include "harness/core/status.h"
#include "harness/daemons/daemon_process.h"

namespace polyarch {

struct DockerdOptions {
  std::string run_dir;  // absolute; the daemon lives in <run_dir>/dockerd
  std::chrono::milliseconds start_timeout{std::chrono::seconds(30)};
  std::string dockerd_path = "dockerd";  // looked up in PATH unless it has a '/'
  std::string storage_driver = "overlay2";
  std::string log_level = "info";
  // dockerd's own --shutdown-timeout (how long it waits for containers on SIGTERM): kept
  // below Stop's default grace so dockerd, not SIGKILL, ends its containers.
  std::chrono::seconds shutdown_timeout{5};
  // The cgroup its containers go under, in every hierarchy (--cgroup-parent): never dockerd's
  // shared default "/docker". Empty names it after the daemon's directory
  // ("polyarch-dockerd-<12 hex digits>"); it must start with "polyarch-". Stop removes it.
  std::string cgroup_parent;
  // A runtime binary dockerd runs its containers with (through containerd's runc shim),
  // registered as "polyarch-runtime" and made the default; "" keeps dockerd's runc.
  std::string runtime_binary;
  // More runtimes a container may name (HostConfig.Runtime): name -> binary.
  std::map<std::string, std::string> runtimes;
  // daemon.json's live-restore: containers keep running while dockerd is down. Off, as
  // dockerd's own default; SetLiveRestore changes it on a running daemon.
  bool live_restore = false;
  std::vector<std::string> extra_args;  // appended to the command line (tests: a bad flag)
  Journal* journal = nullptr;           // optional: the daemon is recorded before it starts
};

// What GET /version reports.
struct DockerVersion {
  std::string version;          // "20.10.24+dfsg1"
  std::string api_version;      // "1.41"
  std::string min_api_version;  // "1.12"
};

class DockerdDaemon {
 public:
  // Starts dockerd against the containerd listening on `containerd_address` and waits until
  // GET /_ping answers 200 "OK". On failure nothing is left running and the error quotes
  // the daemon's log.
  static Result<std::unique_ptr<DockerdDaemon>> Start(const DockerdOptions& options,
                                                      const std::string& containerd_address);

  ~DockerdDaemon();  // Stop() with the default grace if still running
  DockerdDaemon(const DockerdDaemon&) = delete;
  DockerdDaemon& operator=(const DockerdDaemon&) = delete;

  const std::string& address() const { return address_; }  // .../dockerd/docker.sock
  const std::string& dir() const { return dir_; }
  const std::string& data_root() const { return data_root_; }
  const std::string& exec_root() const { return exec_root_; }
  const std::string& log_path() const { return process_->log_path(); }
  const std::string& containerd_address() const { return containerd_address_; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  Endpoint endpoint() const { return {address_, true}; }
  const DockerVersion& version() const { return version_; }
  pid_t pid() const { return process_->pid(); }

  // False once the daemon has exited, whether stopped or on its own.
  bool Alive() { return process_->Alive(); }
  // How it exited; nullopt while it runs.
  std::optional<ProcessResult> ExitResult() { return process_->ExitResult(); }

  // TERM, up to `grace`, KILL; then unmounts what is left under dir() (dockerd bind-mounts
  // its data root onto itself) and removes sockets and the pid file. Ok when nothing is left.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // A restart, for the restart suite: `signal` to dockerd alone, then waits up to `timeout`
  // for it to exit (dockerd's shutdown: with live-restore off it stops the containers first).
  // containerd, the shims and the data root stay.
  Status Interrupt(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Starts dockerd again on the same config and data root and waits until it answers.
  Status Restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Rewrites daemon.json with live-restore `on`, makes dockerd reload it (SIGHUP) and waits
  // until GET /info says LiveRestoreEnabled is `on`.
  Status SetLiveRestore(bool on, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool live_restore() const { return live_restore_; }
  // Waits until dockerd reaches its containerd again (after containerd restarted): GET
  // /version lists containerd among its components, which dockerd asks containerd for.
  Status WaitContainerdReachable(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  std::string LogTail(size_t lines = kDaemonLogTailLines) const { return process_->LogTail(lines); }

 private:
  DockerdDaemon() = default;
  Status WaitUntilReady(std::chrono::milliseconds timeout);
  Status WriteConfig();

  std::string dir_;
  std::string address_;
  std::string data_root_;
  std::string exec_root_;
  std::string containerd_address_;
  std::string cgroup_parent_;
  DockerVersion version_;
  bool live_restore_ = false;
  // /run/docker and /run/docker/plugins did not exist before this start.
  bool created_run_docker_ = false;
  bool created_plugins_dir_ = false;
  std::unique_ptr<daemons_internal::DaemonProcess> process_;
};

// Whether `name` may be a private daemon's cgroup parent: one path component named as polyarch
// names its things ("polyarch-..." or a run prefix "pa..."), never dockerd's shared "docker".
// Recovery removes only such names, whatever a journal says.
bool ValidCgroupParent(std::string_view name);

// The cgroup parent of the daemon in `dir`: options.cgroup_parent, or one named after `dir`.
std::string DockerdCgroupParent(const std::string& dir, const DockerdOptions& options);

// The full dockerd command line for a daemon in `dir` (exposed for tests and reports).
std::vector<std::string> DockerdArgs(const std::string& dockerd, const std::string& dir,
                                     const std::string& containerd_address,
                                     const DockerdOptions& options);

// dockerd's daemon.json for a daemon in `dir`.
nlohmann::json DockerdConfig(const std::string& dir, bool live_restore);

// LiveRestoreEnabled from the JSON of GET /info; InvalidArgument when it is not JSON or
// lacks the boolean. Never throws.
Result<bool> ParseLiveRestoreEnabled(std::string_view json);

// Whether the JSON of GET /version lists a "containerd" component. Never throws.
bool VersionListsContainerd(std::string_view json);

// Parses the JSON of GET /version; InvalidArgument when it is not JSON or lacks Version or
// ApiVersion. Never throws.
Result<DockerVersion> ParseDockerVersion(std::string_view json);

// Whether an Engine API answers on `socket` by `deadline`: GET /_ping is 200 "OK" and GET
// /version parses (dockerd's, or podman's compatible one). Unavailable while it does not.
Result<DockerVersion> ProbeEngineApi(const std::string& socket,
                                     std::chrono::steady_clock::time_point deadline);

// "1.41" >= "1.40": compares dotted API versions numerically.
bool ApiVersionAtLeast(std::string_view version, std::string_view minimum);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_DOCKERD_DAEMON_H_
