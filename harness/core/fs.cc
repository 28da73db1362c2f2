#include "harness/core/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace polyarch {

Result<std::string> ReadFile(const std::string& path, size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return ErrnoStatus(e, "read " + path);
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > limit) {
      ::close(fd);
      return ResourceExhausted(path + ": larger than " + std::to_string(limit) + " bytes");
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

Result<std::string> ReadFilePrefix(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  std::string data(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, data.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      return ErrnoStatus(e, "read " + path);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  data.resize(got);
  return data;
}

static Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write " + what);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status WriteScratchFile(const std::string& path, std::string_view content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  Status s = WriteAll(fd, content, path);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus(errno, "close " + path);
  return s;
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create temporary file for " + path);
  Status s = WriteAll(fd, content, tmp);
  if (s.ok() && ::fchmod(fd, mode) != 0) s = ErrnoStatus(errno, "chmod " + tmp);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, "fsync " + tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus(errno, "close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = ErrnoStatus(errno, "rename to " + path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return InvalidArgument("empty directory path");
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir " + cur);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(path + " exists and is not a directory");
  return Status::Ok();
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> ProcessArgv(const std::string& pid, const std::string& root) {
  auto data = ReadFile(root + "/proc/" + pid + "/cmdline", 1 << 20);
  std::vector<std::string> argv;
  if (!data.ok()) return argv;
  size_t start = 0;
  const std::string& s = *data;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    argv.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

// Depth-first removal under an open directory fd, refusing to descend into another device.
static Status RemoveAt(int parent_fd, const std::string& name, dev_t dev,
                       const std::string& shown) {
  struct stat st {};
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "stat " + shown);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) {
      return FailedPrecondition(shown + " is a mount point; refusing to remove across it");
    }
    int fd = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open " + shown);
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return ErrnoStatus(errno, "opendir " + shown);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    Status first;
    for (const auto& n : names) {
      Status s = RemoveAt(::dirfd(d), n, dev, shown + "/" + n);
      if (!s.ok() && first.ok()) first = s;
    }
    ::closedir(d);
    if (!first.ok()) return first;
    if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "rmdir " + shown);
    }
    return Status::Ok();
  }
  if (::unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "unlink " + shown);
  }
  return Status::Ok();
}

Status RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "stat " + path);
  }
  return RemoveAt(AT_FDCWD, path, st.st_dev, path);
}

Status WalkSameFileSystem(const std::string& dir, int depth, const WalkVisitor& visit) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return ErrnoStatus(errno, "opendir " + dir);
  }
  struct stat dir_st {};
  ::fstat(::dirfd(d), &dir_st);
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string path = dir + "/" + e->d_name;
    if (visit(path, e->d_name, st) == WalkNext::kDescend && S_ISDIR(st.st_mode) && depth > 0 &&
        st.st_dev == dir_st.st_dev) {
      subdirs.push_back(std::move(path));
    }
  }
  ::closedir(d);
  Status first;
  for (const auto& sub : subdirs) {
    Status s = WalkSameFileSystem(sub, depth - 1, visit);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Result<TempDir> TempDir::Create(const std::string& prefix, const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* t = std::getenv("TMPDIR");
    base = (t && *t) ? t : "/tmp";
  }
  std::string templ = base + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoStatus(errno, "mkdtemp " + templ);
  return TempDir(templ);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)), keep_(other.keep_) {
  other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty() && !keep_) (void)RemoveTree(path_);
    path_ = std::move(other.path_);
    keep_ = other.keep_;
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty() && !keep_) (void)RemoveTree(path_);
}

}  // namespace polyarch
