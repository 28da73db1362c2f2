// Every touch of binfmt_misc goes through ProcFs, so the registration logic is tested
// against a fake and the real kernel alike. No method writes the `status` file: there is no
// way to ask for it (writing -1 there would remove every entry on the host).
#ifndef POLYARCH_BINFMT_PROCFS_H_
#define POLYARCH_BINFMT_PROCFS_H_

#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

inline constexpr std::string_view kBinfmtDir = "/proc/sys/fs/binfmt_misc";

class ProcFs {
 public:
  virtual ~ProcFs() = default;

  // Whether the kernel knows the binfmt_misc file system (/proc/filesystems).
  virtual bool Available() = 0;
  virtual bool Mounted() = 0;
  virtual Status Mount() = 0;
  // Whether the global status file says "enabled".
  virtual Result<bool> Enabled() = 0;
  // Names of the registered entries (not "register" or "status").
  virtual Result<std::vector<std::string>> ListEntries() = 0;
  // The entry's status text; NotFound when there is no such entry.
  virtual Result<std::string> ReadEntry(const std::string& name) = 0;
  // Writes one registration line to `register`. The kernel's errno becomes the Status.
  virtual Status Register(const std::string& line) = 0;
  // Writes -1 to the entry's own file, removing that entry alone.
  virtual Status RemoveEntry(const std::string& name) = 0;
};

class RealProcFs : public ProcFs {
 public:
  explicit RealProcFs(std::string dir = std::string(kBinfmtDir)) : dir_(std::move(dir)) {}

  bool Available() override;
  bool Mounted() override;
  Status Mount() override;
  Result<bool> Enabled() override;
  Result<std::vector<std::string>> ListEntries() override;
  Result<std::string> ReadEntry(const std::string& name) override;
  Status Register(const std::string& line) override;
  Status RemoveEntry(const std::string& name) override;

 private:
  std::string dir_;
};

// Whether `name` can only be an entry (not one of the two control files, not a path).
bool IsEntryName(std::string_view name);

}  // namespace polyarch

#endif  // POLYARCH_BINFMT_PROCFS_H_
