#include "binfmt/proof.h"

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "harness/core/subprocess.h"

namespace polyarch {
namespace {

TEST(ProofTest, NativeProgramExitsWithTheChosenCode) {
  const ArchInfo* host = HostArch();
  ASSERT_NE(host, nullptr);
  auto d = TempDir::Create("polyarch-proof-test-");
  ASSERT_TRUE(d.ok());
  for (int code : {0, 7, 42, 127}) {
    std::string path = d->path() + "/exit" + std::to_string(code);
    ASSERT_TRUE(WriteFileAtomic(path, BuildExitElf(*host, static_cast<uint8_t>(code)), 0755).ok());
    auto r = RunProcess({path}, std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->exited);
    EXPECT_EQ(r->exit_code, code);
  }
  EXPECT_TRUE(ProveOnHost(*host, d->path()).ok);
}

// Each foreign program run directly by its emulator (no binfmt_misc involved): this pins the
// hand-assembled instructions of every arch.
TEST(ProofTest, ForeignProgramsRunUnderTheirEmulator) {
  auto d = TempDir::Create("polyarch-proof-test-");
  ASSERT_TRUE(d.ok());
  int ran = 0;
  for (const ArchInfo& a : AllArches()) {
    if (!a.has_binfmt()) continue;
    std::string qemu = "/usr/bin/qemu-" + std::string(a.qemu) + "-static";
    if (!PathExists(qemu)) continue;
    SCOPED_TRACE(std::string(a.name));
    std::string path = d->path() + "/" + std::string(a.name);
    ASSERT_TRUE(WriteFileAtomic(path, BuildExitElf(a, 99), 0755).ok());
    auto r = RunProcess({qemu, path}, std::chrono::seconds(20));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->exited) << r->Describe() << r->err.Text();
    EXPECT_EQ(r->exit_code, 99);
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "qemu-user-static is not installed";
  EXPECT_EQ(ran, 9);
}

}  // namespace
}  // namespace polyarch
