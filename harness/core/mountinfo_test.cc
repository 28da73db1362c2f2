#include "harness/core/mountinfo.h"

#include <gtest/gtest.h>

#include "harness/core/fs.h"

namespace polyarch {
namespace {

constexpr char kInfo[] =
    "21 1 0:19 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "35 21 0:31 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - binfmt_misc binfmt_misc rw\n"
    "36 24 0:32 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb\n"
    "40 30 0:40 / /var/lib/polyarch/runs/a\\040b/rootfs rw - overlay overlay "
    "rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    "not a mountinfo line\n"
    "x 1 0:1 / /bad rw - tmpfs tmpfs rw\n";

TEST(MountInfoTest, ParsesEveryWellFormedLineAndUnescapesPaths) {
  std::vector<Mount> m = ParseMountInfo(kInfo);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].id, 21);
  EXPECT_EQ(m[0].parent, 1);
  EXPECT_EQ(m[0].mount_point, "/proc");
  EXPECT_EQ(m[0].fstype, "proc");
  EXPECT_EQ(m[1].fstype, "binfmt_misc");
  EXPECT_EQ(m[2].super_options, "rw,hugetlb");
  EXPECT_EQ(m[3].mount_point, "/var/lib/polyarch/runs/a b/rootfs");
  EXPECT_EQ(m[3].options, "rw");
  EXPECT_EQ(m[3].source, "overlay");
  EXPECT_EQ(m[3].Describe(), "/var/lib/polyarch/runs/a b/rootfs (overlay)");
}

TEST(MountInfoTest, ReadsFromARootThatTestsCanFake) {
  auto d = TempDir::Create("polyarch-mountinfo-");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(MakeDirs(d->path() + "/proc/self").ok());
  ASSERT_TRUE(WriteFileAtomic(d->path() + "/proc/self/mountinfo", kInfo).ok());
  auto m = ReadMountInfo(d->path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->size(), 4u);
  EXPECT_FALSE(ReadMountInfo(d->path() + "/nowhere").ok());
  auto real = ReadMountInfo();
  ASSERT_TRUE(real.ok());
  EXPECT_FALSE(real->empty());
}

TEST(MountInfoTest, PathUnderMatchesWholeComponentsOnly) {
  EXPECT_TRUE(PathUnder("/run/a", "/run"));
  EXPECT_TRUE(PathUnder("/run", "/run"));
  EXPECT_TRUE(PathUnder("/run/a", "/run/"));
  EXPECT_FALSE(PathUnder("/runner", "/run"));
  EXPECT_TRUE(PathUnder("/anything", "/"));
  EXPECT_FALSE(PathUnder("/run", ""));
}

}  // namespace
}  // namespace polyarch
