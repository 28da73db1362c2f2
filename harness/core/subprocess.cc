#include "harness/core/subprocess.h"

#include "harness/core/reaper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern char** environ;

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;

// Owns a posix_spawn_file_actions_t / posix_spawnattr_t for the duration of one spawn.
struct SpawnAttrs {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttrs() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

void CloseIfOpen(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int MsUntil(Clock::time_point t) {
  auto now = Clock::now();
  if (t <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
  return ms > 60'000 ? 60'000 : static_cast<int>(ms) + 1;
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string s;
  if (exited) {
    s = "exit " + std::to_string(exit_code);
  } else if (signal != 0) {
    s = "killed by " + SignalName(signal);
  } else {
    s = "not reaped";
  }
  if (timed_out) {
    s += escalated ? " after the deadline (SIGTERM was not enough; SIGKILL sent)"
                   : " after the deadline (SIGTERM sent)";
  }
  return s;
}

Result<std::unique_ptr<Subprocess>> Subprocess::Start(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return InvalidArgument("cannot start a process with an empty argv");
  }
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->options_ = options;

  SpawnAttrs sa;
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto close_pipes = [&] {
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]}) CloseIfOpen(*fd);
  };

  // stdin from /dev/null; the child never shares polyarch's terminal input.
  posix_spawn_file_actions_addopen(&sa.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  auto wire = [&](OutputMode mode, int given_fd, int target, int pipe_fds[2]) -> Status {
    switch (mode) {
      case OutputMode::kCapture:
        if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
          return ErrnoStatus(errno, "pipe2");
        }
        // The child's end must block: a program writing to a non-blocking stdout may fail.
        ::fcntl(pipe_fds[1], F_SETFL, 0);
        posix_spawn_file_actions_adddup2(&sa.actions, pipe_fds[1], target);
        return Status::Ok();
      case OutputMode::kNull:
        posix_spawn_file_actions_addopen(&sa.actions, target, "/dev/null", O_WRONLY, 0);
        return Status::Ok();
      case OutputMode::kFd:
        if (given_fd < 0) return InvalidArgument("OutputMode::kFd without a descriptor");
        posix_spawn_file_actions_adddup2(&sa.actions, given_fd, target);
        return Status::Ok();
    }
    return Internal("unknown output mode");
  };
  if (Status s = wire(options.stdout_mode, options.stdout_fd, STDOUT_FILENO, out_pipe); !s.ok()) {
    close_pipes();
    return s;
  }
  if (Status s = wire(options.stderr_mode, options.stderr_fd, STDERR_FILENO, err_pipe); !s.ok()) {
    close_pipes();
    return s;
  }
  // Whatever a library opened without O_CLOEXEC stays behind too.
  posix_spawn_file_actions_addclosefrom_np(&sa.actions, 3);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&sa.actions, options.cwd.c_str());
  }

  // exec resets handled signals by itself; only an ignored disposition (polyarch ignores
  // SIGPIPE; a parent may have ignored others) would be inherited. Resetting just these keeps
  // the child's start to a few system calls instead of one per signal.
  sigset_t empty_mask, defaults;
  sigemptyset(&empty_mask);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM,
                  SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&sa.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setflags(&sa.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char** env = environ;
  if (options.env) {
    envp.reserve(options.env->size() + 1);
    for (const auto& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    env = envp.data();
  }

  p->started_ = Clock::now();
  const bool search = options.argv[0].find('/') == std::string::npos;
  int rc;
  {
    // As a subreaper polyarch reaps orphans in the background; register the child before
    // that thread can see it.
    Reaper& reaper = Reaper::Instance();
    std::unique_lock<std::mutex> guard;
    if (reaper.enabled()) guard = reaper.SpawnLock();
    rc = search ? ::posix_spawnp(&p->pid_, argv[0], &sa.actions, &sa.attr, argv.data(), env)
                : ::posix_spawn(&p->pid_, argv[0], &sa.actions, &sa.attr, argv.data(), env);
    if (rc == 0 && guard.owns_lock()) reaper.NoteSpawned(p->pid_);
  }
  CloseIfOpen(out_pipe[1]);
  CloseIfOpen(err_pipe[1]);
  if (rc != 0) {
    close_pipes();
    p->pid_ = -1;
    p->reaped_ = true;
    return ErrnoStatus(rc, "cannot start '" + options.argv[0] + "'");
  }
  p->out_fd_ = out_pipe[0];
  p->err_fd_ = err_pipe[0];
  p->pidfd_ = static_cast<int>(
      ::syscall(SYS_pidfd_open, p->pid_, 0));  // -1 on kernels without pidfd: Loop polls instead
  if (p->out_fd_ >= 0) {
    p->out_ =
        std::make_unique<BoundedCapture>(options.capture_head_bytes, options.capture_tail_bytes);
  }
  if (p->err_fd_ >= 0) {
    p->err_ =
        std::make_unique<BoundedCapture>(options.capture_head_bytes, options.capture_tail_bytes);
  }
  p->result_.pid = p->pid_;
  return p;
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    TryReap(/*block=*/true);
  }
  CloseFds();
}

void Subprocess::CloseFds() {
  CloseIfOpen(pidfd_);
  CloseIfOpen(out_fd_);
  CloseIfOpen(err_fd_);
}

bool Subprocess::TryReap(bool block) {
  if (reaped_) return true;
  int status = 0;
  struct rusage ru {};
  pid_t r;
  do {
    r = ::wait4(pid_, &status, block ? 0 : WNOHANG, &ru);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  reaped_ = true;
  if (Reaper::Instance().enabled()) Reaper::Instance().NoteReaped(pid_);
  result_.wall = Clock::now() - started_;
  if (r < 0) return true;  // ECHILD: someone else reaped it; nothing more to learn
  result_.usage = ru;
  if (WIFEXITED(status)) {
    result_.exited = true;
    result_.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.signal = WTERMSIG(status);
  }
  return true;
}

// Reads from one pipe; returns false at EOF or on error (the fd is then closed).
static bool ReadSome(int& fd, BoundedCapture* capture) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      capture->Append(std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof buf) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    CloseIfOpen(fd);
    return false;
  }
}

void Subprocess::Loop(Clock::time_point deadline, bool terminate_at_deadline) {
  bool term_sent = false;
  Clock::time_point kill_at{};
  while (!reaped_) {
    if (TryReap(false)) break;
    auto now = Clock::now();
    if (now >= deadline && !term_sent) {
      if (!terminate_at_deadline) return;
      result_.timed_out = true;
      (void)Signal(SIGTERM);
      term_sent = true;
      kill_at = now + options_.kill_grace;
    }
    if (term_sent && now >= kill_at && !result_.escalated) {
      result_.escalated = true;
      (void)Signal(SIGKILL);
    }
    // A process that survives SIGKILL this long is stuck in the kernel; the caller decides.
    if (result_.escalated && now >= kill_at + std::chrono::seconds(10)) return;
    pollfd fds[3];
    nfds_t n = 0;
    if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
    if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
    int wait_ms = MsUntil(term_sent ? (result_.escalated ? now + std::chrono::seconds(1) : kill_at)
                                    : deadline);
    // Without a pidfd nothing wakes us when the child exits: poll in short steps.
    if (pidfd_ < 0 && (wait_ms > 10 || wait_ms == 0)) wait_ms = 10;
    int r = ::poll(fds, n, wait_ms);
    if (r < 0 && errno != EINTR) break;
    if (out_fd_ >= 0) ReadSome(out_fd_, out_.get());
    if (err_fd_ >= 0) ReadSome(err_fd_, err_.get());
  }
  if (reaped_) DrainAfterExit();
}

// Once the child is reaped, take what is already in the pipes but do not wait for EOF: a
// descendant (a container, a daemonized grandchild) may hold the write end for ever.
void Subprocess::DrainAfterExit() {
  auto stop = Clock::now() + std::chrono::milliseconds(100);
  while ((out_fd_ >= 0 || err_fd_ >= 0) && Clock::now() < stop) {
    pollfd fds[2];
    nfds_t n = 0;
    if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
    if (::poll(fds, n, 0) <= 0) break;
    if (out_fd_ >= 0) ReadSome(out_fd_, out_.get());
    if (err_fd_ >= 0) ReadSome(err_fd_, err_.get());
  }
  CloseFds();
  if (out_) result_.out = out_->Finish();
  if (err_) result_.err = err_->Finish();
}

const ProcessResult& Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (!reaped_) {
    Loop(Clock::now() + timeout, /*terminate_at_deadline=*/true);
    // Loop only returns unreaped if poll itself failed; do not leave a zombie behind.
    if (!reaped_) {
      (void)Signal(SIGKILL);
      TryReap(true);
      DrainAfterExit();
    }
  }
  return result_;
}

Status Subprocess::Signal(int sig) {
  if (reaped_) return NotFound("process " + std::to_string(pid_) + " already reaped");
  // The group first (descendants), then the leader itself in case it changed group.
  int rc = ::kill(-pid_, sig);
  int rc2 = ::kill(pid_, sig);
  if (rc != 0 && rc2 != 0) return ErrnoStatus(errno, "kill " + std::to_string(pid_));
  return Status::Ok();
}

const ProcessResult& Subprocess::Stop(std::chrono::milliseconds grace) {
  if (reaped_) return result_;
  (void)Signal(SIGTERM);
  Loop(Clock::now() + grace, /*terminate_at_deadline=*/false);
  if (!reaped_) {
    result_.escalated = true;
    (void)Signal(SIGKILL);
    Loop(Clock::now() + std::chrono::seconds(10), /*terminate_at_deadline=*/false);
    if (!reaped_) TryReap(true);
    DrainAfterExit();
  }
  return result_;
}

Result<ProcessResult> RunProcess(const SpawnOptions& options, std::chrono::milliseconds timeout) {
  PA_ASSIGN_OR_RETURN(auto p, Subprocess::Start(options));
  return p->Wait(timeout);
}

Result<ProcessResult> RunProcess(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  SpawnOptions o;
  o.argv = std::move(argv);
  return RunProcess(o, timeout);
}

Result<std::string> FindProgram(const std::string& program) {
  auto usable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.empty()) return InvalidArgument("empty program name");
  if (program.find('/') != std::string::npos) {
    if (usable(program)) return program;
    return NotFound(program + ": not an executable file");
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (usable(candidate)) return candidate;
    start = end + 1;
  }
  return NotFound(program + ": not found in PATH");
}

std::string QuoteArgv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      s += a;
      continue;
    }
    s += '\'';
    for (char c : a) {
      if (c == '\'') {
        s += "'\\''";
      } else {
        s += c;
      }
    }
    s += '\'';
  }
  return s;
}

}  // namespace polyarch
