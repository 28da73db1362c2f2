// binfmt_misc text: registration lines (binfmt.d files, `binfmt export`) and the kernel's
// per-entry status files (/proc/sys/fs/binfmt_misc/<name>), which `binfmt status` and
// `uninstall` read to decide what is polyarch's.
//
// Invariants: an accepted registration line passes ValidateEntry, and the line polyarch
// would write for it parses back to the same entry; the status text the kernel prints for
// that entry reads back as the same content (SameContent); every arch's own entry is valid
// and round-trips.
#include <cstdint>
#include <string>

#include "binfmt/arch.h"
#include "binfmt/entry.h"
#include "fuzz/fuzz_util.h"

namespace {

using polyarch::Entry;
using polyarch::KernelEntry;

std::string Describe(const Entry& e) { return e.RegistrationLine(); }

bool SameEntry(const Entry& a, const Entry& b) {
  return a.name == b.name && a.type == b.type && a.offset == b.offset && a.magic == b.magic &&
         a.mask == b.mask && a.interpreter == b.interpreter && a.flags == b.flags;
}

// What the kernel prints for an entry (fs/binfmt_misc.c, bm_entry_read).
std::string KernelStatusText(const Entry& e) {
  std::string s = "enabled\ninterpreter " + e.interpreter + "\nflags: " + e.flags + "\n";
  if (e.type == 'E') {
    s += "extension ." + e.magic + "\n";
  } else {
    s += "offset " + std::to_string(e.offset) + "\nmagic " + polyarch::HexBytes(e.magic) + "\n";
    if (!e.mask.empty()) s += "mask " + polyarch::HexBytes(e.mask) + "\n";
  }
  return s;
}

void CheckRoundTrip(const Entry& e) {
  const std::string line = e.RegistrationLine();
  auto again = polyarch::ParseRegistration(line);
  FUZZ_CHECK(again.ok(), "the line written for a valid entry is refused: " +
                             again.status().message() + "\n" + line);
  FUZZ_CHECK(SameEntry(*again, e),
             "the line written parses to another entry:\n" + line + "\n" + Describe(*again));
  auto with_newline = polyarch::ParseRegistration(line + "\n");
  FUZZ_CHECK(with_newline.ok() && SameEntry(*with_newline, e),
             "a trailing newline changes " + line);

  auto k = polyarch::ParseKernelEntry(e.name, KernelStatusText(e));
  FUZZ_CHECK(k.ok(), "the kernel's status text is refused: " + k.status().message());
  FUZZ_CHECK(k->enabled, "an enabled entry reads as disabled");
  FUZZ_CHECK(polyarch::SameContent(e, *k),
             "the kernel's status text reads as other content:\n" + KernelStatusText(e));
  for (const auto& arch : polyarch::AllArches()) (void)polyarch::HandlesArch(*k, arch);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // polyarch's own entries, with every flag combination a user may ask for.
  for (const auto& arch : polyarch::AllArches()) {
    if (!arch.has_binfmt()) continue;
    for (const char* flags : {"F", "PF", "POCF"}) {
      Entry e = polyarch::EntryForArch(arch, "polyarch-", "/usr/bin/", flags);
      FUZZ_CHECK(polyarch::ValidateEntry(e).ok(), polyarch::ValidateEntry(e).message());
      FUZZ_CHECK(polyarch::ValidatePolicy(e).ok(), polyarch::ValidatePolicy(e).message());
      CheckRoundTrip(e);
      auto k = polyarch::ParseKernelEntry(e.name, KernelStatusText(e));
      FUZZ_CHECK(k.ok() && polyarch::HandlesArch(*k, arch), "entry does not handle its arch");
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = polyarch_fuzz::AsString(data, size);

  auto entry = polyarch::ParseRegistration(input);
  if (entry.ok()) {
    FUZZ_CHECK(polyarch::ValidateEntry(*entry).ok(), polyarch::ValidateEntry(*entry).message());
    (void)polyarch::ValidatePolicy(*entry);
    CheckRoundTrip(*entry);
  } else {
    FUZZ_CHECK(entry.status().code() == polyarch::Code::kInvalidArgument,
               entry.status().ToString());
  }

  auto kernel = polyarch::ParseKernelEntry("fuzz", input);
  if (kernel.ok()) {
    FUZZ_CHECK(kernel->name == "fuzz", "the entry's name is not the file's");
    for (const auto& arch : polyarch::AllArches()) (void)polyarch::HandlesArch(*kernel, arch);
    if (entry.ok()) (void)polyarch::SameContent(*entry, *kernel);
  }
  return 0;
}
