// Test helper: which processes a test left behind.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "harness/core/fs.h"

namespace polyarch {

// PIDs of the processes whose command line mentions `needle`: a test's own temporary
// directory, which the daemons, shims and runtimes it started all name.
inline std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return pids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto cmdline = ReadFile(std::string("/proc/") + e->d_name + "/cmdline", 1 << 20);
    if (cmdline.ok() && cmdline->find(needle) != std::string::npos) {
      pids.push_back(std::atoi(e->d_name));
    }
  }
  ::closedir(d);
  return pids;
}

}  // namespace polyarch
