#include "harness/host/facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"
#include "harness/core/strings.h"
#include "harness/core/subprocess.h"

namespace polyarch {
namespace {

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

KernelVersion ParseKernelRelease(std::string_view release) {
  KernelVersion k;
  k.release = std::string(release);
  int* parts[] = {&k.major, &k.minor, &k.patch};
  size_t i = 0;
  for (int* p : parts) {
    if (i >= release.size() || !std::isdigit(static_cast<unsigned char>(release[i]))) break;
    while (i < release.size() && std::isdigit(static_cast<unsigned char>(release[i]))) {
      *p = *p * 10 + (release[i] - '0');
      ++i;
    }
    if (i < release.size() && release[i] == '.') ++i;
  }
  return k;
}

std::string_view CgroupModeName(CgroupMode m) {
  switch (m) {
    case CgroupMode::kNone:
      return "none";
    case CgroupMode::kV1:
      return "v1";
    case CgroupMode::kV2:
      return "v2";
    case CgroupMode::kHybrid:
      return "hybrid";
  }
  return "none";
}

bool CgroupLayout::Has(std::string_view c) const {
  auto in = [&](const std::vector<std::string>& v) {
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  return in(v1_controllers) || in(v2_controllers);
}

CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view v2_controllers,
                               std::string_view proc_cgroups) {
  CgroupLayout l;
  bool v1 = false;
  for (const Mount& m : ParseMountInfo(mountinfo)) {
    if (m.fstype == "cgroup2") {
      if (l.v2_mount.empty()) l.v2_mount = m.mount_point;
    } else if (m.fstype == "cgroup") {
      v1 = true;
      for (const auto& opt : Split(m.super_options, ',')) {
        if (opt == "rw" || opt == "ro" || opt.find('=') != std::string::npos) continue;
        AddUnique(l.v1_controllers, opt);
      }
    }
  }
  for (const auto& c : Split(std::string(v2_controllers), ' ')) {
    std::string t = c;
    t.erase(std::remove(t.begin(), t.end(), '\n'), t.end());
    if (!t.empty()) AddUnique(l.v2_controllers, t);
  }
  std::istringstream pc{std::string(proc_cgroups)};
  for (std::string line; std::getline(pc, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name;
    int hierarchy = 0, num = 0, enabled = 0;
    f >> name >> hierarchy >> num >> enabled;
    if (enabled) AddUnique(l.kernel_controllers, name);
  }
  if (!l.v2_mount.empty() && v1) {
    l.mode = CgroupMode::kHybrid;
  } else if (!l.v2_mount.empty()) {
    l.mode = CgroupMode::kV2;
  } else if (v1) {
    l.mode = CgroupMode::kV1;
  }
  return l;
}

Result<CgroupLayout> DetectCgroupLayout() {
  PA_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  std::string proc_cgroups = ReadFile("/proc/cgroups").ok() ? *ReadFile("/proc/cgroups") : "";
  CgroupLayout first = ParseCgroupLayout(mountinfo, "", proc_cgroups);
  std::string controllers;
  if (!first.v2_mount.empty()) {
    auto c = ReadFile(first.v2_mount + "/cgroup.controllers");
    if (c.ok()) controllers = *c;
  }
  return ParseCgroupLayout(mountinfo, controllers, proc_cgroups);
}

int64_t ParseMemTotal(std::string_view meminfo) {
  std::istringstream in{std::string(meminfo)};
  std::string key;
  int64_t kib = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (fields >> key >> kib && key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

std::string ParseOsReleaseName(std::string_view os_release) {
  std::map<std::string, std::string> kv;
  std::istringstream in{std::string(os_release)};
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line[0] == '#') continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    kv[line.substr(0, eq)] = value;
  }
  if (!kv["PRETTY_NAME"].empty()) return kv["PRETTY_NAME"];
  std::string name = kv["NAME"];
  if (!kv["VERSION_ID"].empty()) name += (name.empty() ? "" : " ") + kv["VERSION_ID"];
  return name;
}

HostFacts CollectHostFacts() {
  HostFacts f;
  struct utsname u {};
  if (::uname(&u) == 0) {
    f.hostname = u.nodename;
    f.kernel = ParseKernelRelease(u.release);
    f.machine = u.machine;
  }
  if (auto cpuinfo = ReadFile("/proc/cpuinfo"); cpuinfo.ok()) {
    std::istringstream in(*cpuinfo);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        auto colon = line.find(':');
        if (colon != std::string::npos) f.cpu_model = line.substr(colon + 2);
        break;
      }
    }
  }
  f.cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (auto m = ReadFile("/proc/meminfo"); m.ok()) f.memory_bytes = ParseMemTotal(*m);
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    if (auto r = ReadFile(path); r.ok()) {
      f.distro = ParseOsReleaseName(*r);
      break;
    }
  }
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    if (auto r = ReadFile(path); r.ok() && !Trim(*r).empty()) {
      f.machine_id = std::string(Trim(*r));
      break;
    }
  }
  if (auto l = DetectCgroupLayout(); l.ok()) f.cgroups = *l;
  return f;
}

std::string ExtractVersion(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_')) {
      continue;
    }
    size_t j = i;
    bool dot = false;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) &&
           text[j] != ',' && text[j] != ')') {
      if (text[j] == '.') dot = true;
      ++j;
    }
    if (dot) return std::string(text.substr(i, j - i));
  }
  return "";
}

ToolVersion ProbeToolVersion(const std::string& program, const std::string& version_flag) {
  ToolVersion t;
  t.program = program;
  auto path = FindProgram(program);
  if (!path.ok()) {
    t.status = path.status();
    return t;
  }
  t.path = *path;
  auto r = RunProcess({*path, version_flag}, std::chrono::seconds(10));
  if (!r.ok()) {
    t.status = r.status();
    return t;
  }
  std::string text = r->out.Text();
  if (text.empty()) text = r->err.Text();
  t.line = text.substr(0, text.find('\n'));
  t.version = ExtractVersion(t.line);
  if (!r->success()) t.status = Unavailable(program + " " + version_flag + ": " + r->Describe());
  return t;
}

}  // namespace polyarch
