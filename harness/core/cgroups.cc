#include "harness/core/cgroups.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "harness/core/fs.h"

namespace polyarch {

std::vector<std::string> CgroupRoots() {
  std::vector<std::string> roots;
  auto info = ReadFile("/proc/self/mountinfo");
  if (!info.ok()) return roots;
  std::istringstream in(*info);
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream left(line.substr(0, dash)), right(line.substr(dash + 3));
    std::string id, parent, dev, root, mount_point, fstype;
    left >> id >> parent >> dev >> root >> mount_point;
    right >> fstype;
    if (fstype == "cgroup" || fstype == "cgroup2") roots.push_back(mount_point);
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

std::vector<std::string> RemoveCgroups(const std::vector<std::string>& prefixes) {
  std::vector<std::string> left;
  for (const auto& cg : FindCgroups(prefixes)) {
    if (!RemoveCgroupTree(cg).ok()) left.push_back(cg);
  }
  return left;
}

}  // namespace polyarch
