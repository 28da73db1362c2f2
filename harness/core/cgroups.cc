#include "harness/core/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <thread>

#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"

namespace polyarch {

std::vector<std::string> CgroupRoots(const std::string& root) {
  std::vector<std::string> roots;
  auto mounts = ReadMountInfo(root);
  if (!mounts.ok()) return roots;
  for (const Mount& m : *mounts) {
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") roots.push_back(m.mount_point);
  }
  return roots;
}

std::vector<std::string> FindCgroups(const std::vector<std::string>& prefixes) {
  std::vector<std::string> found;
  for (const auto& root : CgroupRoots()) {
    DIR* d = ::opendir(root.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      std::string name = e->d_name;
      for (const auto& p : prefixes) {
        if (!p.empty() && name.rfind(p, 0) == 0) {
          found.push_back(root + "/" + name);
          break;
        }
      }
    }
    ::closedir(d);
  }
  return found;
}

Status RemoveCgroupTree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "opendir " + path);
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(path + "/" + e->d_name);
  }
  ::closedir(d);
  for (const auto& c : children) PA_RETURN_IF_ERROR(RemoveCgroupTree(c));
  // A cgroup directory holds only the kernel's virtual files: rmdir removes it when empty.
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "rmdir " + path + " (a process may still be in it)");
  }
  return Status::Ok();
}

int KillCgroupProcesses(const std::string& path) {
  int n = 0;
  auto write = [](const std::string& file, std::string_view value) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, value.data(), value.size());
    ::close(fd);
  };
  write(path + "/freezer.state", "THAWED");  // v1 freezer hierarchy
  write(path + "/cgroup.freeze", "0");       // v2
  if (auto procs = ReadFile(path + "/cgroup.procs", 1 << 20); procs.ok()) {
    std::istringstream in(*procs);
    for (pid_t pid; in >> pid;) n += pid > 1 && ::kill(pid, SIGKILL) == 0;
  }
  if (DIR* d = ::opendir(path.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(path + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& c : children) n += KillCgroupProcesses(c);
  }
  return n;
}

Status RemoveCgroupTreeKillingWhatIsLeft(const std::string& path, int* killed,
                                         std::chrono::milliseconds patience) {
  Status s = RemoveCgroupTree(path);
  if (s.ok()) return s;
  const int n = KillCgroupProcesses(path);
  if (killed != nullptr) *killed += n;
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!s.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s = RemoveCgroupTree(path);
  }
  return s;
}

std::vector<std::string> RemoveCgroups(const std::vector<std::string>& prefixes) {
  std::vector<std::string> left;
  for (const auto& cg : FindCgroups(prefixes)) {
    if (!RemoveCgroupTree(cg).ok()) left.push_back(cg);
  }
  return left;
}

std::vector<ProcessCgroup> ProcessCgroups(int pid) {
  std::vector<ProcessCgroup> out;
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/cgroup", 65536);
  if (!text.ok()) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-id:controller-list:path
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    ProcessCgroup c;
    std::istringstream list(line.substr(a + 1, b - a - 1));
    for (std::string name; std::getline(list, name, ',');) c.controllers.push_back(name);
    if (c.controllers.empty()) c.controllers = {"unified"};
    c.path = line.substr(b + 1);
    out.push_back(std::move(c));
  }
  return out;
}

std::string CgroupDir(const std::string& controller, const std::string& path) {
  if (controller != "unified") return "/sys/fs/cgroup/" + controller + path;
  return PathExists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" + path
                                                         : "/sys/fs/cgroup/unified" + path;
}

}  // namespace polyarch
