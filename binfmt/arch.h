// The architecture table: one row per CPU architecture polyarch knows, with everything each
// layer needs to name it (QEMU, Debian, OCI, uname) and the binfmt_misc magic/mask that
// QEMU 7.2 registers for it. The table is data; everything else looks arches up here.
#ifndef POLYARCH_BINFMT_ARCH_H_
#define POLYARCH_BINFMT_ARCH_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/status.h"

namespace polyarch {

struct ArchInfo {
  std::string_view name;           // polyarch's canonical name: "s390x", "arm", "amd64"
  std::string_view qemu;           // qemu-<qemu>-static
  std::string_view debian;         // Debian architecture, "" when Debian 12 has none
  std::string_view oci_arch;       // OCI platform.architecture
  std::string_view oci_variant;    // OCI platform.variant, "" when none
  std::string_view uname_machine;  // what `uname -m` prints under this arch
  std::string_view cross_prefix;   // Debian cross compiler triplet, "" when none
  int bits;
  bool big_endian;
  uint16_t elf_machine;
  std::string_view magic;  // binfmt_misc magic bytes at offset 0; empty for the native arch
  std::string_view mask;
  std::span<const std::string_view> aliases;

  bool has_binfmt() const { return !magic.empty(); }
  // "linux/arm/v7"
  std::string Platform() const;
};

// Every known architecture, amd64 first, then the emulated ones in a stable order.
std::span<const ArchInfo> AllArches();

// The architecture this host runs natively (by uname -m); nullptr if polyarch does not
// know it.
const ArchInfo* HostArch();

// Looks up a canonical name or alias, case-insensitively: "arm64", "linux/arm/v7",
// "ppc64el". InvalidArgument naming the known names otherwise.
Result<const ArchInfo*> LookupArch(std::string_view name);

enum class ArchScope {
  kEmulated,  // "all" means every arch with a binfmt entry, except the host's own
  kAll,       // "all" means every arch, the native one included
};

// "all" or a comma-separated list of names/aliases; duplicates collapse, order is the table's.
Result<std::vector<const ArchInfo*>> ParseArchList(std::string_view list, ArchScope scope);

// "arm, aarch64, ..." for messages.
std::string KnownArchNames();

}  // namespace polyarch

#endif  // POLYARCH_BINFMT_ARCH_H_
