// The binfmt_misc entries of a run: the emulators registered (F) and proven for every foreign
// arch it runs, the temporary P entry one crossarch case needs, and the removal of what the run
// added at the end. Entries that were there before stay, whoever owns them.
#ifndef POLYARCH_HARNESS_RUN_RUN_BINFMT_H_
#define POLYARCH_HARNESS_RUN_RUN_BINFMT_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "binfmt/arch.h"
#include "binfmt/entry.h"
#include "harness/core/journal.h"
#include "harness/core/status.h"

namespace polyarch {

class RunBinfmt {
 public:
  explicit RunBinfmt(Journal* journal) : journal_(journal) {}

  // Registers an entry for every foreign arch of `arches` (an entry already in place is used
  // as it is) and proves each by running a program of that arch; `scratch` holds the proof's
  // files. Returns context.binfmt. An arch without a working handler gets a reason in
  // Unavailable().
  nlohmann::json Register(const std::vector<const ArchInfo*>& arches, const std::string& scratch);

  // Why `arch` cannot run in this run, "" when it can.
  std::string Unavailable(const ArchInfo& arch) const;
  // The flags of the entry that runs `arch` ("" for native).
  std::string FlagsFor(const ArchInfo& arch) const;

  // Runs `fn` while an extra entry with the P flag (preserve argv[0]) handles `arch`; one at a
  // time. The entry is journaled before it is registered and removed after.
  Status WithPreserveArgv0(const ArchInfo& arch, const std::function<void()>& fn);

  // Removes the entries this run registered that still hold what it wrote. Returns
  // [{entry, ok}]; each failure is added to `problems`.
  nlohmann::json RemoveRegistered(std::vector<std::string>* problems);

 private:
  Journal* journal_;
  std::map<const ArchInfo*, std::string> unavailable_;
  std::map<const ArchInfo*, std::string> flags_;
  std::vector<Entry> registered_;  // entries this run added (and removes)
  std::mutex preserve_mu_;
};

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_RUN_RUN_BINFMT_H_
