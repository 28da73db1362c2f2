#include "binfmt/arch.h"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace polyarch {
namespace {

using namespace std::string_view_literals;

// Magic and mask as QEMU 7.2 registers them (Debian 12: /usr/lib/binfmt.d/qemu-*.conf).
// They match the ELF identification bytes, e_type (EXEC or DYN: mask 0xfe) and e_machine;
// for o32 MIPS they also require the EF_MIPS_ABI2 bit of e_flags to be clear.
constexpr std::string_view kArmMagic =
    "\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00"sv;
constexpr std::string_view kArmMask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"sv;
constexpr std::string_view kAarch64Magic =
    "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"sv;
constexpr std::string_view kAarch64Mask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"sv;
constexpr std::string_view kMipsMagic =
    "\x7f\x45\x4c\x46\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv;
constexpr std::string_view kMipsMask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20"sv;
constexpr std::string_view kMipselMagic =
    "\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv;
constexpr std::string_view kMipselMask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20"sv;
constexpr std::string_view kMips64Magic =
    "\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08"sv;
constexpr std::string_view kMips64Mask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff"sv;
constexpr std::string_view kMips64elMagic =
    "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00"sv;
constexpr std::string_view kMips64elMask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"sv;
constexpr std::string_view kPpc64leMagic =
    "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00"sv;
constexpr std::string_view kPpc64leMask =
    "\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00"sv;
constexpr std::string_view kS390xMagic =
    "\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16"sv;
constexpr std::string_view kS390xMask =
    "\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff"sv;
constexpr std::string_view kRiscv64Magic =
    "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00"sv;
constexpr std::string_view kRiscv64Mask =
    "\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"sv;

constexpr std::array kAmd64Aliases = {"x86_64"sv, "x86-64"sv, "linux/amd64"sv};
constexpr std::array kArmAliases = {"armhf"sv,  "armv7"sv,     "armv7l"sv,
                                    "arm/v7"sv, "linux/arm"sv, "linux/arm/v7"sv};
constexpr std::array kAarch64Aliases = {"arm64"sv, "arm64/v8"sv, "armv8"sv, "linux/arm64"sv,
                                        "linux/arm64/v8"sv};
constexpr std::array kMipsAliases = {"linux/mips"sv};
constexpr std::array kMipselAliases = {"mipsle"sv, "linux/mipsle"sv};
constexpr std::array kMips64Aliases = {"linux/mips64"sv};
constexpr std::array kMips64elAliases = {"mips64le"sv, "linux/mips64le"sv};
constexpr std::array kPpc64leAliases = {"ppc64el"sv, "powerpc64le"sv, "linux/ppc64le"sv};
constexpr std::array kS390xAliases = {"linux/s390x"sv};
constexpr std::array kRiscv64Aliases = {"riscv"sv, "linux/riscv64"sv};

// name, qemu, debian, oci arch, variant, uname -m, cross triplet, bits, big endian, e_machine
const std::array<ArchInfo, 10> kArches = {{
    {"amd64", "x86_64", "amd64", "amd64", "", "x86_64", "", 64, false, 62, "", "", kAmd64Aliases},
    {"arm", "arm", "armhf", "arm", "v7", "armv7l", "arm-linux-gnueabihf", 32, false, 40, kArmMagic,
     kArmMask, kArmAliases},
    {"aarch64", "aarch64", "arm64", "arm64", "v8", "aarch64", "aarch64-linux-gnu", 64, false, 183,
     kAarch64Magic, kAarch64Mask, kAarch64Aliases},
    {"mips", "mips", "", "mips", "", "mips", "mips-linux-gnu", 32, true, 8, kMipsMagic, kMipsMask,
     kMipsAliases},
    {"mipsel", "mipsel", "mipsel", "mipsle", "", "mips", "mipsel-linux-gnu", 32, false, 8,
     kMipselMagic, kMipselMask, kMipselAliases},
    {"mips64", "mips64", "", "mips64", "", "mips64", "", 64, true, 8, kMips64Magic, kMips64Mask,
     kMips64Aliases},
    {"mips64el", "mips64el", "mips64el", "mips64le", "", "mips64", "mips64el-linux-gnuabi64", 64,
     false, 8, kMips64elMagic, kMips64elMask, kMips64elAliases},
    {"ppc64le", "ppc64le", "ppc64el", "ppc64le", "", "ppc64le", "powerpc64le-linux-gnu", 64, false,
     21, kPpc64leMagic, kPpc64leMask, kPpc64leAliases},
    {"s390x", "s390x", "s390x", "s390x", "", "s390x", "s390x-linux-gnu", 64, true, 22, kS390xMagic,
     kS390xMask, kS390xAliases},
    {"riscv64", "riscv64", "riscv64", "riscv64", "", "riscv64", "riscv64-linux-gnu", 64, false, 243,
     kRiscv64Magic, kRiscv64Mask, kRiscv64Aliases},
}};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string ArchInfo::Platform() const {
  std::string p = "linux/" + std::string(oci_arch);
  if (!oci_variant.empty()) p += "/" + std::string(oci_variant);
  return p;
}

std::span<const ArchInfo> AllArches() { return kArches; }

const ArchInfo* HostArch() {
  static const ArchInfo* host = []() -> const ArchInfo* {
    struct utsname u {};
    if (::uname(&u) != 0) return nullptr;
    std::string_view m = u.machine;
    for (const auto& a : kArches) {
      if (a.uname_machine == m || a.name == m) return &a;
    }
    return nullptr;
  }();
  return host;
}

Result<const ArchInfo*> LookupArch(std::string_view name) {
  std::string n = Lower(name);
  for (const auto& a : kArches) {
    if (a.name == n) return &a;
    for (auto alias : a.aliases) {
      if (alias == n) return &a;
    }
  }
  return InvalidArgument("unknown architecture '" + std::string(name) +
                         "'; known: " + KnownArchNames());
}

Result<std::vector<const ArchInfo*>> ParseArchList(std::string_view list, ArchScope scope) {
  std::vector<const ArchInfo*> picked;
  const ArchInfo* host = HostArch();
  std::string l = Lower(list);
  if (l == "all") {
    for (const auto& a : kArches) {
      if (scope == ArchScope::kEmulated && (!a.has_binfmt() || &a == host)) continue;
      picked.push_back(&a);
    }
    return picked;
  }
  size_t start = 0;
  while (start <= l.size()) {
    size_t end = l.find(',', start);
    if (end == std::string::npos) end = l.size();
    std::string item = l.substr(start, end - start);
    start = end + 1;
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty())
      return InvalidArgument("empty architecture name in list '" + std::string(list) + "'");
    PA_ASSIGN_OR_RETURN(const ArchInfo* a, LookupArch(item));
    if (scope == ArchScope::kEmulated && (a == host || !a->has_binfmt())) {
      return InvalidArgument("'" + item + "' is this host's own architecture (" +
                             std::string(a->name) +
                             "): it runs natively and is never registered with binfmt_misc");
    }
    if (std::find(picked.begin(), picked.end(), a) == picked.end()) picked.push_back(a);
  }
  std::sort(picked.begin(), picked.end());  // table order: the array is contiguous
  return picked;
}

std::string KnownArchNames() {
  std::string s;
  for (const auto& a : kArches) {
    if (!s.empty()) s += ", ";
    s += a.name;
  }
  s += " (aliases such as arm64, armhf, armv7, ppc64el, mipsle, linux/s390x)";
  return s;
}

}  // namespace polyarch
