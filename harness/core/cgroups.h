// Finding and removing the cgroups a run left behind. Runtimes name a container's cgroup
// after it (runc: /<id>; containerd: /<namespace>/<id>; dockerd: /<cgroup-parent>/<id>), and
// polyarch gives every one of those names its run's prefix, so what is the run's can be found
// by name in every mounted hierarchy, v1 and v2, and nothing else is ever touched.
#ifndef POLYARCH_HARNESS_CORE_CGROUPS_H_
#define POLYARCH_HARNESS_CORE_CGROUPS_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

// Mount points of every cgroup (v1) and cgroup2 hierarchy, from the mount table under `root`
// ("" is the real one).
std::vector<std::string> CgroupRoots(const std::string& root = "");

// Top-level cgroups, in any hierarchy, whose name starts with one of `prefixes`.
std::vector<std::string> FindCgroups(const std::vector<std::string>& prefixes);

// Removes a cgroup and the cgroups under it, deepest first. A cgroup that still holds a
// process cannot be removed: the error names it.
Status RemoveCgroupTree(const std::string& path);

// Sends SIGKILL to every process in a cgroup and the cgroups below it, thawing frozen ones
// first (a frozen process cannot act on it). Returns how many were signalled. Only for a
// cgroup whose name says it is polyarch's and whose owner is gone: whatever is in it is left
// over.
int KillCgroupProcesses(const std::string& path);

// RemoveCgroupTree; when something still runs in the tree, KillCgroupProcesses and retry for
// up to `patience` (a killed process leaves its cgroup only once its parent has reaped it).
// `killed`, when given, counts the processes signalled.
Status RemoveCgroupTreeKillingWhatIsLeft(
    const std::string& path, int* killed = nullptr,
    std::chrono::milliseconds patience = std::chrono::milliseconds(3000));

// FindCgroups + RemoveCgroupTree; returns what could not be removed.
std::vector<std::string> RemoveCgroups(const std::vector<std::string>& prefixes);

// One line of /proc/<pid>/cgroup: the hierarchy's controllers ("unified" alone for the v2
// one) and the process's path in it.
struct ProcessCgroup {
  std::vector<std::string> controllers;
  std::string path;
};
// The cgroups process `pid` is in; empty when it is gone.
std::vector<ProcessCgroup> ProcessCgroups(int pid);
// The directory of `path` in the hierarchy of `controller` on this host:
// /sys/fs/cgroup/<controller><path> for v1, and for "unified" /sys/fs/cgroup<path> on a v2
// host, /sys/fs/cgroup/unified<path> on a hybrid one.
std::string CgroupDir(const std::string& controller, const std::string& path);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_CGROUPS_H_
