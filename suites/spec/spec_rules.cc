// The spec suite's configs and rules (spec_suite.h). Each rule's text says in polyarch's words
// what the cited section requires; docs/spec.md lists them all.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "binfmt/arch.h"
#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/json_read.h"
#include "harness/core/proc.h"
#include "harness/core/strings.h"
#include "suites/spec/spec_suite.h"

namespace polyarch {

using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------
// Reading the observation (never throws: a missing or odd field is a reason)

const json* At(const json& j, std::initializer_list<std::string_view> path) {
  const json* p = &j;
  for (std::string_view k : path) {
    if (!p->is_object()) return nullptr;
    auto it = p->find(k);
    if (it == p->end()) return nullptr;
    p = &*it;
  }
  return p;
}

std::string Seen(const json* v) { return v == nullptr ? "nothing" : DescribeJson(*v); }

std::optional<int64_t> IntAt(const json& j, std::initializer_list<std::string_view> path) {
  const json* v = At(j, path);
  if (v == nullptr) return std::nullopt;
  return JsonInteger<int64_t>(*v);
}

std::string StrAt(const json& j, std::initializer_list<std::string_view> path) {
  const json* v = At(j, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// The mountinfo entry the process sees at `mount_point` (the last one: what is visible).
const json* MountAt(const SpecObservation& o, const std::string& mount_point) {
  const json* m = At(o.record, {"mountinfo"});
  if (m == nullptr || !m->is_array()) return nullptr;
  const json* found = nullptr;
  for (const json& e : *m) {
    if (StrAt(e, {"mount_point"}) == mount_point) found = &e;
  }
  return found;
}

bool HasOption(const std::string& options, const std::string& opt) {
  for (const auto& o : Split(options, ',')) {
    if (o == opt) return true;
  }
  return false;
}

std::string ErrnoOf(const json& o, const char* group, const std::string& key) {
  return StrAt(o, {group, key, "errno"});
}

std::string Octal(int64_t v) {
  std::ostringstream s;
  s << "0" << std::oct << v;
  return s.str();
}

// ---------------------------------------------------------------------------------------
// Capabilities

const std::vector<std::string>& CapNames() {
  static const auto* v = new std::vector<std::string>{"CAP_CHOWN",
                                                      "CAP_DAC_OVERRIDE",
                                                      "CAP_DAC_READ_SEARCH",
                                                      "CAP_FOWNER",
                                                      "CAP_FSETID",
                                                      "CAP_KILL",
                                                      "CAP_SETGID",
                                                      "CAP_SETUID",
                                                      "CAP_SETPCAP",
                                                      "CAP_LINUX_IMMUTABLE",
                                                      "CAP_NET_BIND_SERVICE",
                                                      "CAP_NET_BROADCAST",
                                                      "CAP_NET_ADMIN",
                                                      "CAP_NET_RAW",
                                                      "CAP_IPC_LOCK",
                                                      "CAP_IPC_OWNER",
                                                      "CAP_SYS_MODULE",
                                                      "CAP_SYS_RAWIO",
                                                      "CAP_SYS_CHROOT",
                                                      "CAP_SYS_PTRACE",
                                                      "CAP_SYS_PACCT",
                                                      "CAP_SYS_ADMIN",
                                                      "CAP_SYS_BOOT",
                                                      "CAP_SYS_NICE",
                                                      "CAP_SYS_RESOURCE",
                                                      "CAP_SYS_TIME",
                                                      "CAP_SYS_TTY_CONFIG",
                                                      "CAP_MKNOD",
                                                      "CAP_LEASE",
                                                      "CAP_AUDIT_WRITE",
                                                      "CAP_AUDIT_CONTROL",
                                                      "CAP_SETFCAP",
                                                      "CAP_MAC_OVERRIDE",
                                                      "CAP_MAC_ADMIN",
                                                      "CAP_SYSLOG",
                                                      "CAP_WAKE_ALARM",
                                                      "CAP_BLOCK_SUSPEND",
                                                      "CAP_AUDIT_READ",
                                                      "CAP_PERFMON",
                                                      "CAP_BPF",
                                                      "CAP_CHECKPOINT_RESTORE"};
  return *v;
}

// The names of the bits set in a /proc/<pid>/status capability mask ("00000000a80425fb").
std::optional<std::set<std::string>> CapsFromMask(const std::string& hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  char* end = nullptr;
  uint64_t mask = std::strtoull(hex.c_str(), &end, 16);
  if (*end != '\0') return std::nullopt;
  std::set<std::string> out;
  for (int bit = 0; bit < 64; ++bit) {
    if ((mask >> bit) & 1u) {
      out.insert(bit < static_cast<int>(CapNames().size()) ? CapNames()[bit]
                                                           : "cap_" + std::to_string(bit));
    }
  }
  return out;
}

std::string JoinSet(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out.empty() ? "(none)" : out;
}

// The set `which` the process has after the runtime's execve of its program, given the sets
// the settings configure. The runtime sets them before it executes the program; execve then
// derives the new sets (capabilities(7); the probe, and QEMU as binfmt_misc runs it, carry no
// file capabilities): bounding, inheritable and ambient stay; for uid 0 permitted and effective
// become bounding | inheritable, for any other uid they become the ambient set.
std::optional<std::set<std::string>> ExpectedCaps(const SpecSettings& s, const std::string& which) {
  std::vector<std::string> bnd, inh, amb;
  if (s.capabilities) {
    bnd = s.capabilities->bounding;
    inh = s.capabilities->inheritable;
    amb = s.capabilities->ambient;
  } else if (s.capability_set) {
    bnd = *s.capability_set;
  } else {
    return std::nullopt;
  }
  auto set = [](const std::vector<std::string>& v) {
    return std::set<std::string>(v.begin(), v.end());
  };
  if (which == "bounding") return set(bnd);
  if (which == "inheritable") return set(inh);
  if (which == "ambient") return set(amb);
  if (s.uid.value_or(0) != 0) return set(amb);
  std::set<std::string> p = set(bnd);
  p.insert(inh.begin(), inh.end());
  return p;
}

std::string CheckCaps(const SpecObservation& o, const std::string& which, const char* field) {
  auto want = ExpectedCaps(o.settings, which);
  if (!want) return "the config sets no " + which + " capabilities";
  std::string hex = StrAt(o.record, {"status", field});
  auto got = CapsFromMask(hex);
  if (!got) {
    return "/proc/self/status " + std::string(field) + " is " +
           Seen(At(o.record, {"status", field}));
  }
  if (*got == *want) return "";
  return "the " + which + " set is {" + JoinSet(*got) + "}, the config gives {" + JoinSet(*want) +
         "} (after execve)";
}

// ---------------------------------------------------------------------------------------
// Cgroups

constexpr uint64_t kBlkioReadBps = 1048576;
constexpr uint64_t kBlkioWriteIops = 120;

// The files the cgroups config's process reads from inside: v1 (a hierarchy per controller)
// and v2 (one unified hierarchy) names, for memory, pids and cpu.
const std::vector<std::pair<std::string, std::string>>& CgroupInsideFiles() {
  static const auto* v = new std::vector<std::pair<std::string, std::string>>{
      {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"},
      {"/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"},
      {"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu.max"}};
  return *v;
}

std::vector<std::string> CgroupInsideReads() {
  std::vector<std::string> args;
  for (const auto& [v1, v2] : CgroupInsideFiles()) {
    args.insert(args.end(), {"--read", v1, "--read", v2});
  }
  return args;
}

// A whole disk of the host's for the block I/O throttles (the kernel throttles disks, not
// partitions): the first of /sys/block that is not a loop, ram or zram device and has a node
// in /dev. None: the blkio rules are skipped.
std::optional<BlkioThrottle> HostDisk() {
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n[0] == '.' || n.rfind("loop", 0) == 0 || n.rfind("ram", 0) == 0 ||
        n.rfind("zram", 0) == 0) {
      continue;
    }
    names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto dev = ReadFile("/sys/block/" + n + "/dev", 64);
    if (!dev.ok()) continue;
    std::vector<std::string> mm = Split(std::string(Trim(*dev)), ':');
    if (mm.size() != 2 || !PathExists("/dev/" + n)) continue;
    BlkioThrottle t;
    t.major = std::atoll(mm[0].c_str());
    t.minor = std::atoll(mm[1].c_str());
    t.path = "/dev/" + n;
    return t;
  }
  return std::nullopt;
}

// What the process read of a cgroup file from inside: the v1 file's content, else the v2
// one's ("" and `where` the reasons when neither could be read).
std::string CgroupInside(const SpecObservation& o, size_t index, std::string* where) {
  const auto& [v1, v2] = CgroupInsideFiles().at(index);
  for (const std::string& p : {v1, v2}) {
    const json* r = At(o.record, {"reads", p});
    if (r != nullptr && At(*r, {"content"}) != nullptr) {
      *where = p;
      return std::string(Trim(StrAt(*r, {"content"})));
    }
  }
  auto failed = [&](const std::string& p) {
    std::string e = StrAt(o.record, {"reads", p, "errno"});
    return p + ": " + (e.empty() ? Seen(At(o.record, {"reads", p})) : e);
  };
  *where = failed(v1) + ", " + failed(v2);
  return "";
}

std::string CheckCgroupInside(const SpecObservation& o, size_t index, const std::string& want_v1,
                              const std::string& want_v2) {
  std::string where;
  std::string v = CgroupInside(o, index, &where);
  if (v.empty()) return "the container cannot read its cgroup's limit: " + where;
  const std::string& want = where == CgroupInsideFiles().at(index).first ? want_v1 : want_v2;
  return v == want ? "" : "inside, " + where + " is '" + v + "', the config gives '" + want + "'";
}

// Whether the host's blkio (v1) or io (v2) file of the container's cgroup throttles
// `t` as `v1_line` / `v2_key` says.
std::string CheckBlkio(const SpecObservation& o, const std::vector<BlkioThrottle>* ts,
                       const char* v1_file, const char* v2_key) {
  if (ts == nullptr || ts->empty()) return "SKIP: the host has no whole disk to throttle";
  const BlkioThrottle& t = ts->front();
  const std::string dev = std::to_string(t.major) + ":" + std::to_string(t.minor);
  const json* v1 = At(o.host, {"cgroup", "blkio", v1_file});
  const json* v2 = At(o.host, {"cgroup", "unified", "io.max"});
  if (v1 != nullptr && v1->is_string()) {
    for (const auto& line : Split(v1->get<std::string>(), '\n')) {
      if (std::string(Trim(line)) == dev + " " + std::to_string(t.rate)) return "";
    }
    return std::string("blkio/") + v1_file + " is " + Seen(v1) + ", the config gives '" + dev +
           " " + std::to_string(t.rate) + "'";
  }
  if (v2 != nullptr && v2->is_string()) {
    const std::string want = std::string(v2_key) + "=" + std::to_string(t.rate);
    for (const auto& line : Split(v2->get<std::string>(), '\n')) {
      if (line.rfind(dev + " ", 0) != 0) continue;
      for (const auto& field : Split(line, ' ')) {
        if (field == want) return "";
      }
    }
    return "io.max is " + Seen(v2) + ", the config gives " + dev + " " + want;
  }
  if (At(o.host, {"cgroup", "blkio"}) == nullptr && At(o.host, {"cgroup", "unified"}) == nullptr) {
    return "SKIP: the container is in no blkio or io cgroup on this host";
  }
  return "the host shows no " + std::string(v1_file) + " or io.max for the container's cgroup";
}

// ---------------------------------------------------------------------------------------
// The configs

// Limits the process config lowers (or keeps): any runtime can set them, whatever the user.
const std::vector<RlimitSetting>& Rlimits() {
  static const auto* v = new std::vector<RlimitSetting>{
      {"RLIMIT_NOFILE", 513, 1025},        {"RLIMIT_CORE", 0, 4194304},
      {"RLIMIT_NPROC", 3001, 4001},        {"RLIMIT_MSGQUEUE", 409600, 819200},
      {"RLIMIT_SIGPENDING", 1001, 2001},   {"RLIMIT_MEMLOCK", 65536, 131072},
      {"RLIMIT_CPU", 3600, kRlimInfinity}, {"RLIMIT_STACK", 16777216, kRlimInfinity},
  };
  return *v;
}

// Limits whose hard value is above the host's (0 for both): only a privileged caller can
// raise them, so a runtime must set them before the process gives up root.
const std::vector<RlimitSetting>& RaisedRlimits() {
  static const auto* v =
      new std::vector<RlimitSetting>{{"RLIMIT_NICE", 0, 10}, {"RLIMIT_RTPRIO", 0, 5}};
  return *v;
}

bool Can(const Capabilities& caps, uint32_t bits) { return (caps.settings & bits) != 0; }

// Mounts the filesystem config adds: tmpfs mounts any layer with tmpfs options can give,
// then the rest.
std::vector<MountSetting> FilesystemMounts(const Capabilities& caps) {
  std::vector<MountSetting> v;
  if (Can(caps, kSetMounts)) {
    v.push_back({"/dev/pts",
                 "devpts",
                 "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}});
    v.push_back(
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}});
    v.push_back({"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}});
    v.push_back({"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}});
  }
  if (Can(caps, kSetMounts | kSetTmpfsMounts)) {
    v.push_back({"/tmp/m/ro", "tmpfs", "tmpfs", {"ro", "size=1m"}});
    v.push_back({"/tmp/m/nosuid", "tmpfs", "tmpfs", {"nosuid", "size=1m"}});
    v.push_back({"/tmp/m/nodev", "tmpfs", "tmpfs", {"nodev", "size=1m"}});
    v.push_back({"/tmp/m/noexec", "tmpfs", "tmpfs", {"noexec", "size=1m"}});
    v.push_back({"/tmp/m/mode", "tmpfs", "tmpfs", {"mode=0710", "size=1m"}});
    v.push_back({"/tmp/m/rwlater", "tmpfs", "tmpfs", {"size=1m"}});
  }
  if (Can(caps, kSetMounts)) {
    v.push_back({"/tmp/m/os-release", "bind", "/etc/os-release", {"rbind", "ro"}});
  }
  return v;
}

std::vector<std::string> DefaultMasked() {
  return {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"};
}

const std::map<std::string, std::string>& Sysctls() {
  static const auto* m = new std::map<std::string, std::string>{
      {"kernel.msgmax", "16384"},
      {"kernel.shmmni", "2048"},
      {"net.ipv4.ip_unprivileged_port_start", "80"},
  };
  return *m;
}

std::string SysctlFile(const std::string& key) {
  std::string f = "/proc/sys/" + key;
  std::replace(f.begin() + 10, f.end(), '.', '/');
  return f;
}

// Default devices: path, major, minor.
struct Dev {
  const char* path;
  int major, minor;
};
const std::vector<Dev>& DefaultDevices() {
  static const auto* v =
      new std::vector<Dev>{{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                           {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  return *v;
}

const std::vector<std::pair<std::string, std::string>>& DevLinks() {
  static const auto* v =
      new std::vector<std::pair<std::string, std::string>>{{"/dev/fd", "/proc/self/fd"},
                                                           {"/dev/stdin", "/proc/self/fd/0"},
                                                           {"/dev/stdout", "/proc/self/fd/1"},
                                                           {"/dev/stderr", "/proc/self/fd/2"}};
  return *v;
}

constexpr char kExtraDevice[] = "/dev/polyarch-null";
constexpr char kStartContainerMark[] = "/tmp/.polyarch-hook-startContainer";

// The hooks config's annotations: a dotted key, and a value with a space and a quote.
const std::map<std::string, std::string>& CheckAnnotations() {
  static const auto* m = new std::map<std::string, std::string>{
      {"org.polyarch.check", "hooks"}, {"org.polyarch.value", "two words, one \"quote\""}};
  return *m;
}
constexpr char kRootWrite[] = "/polyarch-root-write";
constexpr char kSeccompDenied[] = "getpgid";
constexpr char kSeccompAllowed[] = "getsid";
constexpr int kSeccompErrno = 33;  // EDOM, the same number on every Linux architecture

std::vector<std::string> SeccompArches() {
  std::string_view host = HostArch() ? HostArch()->name : "";
  if (host == "amd64") return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  if (host == "aarch64") return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  if (host == "ppc64le") return {"SCMP_ARCH_PPC64LE"};
  if (host == "s390x") return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
  if (host == "riscv64") return {"SCMP_ARCH_RISCV64"};
  return {};
}

std::vector<SpecConfig> MakeConfigs() {
  std::vector<SpecConfig> v;
  v.push_back(
      {"process",
       [](const Capabilities& caps, const std::string&, int, const std::string&) {
         SpecSettings s;
         if (Can(caps, kSetCwd)) s.cwd = "/etc";
         if (Can(caps, kSetUser)) s.uid = s.gid = 1000;
         if (Can(caps, kSetAdditionalGids)) s.additional_gids = {2000, 3000};
         if (Can(caps, kSetUmask)) s.umask = 027;
         if (Can(caps, kSetCapabilities)) {
           s.capabilities = CapabilitySets{
               {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_AUDIT_WRITE"},
               {"CAP_KILL", "CAP_CHOWN"},
               {"CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
               {"CAP_KILL", "CAP_NET_BIND_SERVICE"},
               {"CAP_NET_BIND_SERVICE"}};
         } else if (Can(caps, kSetCapabilitySet)) {
           s.capability_set = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
         }
         if (Can(caps, kSetNoNewPrivileges)) s.no_new_privileges = true;
         if (Can(caps, kSetRlimits)) s.rlimits = Rlimits();
         if (Can(caps, kSetOomScoreAdj)) s.oom_score_adj = 123;
         if (Can(caps, kSetHostname)) s.hostname = "polyarch-spec";
         if (Can(caps, kSetDomainname)) s.domainname = "spec.polyarch.test";
         return s;
       },
       {"--note", "two words", "--note", "", "--note", "x=y"},
       false,
       {"POLYARCH_SPEC_ONE=1", "POLYARCH_SPEC_TWO=two words=and equals", "POLYARCH_SPEC_EMPTY="}});
  v.push_back({"rlimits_raised",
               [](const Capabilities&, const std::string&, int, const std::string&) {
                 SpecSettings s;
                 s.uid = s.gid = 1000;
                 s.rlimits = RaisedRlimits();
                 return s;
               },
               {},
               false,
               {}});
  v.push_back({"defaults",
               [](const Capabilities&, const std::string&, int, const std::string&) {
                 return SpecSettings();
               },
               {},
               false,
               {}});
  {
    std::vector<std::string> args = {"--write", kRootWrite};
    for (const char* p :
         {"/tmp/m/ro/x", "/tmp/m/rwlater/x", "/tmp/m/nosuid/x", "/sys/firmware/x"}) {
      args.insert(args.end(), {"--write", p});
    }
    for (const char* p : {"/tmp/m/os-release", "/proc/timer_list", "/proc/keys"}) {
      args.insert(args.end(), {"--read", p});
    }
    for (const auto& [k, val] : Sysctls()) args.insert(args.end(), {"--read", SysctlFile(k)});
    for (const Dev& d : DefaultDevices()) args.insert(args.end(), {"--stat", d.path});
    for (const auto& [l, t] : DevLinks()) args.insert(args.end(), {"--stat", l});
    args.insert(args.end(),
                {"--stat", "/dev/ptmx", "--stat", kExtraDevice, "--stat", "/tmp/m/mode"});
    v.push_back({"filesystem",
                 [](const Capabilities& caps, const std::string&, int, const std::string&) {
                   SpecSettings s;
                   if (Can(caps, kSetReadonlyRoot)) s.readonly_root = true;
                   s.mounts = FilesystemMounts(caps);
                   if (Can(caps, kSetDevices)) {
                     s.devices.push_back({kExtraDevice, 'c', 1, 3, 0640, 0, 1000});
                   }
                   if (Can(caps, kSetMaskedPaths)) s.masked_paths = DefaultMasked();
                   if (Can(caps, kSetReadonlyPaths)) {
                     s.readonly_paths = std::vector<std::string>{"/proc/sys", "/proc/sysrq-trigger",
                                                                 "/proc/irq", "/proc/bus"};
                     if (Can(caps, kSetMounts | kSetTmpfsMounts)) {
                       s.readonly_paths->push_back("/tmp/m/rwlater");
                     }
                   }
                   if (Can(caps, kSetSysctl)) s.sysctl = Sysctls();
                   return s;
                 },
                 args,
                 false,
                 {}});
  }
  auto namespaces = [](std::vector<NamespaceSetting> ns) {
    return [ns](const Capabilities&, const std::string&, int sibling, const std::string&) {
      SpecSettings s;
      s.namespaces = ns;
      for (auto& n : *s.namespaces) {
        if (n.path == "sibling")
          n.path =
              "/proc/" + std::to_string(sibling) + "/ns/" + (n.type == "network" ? "net" : n.type);
      }
      return s;
    };
  };
  v.push_back(
      {"namespaces",
       namespaces(
           {{"pid", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}, {"network", ""}, {"cgroup", ""}}),
       {},
       false,
       {}});
  v.push_back(
      {"ns_inherit", namespaces({{"pid", ""}, {"mount", ""}, {"network", ""}}), {}, false, {}});
  v.push_back({"ns_join",
               namespaces({{"pid", ""},
                           {"mount", ""},
                           {"network", "sibling"},
                           {"ipc", "sibling"},
                           {"uts", "sibling"}}),
               {},
               true,
               {}});
  v.push_back({"userns",
               [](const Capabilities&, const std::string&, int, const std::string&) {
                 SpecSettings s;
                 s.namespaces =
                     std::vector<NamespaceSetting>{{"pid", ""}, {"mount", ""},   {"ipc", ""},
                                                   {"uts", ""}, {"network", ""}, {"user", ""}};
                 // Host root stays the container's root (so the image, owned by it, is the
                 // container's), in a namespace of the container's own.
                 s.uid_mappings = {{0, 0, 65536}};
                 s.gid_mappings = {{0, 0, 65536}};
                 return s;
               },
               {},
               false,
               {}});
  v.push_back({"cgroups",
               [](const Capabilities& caps, const std::string& id, int, const std::string&) {
                 SpecSettings s;
                 CgroupLimits l;
                 l.memory_limit = 64 << 20;
                 l.cpu_shares = 512;
                 l.cpu_quota = 20000;
                 l.cpu_period = 100000;
                 l.pids_limit = 64;
                 s.cgroup_limits = l;
                 // Named after the container, so a run's cleanup finds it by the run's prefix.
                 if (Can(caps, kSetCgroupsPath)) s.cgroups_path = "/" + id + "-cg";
                 if (Can(caps, kSetBlkio)) {
                   if (auto disk = HostDisk()) {
                     BlkioThrottle read = *disk, write = *disk;
                     read.rate = kBlkioReadBps;
                     write.rate = kBlkioWriteIops;
                     s.blkio = BlkioLimits{{read}, {write}};
                   }
                 }
                 // The container's own cgroups, read-only, where it can see its limits (an
                 // engine mounts them by itself).
                 if (Can(caps, kSetMounts)) {
                   s.mounts.push_back({"/sys/fs/cgroup",
                                       "cgroup",
                                       "cgroup",
                                       {"nosuid", "noexec", "nodev", "relatime", "ro"}});
                 }
                 return s;
               },
               CgroupInsideReads(),
               false,
               {}});
  v.push_back({"seccomp",
               [](const Capabilities&, const std::string&, int, const std::string&) {
                 SpecSettings s;
                 s.seccomp = Seccomp{SeccompArches(), {{kSeccompDenied, kSeccompErrno}}};
                 return s;
               },
               {"--syscall", kSeccompDenied, "--syscall", kSeccompAllowed},
               false,
               {}});
  v.push_back({"hooks",
               [](const Capabilities& caps, const std::string&, int, const std::string& scratch) {
                 SpecSettings s;
                 // Host hooks record the state they read on stdin and append their stage to
                 // one file; startContainer runs in the container, so it is the probe.
                 for (const char* stage :
                      {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
                   const std::string d = scratch.empty() ? "/nonexistent" : scratch;
                   s.hooks[stage].push_back({"/bin/sh",
                                             {"sh", "-c",
                                              std::string("echo ") + stage + " >> " + d +
                                                  "/order && cat > " + d + "/" + stage + ".json"},
                                             {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
                                             std::nullopt});
                 }
                 // It reads the state to its end first (`probe hook`): a hook that exits
                 // before the runtime has written it may be failed by the runtime.
                 s.hooks["startContainer"].push_back(
                     {"/probe", {"probe", "hook", kStartContainerMark}, {}, std::nullopt});
                 // What the hooks read as the state must carry them.
                 if (Can(caps, kSetAnnotations)) s.annotations = CheckAnnotations();
                 return s;
               },
               {"--read", kStartContainerMark},
               false,
               {}});
  v.push_back({"propagation",
               [](const Capabilities&, const std::string&, int, const std::string&) {
                 SpecSettings s;
                 s.rootfs_propagation = "shared";
                 return s;
               },
               {},
               false,
               {}});
  return v;
}

// ---------------------------------------------------------------------------------------
// Containers of a rule's own

// A container whose config has one hook at `stage` that fails: it reads the state (a hook
// that leaves its stdin unread can kill crun 1.8 with SIGPIPE as it writes it), leaves a mark
// in the case's scratch directory (so a case can tell a failure of the hook from any other)
// and exits 3 with a line on stderr. A startContainer hook runs in the container: the probe exits 3
// there, and leaves no mark.
struct HookFailure {
  std::string id, mark;
  ContainerSpec spec;
  std::string why;  // set when the case could not be prepared
  bool HookRan() const { return mark.empty() || PathExists(mark); }
};

HookFailure FailingHookContainer(CaseContext& ctx, const std::string& stage) {
  HookFailure f;
  f.id = ctx.NewId("hf");
  f.spec = ctx.Spec(f.id, kProbeSleeper);
  SpecSettings s;
  if (stage == "startContainer") {
    s.hooks[stage].push_back({"/probe", {"probe", "exit", "3"}, {}, std::nullopt});
  } else {
    if (ctx.env().scratch_dir.empty()) {
      f.why = "the run has no scratch directory for the hook's mark";
      return f;
    }
    const std::string dir = ctx.env().scratch_dir + "/" + f.id;
    if (Status st = MakeDirs(dir, 0700); !st.ok()) {
      f.why = "scratch directory: " + st.ToString();
      return f;
    }
    f.mark = dir + "/hook-ran";
    s.hooks[stage].push_back({"/bin/sh",
                              {"sh", "-c",
                               "cat >/dev/null; touch '" + f.mark + "'; echo 'polyarch: this " +
                                   stage + " hook fails on purpose' >&2; exit 3"},
                              {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
                              std::nullopt});
  }
  f.spec.settings = std::make_shared<const SpecSettings>(std::move(s));
  return f;
}

// The cgroup directories (memory, pids, or the v2 one) that process `pid` is in below the
// root: the root is not the container's.
std::vector<std::string> OwnCgroupDirs(int pid) {
  std::vector<std::string> out;
  for (const ProcessCgroup& c : ProcessCgroups(pid)) {
    const std::string& first = c.controllers.front();
    if (c.path.empty() || c.path == "/") continue;
    if (first != "unified" && first != "memory" && first != "pids") continue;
    std::string dir = CgroupDir(first, c.path);
    if (PathExists(dir)) out.push_back(dir);
  }
  return out;
}

std::string NsLink(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("(unreadable)");
}

// SIGKILL to container `id`, then its exit: "" or what went wrong.
std::string KillAndWait(CaseContext& ctx, const std::string& id) {
  if (StepResult k = ctx.Kill(id, SIGKILL); !k.ok()) return "kill failed: " + k.status.ToString();
  if (WaitResult w = ctx.Wait(id, ctx.timeout()); !w.ok() || !w.exited) {
    return "the killed container did not stop";
  }
  return "";
}

// Whether the layer no longer knows container `id`.
bool Gone(CaseContext& ctx, const std::string& id) {
  StateResult st = ctx.State(id);
  return !st.ok() || st.state == ContainerState::kNotFound;
}

// "" when container `id` is not running (gone, or stopped with no live process); otherwise
// " the container is <state> (pid N alive)".
std::string StillRunning(CaseContext& ctx, const std::string& id) {
  StateResult st = ctx.State(id);
  if (!st.ok() || st.state == ContainerState::kNotFound) return "";
  const bool alive = st.pid > 0 && !ProcessGone(st.pid);
  if (st.state == ContainerState::kStopped && !alive) return "";
  return " the container is " + std::string(ContainerStateName(st.state)) +
         (alive ? " with its process " + std::to_string(st.pid) + " alive" : "");
}

// ---------------------------------------------------------------------------------------
// The rules

std::string ExpectEq(const std::string& what, const std::string& got, const std::string& want) {
  return got == want ? "" : what + " is '" + got + "', the config gives '" + want + "'";
}

std::string CheckIds(const SpecObservation& o, const char* a, const char* b, const char* c,
                     std::optional<uint32_t> want) {
  if (!want) return "the config sets no id";
  for (const char* k : {a, b, c}) {
    auto v = IntAt(o.record, {k});
    if (!v || *v != *want) {
      return std::string(k) + " is " + Seen(At(o.record, {k})) + ", the config gives " +
             std::to_string(*want);
    }
  }
  return "";
}

std::string CheckRlimit(const SpecObservation& o, const RlimitSetting& want) {
  const json* r = At(o.record, {"rlimits", want.type});
  if (r == nullptr) return "the probe reports no " + want.type;
  if (const json* e = At(*r, {"errno"})) return "getrlimit(" + want.type + ") failed: " + Seen(e);
  auto as_rlim = [](std::optional<int64_t> v) -> std::optional<uint64_t> {
    if (!v) return std::nullopt;
    return *v == -1 ? kRlimInfinity : static_cast<uint64_t>(*v);
  };
  auto soft = as_rlim(IntAt(*r, {"soft"})), hard = as_rlim(IntAt(*r, {"hard"}));
  auto show = [](uint64_t v) {
    return v == kRlimInfinity ? std::string("unlimited") : std::to_string(v);
  };
  if (!soft || !hard) return want.type + " is " + Seen(r);
  if (*soft != want.soft || *hard != want.hard) {
    return want.type + " is soft " + show(*soft) + " hard " + show(*hard) +
           ", the config gives soft " + show(want.soft) + " hard " + show(want.hard);
  }
  return "";
}

std::string CheckMountOption(const SpecObservation& o, const std::string& dest,
                             const std::string& opt) {
  const json* m = MountAt(o, dest);
  if (m == nullptr) return dest + " is not a mount point inside the container";
  std::string options = StrAt(*m, {"options"});
  if (!HasOption(options, opt)) return dest + " is mounted '" + options + "', without " + opt;
  return "";
}

std::string CheckWriteRefused(const SpecObservation& o, const std::string& path) {
  const json* w = At(o.record, {"writes", path});
  if (w == nullptr) return "the probe did not try to write " + path;
  std::string e = StrAt(*w, {"errno"});
  if (e == "EROFS") return "";
  return "writing " + path + " gave " + (e.empty() ? "success" : e) + ", not EROFS";
}

std::string CheckDevice(const SpecObservation& o, const std::string& path, int major, int minor) {
  const json* st = At(o.record, {"stats", path});
  if (st == nullptr) return "the probe did not stat " + path;
  if (const json* e = At(*st, {"errno"})) return path + ": " + Seen(e);
  std::string type = StrAt(*st, {"type"});
  auto ma = IntAt(*st, {"major"}), mi = IntAt(*st, {"minor"});
  if (type != "chr" || !ma || !mi || *ma != major || *mi != minor) {
    return path + " is " + (type.empty() ? "?" : type) + " " + Seen(At(*st, {"major"})) + ":" +
           Seen(At(*st, {"minor"})) + ", expected a character device " + std::to_string(major) +
           ":" + std::to_string(minor);
  }
  return "";
}

std::string CheckMountType(const SpecObservation& o, const std::string& dest,
                           const std::string& type) {
  const json* m = MountAt(o, dest);
  if (m == nullptr) return dest + " is not a mount point inside the container";
  std::string t = StrAt(*m, {"fstype"});
  return t == type ? "" : dest + " is " + t + ", not " + type;
}

std::string NsCompare(const SpecObservation& o, const std::string& type, const char* other,
                      bool equal) {
  static const std::map<std::string, std::string> kProbeName = {
      {"pid", "pid"}, {"mount", "mnt"}, {"network", "net"},  {"ipc", "ipc"},
      {"uts", "uts"}, {"user", "user"}, {"cgroup", "cgroup"}};
  std::string inside = StrAt(o.record, {"ns", kProbeName.at(type)});
  std::string there = StrAt(o.host, {other, type});
  if (inside.empty()) return "the probe could not read its " + type + " namespace";
  if (there.empty())
    return std::string("the host could not read the ") + other + " " + type + " namespace";
  if ((inside == there) == equal) return "";
  return "the container's " + type + " namespace is " + inside +
         (equal ? ", not " : ", the same as ") + there +
         (std::string(other) == "ns_runtime" ? " (the runtime's)" : " (the sibling's)");
}

std::string CheckIdMap(const SpecObservation& o, const char* key,
                       const std::vector<IdMapping>& want) {
  const json* v = At(o.record, {key});
  if (v == nullptr || !v->is_string()) return std::string(key) + " is " + Seen(v);
  std::vector<std::vector<int64_t>> rows;
  for (const auto& line : Split(v->get<std::string>(), '\n')) {
    std::istringstream in(line);
    std::vector<int64_t> row;
    int64_t x;
    while (in >> x) row.push_back(x);
    if (!row.empty()) rows.push_back(row);
  }
  std::vector<std::vector<int64_t>> w;
  for (const auto& m : want) w.push_back({m.container_id, m.host_id, m.size});
  if (rows == w) return "";
  return std::string(key) + " is '" + std::string(Trim(v->get<std::string>())) +
         "', the config maps " + std::to_string(want.at(0).container_id) + " " +
         std::to_string(want.at(0).host_id) + " " + std::to_string(want.at(0).size);
}

// A cgroup file the host reads for the container: v1 controller first, then the unified one.
std::string CgroupValue(const SpecObservation& o, const char* controller, const char* v1_file,
                        const char* v2_file, std::string* where) {
  std::string v = StrAt(o.host, {"cgroup", controller, v1_file});
  *where = std::string(controller) + "/" + v1_file;
  if (v.empty() && v2_file != nullptr) {
    v = StrAt(o.host, {"cgroup", "unified", v2_file});
    *where = v2_file;
  }
  return v;
}

std::string CheckCgroup(const SpecObservation& o, const char* controller, const char* v1,
                        const char* v2, const std::string& want_v1, const std::string& want_v2) {
  std::string where;
  std::string v = CgroupValue(o, controller, v1, v2, &where);
  if (v.empty()) return "the host shows no " + std::string(v1) + " for the container's cgroup";
  const std::string& want = where == v2 ? want_v2 : want_v1;
  return v == want ? "" : where + " is '" + v + "', the config gives '" + want + "'";
}

std::vector<SpecRule> MakeRules() {
  std::vector<SpecRule> v;
  auto add = [&v](std::string name, std::string config, std::string section, std::string level,
                  std::string text, uint32_t settings, uint32_t any,
                  std::function<std::string(const SpecObservation&)> check) {
    v.push_back({std::move(name), std::move(config), std::move(section), std::move(level),
                 std::move(text), settings, any, std::move(check)});
  };

  // A rule on a container of its own, whose config needs `settings`.
  auto addOwnWith = [&v](std::string name, std::string section, std::string level, std::string text,
                         uint32_t settings, std::function<std::string(CaseContext&)> own) {
    SpecRule rule{
        std::move(name), "", std::move(section), std::move(level), std::move(text), settings, 0,
        nullptr};
    rule.own = std::move(own);
    v.push_back(std::move(rule));
  };
  // The failing-hook rules: hooks (kSetHooks) are what they need.
  auto addOwn = [&addOwnWith](std::string name, std::string section, std::string level,
                              std::string text, std::function<std::string(CaseContext&)> own) {
    addOwnWith(std::move(name), std::move(section), std::move(level), std::move(text), kSetHooks,
               std::move(own));
  };

  // --- process
  add("process_args", "process", "config.md#process", "defines",
      "args is the program and its arguments, with the meaning of execvp's argv", 0, 0,
      [](const SpecObservation& o) {
        const json* a = At(o.record, {"args"});
        if (a == nullptr || *a != json(o.args)) {
          return "the process got argv " + Seen(a) + ", the config gives " + json(o.args).dump();
        }
        return std::string();
      });
  add("process_env", "process", "config.md#process", "defines",
      "env is the process's environment, with the meaning of environ", 0, 0,
      [](const SpecObservation& o) {
        const json* e = At(o.record, {"env"});
        if (e == nullptr || !e->is_array()) return "the probe reports env " + Seen(e);
        std::string missing;
        for (const auto& want : o.env) {
          if (std::find(e->begin(), e->end(), json(want)) == e->end()) missing += " '" + want + "'";
        }
        return missing.empty() ? "" : "the environment lacks" + missing;
      });
  add("process_cwd", "process", "config.md#process", "defines",
      "cwd is the working directory set for the program", kSetCwd, 0, [](const SpecObservation& o) {
        return ExpectEq("the working directory", StrAt(o.record, {"cwd"}),
                        o.settings.cwd.value_or(""));
      });
  add("user_uid", "process", "config.md#posix-platform-user", "defines",
      "uid is the process's user id in the container's namespace", kSetUser, 0,
      [](const SpecObservation& o) { return CheckIds(o, "uid", "euid", "suid", o.settings.uid); });
  add("user_gid", "process", "config.md#posix-platform-user", "defines",
      "gid is the process's group id in the container's namespace", kSetUser, 0,
      [](const SpecObservation& o) { return CheckIds(o, "gid", "egid", "sgid", o.settings.gid); });
  add("user_additional_gids", "process", "config.md#posix-platform-user", "defines",
      "additionalGids are added to the process's supplementary groups", kSetAdditionalGids, 0,
      [](const SpecObservation& o) {
        const json* g = At(o.record, {"groups"});
        if (g == nullptr || !g->is_array()) return "the probe reports groups " + Seen(g);
        std::set<int64_t> got,
            want(o.settings.additional_gids.begin(), o.settings.additional_gids.end());
        for (const json& x : *g) {
          if (auto i = JsonInteger<int64_t>(x)) got.insert(*i);
        }
        if (o.settings.gid) got.erase(*o.settings.gid);  // the primary group may be listed too
        if (got == want) return std::string();
        return "the supplementary groups are " + g->dump() + ", the config gives " +
               json(o.settings.additional_gids).dump();
      });
  add("user_umask", "process", "config.md#posix-platform-user (v1.1.0)", "defines",
      "umask is the process's file mode creation mask", kSetUmask, 0, [](const SpecObservation& o) {
        auto u = IntAt(o.record, {"umask"});
        int64_t want = o.settings.umask.value_or(0);
        if (u && *u == want) return std::string();
        return "the umask is " + (u ? Octal(*u) : Seen(At(o.record, {"umask"}))) +
               ", the config gives " + Octal(want);
      });
  for (const auto& [set, field] :
       std::vector<std::pair<std::string, std::string>>{{"bounding", "CapBnd"},
                                                        {"effective", "CapEff"},
                                                        {"permitted", "CapPrm"},
                                                        {"inheritable", "CapInh"},
                                                        {"ambient", "CapAmb"}}) {
    bool engine = set == "bounding" || set == "effective" || set == "permitted";
    add("capabilities_" + set, "process", "config.md#linux-process", "defines",
        engine && set != "bounding"
            ? "capabilities." + set + " is the process's " + set +
                  " set as execve derives it from the configured sets"
            : "capabilities." + set + " is the process's " + set + " capability set",
        0, engine ? (kSetCapabilities | kSetCapabilitySet) : kSetCapabilities,
        [set = set, field = field](const SpecObservation& o) {
          return CheckCaps(o, set, field.c_str());
        });
  }
  add("no_new_privileges", "process", "config.md#linux-process", "defines",
      "noNewPrivileges true keeps the process from gaining privileges (the no_new_privs bit)",
      kSetNoNewPrivileges, 0, [](const SpecObservation& o) {
        std::string s = StrAt(o.record, {"status", "NoNewPrivs"});
        auto p = IntAt(o.record, {"no_new_privs"});
        if (s == "1" && p && *p == 1) return std::string();
        return "NoNewPrivs is '" + s + "' and PR_GET_NO_NEW_PRIVS " +
               Seen(At(o.record, {"no_new_privs"})) + ", the config sets it";
      });
  for (const auto* limits : {&Rlimits(), &RaisedRlimits()}) {
    const bool raised = limits == &RaisedRlimits();
    for (const RlimitSetting& r : *limits) {
      std::string lower = r.type.substr(7);
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      add("rlimit_" + lower, raised ? "rlimits_raised" : "process", "config.md#posix-process",
          "MUST",
          raised ? "getrlimit matches the config's soft and hard values, also where the hard "
                   "value is above the caller's and the user is not root"
                 : "for each rlimits entry getrlimit on its type succeeds and its soft and hard "
                   "values match the config",
          kSetRlimits | (raised ? uint32_t{kSetUser} : 0u), 0,
          [r = r](const SpecObservation& o) { return CheckRlimit(o, r); });
    }
  }
  add("oom_score_adj", "process", "config.md#linux-process", "MUST",
      "when oomScoreAdj is set, the process's oom_score_adj is that value", kSetOomScoreAdj, 0,
      [](const SpecObservation& o) {
        auto in = IntAt(o.record, {"oom_score_adj"}), host = IntAt(o.host, {"oom_score_adj"});
        int64_t want = o.settings.oom_score_adj.value_or(0);
        if (in && host && *in == want && *host == want) return std::string();
        return "oom_score_adj is " + Seen(At(o.record, {"oom_score_adj"})) + " inside and " +
               Seen(At(o.host, {"oom_score_adj"})) + " from the host, the config gives " +
               std::to_string(want);
      });
  add("hostname", "process", "config.md#hostname", "defines",
      "hostname is the container's host name as its processes see it", kSetHostname, 0,
      [](const SpecObservation& o) {
        return ExpectEq("the host name", StrAt(o.record, {"hostname"}),
                        o.settings.hostname.value_or(""));
      });
  add("domainname", "process", "config.md#domainname (v1.1.0)", "defines",
      "domainname is the container's NIS domain name as its processes see it", kSetDomainname, 0,
      [](const SpecObservation& o) {
        return ExpectEq("the domain name", StrAt(o.record, {"domainname"}),
                        o.settings.domainname.value_or(""));
      });
  add("oom_score_adj_unset", "defaults", "config.md#linux-process", "MUST NOT",
      "when oomScoreAdj is not set, the runtime leaves oom_score_adj as it was (the value of the "
      "process that ran it)",
      kSetVerbatim, 0, [](const SpecObservation& o) {
        auto c = IntAt(o.host, {"oom_score_adj"}), p = IntAt(o.host, {"parent_oom_score_adj"});
        if (c && p && *c == *p) return std::string();
        return "oom_score_adj is " + Seen(At(o.host, {"oom_score_adj"})) + ", its parent's " +
               Seen(At(o.host, {"parent_oom_score_adj"}));
      });

  // --- filesystem
  add("root_readonly", "filesystem", "config.md#root", "MUST",
      "when root.readonly is true the root filesystem is read-only inside the container",
      kSetReadonlyRoot, 0, [](const SpecObservation& o) {
        std::string w = CheckWriteRefused(o, kRootWrite);
        if (!w.empty()) return w;
        return CheckMountOption(o, "/", "ro");
      });
  add("mounts_present", "filesystem", "config.md#mounts", "defines",
      "each mounts entry is mounted at its destination with its type", 0,
      kSetMounts | kSetTmpfsMounts, [](const SpecObservation& o) {
        std::string bad;
        for (const auto& m : o.settings.mounts) {
          const json* e = MountAt(o, m.destination);
          if (e == nullptr) {
            bad += "; " + m.destination + " is not mounted";
          } else if (m.type != "bind" && StrAt(*e, {"fstype"}) != m.type) {
            bad += "; " + m.destination + " is " + StrAt(*e, {"fstype"}) + ", not " + m.type;
          }
        }
        return bad.empty() ? "" : bad.substr(2);
      });
  add("mounts_in_order", "filesystem", "config.md#mounts", "MUST",
      "the runtime mounts the entries in the order they are listed", kSetMounts, 0,
      [](const SpecObservation& o) {
        const json* mi = At(o.record, {"mountinfo"});
        if (mi == nullptr || !mi->is_array()) return "the probe reports mountinfo " + Seen(mi);
        int last = -1;
        std::string last_dest;
        for (const auto& m : o.settings.mounts) {
          int at = -1;
          for (size_t i = 0; i < mi->size(); ++i) {
            if (StrAt((*mi)[i], {"mount_point"}) == m.destination) {
              at = static_cast<int>(i);
              break;
            }
          }
          if (at < 0) return m.destination + " is not mounted";
          if (at < last)
            return m.destination + " was mounted before " + last_dest + ", listed earlier";
          last = at;
          last_dest = m.destination;
        }
        return std::string();
      });
  for (const char* opt : {"ro", "nosuid", "nodev", "noexec"}) {
    add(std::string("mount_option_") + opt, "filesystem", "config.md#mounts", "defines",
        std::string("options are mount(8) options: '") + opt + "' holds for the mount", 0,
        kSetMounts | kSetTmpfsMounts, [opt = std::string(opt)](const SpecObservation& o) {
          std::string r = CheckMountOption(o, "/tmp/m/" + opt, opt);
          if (r.empty() && opt == "ro") r = CheckWriteRefused(o, "/tmp/m/ro/x");
          return r;
        });
  }
  add("mount_tmpfs_mode", "filesystem", "config.md#mounts", "defines",
      "a tmpfs mode= option sets the mounted directory's permissions", 0,
      kSetMounts | kSetTmpfsMounts, [](const SpecObservation& o) {
        auto m = IntAt(o.record, {"stats", "/tmp/m/mode", "mode"});
        if (m && *m == 0710) return std::string();
        return "/tmp/m/mode has mode " +
               (m ? Octal(*m) : Seen(At(o.record, {"stats", "/tmp/m/mode"}))) +
               ", the mount gives 0710";
      });
  add("mount_bind_readonly", "filesystem", "config.md#mounts", "defines",
      "a bind mount shows the source's content; with 'ro' it is read-only", kSetMounts, 0,
      [](const SpecObservation& o) {
        auto host = ReadFilePrefix("/etc/os-release", 4096);
        std::string inside = StrAt(o.record, {"reads", "/tmp/m/os-release", "content"});
        if (!host.ok() || inside != *host) {
          return "/tmp/m/os-release reads " + Seen(At(o.record, {"reads", "/tmp/m/os-release"})) +
                 ", not the host's /etc/os-release";
        }
        return CheckMountOption(o, "/tmp/m/os-release", "ro");
      });
  for (const auto& [dest, type] : std::vector<std::pair<std::string, std::string>>{
           {"/proc", "proc"}, {"/sys", "sysfs"}, {"/dev/pts", "devpts"}, {"/dev/shm", "tmpfs"}}) {
    std::string n = dest.substr(dest.rfind('/') + 1);
    add("default_filesystem_" + n, "filesystem", "config-linux.md#default-filesystems", "SHOULD",
        dest + " is available as " + type, 0, 0,
        [dest = dest, type = type](const SpecObservation& o) {
          return CheckMountType(o, dest, type);
        });
  }
  for (const Dev& d : DefaultDevices()) {
    std::string n = std::string(d.path).substr(5);
    add("default_device_" + n, "filesystem", "config-linux.md#default-devices", "MUST",
        std::string("the runtime supplies ") + d.path + " (character device " +
            std::to_string(d.major) + ":" + std::to_string(d.minor) + ")",
        0, 0,
        [d = d](const SpecObservation& o) { return CheckDevice(o, d.path, d.major, d.minor); });
  }
  add("default_device_ptmx", "filesystem", "config-linux.md#default-devices", "MUST",
      "the runtime supplies /dev/ptmx, a bind mount or symlink of the container's /dev/pts/ptmx", 0,
      0, [](const SpecObservation& o) {
        const json* st = At(o.record, {"stats", "/dev/ptmx"});
        if (st == nullptr || At(*st, {"errno"}) != nullptr) return "/dev/ptmx: " + Seen(st);
        std::string type = StrAt(*st, {"type"}), target = StrAt(*st, {"target"});
        if (type == "lnk" && (target == "pts/ptmx" || target == "/dev/pts/ptmx"))
          return std::string();
        if (type == "chr" && IntAt(*st, {"major"}) == 5 && IntAt(*st, {"minor"}) == 2) {
          // A bind mount of /dev/pts/ptmx shows as the device itself, mounted at /dev/ptmx.
          if (MountAt(o, "/dev/ptmx") != nullptr) return std::string();
        }
        return "/dev/ptmx is " + st->dump() + ", not a link to pts/ptmx or a bind mount of it";
      });
  for (const auto& [link, target] : DevLinks()) {
    add("dev_symlink_" + link.substr(5), "filesystem", "config-linux.md#dev-symbolic-links", "MUST",
        "the runtime creates the symlink " + link + " -> " + target, 0, 0,
        [link = link, target = target](const SpecObservation& o) {
          const json* st = At(o.record, {"stats", link});
          if (st != nullptr && StrAt(*st, {"type"}) == "lnk" && StrAt(*st, {"target"}) == target) {
            return std::string();
          }
          return link + " is " + Seen(st) + ", not a symlink to " + target;
        });
  }
  add("device_node", "filesystem", "config-linux.md#devices", "MUST",
      "each devices entry is available in the container with its type, major and minor",
      kSetDevices, 0, [](const SpecObservation& o) { return CheckDevice(o, kExtraDevice, 1, 3); });
  add("device_file_mode", "filesystem", "config-linux.md#devices", "defines",
      "fileMode is the device node's permission bits", kSetDevices, 0,
      [](const SpecObservation& o) {
        auto m = IntAt(o.record, {"stats", kExtraDevice, "mode"});
        if (m && (*m & 0777) == 0640) return std::string();
        return std::string(kExtraDevice) + " has mode " +
               (m ? Octal(*m) : Seen(At(o.record, {"stats", kExtraDevice}))) +
               ", the config gives 0640";
      });
  add("device_owner", "filesystem", "config-linux.md#devices", "defines",
      "uid and gid are the device node's owner in the container's namespace", kSetDevices, 0,
      [](const SpecObservation& o) {
        auto u = IntAt(o.record, {"stats", kExtraDevice, "uid"}),
             g = IntAt(o.record, {"stats", kExtraDevice, "gid"});
        if (u && g && *u == 0 && *g == 1000) return std::string();
        return std::string(kExtraDevice) + " is owned by " +
               Seen(At(o.record, {"stats", kExtraDevice})) + ", the config gives 0:1000";
      });
  add("cgroup_devices_allowed", "filesystem", "config-linux.md#allowed-device-list", "MUST",
      "the device cgroup applies the listed rules: everything denied but what is allowed",
      kSetDevices, 0, [](const SpecObservation& o) {
        const json* list = At(o.host, {"cgroup", "devices", "devices.list"});
        if (list == nullptr || !list->is_string()) {
          return std::string("SKIP: this host has no v1 devices cgroup to read the rules from");
        }
        auto lines = Split(list->get<std::string>(), '\n');
        auto has = [&](const std::string& l) {
          return std::find(lines.begin(), lines.end(), l) != lines.end();
        };
        if (has("a *:* rwm")) return std::string("devices.list still allows every device");
        if (!has("c 1:3 rwm")) return "devices.list does not allow c 1:3 rwm: " + list->dump();
        return std::string();
      });
  add("masked_paths_file", "filesystem", "config-linux.md#masked-paths", "defines",
      "a masked file cannot be read: it reads empty", kSetMaskedPaths, 0,
      [](const SpecObservation& o) {
        for (const char* p : {"/proc/timer_list", "/proc/keys"}) {
          const json* r = At(o.record, {"reads", p});
          if (r == nullptr || StrAt(*r, {"content"}) != "") {
            return std::string(p) + " is not masked: it reads " + Seen(r);
          }
        }
        return std::string();
      });
  add("masked_paths_directory", "filesystem", "config-linux.md#masked-paths", "defines",
      "a masked directory cannot be read or written: an empty read-only mount covers it",
      kSetMaskedPaths, 0, [](const SpecObservation& o) {
        std::string r = CheckMountOption(o, "/sys/firmware", "ro");
        return r.empty() ? CheckWriteRefused(o, "/sys/firmware/x") : r;
      });
  add("readonly_paths_proc", "filesystem", "config-linux.md#readonly-paths", "defines",
      "each readonlyPaths entry is read-only inside the container", kSetReadonlyPaths, 0,
      [](const SpecObservation& o) { return CheckMountOption(o, "/proc/sys", "ro"); });
  add("readonly_paths_mount", "filesystem", "config-linux.md#readonly-paths", "defines",
      "a writable mount listed in readonlyPaths is read-only inside the container",
      kSetReadonlyPaths, kSetMounts | kSetTmpfsMounts,
      [](const SpecObservation& o) { return CheckWriteRefused(o, "/tmp/m/rwlater/x"); });
  for (const auto& [key, value] : Sysctls()) {
    std::string n = key;
    std::replace(n.begin(), n.end(), '.', '_');
    add("sysctl_" + n, "filesystem", "config-linux.md#sysctl", "defines",
        "sysctl sets the kernel parameter " + key + " for the container", kSetSysctl, 0,
        [key = key, value = value](const SpecObservation& o) {
          const json* r = At(o.record, {"reads", SysctlFile(key)});
          std::string got = r ? std::string(Trim(StrAt(*r, {"content"}))) : "";
          return got == value ? "" : key + " reads " + Seen(r) + ", the config gives " + value;
        });
  }

  // --- namespaces
  for (const char* t : {"pid", "mount", "ipc", "uts", "network", "cgroup"}) {
    add(std::string("namespace_new_") + t, "namespaces", "config-linux.md#namespaces", "MUST",
        std::string("a listed ") + t + " namespace without a path is a new one", kSetNamespaces, 0,
        [t = std::string(t)](const SpecObservation& o) {
          return NsCompare(o, t, "ns_runtime", false);
        });
  }
  for (const char* t : {"ipc", "uts", "cgroup"}) {
    add(std::string("namespace_inherited_") + t, "ns_inherit", "config-linux.md#namespaces", "MUST",
        std::string("an unlisted ") + t + " namespace is the runtime's own", kSetNamespaces, 0,
        [t = std::string(t)](const SpecObservation& o) {
          return NsCompare(o, t, "ns_runtime", true);
        });
  }
  for (const char* t : {"network", "ipc", "uts"}) {
    add(std::string("namespace_path_") + t, "ns_join", "config-linux.md#namespaces", "MUST",
        std::string("a ") + t + " namespace with a path places the process in that namespace",
        kSetNamespaces, 0, [t = std::string(t)](const SpecObservation& o) {
          return NsCompare(o, t, "ns_sibling", true);
        });
  }
  add("namespace_new_user", "userns", "config-linux.md#namespaces", "MUST",
      "a listed user namespace without a path is a new one", kSetNamespaces | kSetUserNamespace, 0,
      [](const SpecObservation& o) { return NsCompare(o, "user", "ns_runtime", false); });
  add("user_namespace_uid_mappings", "userns", "config-linux.md#user-namespace-mappings", "defines",
      "uidMappings map the container's user ids onto the host's",
      kSetNamespaces | kSetUserNamespace, 0,
      [](const SpecObservation& o) { return CheckIdMap(o, "uid_map", o.settings.uid_mappings); });
  add("user_namespace_gid_mappings", "userns", "config-linux.md#user-namespace-mappings", "defines",
      "gidMappings map the container's group ids onto the host's",
      kSetNamespaces | kSetUserNamespace, 0,
      [](const SpecObservation& o) { return CheckIdMap(o, "gid_map", o.settings.gid_mappings); });

  // --- cgroups
  add("cgroup_memory_limit", "cgroups", "config-linux.md#memory", "defines",
      "memory.limit is the container's memory usage limit in bytes", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        std::string want = std::to_string(o.settings.cgroup_limits->memory_limit.value_or(0));
        return CheckCgroup(o, "memory", "memory.limit_in_bytes", "memory.max", want, want);
      });
  add("cgroup_cpu_shares", "cgroups", "config-linux.md#cpu", "defines",
      "cpu.shares is the container's relative share of CPU time", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        uint64_t shares = o.settings.cgroup_limits->cpu_shares.value_or(0);
        // On cgroup v2 the weight runtimes derive from the shares.
        uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
        return CheckCgroup(o, "cpu", "cpu.shares", "cpu.weight", std::to_string(shares),
                           std::to_string(weight));
      });
  add("cgroup_cpu_quota", "cgroups", "config-linux.md#cpu", "defines",
      "cpu.quota is the CPU time the container may use in each period", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        const CgroupLimits& l = *o.settings.cgroup_limits;
        return CheckCgroup(o, "cpu", "cpu.cfs_quota_us", "cpu.max",
                           std::to_string(l.cpu_quota.value_or(0)),
                           std::to_string(l.cpu_quota.value_or(0)) + " " +
                               std::to_string(l.cpu_period.value_or(0)));
      });
  add("cgroup_cpu_period", "cgroups", "config-linux.md#cpu", "defines",
      "cpu.period is the length of the CPU accounting period", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        const CgroupLimits& l = *o.settings.cgroup_limits;
        return CheckCgroup(o, "cpu", "cpu.cfs_period_us", "cpu.max",
                           std::to_string(l.cpu_period.value_or(0)),
                           std::to_string(l.cpu_quota.value_or(0)) + " " +
                               std::to_string(l.cpu_period.value_or(0)));
      });
  add("cgroup_pids_limit", "cgroups", "config-linux.md#pids", "defines",
      "pids.limit is the most tasks the container's cgroup may hold", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        std::string want = std::to_string(o.settings.cgroup_limits->pids_limit.value_or(0));
        return CheckCgroup(o, "pids", "pids.max", "pids.max", want, want);
      });
  add("cgroup_memory_limit_inside", "cgroups", "config-linux.md#memory", "defines",
      "the container sees its memory limit in its own cgroup", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        std::string want = std::to_string(o.settings.cgroup_limits->memory_limit.value_or(0));
        return CheckCgroupInside(o, 0, want, want);
      });
  add("cgroup_pids_limit_inside", "cgroups", "config-linux.md#pids", "defines",
      "the container sees its pids limit in its own cgroup", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        std::string want = std::to_string(o.settings.cgroup_limits->pids_limit.value_or(0));
        return CheckCgroupInside(o, 1, want, want);
      });
  add("cgroup_cpu_quota_inside", "cgroups", "config-linux.md#cpu", "defines",
      "the container sees its CPU quota in its own cgroup", kSetCgroupLimits, 0,
      [](const SpecObservation& o) {
        const CgroupLimits& l = *o.settings.cgroup_limits;
        return CheckCgroupInside(o, 2, std::to_string(l.cpu_quota.value_or(0)),
                                 std::to_string(l.cpu_quota.value_or(0)) + " " +
                                     std::to_string(l.cpu_period.value_or(0)));
      });
  add("blkio_throttle_read_bps", "cgroups", "config-linux.md#block-io", "defines",
      "throttleReadBpsDevice limits the read rate of a device, in bytes per second",
      kSetCgroupLimits | kSetBlkio, 0, [](const SpecObservation& o) {
        return CheckBlkio(o, o.settings.blkio ? &o.settings.blkio->read_bps : nullptr,
                          "blkio.throttle.read_bps_device", "rbps");
      });
  add("blkio_throttle_write_iops", "cgroups", "config-linux.md#block-io", "defines",
      "throttleWriteIOPSDevice limits the write rate of a device, in operations per second",
      kSetCgroupLimits | kSetBlkio, 0, [](const SpecObservation& o) {
        return CheckBlkio(o, o.settings.blkio ? &o.settings.blkio->write_iops : nullptr,
                          "blkio.throttle.write_iops_device", "wiops");
      });
  add("cgroups_path", "cgroups", "config-linux.md#cgroups-path", "MUST",
      "with cgroupsPath set, the container is placed at that path of the cgroup hierarchy",
      kSetCgroupLimits | kSetCgroupsPath, 0, [](const SpecObservation& o) {
        std::string want = o.settings.cgroups_path.value_or("");
        for (const char* c : {"memory", "pids", "unified"}) {
          std::string p = StrAt(o.host, {"cgroup", c, "path"});
          if (!p.empty()) return ExpectEq(std::string("the ") + c + " cgroup path", p, want);
        }
        return std::string("the host shows no cgroup path for the container");
      });

  // --- seccomp
  add("seccomp_errno_ret", "seccomp", "config-linux.md#seccomp", "defines",
      "a syscall matched by an SCMP_ACT_ERRNO rule fails with the rule's errnoRet", kSetSeccomp, 0,
      [](const SpecObservation& o) {
        std::string e = ErrnoOf(o.record, "syscalls", kSeccompDenied);
        if (e == "EDOM" || e == "E" + std::to_string(kSeccompErrno)) return std::string();
        return std::string(kSeccompDenied) + " gave " +
               Seen(At(o.record, {"syscalls", kSeccompDenied})) +
               ", the profile makes it fail with EDOM";
      });
  add("seccomp_default_action", "seccomp", "config-linux.md#seccomp", "defines",
      "defaultAction applies to every syscall no rule matches (here: allowed)", kSetSeccomp, 0,
      [](const SpecObservation& o) {
        const json* r = At(o.record, {"syscalls", kSeccompAllowed});
        if (r != nullptr && At(*r, {"ret"}) != nullptr) return std::string();
        return std::string(kSeccompAllowed) + " gave " + Seen(r) + ", the profile allows it";
      });
  add("seccomp_filter_installed", "seccomp", "config-linux.md#seccomp", "defines",
      "a seccomp profile puts the process in seccomp filter mode", kSetSeccomp, 0,
      [](const SpecObservation& o) {
        return ExpectEq("/proc/self/status Seccomp", StrAt(o.record, {"status", "Seccomp"}), "2");
      });

  // --- hooks
  for (const char* stage :
       {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
    add(std::string("hook_") + stage, "hooks", "config.md#posix-platform-hooks", "MUST",
        std::string("the ") + stage + " hooks are called, with the container's state on stdin",
        kSetHooks, 0, [stage = std::string(stage)](const SpecObservation& o) {
          const json* st = At(o.host, {"hooks", stage});
          if (st == nullptr || st->is_null()) return "the " + stage + " hook was not called";
          if (!st->is_object())
            return "the " + stage + " hook read " + Seen(st) + " on stdin, not the state";
          std::string id = StrAt(*st, {"id"});
          if (id != o.id)
            return "the " + stage + " hook read the state of '" + id + "', not of " + o.id;
          for (const char* key : {"ociVersion", "status", "bundle"}) {
            if (At(*st, {key}) == nullptr)
              return "the state the " + stage + " hook read has no " + key;
          }
          return std::string();
        });
  }
  add("hook_startContainer", "hooks", "config.md#posix-platform-hooks", "MUST",
      "the startContainer hooks are called in the container before the program runs", kSetHooks, 0,
      [](const SpecObservation& o) {
        const json* r = At(o.record, {"reads", kStartContainerMark});
        if (r != nullptr && !StrAt(*r, {"content"}).empty()) return std::string();
        return std::string("the program found no mark of the startContainer hook: ") + Seen(r);
      });
  add("hooks_in_order", "hooks", "runtime.md#lifecycle", "MUST",
      "the hooks run in the lifecycle's order: prestart and createRuntime, createContainer, "
      "poststart, poststop",
      kSetHooks, 0, [](const SpecObservation& o) {
        const json* order = At(o.host, {"hooks", "order"});
        if (order == nullptr || !order->is_array())
          return "no hook recorded its stage: " + Seen(order);
        std::map<std::string, int> at;
        for (size_t i = 0; i < order->size(); ++i) {
          if ((*order)[i].is_string())
            at.emplace((*order)[i].get<std::string>(), static_cast<int>(i));
        }
        const std::vector<std::pair<std::string, std::string>> before = {
            {"prestart", "createContainer"},
            {"createRuntime", "createContainer"},
            {"createContainer", "poststart"},
            {"poststart", "poststop"}};
        for (const auto& [a, b] : before) {
          if (!at.count(a) || !at.count(b)) return "the hooks ran as " + order->dump();
          if (at[a] > at[b]) return a + " ran after " + b + ": " + order->dump();
        }
        return std::string();
      });

  add("state_annotations", "hooks", "runtime.md#state", "defines",
      "the state lists the annotations the config gives the container (read by the hooks)",
      kSetHooks | kSetAnnotations, 0, [](const SpecObservation& o) {
        int seen = 0;
        for (const char* stage : {"prestart", "createRuntime", "createContainer", "poststart"}) {
          const json* st = At(o.host, {"hooks", stage});
          if (st == nullptr || !st->is_object()) continue;
          ++seen;
          const json* a = At(*st, {"annotations"});
          json want = json::object();
          for (const auto& [k, val] : o.settings.annotations) want[k] = val;
          if (a == nullptr || *a != want) {
            return "the state the " + std::string(stage) + " hook read has annotations " + Seen(a) +
                   ", the config gives " + want.dump();
          }
        }
        return seen > 0 ? std::string() : std::string("no hook recorded the state it read");
      });

  // --- a failing hook (each on a container of its own)
  // Before the program runs, a failing hook is an error that stops the container.
  for (const char* stage : {"prestart", "createRuntime", "createContainer", "startContainer"}) {
    addOwn(std::string("hook_fails_") + stage, "runtime.md#lifecycle", "MUST",
           std::string("a failing ") + stage +
               " hook is an error of the operation that runs it, and the container is stopped",
           [stage = std::string(stage)](CaseContext& ctx) {
             HookFailure f = FailingHookContainer(ctx, stage);
             if (!f.why.empty()) return f.why;
             StepResult c = ctx.Create(f.spec);
             std::string failed_step = "create";
             if (c.ok()) {
               failed_step = "start";
               if (StepResult s = ctx.Start(f.id); s.ok()) {
                 // Whether the container stopped anyway, once the hook's failure reached it.
                 WaitResult w = ctx.Wait(f.id, std::chrono::seconds(5));
                 return "start succeeded although the " + stage + " hook exited 3" +
                        (w.ok() && w.exited ? " (the container then stopped, exit code " +
                                                  std::to_string(w.exit_code) + ")"
                                            : StillRunning(ctx, f.id));
               }
             }
             ctx.Data()["failed_step"] = failed_step;
             if (!f.HookRan()) {
               return failed_step + " failed, but not for the hook: it never ran (" +
                      (c.ok() ? std::string("see the start step") : c.status.ToString()) + ")";
             }
             if (std::string running = StillRunning(ctx, f.id); !running.empty()) {
               return "the " + failed_step + " step failed as it must, but" + running;
             }
             return std::string();
           });
  }
  // After it, a failing hook is only a warning: the lifecycle goes on.
  addOwn("hook_fails_poststart", "runtime.md#lifecycle", "MUST",
         "a failing poststart hook is logged as a warning: start succeeds and the program runs",
         [](CaseContext& ctx) {
           HookFailure f = FailingHookContainer(ctx, "poststart");
           if (!f.why.empty()) return f.why;
           if (StepResult c = ctx.Create(f.spec); !c.ok()) {
             return std::string(f.HookRan()
                                    ? "the poststart hook ran at create, and create failed: "
                                    : "create failed: ") +
                    c.status.ToString();
           }
           if (StepResult s = ctx.Start(f.id); !s.ok()) {
             return "start failed because the poststart hook did: " + s.status.ToString();
           }
           if (!f.HookRan()) return std::string("the poststart hook did not run");
           StateResult st = ctx.State(f.id);
           if (!st.ok()) return "state failed after the start: " + st.status.ToString();
           if (st.state != ContainerState::kRunning) {
             return "after the start the container is " +
                    std::string(ContainerStateName(st.state)) + ", not running";
           }
           return std::string();
         });
  addOwn(
      "hook_fails_poststop", "runtime.md#lifecycle", "MUST",
      "a failing poststop hook is logged as a warning: delete succeeds and the container is gone",
      [](CaseContext& ctx) {
        HookFailure f = FailingHookContainer(ctx, "poststop");
        if (!f.why.empty()) return f.why;
        if (StepResult c = ctx.Create(f.spec); !c.ok()) {
          return "create failed: " + c.status.ToString();
        }
        if (StepResult s = ctx.Start(f.id); !s.ok()) return "start failed: " + s.status.ToString();
        if (std::string why = KillAndWait(ctx, f.id); !why.empty()) return why;
        StepResult d = ctx.Delete(f.id, false);
        if (!f.HookRan()) return std::string("the poststop hook did not run");
        if (!d.ok()) {
          return "delete failed because the poststop hook did: " + d.status.ToString() +
                 (Gone(ctx, f.id) ? " (the container is gone)" : " (the container is still there)");
        }
        if (!Gone(ctx, f.id)) {
          return std::string("delete succeeded, but the container is still there");
        }
        return std::string();
      });

  // --- the operations (runtime.md), on containers of their own
  addOwnWith(
      "create_unappliable_property_refused", "runtime.md#create", "MUST",
      "a property the runtime cannot apply (a network namespace path that does not exist) makes "
      "create fail, and no container is created",
      kSetNamespaces, [](CaseContext& ctx) {
        const std::string id = ctx.NewId("bad");
        ContainerSpec spec = ctx.Spec(id, kProbeSleeper);
        SpecSettings s;
        const std::string missing =
            (ctx.env().scratch_dir.empty() ? std::string("/nonexistent") : ctx.env().scratch_dir) +
            "/" + id + "-no-such-netns";
        s.namespaces = std::vector<NamespaceSetting>{
            {"pid", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}, {"network", missing}};
        spec.settings = std::make_shared<const SpecSettings>(std::move(s));
        if (StepResult c = ctx.Create(spec); c.ok()) {
          return "create succeeded although the network namespace path " + missing +
                 " does not exist";
        }
        if (StateResult st = ctx.State(id); st.ok() && st.state != ContainerState::kNotFound) {
          return "create failed as it must, but the layer keeps a container '" + id + "' (" +
                 std::string(ContainerStateName(st.state)) + ")";
        }
        return std::string();
      });
  addOwnWith("delete_removes_its_cgroups", "runtime.md#delete", "MUST",
             "delete removes what create made: the container's cgroups are gone afterwards", 0,
             [](CaseContext& ctx) {
               const std::string id = ctx.NewId("cg");
               if (!ctx.Run(ctx.Spec(id, kProbeSleeper)))
                 return std::string("the container did not run");
               StateResult st = ctx.State(id);
               if (!st.ok() || st.pid <= 0) return std::string("state reports no pid");
               std::vector<std::string> dirs = OwnCgroupDirs(st.pid);
               if (dirs.empty())
                 return std::string("SKIP: the container's process is in no cgroup of its own");
               ctx.Data()["cgroups"] = dirs;
               if (std::string why = KillAndWait(ctx, id); !why.empty()) return why;
               if (StepResult d = ctx.Delete(id, false); !d.ok()) {
                 return "delete failed: " + d.status.ToString();
               }
               // An engine may remove them just after its delete returns: a short grace.
               std::string left;
               const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
               do {
                 left.clear();
                 for (const auto& d : dirs) {
                   if (PathExists(d)) left += (left.empty() ? "" : ", ") + d;
                 }
                 if (left.empty()) return std::string();
                 std::this_thread::sleep_for(std::chrono::milliseconds(50));
               } while (std::chrono::steady_clock::now() < deadline);
               return "after delete the container's cgroups remain: " + left;
             });
  addOwnWith("delete_keeps_what_it_joined", "runtime.md#delete", "MUST NOT",
             "delete does not remove what the container joined but did not create: the network "
             "namespace it shared with another container still holds that container",
             kSetNamespaces, [](CaseContext& ctx) {
               const std::string sib = ctx.NewId("sib");
               if (!ctx.Run(ctx.Spec(sib, kProbeSleeper))) {
                 return std::string("the sibling container did not run");
               }
               StateResult ss = ctx.State(sib);
               if (!ss.ok() || ss.pid <= 0) return std::string("the sibling reports no pid");
               const std::string net = "/proc/" + std::to_string(ss.pid) + "/ns/net";
               const std::string before = NsLink(net);
               const std::string id = ctx.NewId("join");
               ContainerSpec spec = ctx.Spec(id, kProbeSleeper);
               SpecSettings s;
               s.namespaces = std::vector<NamespaceSetting>{
                   {"pid", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""}, {"network", net}};
               spec.settings = std::make_shared<const SpecSettings>(std::move(s));
               if (!ctx.Run(spec)) return std::string("the joining container did not run");
               if (std::string why = KillAndWait(ctx, id); !why.empty()) return why;
               if (StepResult d = ctx.Delete(id, false); !d.ok()) {
                 return "delete failed: " + d.status.ToString();
               }
               StateResult after = ctx.State(sib);
               if (!after.ok() || after.state != ContainerState::kRunning) {
                 return "after the joiner's delete the sibling is " +
                        (after.ok() ? std::string(ContainerStateName(after.state))
                                    : after.status.ToString()) +
                        ", not running";
               }
               if (ProcessGone(ss.pid)) {
                 return std::string("after the joiner's delete the sibling's process is gone");
               }
               if (std::string now = NsLink(net); now != before) {
                 return "the sibling's network namespace changed from " + before + " to " + now;
               }
               return std::string();
             });

  // --- rootfs propagation
  add("rootfs_propagation_shared", "propagation", "config-linux.md#rootfs-mount-propagation",
      "defines", "rootfsPropagation is the root mount's propagation type (here: shared)",
      kSetRootfsPropagation, 0, [](const SpecObservation& o) {
        const json* m = MountAt(o, "/");
        if (m == nullptr) return std::string("the probe sees no / mount");
        std::string opt = StrAt(*m, {"optional"});
        if (opt.find("shared:") != std::string::npos) return std::string();
        return "the root mount's propagation is '" + opt + "', not shared";
      });
  return v;
}

}  // namespace

const std::vector<SpecConfig>& SpecConfigs() {
  static const auto* v = new std::vector<SpecConfig>(MakeConfigs());
  return *v;
}

const std::vector<SpecRule>& SpecRules() {
  static const auto* v = new std::vector<SpecRule>(MakeRules());
  return *v;
}

}  // namespace polyarch
