// ELF headers: polyarch reads the class, byte order, machine and interpreter of every
// emulator, probe and busybox binary before it files or registers them.
//
// Seeds are the minimal static programs polyarch builds for each arch's binfmt proof,
// generated at start-up (see AddGeneratedSeeds).
//
// Invariants: every arch's proof program reads as that arch, static; an accepted header
// has a known class and byte order matching its identification bytes; bytes appended after
// an accepted file never change what it reads as.
#include <cstdint>
#include <string>
#include <vector>

#include "binfmt/arch.h"
#include "binfmt/proof.h"
#include "fuzz/fuzz_util.h"
#include "harness/core/elf.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& arch : polyarch::AllArches()) {
    std::string elf = polyarch::BuildExitElf(arch);
    auto info = polyarch::ParseElf(elf);
    FUZZ_CHECK(info.ok(), std::string(arch.name) + ": " + info.status().ToString());
    FUZZ_CHECK(info->machine == arch.elf_machine && info->bits == arch.bits &&
                   info->big_endian == arch.big_endian && info->is_static(),
               std::string(arch.name) + " proof program reads as " + info->Describe());
    seeds.emplace_back(std::string(arch.name) + ".elf", elf);
  }
  polyarch_fuzz::AddGeneratedSeeds(*argc, *argv, seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = polyarch_fuzz::AsString(data, size);
  auto info = polyarch::ParseElf(input);
  if (!info.ok()) return 0;
  FUZZ_CHECK(info->bits == (input[4] == 1 ? 32 : 64), "class byte and bits disagree");
  FUZZ_CHECK(info->big_endian == (input[5] == 2), "data byte and byte order disagree");
  (void)info->Describe();
  auto longer = polyarch::ParseElf(input + std::string(64, '\xa5'));
  FUZZ_CHECK(longer.ok() && longer->Describe() == info->Describe(),
             "bytes after the headers changed the result");
  return 0;
}
