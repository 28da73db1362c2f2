// Test helper: which processes a test left behind.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
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

// Why the process `pid` is not in a network namespace of its own that holds only a loopback
// ("" when it is): a container with network "none" must not share the host's, nor have an
// interface that could carry traffic off the machine.
inline std::string NotIsolatedFromTheNetwork(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  char host_ns[128] = {0}, its_ns[128] = {0};
  if (::readlink("/proc/self/ns/net", host_ns, sizeof host_ns - 1) <= 0 ||
      ::readlink((proc + "/ns/net").c_str(), its_ns, sizeof its_ns - 1) <= 0) {
    return "cannot read the network namespaces of pid " + std::to_string(pid);
  }
  if (std::string(host_ns) == its_ns) return "pid " + std::to_string(pid) + " shares the host's";
  auto dev = ReadFile(proc + "/net/dev");
  if (!dev.ok()) return dev.status().ToString();
  std::istringstream lines(*dev);
  std::string interfaces;
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") interfaces += " " + name;
  }
  return interfaces.empty() ? "" : "interfaces besides lo:" + interfaces;
}

}  // namespace polyarch
