#include "harness/core/fs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

std::string RunListing(const std::string& dir) {
  std::string names;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') names += std::string(e->d_name) + "\n";
  }
  ::closedir(d);
  return names;
}

TEST(FsTest, AtomicWriteReplacesWholeFileAndLeavesNoTemporaries) {
  auto d = TempDir::Create("polyarch-fs-test-");
  ASSERT_TRUE(d.ok());
  std::string p = d->path() + "/report.json";
  ASSERT_TRUE(WriteFileAtomic(p, "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(p, "second").ok());
  EXPECT_EQ(*ReadFile(p), "second");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // No "report.json.tmp.XXXXXX" is left beside it.
  auto listing = RunListing(d->path());
  EXPECT_EQ(listing, "report.json\n");
}

TEST(FsTest, ScratchWriteTruncatesAndKeepsTheModeItWasCreatedWith) {
  auto d = TempDir::Create("polyarch-fs-test-");
  ASSERT_TRUE(d.ok());
  std::string p = d->path() + "/config.json";
  ASSERT_TRUE(WriteScratchFile(p, "a longer first version", 0600).ok());
  ASSERT_TRUE(WriteScratchFile(p, "second").ok());
  EXPECT_EQ(*ReadFile(p), "second");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(RunListing(d->path()), "config.json\n");
  Status s = WriteScratchFile("/nonexistent-polyarch-dir/x.json", "data");
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

TEST(FsTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  Status s = WriteFileAtomic("/nonexistent-polyarch-dir/x.json", "data");
  EXPECT_FALSE(s.ok());
}

TEST(FsTest, ReadFileRespectsLimitAndPrefix) {
  auto d = TempDir::Create("polyarch-fs-test-");
  std::string p = d->path() + "/big";
  ASSERT_TRUE(WriteFileAtomic(p, std::string(1000, 'a')).ok());
  EXPECT_EQ(ReadFile(p, 100).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ReadFilePrefix(p, 10)->size(), 10u);
}

TEST(FsTest, TempDirAndRemoveTree) {
  std::string path;
  {
    auto d = TempDir::Create("polyarch-fs-test-");
    ASSERT_TRUE(d.ok());
    path = d->path();
    ASSERT_TRUE(MakeDirs(path + "/a/b/c").ok());
    ASSERT_TRUE(WriteFileAtomic(path + "/a/b/c/f", "x").ok());
    ASSERT_EQ(::symlink("/etc", (path + "/a/link").c_str()), 0);
  }
  EXPECT_FALSE(PathExists(path));
  EXPECT_TRUE(PathExists("/etc/hostname") || PathExists("/etc/passwd"));  // the link target
}

TEST(FsTest, MakeDirsRefusesAFileInTheWay) {
  auto d = TempDir::Create("polyarch-fs-test-");
  ASSERT_TRUE(WriteFileAtomic(d->path() + "/f", "x").ok());
  EXPECT_FALSE(MakeDirs(d->path() + "/f").ok());
}

}  // namespace
}  // namespace polyarch
