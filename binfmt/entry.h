// A binfmt_misc entry: building the registration line, checking it against every rule the
// kernel enforces (fs/binfmt_misc.c) before anything is written, and parsing both the
// registration format (binfmt.d files) and the kernel's per-entry status file.
#ifndef POLYARCH_BINFMT_ENTRY_H_
#define POLYARCH_BINFMT_ENTRY_H_

#include <string>
#include <string_view>

#include "binfmt/arch.h"
#include "harness/core/status.h"

namespace polyarch {

// The kernel's limits. 128 is BINPRM_BUF_SIZE before Linux 5.1; newer kernels allow 256, but
// an entry that must work on any host stays within 128.
inline constexpr size_t kMaxRegisterLength = 1920;
inline constexpr size_t kPortableMagicLimit = 128;

struct Entry {
  std::string name;
  char type = 'M';  // 'M' magic, 'E' extension
  unsigned offset = 0;
  std::string magic;  // raw bytes (for 'E': the extension)
  std::string mask;   // raw bytes, same length as magic, or empty
  std::string interpreter;
  std::string flags;  // canonical: a subset of "POCF" in that order (see CanonicalFlags)

  // ":name:M:offset:\xNN...:\xNN...:interpreter:flags" with every magic and mask byte
  // escaped, so no byte can be taken for the delimiter.
  std::string RegistrationLine() const;
};

// Checks `e` against each rule the kernel applies to a registration; the message names the
// rule broken. Only structure is checked here, not the interpreter's existence.
Status ValidateEntry(const Entry& e);

// Polyarch's own stricter rules on top of the kernel's: a name of [A-Za-z0-9._+-] up to 64
// characters, an absolute interpreter path, and no 'O' flag without 'C'.
Status ValidatePolicy(const Entry& e);

// Normalizes a user's flags ("fp", "F,P") to the kernel's order "POCF"; 'C' implies 'O', as
// in the kernel. InvalidArgument for any other letter.
Result<std::string> CanonicalFlags(std::string_view flags);

// Parses one registration line as the kernel would (any delimiter, \x escapes, empty offset
// meaning 0, trailing newline allowed). Errors name the rule that fails.
Result<Entry> ParseRegistration(std::string_view line);

// The kernel's view of an entry: /proc/sys/fs/binfmt_misc/<name>.
struct KernelEntry {
  std::string name;
  bool enabled = false;
  std::string interpreter;
  std::string flags;  // as printed: subset of "POCF"
  char type = 'M';
  unsigned offset = 0;
  std::string magic;  // raw bytes
  std::string mask;   // raw bytes, empty when the entry has none
};
Result<KernelEntry> ParseKernelEntry(std::string_view name, std::string_view text);

// Whether the kernel entry is what `e` would register: same type, offset, interpreter, flags
// and the same masked magic and mask.
bool SameContent(const Entry& e, const KernelEntry& k);

// Whether a kernel entry matches the arch's magic/mask (so it handles that arch's binaries,
// whoever registered it).
bool HandlesArch(const KernelEntry& k, const ArchInfo& arch);

// The entry polyarch registers for `arch`.
Entry EntryForArch(const ArchInfo& arch, std::string_view prefix, std::string_view emulator_dir,
                   std::string_view flags);

// "\x7f\x45..." as in binfmt.d files.
std::string EscapeBytes(std::string_view bytes);
std::string HexBytes(std::string_view bytes);  // "7f454c46..."

}  // namespace polyarch

#endif  // POLYARCH_BINFMT_ENTRY_H_
