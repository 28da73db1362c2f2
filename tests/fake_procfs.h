// An in-memory binfmt_misc that answers like the kernel does: registration lines are parsed
// with the kernel's rules, entries are rendered in the kernel's status format, a name in use
// is EEXIST, and every write is logged so a test can prove `status` was never written.
#ifndef POLYARCH_TESTS_FAKE_PROCFS_H_
#define POLYARCH_TESTS_FAKE_PROCFS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "binfmt/procfs.h"

namespace polyarch {

class FakeProcFs : public ProcFs {
 public:
  bool available = true;
  bool mounted = true;
  bool enabled = true;
  int mount_calls = 0;
  std::set<std::string> fail_register;  // entry names whose registration gets EINVAL
  std::set<std::string> fail_remove;    // entry names whose removal gets EBUSY
  std::vector<std::string> writes;      // "register <line>" / "remove <name>", in order

  bool Available() override { return available; }
  bool Mounted() override { return mounted; }
  Status Mount() override;
  Result<bool> Enabled() override { return enabled; }
  Result<std::vector<std::string>> ListEntries() override;
  Result<std::string> ReadEntry(const std::string& name) override;
  Status Register(const std::string& line) override;
  Status RemoveEntry(const std::string& name) override;

  // Registers directly (as another tool would), bypassing the write log.
  void Preload(const std::string& line);
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, std::string> entries_;  // name -> status text
};

}  // namespace polyarch

#endif  // POLYARCH_TESTS_FAKE_PROCFS_H_
