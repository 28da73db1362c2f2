#include "harness/host/doctor.h"

#include "harness/host/runtime_probe.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>

#include "binfmt/procfs.h"
#include "binfmt/proof.h"
#include "binfmt/registry.h"
#include "harness/core/elf.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/reaper.h"
#include "harness/core/subprocess.h"

namespace polyarch {
namespace {

constexpr char kFixBinfmtMount[] = "mount-binfmt-misc";
constexpr char kFixCgroupV1[] = "cgroup-v1-hierarchies";
constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

Check Make(std::string id, std::string category, CheckStatus status, std::string found,
           std::string reason, std::string hint = "") {
  Check c;
  c.id = std::move(id);
  c.category = std::move(category);
  c.status = status;
  c.found = std::move(found);
  c.reason = std::move(reason);
  c.hint = std::move(hint);
  return c;
}

// Runs `fn` in a forked child and returns what it returned (an errno, 0 for success), or -1
// if the child died or overran `timeout`. The child's changes (namespaces, mounts) die with it.
int InChild(const std::function<int()>& fn,
            std::chrono::seconds timeout = std::chrono::seconds(20)) {
  pid_t pid = Reaper::Instance().ForkOwned();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(fn() & 0xff);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool timed_out = false;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Reaper::Instance().NoteReaped(pid);
  if (timed_out) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void CheckKernel(DoctorReport& r) {
  const auto& k = r.host.kernel;
  if (k.AtLeast(4, 8)) {
    r.checks.push_back(Make("kernel.version", "kernel", CheckStatus::kOk, k.release,
                            "Linux 4.8 or newer: binfmt_misc supports the F flag"));
  } else {
    r.checks.push_back(Make("kernel.version", "kernel", CheckStatus::kFail, k.release,
                            "binfmt_misc's F flag (emulators usable inside containers) needs "
                            "Linux 4.8 or newer",
                            "run polyarch on a newer kernel"));
  }
  const ArchInfo* host = HostArch();
  if (host != nullptr) {
    r.checks.push_back(Make("host.architecture", "kernel", CheckStatus::kOk, r.host.machine,
                            "native architecture " + std::string(host->name) +
                                "; every other architecture runs emulated"));
  } else {
    r.checks.push_back(Make("host.architecture", "kernel", CheckStatus::kWarn, r.host.machine,
                            "polyarch has no table row for this architecture: it cannot build "
                            "native images here",
                            "run on one of: " + KnownArchNames()));
  }
  if (::geteuid() == 0) {
    r.checks.push_back(Make("host.root", "kernel", CheckStatus::kOk, "uid 0",
                            "root: binfmt_misc, mounts, namespaces and runtimes are usable"));
  } else {
    r.checks.push_back(Make("host.root", "kernel", CheckStatus::kFail,
                            "uid " + std::to_string(::geteuid()),
                            "binfmt_misc registration, container runtimes and daemons need root",
                            "run polyarch as root (sudo polyarch ...)"));
  }
}

void CheckBinfmt(DoctorReport& r, const std::vector<const ArchInfo*>& arches,
                 const std::string& state_dir) {
  RealProcFs procfs;
  if (!procfs.Available()) {
    r.checks.push_back(Make("binfmt.available", "binfmt", CheckStatus::kFail, "absent",
                            "the kernel does not list binfmt_misc in /proc/filesystems",
                            "load it: modprobe binfmt_misc (or build CONFIG_BINFMT_MISC)"));
    return;
  }
  r.checks.push_back(Make("binfmt.available", "binfmt", CheckStatus::kOk, "present",
                          "binfmt_misc is in /proc/filesystems"));
  if (!procfs.Mounted()) {
    Check c = Make("binfmt.mounted", "binfmt", CheckStatus::kWarn, "not mounted",
                   std::string(kBinfmtDir) +
                       " is not mounted; 'polyarch binfmt install' "
                       "mounts it when it registers",
                   "polyarch doctor --fix mounts it now");
    c.fix = kFixBinfmtMount;
    r.checks.push_back(std::move(c));
    return;
  }
  r.checks.push_back(Make("binfmt.mounted", "binfmt", CheckStatus::kOk, std::string(kBinfmtDir),
                          "binfmt_misc is mounted"));
  auto enabled = procfs.Enabled();
  if (!enabled.ok() || !*enabled) {
    r.checks.push_back(Make("binfmt.enabled", "binfmt", CheckStatus::kFail,
                            enabled.ok() ? "disabled" : enabled.status().ToString(),
                            "binfmt_misc is disabled host-wide: no emulator can run",
                            "echo 1 > /proc/sys/fs/binfmt_misc/status (polyarch never writes "
                            "that file)"));
    return;
  }
  r.checks.push_back(
      Make("binfmt.enabled", "binfmt", CheckStatus::kOk, "enabled", "binfmt_misc is enabled"));
  auto journal = Journal::Open(state_dir + "/journal.jsonl");
  if (!journal.ok()) return;
  auto status = CollectStatus(procfs, *journal, arches);
  if (!status.ok()) return;
  std::string missing;
  int handled = 0;
  for (const auto& a : status->arches) {
    if (a.registered() && a.enabled()) {
      ++handled;
    } else {
      missing += (missing.empty() ? "" : ", ") + std::string(a.arch->name);
    }
  }
  std::string found = std::to_string(handled) + " of " + std::to_string(status->arches.size()) +
                      " architectures have a handler";
  if (missing.empty()) {
    r.checks.push_back(Make("binfmt.handlers", "binfmt", CheckStatus::kOk, found,
                            "every checked architecture has an enabled binfmt_misc entry"));
  } else {
    r.checks.push_back(Make("binfmt.handlers", "binfmt", CheckStatus::kWarn, found,
                            "no enabled entry for: " + missing,
                            "polyarch binfmt install --arch all"));
  }
}

void CheckEmulators(DoctorReport& r, const std::vector<const ArchInfo*>& arches,
                    const std::string& emulator_dir) {
  for (const ArchInfo* a : arches) {
    std::string path = emulator_dir + "/qemu-" + std::string(a->qemu) + "-static";
    std::string id = "emulator." + std::string(a->name);
    std::vector<std::string> warnings;
    Status s = CheckEmulatorFile(path, &warnings);
    if (!s.ok()) {
      r.checks.push_back(Make(id, "emulator", CheckStatus::kFail, "missing", s.message(),
                              "apt-get install qemu-user-static (or pass --emulator-dir)"));
      continue;
    }
    ToolVersion v = ProbeToolVersion(path, "--version");
    Check c = Make(id, "emulator", CheckStatus::kOk, path + " " + v.version, "present, static");
    c.details = {{"path", path}, {"version", v.version}, {"static", warnings.empty()}};
    if (!warnings.empty()) {
      c.status = CheckStatus::kWarn;
      c.reason = warnings.front();
      c.hint = "use the -static emulators of qemu-user-static";
    }
    if (!v.status.ok()) {
      c.status = CheckStatus::kFail;
      c.reason = "the emulator does not run: " + v.status.message();
      c.hint = "reinstall qemu-user-static";
    }
    r.checks.push_back(std::move(c));
  }
}

void CheckNamespaces(DoctorReport& r) {
  struct Ns {
    const char* name;
    int flag;
  };
  const Ns kinds[] = {{"mnt", CLONE_NEWNS},       {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
                      {"uts", CLONE_NEWUTS},      {"ipc", CLONE_NEWIPC}, {"user", CLONE_NEWUSER},
                      {"cgroup", CLONE_NEWCGROUP}};
  for (const Ns& ns : kinds) {
    int flag = ns.flag;
    int rc = InChild([flag] {
      if (::unshare(flag) != 0) return errno;
      // A pid namespace exists only once a process lives in it.
      if (flag == CLONE_NEWPID) {
        pid_t p = ::fork();
        if (p < 0) return errno;
        if (p == 0) ::_exit(::getpid() == 1 ? 0 : 1);
        int st = 0;
        ::waitpid(p, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : EPROTO;
      }
      return 0;
    });
    std::string id = std::string("namespace.") + ns.name;
    if (rc == 0) {
      r.checks.push_back(Make(id, "namespaces", CheckStatus::kOk, "created",
                              std::string(ns.name) + " namespace created in a child process"));
    } else {
      std::string why = rc > 0 ? std::strerror(rc) : "the probe child died";
      r.checks.push_back(Make(id, "namespaces", CheckStatus::kFail, "refused",
                              "unshare(" + std::string(ns.name) + ") failed: " + why,
                              std::string(ns.name) == "user"
                                  ? "check user.max_user_namespaces and any LSM policy"
                                  : "containers need this namespace; check the kernel config "
                                    "and any seccomp/LSM policy polyarch runs under"));
    }
  }
}

void CheckCgroups(DoctorReport& r) {
  const CgroupLayout& l = r.host.cgroups;
  std::string mode(CgroupModeName(l.mode));
  if (l.mode == CgroupMode::kNone) {
    r.checks.push_back(Make("cgroup.mode", "cgroup", CheckStatus::kFail, mode,
                            "no cgroup hierarchy is mounted", "mount cgroup2 on /sys/fs/cgroup"));
    return;
  }
  Check mode_check =
      Make("cgroup.mode", "cgroup", CheckStatus::kOk, mode,
           l.mode == CgroupMode::kHybrid ? "v1 hierarchies plus a v2 hierarchy at " + l.v2_mount
                                         : "a single cgroup " + mode + " layout");
  mode_check.details = {{"v2_mount", l.v2_mount},
                        {"v2_controllers", l.v2_controllers},
                        {"v1_controllers", l.v1_controllers}};
  r.checks.push_back(std::move(mode_check));

  std::string missing;
  for (const char* c : {"cpu", "memory", "pids", "freezer"}) {
    // cgroup v2 has no freezer controller file: the freezer is built into every v2 cgroup.
    bool has = l.Has(c) || (std::string(c) == "freezer" && l.mode == CgroupMode::kV2);
    if (!has) missing += (missing.empty() ? "" : ", ") + std::string(c);
  }
  if (missing.empty()) {
    r.checks.push_back(Make("cgroup.controllers", "cgroup", CheckStatus::kOk,
                            "cpu, memory, pids, freezer",
                            "the controllers the suites use (limits, pause) are usable"));
  } else {
    r.checks.push_back(Make("cgroup.controllers", "cgroup", CheckStatus::kWarn,
                            "missing: " + missing,
                            "without these controllers, pause or limits cases cannot pass",
                            "enable the controllers in the kernel command line / cgroup mounts"));
  }

  if (l.mode == CgroupMode::kHybrid && !l.v2_controllers.empty()) {
    std::string held;
    for (const auto& c : l.v2_controllers) held += (held.empty() ? "" : ", ") + c;
    Check c =
        Make("cgroup.hybrid_v2_controllers", "cgroup", CheckStatus::kWarn, "v2 holds: " + held,
             "a hybrid layout whose v2 hierarchy holds controllers: crun refuses every "
             "container on it ('cgroups in hybrid mode not supported, drop all "
             "controllers from cgroupv2')",
             "polyarch doctor --fix mounts a v1 hierarchy for each (" + held +
                 "), which moves the controller out of v2; runc, containerd and dockerd "
                 "keep working");
    c.fix = kFixCgroupV1;
    c.details = {{"v2_controllers", l.v2_controllers}};
    r.checks.push_back(std::move(c));
  }
}

void CheckOverlay(DoctorReport& r, const std::string& base) {
  auto dir = TempDir::Create("polyarch-overlay-", base);
  if (!dir.ok()) {
    r.checks.push_back(Make("storage.overlayfs", "storage", CheckStatus::kFail, "untested",
                            dir.status().ToString(), "make " + base + " writable"));
    return;
  }
  const std::string d = dir->path();
  for (const char* sub : {"/lower", "/upper", "/work", "/merged"}) ::mkdir((d + sub).c_str(), 0755);
  const std::string opts =
      "lowerdir=" + d + "/lower,upperdir=" + d + "/upper,workdir=" + d + "/work";
  const std::string merged = d + "/merged";
  const std::string file = merged + "/probe";
  int rc = InChild([&] {
    if (::unshare(CLONE_NEWNS) != 0) return errno;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
    if (::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) return errno;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    ::close(fd);
    ::umount2(merged.c_str(), MNT_DETACH);
    return 0;
  });
  bool copied_up = PathExists(d + "/upper/probe");
  if (rc == 0 && copied_up) {
    r.checks.push_back(Make("storage.overlayfs", "storage", CheckStatus::kOk, "mountable",
                            "an overlay mounted under " + base +
                                " took a write into its upper "
                                "directory"));
  } else {
    std::string why = rc > 0 ? std::strerror(rc) : (rc == 0 ? "write not copied up" : "probe died");
    r.checks.push_back(Make("storage.overlayfs", "storage", CheckStatus::kFail, "not mountable",
                            "mounting overlayfs under " + base + " failed: " + why,
                            "containerd and dockerd need overlayfs: load the overlay module and "
                            "keep the state directory off overlayfs/tmpfs-on-overlay"));
  }
  // The overlay's work directory holds a root-owned "work" subdirectory: RemoveTree copes.
}

void CheckSeccomp(DoctorReport& r) {
  auto status = ReadFile("/proc/self/status");
  std::string mode = "unknown";
  if (status.ok()) {
    auto pos = status->find("\nSeccomp:");
    if (pos != std::string::npos) {
      mode = status->substr(pos + 9, status->find('\n', pos + 1) - pos - 9);
      mode.erase(0, mode.find_first_not_of(" \t"));
    }
  }
  // With no_new_privs set, installing a NULL filter program fails with EFAULT exactly when
  // the kernel supports seccomp filters (EINVAL when it does not).
  int rc = InChild([] {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0, 0, 0) == 0) return 0;
    return errno == EFAULT ? 0 : errno;
  });
  if (rc == 0) {
    Check c = Make("security.seccomp", "kernel", CheckStatus::kOk, "filter mode available",
                   "seccomp filters can be installed (runtimes apply the OCI seccomp profile)");
    if (mode == "2") {
      c.status = CheckStatus::kWarn;
      c.reason =
          "polyarch itself runs under a seccomp filter: nested runtimes may be refused "
          "system calls";
      c.hint = "run polyarch outside a seccomp-confined container";
    }
    c.details = {{"self_mode", mode}};
    r.checks.push_back(std::move(c));
  } else {
    r.checks.push_back(Make("security.seccomp", "kernel", CheckStatus::kWarn, "unavailable",
                            "seccomp filter mode is not supported by this kernel",
                            "containers run without syscall filtering here"));
  }
}

void CheckDisk(DoctorReport& r, const std::string& state_dir) {
  // The state directory may not exist before the first run: measure its nearest ancestor.
  std::string probe = state_dir;
  while (!probe.empty() && !PathExists(probe)) {
    auto slash = probe.rfind('/');
    probe = slash == 0 ? "/" : probe.substr(0, slash);
    if (slash == std::string::npos) probe = ".";
  }
  struct statvfs vfs {};
  if (::statvfs(probe.c_str(), &vfs) != 0) {
    r.checks.push_back(Make("storage.free_disk", "storage", CheckStatus::kFail, "unknown",
                            ErrnoStatus(errno, "statvfs " + probe).ToString()));
    return;
  }
  uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  std::ostringstream found;
  found.precision(1);
  found << std::fixed << static_cast<double>(free_bytes) / kGiB << " GiB free at " << probe;
  Check c = Make("storage.free_disk", "storage", CheckStatus::kOk, found.str(),
                 "5 GiB or more free for images, bundles, daemon state and reports");
  if (free_bytes < kGiB) {
    c.status = CheckStatus::kFail;
    c.reason = "less than 1 GiB free: image builds and daemon state will not fit";
    c.hint = "free space or pass --state-dir on a larger file system";
  } else if (free_bytes < 5 * kGiB) {
    c.status = CheckStatus::kWarn;
    c.reason = "less than 5 GiB free: a full run with every arch may not fit";
    c.hint = "free space or pass --state-dir on a larger file system";
  }
  c.details = {{"path", probe}, {"free_bytes", free_bytes}};
  r.checks.push_back(std::move(c));
}

// Runs a real container (see ProbeOciRuntime): success means the runtime accepts this host
// (cgroups, namespaces, mounts) as it is.
void CheckRuntimeAccepts(DoctorReport& r, const ToolVersion& tool) {
  std::string id = "runtime." + tool.program + ".accepts_host";
  auto ran = ProbeOciRuntime(tool.program, tool.path);
  if (ran.ok()) {
    r.checks.push_back(Make(id, "runtime", CheckStatus::kOk, "ran a container",
                            tool.program +
                                " ran a container to completion (exit 42 as expected) in " +
                                std::to_string(*ran) + " ms"));
    return;
  }
  Check c = Make(id, "runtime", CheckStatus::kFail, "refused", ran.status().message());
  if (ran.status().message().find("hybrid mode") != std::string::npos) {
    c.hint =
        "polyarch doctor --fix mounts a v1 hierarchy for each controller held in v2 "
        "(see cgroup.hybrid_v2_controllers)";
    c.fix = kFixCgroupV1;
  } else {
    c.hint = "run a container with " + tool.path + " by hand to see the full error";
  }
  r.checks.push_back(std::move(c));
}

void CheckRuntimes(DoctorReport& r, bool probe) {
  struct Tool {
    const char* program;
    const char* flag;
    bool oci_runtime;
    const char* package;
  };
  const Tool tools[] = {{"runc", "--version", true, "runc"},
                        {"crun", "--version", true, "crun"},
                        {"containerd", "--version", false, "containerd"},
                        {"ctr", "--version", false, "containerd"},
                        {"dockerd", "--version", false, "docker.io"}};
  for (const Tool& t : tools) {
    ToolVersion v = ProbeToolVersion(t.program, t.flag);
    std::string id = std::string("runtime.") + t.program;
    if (v.path.empty()) {
      r.checks.push_back(Make(id, "runtime", CheckStatus::kWarn, "not found",
                              std::string(t.program) + " is not in PATH: its layer is skipped",
                              std::string("apt-get install ") + t.package));
      continue;
    }
    Check c =
        Make(id, "runtime", v.status.ok() ? CheckStatus::kOk : CheckStatus::kFail,
             v.path + " " + v.version, v.status.ok() ? "found: " + v.line : v.status.message());
    c.details = {{"path", v.path}, {"version", v.version}, {"version_line", v.line}};
    r.checks.push_back(std::move(c));
    if (t.oci_runtime && probe && v.status.ok()) CheckRuntimeAccepts(r, v);
  }
}

}  // namespace

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
  }
  return "fail";
}

int DoctorReport::Count(CheckStatus s) const {
  int n = 0;
  for (const auto& c : checks) n += c.status == s;
  return n;
}

CheckStatus DoctorReport::Overall() const {
  if (Count(CheckStatus::kFail) > 0) return CheckStatus::kFail;
  if (Count(CheckStatus::kWarn) > 0) return CheckStatus::kWarn;
  return CheckStatus::kOk;
}

DoctorReport RunDoctor(const DoctorOptions& options) {
  DoctorReport r;
  r.host = CollectHostFacts();
  std::vector<const ArchInfo*> arches = options.arches;
  if (arches.empty()) {
    auto all = ParseArchList("all", ArchScope::kEmulated);
    if (all.ok()) arches = *all;
  }
  CheckKernel(r);
  CheckSeccomp(r);
  CheckBinfmt(r, arches, options.state_dir);
  CheckEmulators(r, arches, options.emulator_dir);
  CheckNamespaces(r);
  CheckCgroups(r);
  const char* tmp = std::getenv("TMPDIR");
  CheckOverlay(r, PathExists(options.state_dir) ? options.state_dir : (tmp && *tmp ? tmp : "/tmp"));
  CheckDisk(r, options.state_dir);
  CheckRuntimes(r, options.probe_runtimes);
  return r;
}

std::vector<FixResult> ApplyFixes(const DoctorReport& report) {
  std::vector<FixResult> out;
  auto wanted = [&](const char* fix) {
    for (const auto& c : report.checks) {
      if (c.status != CheckStatus::kOk && c.fix == fix) return true;
    }
    return false;
  };
  if (wanted(kFixBinfmtMount)) {
    FixResult f{kFixBinfmtMount, "mounted binfmt_misc on " + std::string(kBinfmtDir), {}};
    RealProcFs procfs;
    f.status = procfs.Mount();
    out.push_back(std::move(f));
  }
  if (wanted(kFixCgroupV1)) {
    const CgroupLayout& l = report.host.cgroups;
    for (const auto& ctrl : l.v2_controllers) {
      std::string target = "/sys/fs/cgroup/" + ctrl;
      FixResult f{kFixCgroupV1,
                  "mounted the cgroup v1 hierarchy '" + ctrl + "' on " + target +
                      " (moves the controller out of cgroup v2; undo: umount " + target + ")",
                  {}};
      if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
        f.status = ErrnoStatus(errno, "mkdir " + target);
      } else if (::mount("cgroup", target.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         ctrl.c_str()) != 0) {
        f.status = ErrnoStatus(errno, "mount -t cgroup -o " + ctrl + " cgroup " + target);
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

nlohmann::json DoctorJson(const DoctorReport& r, const std::vector<FixResult>& fixes) {
  using nlohmann::json;
  json checks = json::array();
  for (const auto& c : r.checks) {
    checks.push_back({{"id", c.id},
                      {"category", c.category},
                      {"status", CheckStatusName(c.status)},
                      {"found", c.found},
                      {"reason", c.reason},
                      {"hint", c.hint},
                      {"fix", c.fix},
                      {"details", c.details}});
  }
  json applied = json::array();
  for (const auto& f : fixes) {
    applied.push_back({{"fix", f.fix},
                       {"change", f.change},
                       {"ok", f.status.ok()},
                       {"error", f.status.ok() ? "" : f.status.ToString()}});
  }
  const auto& h = r.host;
  return {{"schema_version", kDoctorSchemaVersion},
          {"kind", "polyarch.doctor"},
          {"host",
           {{"hostname", h.hostname},
            {"kernel", h.kernel.release},
            {"machine", h.machine},
            {"cpu_model", h.cpu_model},
            {"cpus", h.cpus},
            {"cgroup_mode", CgroupModeName(h.cgroups.mode)}}},
          {"checks", checks},
          {"fixes_applied", applied},
          {"summary",
           {{"ok", r.Count(CheckStatus::kOk)},
            {"warn", r.Count(CheckStatus::kWarn)},
            {"fail", r.Count(CheckStatus::kFail)},
            {"result", CheckStatusName(r.Overall())}}}};
}

std::string DoctorText(const DoctorReport& r, const std::vector<FixResult>& fixes) {
  std::ostringstream o;
  o << "polyarch doctor: " << r.host.hostname << ", Linux " << r.host.kernel.release << ", "
    << r.host.machine << ", " << r.host.cpus << " CPUs, cgroup "
    << CgroupModeName(r.host.cgroups.mode) << "\n\n";
  size_t width = 0;
  for (const auto& c : r.checks) width = std::max(width, c.id.size());
  for (const auto& c : r.checks) {
    std::string tag = c.status == CheckStatus::kOk     ? "ok  "
                      : c.status == CheckStatus::kWarn ? "WARN"
                                                       : "FAIL";
    o << "  " << tag << "  " << c.id << std::string(width - c.id.size() + 2, ' ') << c.found
      << "\n";
    if (c.status != CheckStatus::kOk) {
      o << "        " << std::string(width + 2, ' ') << "why:  " << c.reason << "\n";
      if (!c.hint.empty())
        o << "        " << std::string(width + 2, ' ') << "fix:  " << c.hint << "\n";
    }
  }
  if (!fixes.empty()) {
    o << "\nchanges made by --fix:\n";
    for (const auto& f : fixes) {
      o << "  " << (f.status.ok() ? "done  " : "FAILED") << "  " << f.change;
      if (!f.status.ok()) o << ": " << f.status.ToString();
      o << "\n";
    }
  }
  o << "\n"
    << r.Count(CheckStatus::kOk) << " ok, " << r.Count(CheckStatus::kWarn) << " warn, "
    << r.Count(CheckStatus::kFail) << " fail\n";
  return o.str();
}

}  // namespace polyarch
