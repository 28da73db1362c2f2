// Facts about the host that results depend on: kernel, CPU, cgroup layout, tool versions.
// `polyarch doctor` judges them; reports record them in their context block.
#ifndef POLYARCH_HARNESS_HOST_FACTS_H_
#define POLYARCH_HARNESS_HOST_FACTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

struct KernelVersion {
  std::string release;  // uname -r
  int major = 0, minor = 0, patch = 0;
  bool AtLeast(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
};
KernelVersion ParseKernelRelease(std::string_view release);

enum class CgroupMode { kNone, kV1, kV2, kHybrid };
std::string_view CgroupModeName(CgroupMode m);

struct CgroupLayout {
  CgroupMode mode = CgroupMode::kNone;
  std::string v2_mount;                         // "" when there is no v2 hierarchy
  std::vector<std::string> v2_controllers;      // cgroup.controllers of the v2 root
  std::vector<std::string> v1_controllers;      // controllers bound to a mounted v1 hierarchy
  std::vector<std::string> kernel_controllers;  // enabled in /proc/cgroups

  bool Has(std::string_view controller) const;  // usable through v1 or v2
};

// Pure: from /proc/self/mountinfo, the v2 root's cgroup.controllers (may be empty), and
// /proc/cgroups.
CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view v2_controllers,
                               std::string_view proc_cgroups);
Result<CgroupLayout> DetectCgroupLayout();

struct HostFacts {
  std::string hostname;
  KernelVersion kernel;
  std::string machine;    // uname -m
  std::string cpu_model;  // /proc/cpuinfo "model name"
  int cpus = 0;
  int64_t memory_bytes = 0;  // /proc/meminfo MemTotal
  std::string distro;        // /etc/os-release PRETTY_NAME
  // /etc/machine-id as read: never reported as is (reports carry a hash of it).
  std::string machine_id;
  CgroupLayout cgroups;
};
// Pure: MemTotal of /proc/meminfo in bytes (0 when absent), PRETTY_NAME of os-release text
// (NAME VERSION_ID when it has none).
int64_t ParseMemTotal(std::string_view meminfo);
std::string ParseOsReleaseName(std::string_view os_release);
HostFacts CollectHostFacts();

// First line of `<program> <version_flag>`, or the error; bounded by a short deadline.
struct ToolVersion {
  std::string program;
  std::string path;     // "" when not found
  std::string version;  // first dotted number found in the output, e.g. "1.1.5"
  std::string line;     // the first output line as printed
  Status status;
};
ToolVersion ProbeToolVersion(const std::string& program, const std::string& version_flag);
// "runc version 1.1.5+ds1" -> "1.1.5+ds1"
std::string ExtractVersion(std::string_view text);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_HOST_FACTS_H_
