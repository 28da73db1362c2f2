// The run's last check that it restored the host: the mount table after the run against the
// one before, by mount id (a mount made again is a new mount), over the part of the table a
// run can change. Mounts elsewhere belong to the host's other users, who may mount and unmount
// while a run goes on; binfmt_misc, which a run mounts when the host had not, stays by design.
#ifndef POLYARCH_HARNESS_RUN_MOUNT_CHECK_H_
#define POLYARCH_HARNESS_RUN_MOUNT_CHECK_H_

#include <string>
#include <vector>

#include "harness/core/mountinfo.h"

namespace polyarch {

struct MountScope {
  // Mounts at or below one of these are the run's to answer for: its state directory (run
  // directories, images), the daemons' fixed places, binfmt_misc and the cgroup hierarchies.
  std::vector<std::string> roots;
  // So is a mount whose source or options name this (an overlay over the run's layers).
  std::string run_dir;
};
MountScope RunMountScope(const std::string& state_dir, const std::string& run_dir);

struct MountDiff {
  std::vector<std::string> added;  // Mount::Describe() of each, in table order
  std::vector<std::string> removed;
  std::vector<std::string> kept_by_design;  // binfmt_misc, when the run mounted it
};
MountDiff DiffMounts(const std::vector<Mount>& before, const std::vector<Mount>& after,
                     const MountScope& scope);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_MOUNT_CHECK_H_
