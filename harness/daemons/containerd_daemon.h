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

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/journal.h"
#include "harness/core/status.h"
#include "harness/daemons/daemon_process.h"

namespace polyarch {

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
  // and removes sockets and the pid file. Ok when nothing is left. Again on a stopped daemon:
  // the same removals, for what somebody else's recovery emptied since.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // A restart, for the restart suite: `signal` (SIGTERM, SIGKILL) to containerd alone, then
  // waits up to `timeout` for it to exit. Shims, containers, the root and state stay.
  Status Interrupt(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Starts containerd again on the same config, root and state (after Interrupt) and waits
  // until it answers, as Start does.
  Status Restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string LogTail(size_t lines = kDaemonLogTailLines) const { return process_->LogTail(lines); }

 private:
  ContainerdDaemon() = default;
  Status WaitUntilReady(std::chrono::milliseconds timeout);

  std::string dir_;
  std::string address_;
  std::string ttrpc_address_;
  std::string config_path_;
  std::string version_;
  std::string ctr_path_;
  bool created_run_containerd_ = false;  // /run/containerd did not exist before this start
  std::unique_ptr<daemons_internal::DaemonProcess> process_;
};

// The config.toml polyarch gives containerd for `dir` (exposed for tests and reports).
std::string ContainerdConfig(const std::string& dir, const std::string& log_level,
                             const std::string& extra_config);

// The server version from `ctr version` output ("Server:\n  Version:  1.6.20~ds1 ...");
// NotFound when the output has no server part.
Result<std::string> ParseCtrServerVersion(std::string_view ctr_output);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_DAEMONS_CONTAINERD_DAEMON_H_
