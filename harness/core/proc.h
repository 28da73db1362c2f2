// /proc/<pid>/stat, read the same way for everyone: the reaper, the daemons' recovery, the
// host-state snapshots, the lifecycle suite's CPU-time check and the throughput suite's CPU
// accounting.
#ifndef POLYARCH_HARNESS_CORE_PROC_H_
#define POLYARCH_HARNESS_CORE_PROC_H_

#include <sys/types.h>

#include <string>
#include <string_view>

namespace polyarch {

struct ProcStat {
  pid_t pid = 0;
  std::string comm;  // without the parentheses; may hold spaces and parentheses itself
  char state = '?';  // R, S, D, Z, T, ...
  pid_t ppid = 0;
  long utime = 0;  // clock ticks in user mode
  long stime = 0;  // clock ticks in kernel mode

  long CpuTicks() const { return utime + stime; }
  double CpuSeconds() const;
};

// Parses one stat line: "pid (comm) state ppid pgrp ... utime stime ...". The command name
// ends at the last ')'. False for text that is not such a line.
bool ParseProcStat(std::string_view text, ProcStat* out);

// /proc/<pid>/stat under `root` ("" is the real /proc; tests point it at a fake tree).
bool ReadProcStat(pid_t pid, ProcStat* out, const std::string& root = "");

// True when `pid` no longer runs: gone, or a zombie nobody has reaped yet.
bool ProcessGone(pid_t pid);

// The CPUs this process may run on (its affinity mask, which a container or `taskset`
// narrows), at least 1.
int UsableCores();

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_PROC_H_
