// polyarch as a child subreaper.
//
// `runc create` (and crun) leave the container's init process orphaned when they exit; the
// kernel hands it to the nearest subreaper ancestor. With polyarch as that subreaper it can
// wait for the container's exit and learn its status, which the OCI runtime CLI does not
// report. Daemonized descendants (containerd shims, a test child's grandchild) end up here
// too: a background thread reaps every adopted zombie nobody claimed, keeping its status
// for a while in case a driver asks for it late. Processes polyarch spawns itself are
// registered under a lock across the spawn, so the reaper never takes them.
#ifndef POLYARCH_HARNESS_CORE_REAPER_H_
#define POLYARCH_HARNESS_CORE_REAPER_H_

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>

#include "harness/core/status.h"

namespace polyarch {

class Reaper {
 public:
  static Reaper& Instance();

  // Marks polyarch a child subreaper (prctl) and starts the reaping thread. Idempotent.
  Status Enable();
  bool enabled() const;

  // Claims an adopted process (a container's init) so only WaitFor takes its status.
  void Claim(pid_t pid);
  void Release(pid_t pid);
  // Waits for a claimed (or already reaped) process to end; its wait(2) status, or nullopt
  // when `timeout` passes first or the process was never polyarch's to wait for.
  std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout);

  // For the spawner: hold across posix_spawn and NoteSpawned so the reaper never races it.
  std::unique_lock<std::mutex> SpawnLock();
  void NoteSpawned(pid_t pid);  // call with SpawnLock held
  void NoteReaped(pid_t pid);

  // fork() whose child the reaper leaves to the caller's waitpid; call NoteReaped after.
  pid_t ForkOwned();

 private:
  Reaper() = default;
  void Loop();
  struct Impl;
  Impl* impl();
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_REAPER_H_
