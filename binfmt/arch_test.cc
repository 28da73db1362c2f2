#include "binfmt/arch.h"

#include <gtest/gtest.h>

#include "binfmt/entry.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

TEST(ArchTest, AliasesUsersTypeResolve) {
  struct {
    const char* typed;
    const char* canonical;
  } cases[] = {{"arm64", "aarch64"},     {"ARM64", "aarch64"},     {"linux/arm64/v8", "aarch64"},
               {"armhf", "arm"},         {"armv7", "arm"},         {"linux/arm/v7", "arm"},
               {"ppc64el", "ppc64le"},   {"linux/s390x", "s390x"}, {"mipsle", "mipsel"},
               {"mips64le", "mips64el"}, {"x86_64", "amd64"},      {"riscv64", "riscv64"}};
  for (const auto& c : cases) {
    auto a = LookupArch(c.typed);
    ASSERT_TRUE(a.ok()) << c.typed;
    EXPECT_EQ((*a)->name, c.canonical) << c.typed;
  }
}

TEST(ArchTest, UnknownArchNamesTheProblem) {
  auto a = LookupArch("sparc9");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("unknown architecture 'sparc9'"), std::string::npos);
  EXPECT_NE(a.status().message().find("s390x"), std::string::npos);
}

TEST(ArchTest, AllEmulatedExcludesTheHostAndCoversTheNineArches) {
  auto all = ParseArchList("all", ArchScope::kEmulated);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> names;
  for (auto* a : *all) names.emplace_back(a->name);
  const ArchInfo* host = HostArch();
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(std::count(names.begin(), names.end(), std::string(host->name)), 0);
  if (host->name == "amd64") {
    EXPECT_EQ(names, (std::vector<std::string>{"arm", "aarch64", "mips", "mipsel", "mips64",
                                               "mips64el", "ppc64le", "s390x", "riscv64"}));
  }
  auto with_native = ParseArchList("all", ArchScope::kAll);
  ASSERT_TRUE(with_native.ok());
  EXPECT_EQ(with_native->size(), all->size() + 1);
}

TEST(ArchTest, ListsCollapseDuplicatesAndRejectTheHost) {
  auto l = ParseArchList("s390x, linux/s390x,arm64", ArchScope::kEmulated);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0]->name, "aarch64");  // table order
  EXPECT_EQ((*l)[1]->name, "s390x");
  auto host = ParseArchList(std::string(HostArch()->name), ArchScope::kEmulated);
  EXPECT_EQ(host.status().code(), Code::kInvalidArgument);
  EXPECT_NE(host.status().message().find("never registered"), std::string::npos);
  EXPECT_FALSE(ParseArchList("s390x,,arm", ArchScope::kEmulated).ok());
  EXPECT_FALSE(ParseArchList("", ArchScope::kEmulated).ok());
}

TEST(ArchTest, PlatformsCarryVariants) {
  EXPECT_EQ((*LookupArch("arm"))->Platform(), "linux/arm/v7");
  EXPECT_EQ((*LookupArch("aarch64"))->Platform(), "linux/arm64/v8");
  EXPECT_EQ((*LookupArch("mips64el"))->Platform(), "linux/mips64le");
  EXPECT_EQ((*LookupArch("amd64"))->Platform(), "linux/amd64");
}

TEST(ArchTest, MagicAndMaskAgreeWithTheElfFacts) {
  for (const ArchInfo& a : AllArches()) {
    if (!a.has_binfmt()) continue;
    SCOPED_TRACE(std::string(a.name));
    ASSERT_EQ(a.magic.size(), a.mask.size());
    EXPECT_EQ(static_cast<uint8_t>(a.magic[4]), a.bits == 64 ? 2 : 1);  // EI_CLASS
    EXPECT_EQ(static_cast<uint8_t>(a.magic[5]), a.big_endian ? 2 : 1);  // EI_DATA
    uint16_t machine =
        a.big_endian ? (static_cast<uint8_t>(a.magic[18]) << 8 | static_cast<uint8_t>(a.magic[19]))
                     : (static_cast<uint8_t>(a.magic[19]) << 8 | static_cast<uint8_t>(a.magic[18]));
    EXPECT_EQ(machine, a.elf_machine);
  }
}

// The table must be byte-identical to what QEMU 7.2 registers; Debian ships its lines.
TEST(ArchTest, MagicAndMaskEqualDebianQemuFiles) {
  int compared = 0;
  for (const ArchInfo& a : AllArches()) {
    if (!a.has_binfmt()) continue;
    std::string path = "/usr/lib/binfmt.d/qemu-" + std::string(a.qemu) + ".conf";
    auto text = ReadFile(path);
    if (!text.ok()) continue;
    auto e = ParseRegistration(text->substr(0, text->find('\n')));
    ASSERT_TRUE(e.ok()) << path << ": " << e.status().ToString();
    EXPECT_EQ(EscapeBytes(e->magic), EscapeBytes(a.magic)) << path;
    EXPECT_EQ(EscapeBytes(e->mask), EscapeBytes(a.mask)) << path;
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "qemu-user-static's binfmt.d files are not installed";
  EXPECT_EQ(compared, 9);
}

}  // namespace
}  // namespace polyarch
