#include "harness/core/reaper.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "harness/core/fs.h"
#include "harness/core/proc.h"

namespace polyarch {

struct Reaper::Impl {
  std::mutex mu;
  std::atomic<bool> enabled{false};
  std::set<pid_t> owned;                    // spawned by Subprocess: it waits for them itself
  std::set<pid_t> claimed;                  // adopted and claimed by a driver
  std::unordered_map<pid_t, int> statuses;  // reaped here, kept for late askers
  std::deque<pid_t> order;                  // oldest first, to bound `statuses`
  std::thread thread;
};

namespace {

constexpr size_t kKeptStatuses = 4096;

// Direct children of this process, from every thread's children file.
std::vector<pid_t> Children() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto text = ReadFile(std::string("/proc/self/task/") + e->d_name + "/children", 1 << 20);
    if (!text.ok()) continue;
    std::istringstream in(*text);
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

bool IsZombie(pid_t pid) {
  ProcStat st;
  return ReadProcStat(pid, &st) && st.state == 'Z';
}

}  // namespace

Reaper& Reaper::Instance() {
  static Reaper* r = new Reaper();  // never destroyed: its thread lives as long as polyarch
  return *r;
}

Reaper::Impl* Reaper::impl() {
  static Impl* i = new Impl();
  return i;
}

Status Reaper::Enable() {
  Impl* s = impl();
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->enabled) return Status::Ok();
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return ErrnoStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
  }
  s->enabled = true;
  s->thread = std::thread([this] { Loop(); });
  s->thread.detach();
  return Status::Ok();
}

bool Reaper::enabled() const { return const_cast<Reaper*>(this)->impl()->enabled.load(); }

void Reaper::Loop() {
  Impl* s = impl();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (pid_t pid : Children()) {
      if (!IsZombie(pid)) continue;
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->owned.count(pid) || s->claimed.count(pid)) continue;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        s->statuses[pid] = status;
        s->order.push_back(pid);
        while (s->order.size() > kKeptStatuses) {
          s->statuses.erase(s->order.front());
          s->order.pop_front();
        }
      }
    }
  }
}

void Reaper::Claim(pid_t pid) {
  Impl* s = impl();
  std::lock_guard<std::mutex> lock(s->mu);
  s->claimed.insert(pid);
  // A status kept for this pid belongs to a process the loop already reaped; if a process has
  // the pid now, the kernel has given it to a new one, and that old status must not answer for
  // it. (Seen with daemons' orphans churning pids beside a container whose init got a reused
  // pid: its Wait returned the orphan's exit status at once.)
  if (::kill(pid, 0) == 0 || errno == EPERM) {
    s->statuses.erase(pid);
  }
}

void Reaper::Release(pid_t pid) {
  Impl* s = impl();
  std::lock_guard<std::mutex> lock(s->mu);
  s->claimed.erase(pid);
}

std::optional<int> Reaper::WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  Impl* s = impl();
  auto take_kept = [&]() -> std::optional<int> {
    std::lock_guard<std::mutex> lock(s->mu);
    auto it = s->statuses.find(pid);
    if (it == s->statuses.end()) return std::nullopt;
    int st = it->second;
    s->statuses.erase(it);
    return st;
  };
  if (auto st = take_kept()) return st;
  // A pidfd wakes us the moment the process exits, child or not.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return take_kept();  // already gone and reaped by someone
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (r < 0 && errno == EINTR);
  ::close(fd);
  if (r <= 0) return std::nullopt;
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  Release(pid);
  if (w == pid) return status;
  return take_kept();
}

std::unique_lock<std::mutex> Reaper::SpawnLock() {
  return std::unique_lock<std::mutex>(impl()->mu);
}

void Reaper::NoteSpawned(pid_t pid) { impl()->owned.insert(pid); }

pid_t Reaper::ForkOwned() {
  auto lock = SpawnLock();
  pid_t pid = ::fork();
  if (pid > 0) NoteSpawned(pid);
  return pid;
}

void Reaper::NoteReaped(pid_t pid) {
  Impl* s = impl();
  std::lock_guard<std::mutex> lock(s->mu);
  s->owned.erase(pid);
}

}  // namespace polyarch
