// Reading the few ELF header facts polyarch decides on: class, byte order, machine, and
// whether the file asks for a program interpreter (a dynamically linked program does).
#ifndef POLYARCH_HARNESS_CORE_ELF_H_
#define POLYARCH_HARNESS_CORE_ELF_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "harness/core/status.h"

namespace polyarch {

struct ElfInfo {
  int bits = 0;  // 32 or 64
  bool big_endian = false;
  uint16_t type = 0;             // ET_EXEC, ET_DYN, ...
  uint16_t machine = 0;          // EM_*
  uint32_t flags = 0;            // e_flags
  bool has_interpreter = false;  // a PT_INTERP program header: not a static executable

  bool is_static() const { return !has_interpreter; }
  // "ELF 64-bit MSB, machine 22 (s390)".
  std::string Describe() const;
};

// InvalidArgument when `bytes` is not a well-formed ELF header with program headers inside it.
Result<ElfInfo> ParseElf(std::string_view bytes);
Result<ElfInfo> ReadElf(const std::string& path);

std::string_view ElfMachineName(uint16_t machine);

}  // namespace polyarch

#endif  // POLYARCH_HARNESS_CORE_ELF_H_
