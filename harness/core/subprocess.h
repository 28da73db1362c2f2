// Child processes, the way every part of polyarch starts them.
//
// - argv vectors only, never a shell string;
// - stdin is /dev/null; stdout/stderr are captured (bounded, head + tail), discarded, or
//   sent to a descriptor the caller owns (a daemon's log file);
// - each child leads its own process group, so a timeout reaches its descendants too;
// - every wait has a deadline: at the deadline the group gets SIGTERM, then SIGKILL after a
//   grace period;
// - the child inherits only descriptors 0-2: every descriptor polyarch opens is O_CLOEXEC
//   and the spawn closes everything from 3 up regardless.
//
// Launching is posix_spawn (glibc implements it with clone(CLONE_VM|CLONE_VFORK)), which
// bench/spawn_bench measures against a raw posix_spawn loop and Boost.Process v2's default
// launcher: process start is on the hot path of every throughput figure.
#ifndef POLYARCH_HARNESS_CORE_SUBPROCESS_H_
#define POLYARCH_HARNESS_CORE_SUBPROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/core/capture.h"
#include "harness/core/status.h"

namespace polyarch {

enum class OutputMode {
  kCapture,  // a pipe, read into a BoundedCapture while waiting
  kNull,     // /dev/null
  kFd,       // the descriptor given in SpawnOptions (duplicated; the caller keeps its own)
};

struct SpawnOptions {
  std::vector<std::string> argv;                // argv[0] without a '/' is looked up in PATH
  std::optional<std::vector<std::string>> env;  // "K=V" entries; nullopt inherits polyarch's
  std::string cwd;                              // empty: polyarch's own

  OutputMode stdout_mode = OutputMode::kCapture;
  OutputMode stderr_mode = OutputMode::kCapture;
  int stdout_fd = -1;  // for OutputMode::kFd
  int stderr_fd = -1;
  size_t capture_head_bytes = 64 * 1024;
  size_t capture_tail_bytes = 64 * 1024;

  std::chrono::milliseconds kill_grace{2000};  // between SIGTERM and SIGKILL
};

struct ProcessResult {
  pid_t pid = -1;
  bool exited = false;  // normal exit; otherwise killed by `signal`
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;  // the deadline passed and polyarch signalled the group
  bool escalated = false;  // SIGTERM was not enough: the group got SIGKILL
  CapturedOutput out;
  CapturedOutput err;
  std::chrono::nanoseconds wall{0};  // spawn to reap
  struct rusage usage {};            // of the child and its reaped descendants

  bool success() const { return exited && exit_code == 0 && !timed_out; }
  // exit code, or 128 + signal, as a shell reports it.
  int ShellStatus() const { return exited ? exit_code : 128 + signal; }
  // "exit 0", "exit 3", "killed by SIGKILL after the 5000 ms deadline (SIGTERM ignored)".
  std::string Describe() const;
};

class Subprocess {
 public:
  // Starts the child. Fails (kNotFound, kPermissionDenied, ...) only when it cannot be
  // started at all; what it does once started is in the ProcessResult.
  static Result<std::unique_ptr<Subprocess>> Start(const SpawnOptions& options);

  ~Subprocess();  // kills the group and reaps if the caller never waited: no zombies
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }

  // Reads output until the child exits or `timeout` passes; then TERM → grace → KILL.
  // Returns once the child is reaped. Calling it again returns the same result.
  const ProcessResult& Wait(std::chrono::milliseconds timeout);

  // Sends `sig` to the child's process group. NotFound if it is already gone.
  Status Signal(int sig);

  // TERM, wait up to `grace`, KILL; then reap. The result says which it took.
  const ProcessResult& Stop(std::chrono::milliseconds grace);

 private:
  Subprocess() = default;
  void Loop(std::chrono::steady_clock::time_point deadline, bool terminate_at_deadline);
  bool TryReap(bool block);
  void DrainAfterExit();
  void CloseFds();

  SpawnOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<BoundedCapture> out_;
  std::unique_ptr<BoundedCapture> err_;
  ProcessResult result_;
};

// Start + Wait(timeout). The Status is an error only if the child could not be started.
Result<ProcessResult> RunProcess(const SpawnOptions& options, std::chrono::milliseconds timeout);

// Convenience for the common "run this argv, capture everything" case.
Result<ProcessResult> RunProcess(std::vector<std::string> argv, std::chrono::milliseconds timeout);

// Absolute path of `program` looked up in PATH (or as given, if it contains a '/');
// NotFound when it is not an executable file.
Result<std::string> FindProgram(const std::string& program);

// "argv[0] 'arg with space' ..." for messages and reports (never executed).
std::string QuoteArgv(const std::vector<std::string>& argv);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_SUBPROCESS_H_
