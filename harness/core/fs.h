// Small file-system helpers with the error convention of polyarch (no exceptions).
#ifndef POLYARCH_HARNESS_CORE_FS_H_
#define POLYARCH_HARNESS_CORE_FS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>

#include <string>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

// The whole file; ResourceExhausted when it is larger than `limit`.
Result<std::string> ReadFile(const std::string& path, size_t limit = 64 * 1024 * 1024);
// At most the first `n` bytes.
Result<std::string> ReadFilePrefix(const std::string& path, size_t n);

// Writes through a temporary file in the same directory, fsyncs it, renames it over `path`
// and fsyncs the directory: a reader sees the old content or the new, never a torn file, and
// a full disk leaves the old file in place.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// Creates or truncates `path` and writes `content`, without fsync: for scratch files that a
// crash makes worthless anyway (a container's bundle config, read at once by its runtime and
// removed with the container). What must survive a crash uses WriteFileAtomic.
Status WriteScratchFile(const std::string& path, std::string_view content, mode_t mode = 0644);

// mkdir -p with `mode` for the directories it creates.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Removes a tree without ever crossing into another file system: a mount left under it
// (a container rootfs, an overlay) is reported, not emptied.
Status RemoveTree(const std::string& path);

bool PathExists(const std::string& path);

// The argv of a running process (/proc/<pid>/cmdline split at NULs, under `root`: "" is the
// real /proc), or empty when it is gone, a kernel thread, or unreadable.
std::vector<std::string> ProcessArgv(const std::string& pid, const std::string& root = "");

// A directory created with mkdtemp under `parent` (default: $TMPDIR or /tmp), removed with
// RemoveTree when the object dies unless Keep() was called.
class TempDir {
 public:
  static Result<TempDir> Create(const std::string& prefix, const std::string& parent = "");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  ~TempDir();

  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool keep_ = false;
};

// A bounded walk that stays on one file system: `visit` gets every entry under `dir` (its
// path, its name and its lstat, links never followed) and says whether to step into it when
// it is a directory. Directories are entered down to `depth` levels below `dir`, and never
// when they are another file system (a container's rootfs, a daemon's overlay). Entries that
// vanish during the walk are passed over. A `dir` that does not exist is an empty walk.
enum class WalkNext { kDescend, kSkip };
using WalkVisitor =
    std::function<WalkNext(const std::string& path, const std::string& name, const struct stat&)>;
Status WalkSameFileSystem(const std::string& dir, int depth, const WalkVisitor& visit);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_FS_H_
