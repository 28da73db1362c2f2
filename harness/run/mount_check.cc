#include "harness/run/mount_check.h"

#include <set>

#include "binfmt/procfs.h"

namespace polyarch {
namespace {

bool InScope(const Mount& m, const MountScope& scope) {
  for (const auto& root : scope.roots) {
    if (PathUnder(m.mount_point, root)) return true;
  }
  return !scope.run_dir.empty() && (m.source.find(scope.run_dir) != std::string::npos ||
                                    m.super_options.find(scope.run_dir) != std::string::npos);
}

// What a run may leave mounted by design (docs/host.md, what polyarch changes on a host).
bool KeptByDesign(const Mount& m) {
  return m.fstype == "binfmt_misc" && m.mount_point == kBinfmtDir;
}

// The in-scope mounts of `a` that `b` lacks, by mount id.
std::vector<const Mount*> Missing(const std::vector<Mount>& a, const std::vector<Mount>& b,
                                  const MountScope& scope) {
  std::set<int> ids;
  for (const auto& m : b) ids.insert(m.id);
  std::vector<const Mount*> out;
  for (const auto& m : a) {
    if (!ids.count(m.id) && InScope(m, scope)) out.push_back(&m);
  }
  return out;
}

}  // namespace

MountScope RunMountScope(const std::string& state_dir, const std::string& run_dir) {
  return {{state_dir, run_dir, "/run/containerd", "/run/docker", "/var/lib/containerd",
           "/var/lib/docker", std::string(kBinfmtDir), "/sys/fs/cgroup"},
          run_dir};
}

MountDiff DiffMounts(const std::vector<Mount>& before, const std::vector<Mount>& after,
                     const MountScope& scope) {
  MountDiff d;
  for (const Mount* m : Missing(after, before, scope)) {
    (KeptByDesign(*m) ? d.kept_by_design : d.added).push_back(m->Describe());
  }
  for (const Mount* m : Missing(before, after, scope)) d.removed.push_back(m->Describe());
  return d;
}

}  // namespace polyarch
