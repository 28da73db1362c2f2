// What every private daemon of a run shares (containerd, dockerd, and the next one): a child
// whose output goes to a log file in its own directory, readiness polling with a deadline, an
// exit that can be observed, TERM → grace → KILL by its own PID, and the removal of what it
// leaves behind (mounts under its directory, sockets, pid files, cgroup parents).
#ifndef POLYARCH_HARNESS_DAEMONS_DAEMON_PROCESS_H_
#define POLYARCH_HARNESS_DAEMONS_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
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

// A daemon process and what it leaves behind. Not part of the public API: use ContainerdDaemon,
// DockerdDaemon.
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
    // removed once the daemon stopped (what still runs in them is killed first), and by
    // RecoverDaemon.
    std::vector<std::string> cgroup_parents;
    Journal* journal = nullptr;  // optional; records the daemon before it starts
    // NAME=VALUE entries added to DaemonEnvironment() (a daemon's private configuration files).
    std::vector<std::string> env;
    // Directories outside `dir` that belong to this daemon alone (a path podman needs short):
    // after it stopped, everything mounted under them is unmounted and they are removed.
    // Only names IsPrivateDaemonDir accepts.
    std::vector<std::string> private_dirs;
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

  // For a restart: sends `signal` (SIGTERM, SIGKILL) to the daemon alone and waits up to
  // `timeout` for it to exit (then SIGKILL). Nothing it leaves behind is touched: what it
  // started in sessions of their own (shims, conmon, containers) keeps running, its state and
  // the journal entry stay. FailedPrecondition when it was not running.
  Result<ProcessResult> Interrupt(int signal, std::chrono::milliseconds timeout);
  // Starts the daemon again, after Interrupt or its own exit, with the same command line, on
  // the same state; its log is appended to. The journal entry gets the new pid.
  Status Respawn();

  std::string LogTail(size_t lines) const;
  // "<what>; the log <path> ends with:\n    line\n    line".
  std::string WithLogTail(std::string_view what) const;

 private:
  explicit DaemonProcess(Spec spec) : spec_(std::move(spec)) {}
  Status Launch(bool fresh_log);
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
// to another daemon, or read another's configuration (NOTIFY_SOCKET, LISTEN_*, DOCKER_*,
// CONTAINERD_*, CONTAINERS_*, CONTAINER_HOST, CONTAINER_CONNECTION), with a PATH.
std::vector<std::string> DaemonEnvironment();

// Where a daemon's private directory outside its run directory may be: /run/polyarch-<name>,
// one component. Recovery removes only such paths, whatever a journal says.
inline constexpr char kPrivateDaemonDirPrefix[] = "/run/polyarch-";
bool IsPrivateDaemonDir(std::string_view path);

// The first 120 bytes of a daemon's answer on one line, for an error message.
std::string ShortSnippet(std::string_view s);

// Creates `dir` (and parents) and makes it 0700 even if it existed with a wider mode.
Status MakePrivateDir(const std::string& dir);

// Fails when `socket_path` is too long for sun_path or a live daemon already answers on it;
// removes a stale socket file left by a daemon that died.
Status ClaimSocketPath(const std::string& socket_path);

// A daemon killed before its own shutdown leaves mounts behind (dockerd bind-mounts its data
// root onto itself; a shim's container rootfs sits under containerd's state): unmounts every
// mount under `dir`, deepest first, lazily when busy. Ok when none is left.
Status UnmountAllUnder(const std::string& dir);

// Unlinks socket files under `dir`, `depth` levels down, never crossing into another mount.
Status RemoveSockets(const std::string& dir, int depth);

// Removes empty directories under and including `dir`, depth first; anything holding a file
// stays. Only for directories a daemon's start created outside the run directory.
void RemoveEmptyDirs(const std::string& dir);

// Waits until `pid` no longer runs (ProcessGone), for at most `timeout`.
bool WaitGone(pid_t pid, std::chrono::milliseconds timeout);

// Ends what a daemon in `dir` left running after it exited: every process (but `except`)
// whose command line names a path under `dir` (podman's conmon, one per container and exec
// session) and everything under those. The processes under them get SIGKILL first, then they
// get SIGTERM and, after a grace, SIGKILL. Ok when none is left.
Status KillProcessesNaming(const std::string& dir, pid_t except = -1);

// pid → parent pid of every process on the host; and every process under `roots` (not the
// roots themselves).
std::map<pid_t, pid_t> ParentMap();
std::set<pid_t> Descendants(const std::map<pid_t, pid_t>& parents, const std::set<pid_t>& roots);

}  // namespace daemons_internal
}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_DAEMON_PROCESS_H_
