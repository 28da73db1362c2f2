#include "harness/core/elf.h"

#include <gtest/gtest.h>

#include "binfmt/arch.h"
#include "binfmt/proof.h"

namespace polyarch {
namespace {

TEST(ElfTest, ReadsClassByteOrderAndMachineOfEveryArch) {
  for (const ArchInfo& a : AllArches()) {
    SCOPED_TRACE(std::string(a.name));
    auto info = ParseElf(BuildExitElf(a));
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->bits, a.bits);
    EXPECT_EQ(info->big_endian, a.big_endian);
    EXPECT_EQ(info->machine, a.elf_machine);
    EXPECT_TRUE(info->is_static());
  }
}

TEST(ElfTest, DynamicExecutableHasAnInterpreter) {
  auto info = ReadElf("/bin/ls");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->is_static());
  EXPECT_NE(info->Describe().find("dynamically linked"), std::string::npos);
}

TEST(ElfTest, RejectsWhatIsNotElf) {
  EXPECT_EQ(ParseElf("#!/bin/sh\necho hi\n").status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(ParseElf(std::string("\x7f"
                                    "ELF\x03\x01",
                                    6) +
                        std::string(60, '\0'))
                   .ok());
  std::string truncated = BuildExitElf(AllArches()[0]).substr(0, 30);
  EXPECT_FALSE(ParseElf(truncated).ok());
  EXPECT_EQ(ReadElf("/nonexistent").status().code(), Code::kNotFound);
}

TEST(ElfTest, ProgramHeadersOutsideTheFileAreRejected) {
  std::string elf = BuildExitElf(AllArches()[0]);
  elf[33] = '\x7f';  // e_phoff far beyond the end (64-bit little-endian)
  EXPECT_FALSE(ParseElf(elf).ok());
  elf = BuildExitElf(AllArches()[0]);
  elf[32] = '\x7f';  // a program header that starts inside the file but runs past its end
  EXPECT_FALSE(ParseElf(elf).ok());
}

}  // namespace
}  // namespace polyarch
