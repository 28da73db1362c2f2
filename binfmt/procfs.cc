#include "binfmt/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

constexpr long kBinfmtMiscMagic = 0x42494e4d;  // BINFMTFS_MAGIC

Status WriteOnce(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  // binfmt_misc takes the whole line in one write; a short write is an error.
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus(err, "write " + path);
  if (static_cast<size_t>(n) != data.size()) return Internal("short write to " + path);
  return Status::Ok();
}

}  // namespace

bool IsEntryName(std::string_view name) {
  return !name.empty() && name != "status" && name != "register" && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos;
}

bool RealProcFs::Available() {
  auto fs = ReadFile("/proc/filesystems");
  return fs.ok() && fs->find("\tbinfmt_misc\n") != std::string::npos;
}

bool RealProcFs::Mounted() {
  struct statfs st {};
  return ::statfs(dir_.c_str(), &st) == 0 && st.f_type == kBinfmtMiscMagic;
}

Status RealProcFs::Mount() {
  if (Mounted()) return Status::Ok();
  if (::mount("binfmt_misc", dir_.c_str(), "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
    return ErrnoStatus(errno, "mount binfmt_misc on " + dir_);
  }
  return Status::Ok();
}

Result<bool> RealProcFs::Enabled() {
  PA_ASSIGN_OR_RETURN(std::string s, ReadFile(dir_ + "/status"));
  return s.rfind("enabled", 0) == 0;
}

Result<std::vector<std::string>> RealProcFs::ListEntries() {
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "opendir " + dir_);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (IsEntryName(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> RealProcFs::ReadEntry(const std::string& name) {
  if (!IsEntryName(name)) return InvalidArgument("'" + name + "' is not a binfmt entry name");
  return ReadFile(dir_ + "/" + name);
}

Status RealProcFs::Register(const std::string& line) { return WriteOnce(dir_ + "/register", line); }

Status RealProcFs::RemoveEntry(const std::string& name) {
  // The guard that keeps "-1" away from the status file lives here, at the only write.
  if (!IsEntryName(name)) return InvalidArgument("refusing to write to '" + name + "'");
  return WriteOnce(dir_ + "/" + name, "-1");
}

}  // namespace polyarch
