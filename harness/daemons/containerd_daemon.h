// polyarch's private containerd: started for one run, under a directory the caller gives,
// listening on unix sockets only, and stopped without leaving a process, mount or socket.
//
// Everything the daemon writes lives in <run_dir>/containerd (mode 0700): config.toml, root/,
// state/, opt/, containerd.sock (0600), containerd.sock.ttrpc, containerd.pid, containerd.log.
// Two paths are fixed by containerd and escape it: shims put their sockets in
// /run/containerd/s/ (removed by each shim when it exits) and the runc v2 shim keeps runc's
// state in /run/containerd/runc/<namespace> unless the client passes a runc root (drivers
// should: runc options `root` under the run directory). When this start found no
// /run/containerd, Stop removes the empty directories left there.
#ifndef POLYARCH_HARNESS_DAEMONS_CONTAINERD_DAEMON_H_
#define POLYARCH_HARNESS_DAEMONS_CONTAINERD_DAEMON_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "harness/core/journal.h"
#include "harness/core/status.h"
#include "harness/core/subprocess.h"

namespace polyarch {

// Where a daemon listens and whether polyarch owns it. An owned daemon was started by
// polyarch and is stopped by it; an external one (--containerd-address, --docker-host) is
// used as found and never started, stopped or cleaned up.
struct Endpoint {
  std::string address;  // a unix socket path
  bool owned = false;

  static Endpoint External(std::string address) { return {std::move(address), false}; }
};

// Lines quoted from a daemon's log when it fails to start.
inline constexpr size_t kDaemonLogTailLines = 20;

namespace daemons_internal {

// What containerd and dockerd share: a child whose output goes to a log file in its own
// directory, readiness polling with a deadline, an exit that can be observed, TERM → grace →
// KILL by its own PID, and the removal of what it leaves behind (mounts under its directory,
// sockets, pid files). Not part of the public API: use ContainerdDaemon / DockerdDaemon.
class DaemonProcess {
 public:
  struct Spec {
    std::string name;  // "containerd": for messages and the journal
    std::string dir;   // the daemon's private directory; no mount under it survives Stop
    std::string log_path;
    std::vector<std::string> argv;
    std::vector<std::string> pid_files;  // removed after the daemon stopped
    // Sockets left in `dir` itself and anywhere under these directories are removed after
    // the daemon stopped (the data root is not walked: it can be large).
    std::vector<std::string> socket_trees;
    // Directories outside `dir` that this start found missing and the daemon will create at
    // fixed paths (/run/containerd, /run/docker): journaled with the daemon, so that
    // RecoverDaemon can remove them, when empty, after a polyarch that could not stop it.
    std::vector<std::string> created_host_dirs;
    // Top-level cgroups (by name, in every hierarchy) the daemon puts its containers under:
    // removed once the daemon stopped, and by RecoverDaemon.
    std::vector<std::string> cgroup_parents;
    Journal* journal = nullptr;  // optional; records the daemon before it starts
  };

  // Spawns the daemon (stdin /dev/null, stdout and stderr appended to a fresh log file).
  static Result<std::unique_ptr<DaemonProcess>> Spawn(Spec spec);
  ~DaemonProcess();  // stops a daemon still running

  // Calls `probe` until it returns ok, the daemon exits, or `timeout` passes; on failure the
  // error quotes the tail of the log. `probe` gets the overall deadline for its own calls.
  Status WaitReady(std::chrono::milliseconds timeout,
                   const std::function<Status(std::chrono::steady_clock::time_point)>& probe);

  pid_t pid() const { return pid_; }
  const std::string& name() const { return spec_.name; }
  const std::string& log_path() const { return spec_.log_path; }

  bool Alive();
  std::optional<ProcessResult> ExitResult();
  bool stopped();

  // Stops the daemon, then runs `after_exit` (daemon-specific sweeps) and the common cleanup.
  // Safe to call more than once; later calls only repeat the cleanup.
  Status Stop(std::chrono::milliseconds grace, const std::function<Status()>& after_exit = {});

  std::string LogTail(size_t lines) const;
  // "<what>; the log <path> ends with:\n    line\n    line".
  std::string WithLogTail(std::string_view what) const;

 private:
  explicit DaemonProcess(Spec spec) : spec_(std::move(spec)) {}
  bool AliveLocked();
  Status Cleanup();

  Spec spec_;
  pid_t pid_ = -1;
  std::mutex mu_;
  std::unique_ptr<Subprocess> process_;
  std::optional<ProcessResult> exit_;
  bool stopped_ = false;
};

// The environment for a daemon: polyarch's own minus what would make it talk to systemd or
// to another daemon (NOTIFY_SOCKET, LISTEN_*, DOCKER_*, CONTAINERD_*), with a PATH.
std::vector<std::string> DaemonEnvironment();

// Creates `dir` (and parents) and makes it 0700 even if it existed with a wider mode.
Status MakePrivateDir(const std::string& dir);

// Fails when `socket_path` is too long for sun_path or a live daemon already answers on it;
// removes a stale socket file left by a daemon that died.
Status ClaimSocketPath(const std::string& socket_path);

}  // namespace daemons_internal

struct ContainerdOptions {
  std::string run_dir;  // absolute; the daemon lives in <run_dir>/containerd
  std::chrono::milliseconds start_timeout{std::chrono::seconds(30)};
  std::string containerd_path = "containerd";  // looked up in PATH unless it has a '/'
  std::string ctr_path = "ctr";
  std::string log_level = "info";
  // TOML appended to the generated config.toml (an extra plugin section; tests use it to
  // make the daemon fail).
  std::string extra_config;
  std::vector<std::string> extra_args;  // appended to the command line
  Journal* journal = nullptr;           // optional: the daemon is recorded before it starts
};

class ContainerdDaemon {
 public:
  // Writes the config, starts containerd and waits until `ctr version` reaches its server
  // part. On failure nothing is left running and the error quotes the daemon's log.
  static Result<std::unique_ptr<ContainerdDaemon>> Start(const ContainerdOptions& options);

  ~ContainerdDaemon();  // Stop() with the default grace if still running
  ContainerdDaemon(const ContainerdDaemon&) = delete;
  ContainerdDaemon& operator=(const ContainerdDaemon&) = delete;

  const std::string& address() const { return address_; }  // .../containerd/containerd.sock
  const std::string& ttrpc_address() const { return ttrpc_address_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return process_->log_path(); }
  Endpoint endpoint() const { return {address_, true}; }
  const std::string& version() const { return version_; }  // "1.6.20~ds1", from the server
  pid_t pid() const { return process_->pid(); }

  // False once the daemon has exited, whether stopped or on its own.
  bool Alive() { return process_->Alive(); }
  // How it exited; nullopt while it runs.
  std::optional<ProcessResult> ExitResult() { return process_->ExitResult(); }

  // TERM, up to `grace`, KILL; then removes the containers of shims still serving this
  // daemon's address (`runc delete --force`) and the shims, unmounts what is left under dir()
  // and removes sockets and the pid file. Ok when nothing is left.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  std::string LogTail(size_t lines = kDaemonLogTailLines) const { return process_->LogTail(lines); }

 private:
  ContainerdDaemon() = default;

  std::string dir_;
  std::string address_;
  std::string ttrpc_address_;
  std::string config_path_;
  std::string version_;
  bool created_run_containerd_ = false;  // /run/containerd did not exist before this start
  std::unique_ptr<daemons_internal::DaemonProcess> process_;
};

// The config.toml polyarch gives containerd for `dir` (exposed for tests and reports).
std::string ContainerdConfig(const std::string& dir, const std::string& log_level,
                             const std::string& extra_config);

// The server version from `ctr version` output ("Server:\n  Version:  1.6.20~ds1 ...");
// NotFound when the output has no server part.
Result<std::string> ParseCtrServerVersion(std::string_view ctr_output);

// The socket containerd's shim v2 serves for container `id` of namespace `ns` under the daemon
// at `address`: containerd's own rule, /run/containerd/s/<sha256 of "address/ns/id">.
std::string ShimSocketPath(const std::string& address, const std::string& ns,
                           const std::string& id);

// Recovery after polyarch was killed: from one of its journal "daemon" records, stops the
// recorded process if it is still that daemon (its command line names the record's dir),
// removes the containers of shims still serving a containerd socket under the dir and the
// shims, then unmounts whatever is left under the dir and removes its sockets.
Status RecoverDaemon(const nlohmann::json& record);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_CONTAINERD_DAEMON_H_
