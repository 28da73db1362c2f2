// Settings of a container's OCI config beyond its process arguments and environment: what the
// spec suite gives a container and then checks from inside it. Every field is optional; an
// unset field leaves the layer's default. The OCI runtime layers and containerd write them into
// the config.json they hand the runtime (ApplySpecSettings); an engine layer maps what its API
// can express and declares the rest (Capabilities::settings).
#ifndef POLYARCH_HARNESS_CORE_SPEC_SETTINGS_H_
#define POLYARCH_HARNESS_CORE_SPEC_SETTINGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyarch {

// One bit per group of settings a layer may or may not be able to express.
enum SpecSetting : uint32_t {
  kSetCwd = 1u << 0,
  kSetUser = 1u << 1,            // uid and gid
  kSetAdditionalGids = 1u << 2,  // supplementary groups
  kSetUmask = 1u << 3,
  kSetCapabilities = 1u << 4,   // the five sets, each its own list
  kSetCapabilitySet = 1u << 5,  // one list for bounding, effective and permitted (an engine's)
  kSetNoNewPrivileges = 1u << 6,
  kSetRlimits = 1u << 7,
  kSetOomScoreAdj = 1u << 8,
  kSetHostname = 1u << 9,
  kSetDomainname = 1u << 10,
  kSetReadonlyRoot = 1u << 11,
  kSetMounts = 1u << 12,         // mounts in a given order, any type and options
  kSetTmpfsMounts = 1u << 13,    // tmpfs mounts with options, order not given
  kSetNamespaces = 1u << 14,     // which namespaces are new, inherited or joined by path
  kSetUserNamespace = 1u << 15,  // a user namespace with uid/gid mappings
  kSetSysctl = 1u << 16,
  kSetDevices = 1u << 17,  // extra device nodes with mode and owner
  kSetMaskedPaths = 1u << 18,
  kSetReadonlyPaths = 1u << 19,
  kSetRootfsPropagation = 1u << 20,
  kSetCgroupLimits = 1u << 21,  // memory, cpu shares/quota/period, pids
  kSetSeccomp = 1u << 22,
  kSetAnnotations = 1u << 23,
  kSetHooks = 1u << 24,
  kSetCgroupsPath = 1u << 25,
  // What the config leaves unset stays unset: the runtime gets the config as written (an
  // engine fills in its own defaults instead).
  kSetVerbatim = 1u << 26,
  kSetBlkio = 1u << 27,  // block I/O throttles of a host device
};
inline constexpr uint32_t kAllSpecSettings = (1u << 28) - 1;

struct RlimitSetting {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t soft = 0, hard = 0;
};

struct MountSetting {
  std::string destination, type, source;
  std::vector<std::string> options;
};

struct CapabilitySets {
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

struct NamespaceSetting {
  std::string type;  // OCI name: pid, network, mount, ipc, uts, user, cgroup
  std::string path;  // join this namespace; "" for a new one
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct DeviceSetting {
  std::string path;
  char type = 'c';
  int64_t major = 0, minor = 0;
  uint32_t file_mode = 0666;
  uint32_t uid = 0, gid = 0;
};

struct SeccompErrnoRule {
  std::string syscall;  // the host's name for it: the filter sees the host's syscalls
  int errno_ret = 1;
};

struct Seccomp {
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<SeccompErrnoRule> rules;     // everything else is allowed
};

// A block I/O throttle on one of the host's block devices (a whole disk).
struct BlkioThrottle {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
  std::string path;  // the host's device node, for an engine that names devices by path
};

struct CgroupLimits {
  std::optional<int64_t> memory_limit;  // bytes
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;  // microseconds per period
  std::optional<uint64_t> cpu_period;
  std::optional<int64_t> pids_limit;
};

struct BlkioLimits {
  std::vector<BlkioThrottle> read_bps, write_iops;  // throttleReadBpsDevice, ...WriteIOPSDevice
};

struct HookSetting {
  std::string path;
  std::vector<std::string> args;  // args[0] included
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct SpecSettings {
  std::optional<std::string> cwd;
  std::optional<uint32_t> uid, gid;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  std::optional<CapabilitySets> capabilities;
  std::optional<std::vector<std::string>> capability_set;  // an engine's single list
  std::optional<bool> no_new_privileges;
  std::vector<RlimitSetting> rlimits;
  std::optional<int> oom_score_adj;
  std::optional<std::string> hostname, domainname;
  std::optional<bool> readonly_root;
  // Added after the layer's own mounts, in this order.
  std::vector<MountSetting> mounts;
  // Replaces the namespace list when set.
  std::optional<std::vector<NamespaceSetting>> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::vector<DeviceSetting> devices;
  std::optional<std::vector<std::string>> masked_paths, readonly_paths;
  std::optional<std::string> rootfs_propagation;
  std::optional<CgroupLimits> cgroup_limits;
  std::optional<BlkioLimits> blkio;
  std::optional<std::string> cgroups_path;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::vector<HookSetting>> hooks;  // "prestart" -> hooks in order

  // The SpecSetting bits of the fields that are set.
  uint32_t Used() const;
};

// Writes `s` into an OCI runtime-spec config.
void ApplySpecSettings(const SpecSettings& s, nlohmann::json* config);

// The rlimit value that means "no limit" (RLIM_INFINITY as an OCI config writes it).
inline constexpr uint64_t kRlimInfinity = ~uint64_t{0};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_SPEC_SETTINGS_H_
