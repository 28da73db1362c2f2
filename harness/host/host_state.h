// What polyarch could leave behind on a host, as a value that can be taken before and after
// something and compared: the fault suite's proof that a scenario cleaned up after itself.
//
// The snapshot is scoped to what polyarch itself could have left, so that other users of a busy
// shared machine (their own containerd, their mounts, their binfmt entries) do not show up as
// differences:
//   - processes whose command line names one of the scope's directories or tokens, whose
//     cgroup names a token (a container's process), or whose command line names containerd,
//     containerd-shim, dockerd, runc or crun while being a descendant of polyarch;
//   - zombies that are polyarch's own children (nobody reaped them);
//   - mounts (mount point + file system type) whose mount point, source or options name a scope
//     directory, or that lie under the host paths the stack fixes (/run/containerd,
//     /run/docker, /var/lib/containerd, /var/lib/docker, binfmt_misc, the cgroup hierarchies);
//   - top-level cgroups of every hierarchy whose name starts with a token;
//   - binfmt_misc entries (name + status text) whose name starts with a token or is watched;
//   - unix sockets under the scope's directories, and under /run/containerd/s and /run/docker
//     when no process outside the scope listens on them (a stale socket is anyone's leak);
//   - which of the directories the stack creates at fixed paths (/run/containerd and its s/ and
//     runc/, /run/docker and its plugins/) exist: one created and left behind is a leak;
//   - files and directories under /run/containerd and /run/docker (the paths containerd, its
//     shims, runc and dockerd fix outside any run directory) whose name starts with a token.
#ifndef POLYARCH_HARNESS_HOST_HOST_STATE_H_
#define POLYARCH_HARNESS_HOST_HOST_STATE_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyarch {

struct HostStateScope {
  std::vector<std::string> dirs;    // absolute; whatever names them is in scope
  std::vector<std::string> tokens;  // name prefixes: container ids, run ids, entry prefixes
  std::vector<std::string> process_names = {"containerd", "containerd-shim", "dockerd", "runc",
                                            "crun"};
  std::vector<std::string> binfmt_names;  // entries watched whatever their name
  std::vector<std::string> socket_dirs = {"/run/containerd/s", "/run/docker"};
  std::vector<std::string> name_dirs = {"/run/containerd", "/run/docker"};
  // Directories the stack creates at fixed paths when missing: whether each exists.
  std::vector<std::string> fixed_dirs = {"/run/containerd", "/run/containerd/s",
                                         "/run/containerd/runc", "/run/docker",
                                         "/run/docker/plugins"};
  std::vector<std::string> mount_roots = {"/run/containerd",          "/run/docker",
                                          "/var/lib/containerd",      "/var/lib/docker",
                                          "/proc/sys/fs/binfmt_misc", "/sys/fs/cgroup"};
  pid_t self = 0;  // polyarch's pid; 0 means getpid()
  // Where the host's files are read: "" is this host; tests point it at a fake tree holding
  // proc/, sys/fs/cgroup/, run/ as they would be. Paths in the snapshot are the host's, without
  // it.
  std::string root;
};

struct HostProcess {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';               // from /proc/<pid>/stat: R, S, D, Z, ...
  std::vector<std::string> argv;  // for a zombie (no command line left): {"[comm]"}

  friend bool operator==(const HostProcess&, const HostProcess&) = default;
};

struct HostState {
  std::vector<HostProcess> processes;         // by pid
  std::vector<HostProcess> zombies;           // polyarch's unreaped children, by pid
  std::vector<std::string> mounts;            // "<mount point> <fstype>", sorted (a multiset)
  std::vector<std::string> cgroups;           // "<hierarchy root>/<name>", sorted
  std::map<std::string, std::string> binfmt;  // entry name -> status text
  std::vector<std::string> sockets;           // paths, sorted
  std::vector<std::string> paths;             // named with a token under name_dirs, sorted
  std::vector<std::string> fixed_dirs;        // those of scope.fixed_dirs that exist, sorted
};

HostState TakeHostState(const HostStateScope& scope);

// What changed from `before` to `after`, by category, each with "added" and "removed" lists
// (binfmt also "changed": {name, before, after}); categories without a change are left out, so
// nothing changed is an empty object. A process that kept its pid but not its command line
// counts as removed and added.
nlohmann::json DiffHostState(const HostState& before, const HostState& after);

// How many things of each category the snapshot saw: evidence that a check really looked.
nlohmann::json HostStateCounts(const HostState& state);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_HOST_HOST_STATE_H_
