// Proof that a registered handler really runs foreign binaries.
//
// polyarch carries, for every architecture, a minimal static ELF executable built here in
// code (no toolchain needed): it makes the exit system call with a chosen code. Running it
// through the kernel proves the binfmt_misc entry matches and its emulator works; running it
// chrooted into a directory that holds nothing else proves the F flag (the emulator was
// opened at registration, so containers without qemu in their rootfs work too). Running the
// native one proves that no entry hijacked the host's own binaries.
#ifndef POLYARCH_BINFMT_PROOF_H_
#define POLYARCH_BINFMT_PROOF_H_

#include <cstdint>
#include <string>

#include "binfmt/arch.h"
#include "harness/core/status.h"

namespace polyarch {

inline constexpr uint8_t kProofExitCode = 42;

// The bytes of a static ELF executable for `arch` whose only work is exit(code).
std::string BuildExitElf(const ArchInfo& arch, uint8_t code = kProofExitCode);

struct ProofResult {
  bool ok = false;
  std::string detail;  // "exit 42 in 23 ms", or what went wrong
  int64_t duration_ns = 0;
};

// Runs the arch's exit program from a fresh directory under `work_dir`.
ProofResult ProveOnHost(const ArchInfo& arch, const std::string& work_dir);
// Runs it as /proof inside a new mount namespace, chrooted into a directory holding only it.
ProofResult ProveInEmptyRoot(const ArchInfo& arch, const std::string& work_dir);

}  // namespace polyarch

#endif  // POLYARCH_BINFMT_PROOF_H_
