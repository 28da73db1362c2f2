// Installing, removing and reporting polyarch's binfmt_misc entries.
//
// Every entry is built and validated before anything is written (PlanInstall); a bad arch,
// flag or emulator stops the whole request with nothing changed. Ownership lives in the
// journal: an entry is recorded before it is registered, and only entries recorded there
// (and still holding the recorded content) are ever removed.
#ifndef POLYARCH_BINFMT_REGISTRY_H_
#define POLYARCH_BINFMT_REGISTRY_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binfmt/arch.h"
#include "binfmt/entry.h"
#include "binfmt/procfs.h"
#include "harness/core/journal.h"
#include "harness/core/status.h"

namespace polyarch {

inline constexpr std::string_view kJournalKindBinfmt = "binfmt";
inline constexpr std::string_view kDefaultPrefix = "polyarch-";
inline constexpr std::string_view kDefaultEmulatorDir = "/usr/bin";

struct InstallRequest {
  std::vector<const ArchInfo*> arches;
  std::string flags = "F";
  std::string emulator_dir = std::string(kDefaultEmulatorDir);
  std::string prefix = std::string(kDefaultPrefix);
  bool replace = false;
};

struct PlannedEntry {
  const ArchInfo* arch = nullptr;
  Entry entry;
  std::vector<std::string> warnings;
};

// What a user should know about an entry with these flags, whoever registered it: flag C
// runs the emulator with a setuid binary's credentials. Empty when nothing.
std::vector<std::string> FlagWarnings(std::string_view flags);

// Checks an emulator file; appends warnings for what works on the host but not everywhere.
using EmulatorCheck = std::function<Status(const std::string& path, std::vector<std::string>*)>;

// The real check: exists, regular, executable, an ELF for this host, statically linked
// (a dynamic emulator cannot start inside a container's rootfs: warning).
Status CheckEmulatorFile(const std::string& path, std::vector<std::string>* warnings);

// Builds and validates every entry. InvalidArgument (usage: exit 2) for a bad flag, prefix,
// or an emulator that is missing; nothing is written by planning.
Result<std::vector<PlannedEntry>> PlanInstall(const InstallRequest& request,
                                              const EmulatorCheck& check = CheckEmulatorFile);

enum class InstallAction {
  kRegistered,      // written now
  kAlreadyPresent,  // an identical entry was there already
  kConflict,        // a different entry holds the name; left alone (no --replace)
  kReplaced,        // a different entry held the name; replaced on request
  kFailed,          // the kernel refused the write
};
std::string_view InstallActionName(InstallAction a);

struct InstallOutcome {
  const ArchInfo* arch = nullptr;
  Entry entry;
  InstallAction action = InstallAction::kFailed;
  bool owned = false;  // recorded in polyarch's journal
  std::optional<KernelEntry> existing;
  Status status;
  std::vector<std::string> warnings;
};

struct InstallReport {
  bool mounted_binfmt_misc = false;  // polyarch mounted the file system for this request
  std::vector<InstallOutcome> outcomes;
};

// Mounts binfmt_misc when needed (never enables it: that would mean writing `status`), then
// applies the plan. FailedPrecondition when binfmt_misc is missing or disabled.
Result<InstallReport> Install(ProcFs& procfs, Journal& journal,
                              const std::vector<PlannedEntry>& plan, bool replace);

enum class UninstallAction {
  kRemoved,   // polyarch's entry, removed
  kGone,      // recorded, but no longer registered: forgotten
  kChanged,   // recorded, but someone changed it since: left alone
  kNotOwned,  // an entry under polyarch's name that polyarch did not record: left alone
  kFailed,    // the kernel refused the removal
};
std::string_view UninstallActionName(UninstallAction a);

struct UninstallOutcome {
  std::string arch;
  std::string name;
  UninstallAction action = UninstallAction::kFailed;
  Status status;
};

// Removes polyarch's recorded entries for `arches`; reports, and leaves, anything else under
// `prefix`+arch.
Result<std::vector<UninstallOutcome>> Uninstall(ProcFs& procfs, Journal& journal,
                                                const std::vector<const ArchInfo*>& arches,
                                                std::string_view prefix);

struct EntryStatus {
  std::string name;
  bool enabled = false;
  std::string flags;
  std::string interpreter;
  bool owned = false;  // polyarch recorded it and its content still matches
};

struct ArchBinfmtStatus {
  const ArchInfo* arch = nullptr;
  std::vector<EntryStatus> entries;  // every kernel entry that handles this arch
  bool registered() const { return !entries.empty(); }
  bool enabled() const;
};

struct BinfmtStatusReport {
  bool available = false;
  bool mounted = false;
  bool enabled = false;
  std::vector<ArchBinfmtStatus> arches;
  std::vector<std::string> unparsable;  // entries whose status text did not parse
};

Result<BinfmtStatusReport> CollectStatus(ProcFs& procfs, const Journal& journal,
                                         const std::vector<const ArchInfo*>& arches);

// The binfmt.d file text for an entry ("# ..." header, then the registration line).
std::string BinfmtDConf(const Entry& e);

}  // namespace polyarch

#endif  // POLYARCH_BINFMT_REGISTRY_H_
