#include "harness/core/elf.h"

#include "harness/core/fs.h"

namespace polyarch {
namespace {

constexpr uint32_t kPtInterp = 3;

class Reader {
 public:
  Reader(std::string_view b, bool big) : b_(b), big_(big) {}
  bool Has(size_t off, size_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  uint64_t U(size_t off, size_t n) const {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t byte = static_cast<uint8_t>(b_[off + (big_ ? i : n - 1 - i)]);
      v = (v << 8) | byte;
    }
    return v;
  }

 private:
  std::string_view b_;
  bool big_;
};

}  // namespace

std::string_view ElfMachineName(uint16_t machine) {
  switch (machine) {
    case 3:
      return "i386";
    case 8:
      return "mips";
    case 20:
      return "ppc";
    case 21:
      return "ppc64";
    case 22:
      return "s390";
    case 40:
      return "arm";
    case 62:
      return "x86-64";
    case 183:
      return "aarch64";
    case 243:
      return "riscv";
    case 258:
      return "loongarch";
    default:
      return "other";
  }
}

std::string ElfInfo::Describe() const {
  return "ELF " + std::to_string(bits) + "-bit " + (big_endian ? "MSB" : "LSB") + ", machine " +
         std::to_string(machine) + " (" + std::string(ElfMachineName(machine)) + ")" +
         (has_interpreter ? ", dynamically linked" : ", static");
}

Result<ElfInfo> ParseElf(std::string_view b) {
  if (b.size() < 16 || b.substr(0, 4) != std::string_view("\x7f"
                                                          "ELF",
                                                          4)) {
    return InvalidArgument("not an ELF file (no \\x7fELF magic)");
  }
  ElfInfo info;
  uint8_t cls = static_cast<uint8_t>(b[4]);
  uint8_t data = static_cast<uint8_t>(b[5]);
  if (cls != 1 && cls != 2) return InvalidArgument("ELF class byte is neither 32- nor 64-bit");
  if (data != 1 && data != 2) return InvalidArgument("ELF data byte is neither LSB nor MSB");
  info.bits = cls == 1 ? 32 : 64;
  info.big_endian = data == 2;
  Reader r(b, info.big_endian);
  const bool is64 = info.bits == 64;
  const size_t header_size = is64 ? 64 : 52;
  if (!r.Has(0, header_size)) return InvalidArgument("truncated ELF header");
  info.type = static_cast<uint16_t>(r.U(16, 2));
  info.machine = static_cast<uint16_t>(r.U(18, 2));
  info.flags = static_cast<uint32_t>(r.U(is64 ? 48 : 36, 4));
  uint64_t phoff = r.U(is64 ? 32 : 28, is64 ? 8 : 4);
  uint64_t phentsize = r.U(is64 ? 54 : 42, 2);
  uint64_t phnum = r.U(is64 ? 56 : 44, 2);
  if (phnum > 0 && phentsize < (is64 ? 56u : 32u)) {
    return InvalidArgument("ELF program header entries are too small");
  }
  for (uint64_t i = 0; i < phnum; ++i) {
    uint64_t off = phoff + i * phentsize;
    if (off > b.size() || !r.Has(static_cast<size_t>(off), static_cast<size_t>(phentsize))) {
      return InvalidArgument("ELF program headers lie outside the file");
    }
    if (r.U(static_cast<size_t>(off), 4) == kPtInterp) info.has_interpreter = true;
  }
  return info;
}

Result<ElfInfo> ReadElf(const std::string& path) {
  // Program headers sit near the start of every executable polyarch looks at.
  PA_ASSIGN_OR_RETURN(std::string head, ReadFilePrefix(path, 1024 * 1024));
  auto info = ParseElf(head);
  if (!info.ok()) return info.status().WithContext(path);
  return info;
}

}  // namespace polyarch
