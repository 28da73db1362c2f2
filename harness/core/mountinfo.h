// /proc/<pid>/mountinfo, read once for everyone: the run's mount check, the cgroup roots, the
// host-state snapshots, and the daemons' unmount of what they left.
#ifndef POLYARCH_HARNESS_CORE_MOUNTINFO_H_
#define POLYARCH_HARNESS_CORE_MOUNTINFO_H_

#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

// One line: "id parent major:minor root mount-point options [optional...] - fstype source
// super-options". Paths are unescaped (the kernel writes space, tab, newline and backslash
// as \ooo).
struct Mount {
  int id = 0;
  int parent = 0;
  std::string root;         // the mounted file system's directory that is seen here
  std::string mount_point;  // where it is seen
  std::string options;      // per-mount options (rw, nosuid, ...)
  std::string fstype;
  std::string source;
  std::string super_options;

  // "<mount point> (<fstype>)": how a report names a mount.
  std::string Describe() const;
};

// False for a line that is not one.
bool ParseMountInfoLine(std::string_view line, Mount* out);
// Every well-formed line of a mountinfo text, in order.
std::vector<Mount> ParseMountInfo(std::string_view text);
// /proc/<pid>/mountinfo under `root` ("" is the real /proc; tests point it at a fake tree).
Result<std::vector<Mount>> ReadMountInfo(const std::string& root = "",
                                         const std::string& pid = "self");

// Whether `path` is `dir` or below it.
bool PathUnder(std::string_view path, std::string_view dir);

// The mount points at `dir` or below it, in the order they were mounted.
Result<std::vector<std::string>> MountPointsUnder(const std::string& dir);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_MOUNTINFO_H_
