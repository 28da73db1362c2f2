// Finding and removing the cgroups a run left behind. Runtimes name a container's cgroup
// after it (runc: /<id>; containerd: /<namespace>/<id>; dockerd: /<cgroup-parent>/<id>), and
// polyarch gives every one of those names its run's prefix, so what is the run's can be found
// by name in every mounted hierarchy, v1 and v2, and nothing else is ever touched.
#ifndef POLYARCH_HARNESS_CORE_CGROUPS_H_
#define POLYARCH_HARNESS_CORE_CGROUPS_H_

#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

// Mount points of every cgroup (v1) and cgroup2 hierarchy.
std::vector<std::string> CgroupRoots();

// Top-level cgroups, in any hierarchy, whose name starts with one of `prefixes`.
std::vector<std::string> FindCgroups(const std::vector<std::string>& prefixes);

// Removes a cgroup and the cgroups under it, deepest first. A cgroup that still holds a
// process cannot be removed: the error names it.
Status RemoveCgroupTree(const std::string& path);

// FindCgroups + RemoveCgroupTree; returns what could not be removed.
std::vector<std::string> RemoveCgroups(const std::vector<std::string>& prefixes);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_CGROUPS_H_
