#include "harness/host/facts.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

// Shapes of /proc/self/mountinfo seen on real hosts, trimmed to the cgroup lines.
constexpr char kHybridMountinfo[] =
    "30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec shared:10 - cgroup2 cgroup2 "
    "rw,nsdelegate\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu rw shared:14 - cgroup cgroup rw,cpu\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/freezer rw shared:16 - cgroup cgroup rw,freezer\n"
    "36 30 0:32 / /sys/fs/cgroup/systemd rw shared:17 - cgroup cgroup rw,xattr,name=systemd\n"
    "37 30 0:33 / /sys/fs/cgroup/pids rw shared:18 - cgroup cgroup rw,pids\n";
constexpr char kProcCgroups[] =
    "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
    "cpu\t1\t1\t1\nmemory\t4\t50\t1\nfreezer\t6\t1\t1\nhugetlb\t0\t1\t1\npids\t8\t1\t1\n";

TEST(FactsTest, HybridLayoutWithAControllerHeldInV2) {
  CgroupLayout l = ParseCgroupLayout(kHybridMountinfo, "hugetlb\n", kProcCgroups);
  EXPECT_EQ(l.mode, CgroupMode::kHybrid);
  EXPECT_EQ(l.v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l.v2_controllers, std::vector<std::string>{"hugetlb"});
  EXPECT_TRUE(l.Has("memory"));
  EXPECT_TRUE(l.Has("hugetlb"));
  EXPECT_FALSE(l.Has("blkio"));
  EXPECT_EQ(std::count(l.v1_controllers.begin(), l.v1_controllers.end(), "systemd"), 0)
      << "named hierarchies are not controllers";
}

TEST(FactsTest, PureV2AndPureV1) {
  CgroupLayout v2 = ParseCgroupLayout(
      "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
      "cpuset cpu io memory hugetlb pids rdma misc\n", "");
  EXPECT_EQ(v2.mode, CgroupMode::kV2);
  EXPECT_TRUE(v2.Has("memory"));
  EXPECT_EQ(v2.v2_controllers.size(), 8u);

  CgroupLayout v1 = ParseCgroupLayout(
      "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", "", "");
  EXPECT_EQ(v1.mode, CgroupMode::kV1);
  EXPECT_TRUE(v1.Has("cpuacct"));
  EXPECT_EQ(ParseCgroupLayout("", "", "").mode, CgroupMode::kNone);
}

TEST(FactsTest, KernelReleaseAndToolVersions) {
  KernelVersion k = ParseKernelRelease("6.18.44-fc-v669");
  EXPECT_EQ(k.major, 6);
  EXPECT_EQ(k.minor, 18);
  EXPECT_EQ(k.patch, 44);
  EXPECT_TRUE(k.AtLeast(4, 8));
  EXPECT_FALSE(ParseKernelRelease("4.4.0").AtLeast(4, 8));
  EXPECT_EQ(ExtractVersion("runc version 1.1.5+ds1"), "1.1.5+ds1");
  EXPECT_EQ(ExtractVersion("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20"),
            "1.6.20~ds1");
  EXPECT_EQ(ExtractVersion("Docker version 20.10.24+dfsg1, build 5d6db84"), "20.10.24+dfsg1");
  EXPECT_EQ(ExtractVersion("qemu-s390x version 7.2.22 (Debian 1:7.2+dfsg-7)"), "7.2.22");
  EXPECT_EQ(ExtractVersion("no version here"), "");
}

TEST(FactsTest, ThisHostIsDescribed) {
  HostFacts f = CollectHostFacts();
  EXPECT_FALSE(f.kernel.release.empty());
  EXPECT_FALSE(f.machine.empty());
  EXPECT_GT(f.cpus, 0);
  EXPECT_NE(f.cgroups.mode, CgroupMode::kNone);
}

}  // namespace
}  // namespace polyarch

namespace polyarch {
namespace {

TEST(HostIdentityTest, MemTotalAndDistroName) {
  EXPECT_EQ(ParseMemTotal("MemFree:  100 kB\nMemTotal:       24683568 kB\n"), 24683568LL * 1024);
  EXPECT_EQ(ParseMemTotal("MemFree: 1 kB\n"), 0);
  EXPECT_EQ(ParseMemTotal(""), 0);
  EXPECT_EQ(ParseOsReleaseName("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 "
                               "(bookworm)\"\nVERSION_ID=\"12\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(ParseOsReleaseName("# comment\nNAME=Alpine\nVERSION_ID='3.19'\n"), "Alpine 3.19");
  EXPECT_EQ(ParseOsReleaseName("garbage without equals\n"), "");
}

}  // namespace
}  // namespace polyarch
