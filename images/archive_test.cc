#include "images/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "test_deb.h"

namespace polyarch {
namespace {

using T = FileEntry::Type;

TEST(ArchiveTest, TarIsReproducibleAndIndependentOfInputOrder) {
  std::vector<FileEntry> a = {{"bin", T::kDir, 0755, ""},
                              {"bin/sh", T::kSymlink, 0777, "busybox"},
                              {"bin/busybox", T::kFile, 0755, "binary"},
                              {"etc/passwd", T::kFile, 0644, "root:x:0:0::/:/bin/sh\n"},
                              {"etc", T::kDir, 0755, ""}};
  std::vector<FileEntry> b(a.rbegin(), a.rend());
  auto ta = WriteReproducibleTar(a);
  auto tb = WriteReproducibleTar(b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(*ta, *tb);
  auto back = ReadTar(*ta);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 5u);
  EXPECT_EQ((*back)[0].path, "bin");
  EXPECT_EQ((*back)[1].path, "bin/busybox");
  EXPECT_EQ((*back)[1].content, "binary");
  EXPECT_EQ((*back)[1].mode, 0755);
  EXPECT_EQ((*back)[2].type, T::kSymlink);
  EXPECT_EQ((*back)[2].content, "busybox");
}

TEST(ArchiveTest, DuplicatePathsAreRefused) {
  auto t = WriteReproducibleTar({{"a", T::kFile, 0644, "1"}, {"./a", T::kFile, 0644, "2"}});
  EXPECT_FALSE(t.ok());
}

TEST(ArchiveTest, ReadsAMemberOfADebsDataArchive) {
  auto d = TempDir::Create("polyarch-archive-test-");
  ASSERT_TRUE(d.ok());
  std::string deb = d->path() + "/busybox-static_1.0_s390x.deb";
  ASSERT_TRUE(testing::WriteTestDeb(deb, {{"./bin/busybox", "the binary"},
                                          {"./usr/share/doc/busybox/README", "docs"}})
                  .ok());
  auto got = ReadDebMember(deb, "./bin/busybox");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "the binary");
  EXPECT_EQ(ReadDebMember(deb, "bin/busybox").value(), "the binary");
  EXPECT_EQ(ReadDebMember(deb, "./bin/nothing").status().code(), Code::kNotFound);
  ASSERT_TRUE(WriteFileAtomic(d->path() + "/not.deb", "garbage").ok());
  EXPECT_FALSE(ReadDebMember(d->path() + "/not.deb", "./bin/busybox").ok());
}

TEST(ArchiveTest, MaterializedTreeMatchesTheEntries) {
  auto d = TempDir::Create("polyarch-archive-test-");
  ASSERT_TRUE(MaterializeEntries(d->path() + "/root", {{"tmp", T::kDir, 01777, ""},
                                                       {"bin/busybox", T::kFile, 0755, "x"},
                                                       {"bin", T::kDir, 0755, ""},
                                                       {"bin/sh", T::kSymlink, 0777, "busybox"}})
                  .ok());
  EXPECT_EQ(*ReadFile(d->path() + "/root/bin/sh"), "x");  // through the link
  struct stat st {};
  ASSERT_EQ(::stat((d->path() + "/root/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_FALSE(MaterializeEntries(d->path() + "/root", {{"../escape", T::kFile, 0644, ""}}).ok());
}

}  // namespace
}  // namespace polyarch
