#include "harness/run/mount_check.h"

#include <gtest/gtest.h>

namespace polyarch {
namespace {

const char kBefore[] =
    "20 1 0:1 / / rw - ext4 /dev/vda rw\n"
    "21 20 0:2 / /proc rw - proc proc rw\n"
    "30 20 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "40 20 0:40 / /home/alice/mnt rw - tmpfs tmpfs rw\n";

MountScope Scope() { return RunMountScope("/var/lib/polyarch", "/var/lib/polyarch/runs/r1"); }

TEST(MountCheckTest, TheSameTableIsNoDifference) {
  auto t = ParseMountInfo(kBefore);
  MountDiff d = DiffMounts(t, t, Scope());
  EXPECT_TRUE(d.added.empty() && d.removed.empty() && d.kept_by_design.empty());
}

// A fresh host: the run mounted binfmt_misc to register its emulators. That is by design.
TEST(MountCheckTest, BinfmtMiscMountedByTheRunIsKeptByDesign) {
  std::string after = std::string(kBefore) +
                      "45 21 0:45 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n";
  MountDiff d = DiffMounts(ParseMountInfo(kBefore), ParseMountInfo(after), Scope());
  EXPECT_TRUE(d.added.empty());
  EXPECT_EQ(d.kept_by_design, std::vector<std::string>{"/proc/sys/fs/binfmt_misc (binfmt_misc)"});
}

TEST(MountCheckTest, AMountTheRunLeftIsNamed) {
  std::string after =
      std::string(kBefore) +
      "50 20 0:50 / /var/lib/polyarch/runs/r1/bundles/x/rootfs rw - overlay overlay rw\n"
      "51 20 0:51 / /mnt/other rw - overlay overlay rw,lowerdir=/var/lib/polyarch/runs/r1/l\n";
  MountDiff d = DiffMounts(ParseMountInfo(kBefore), ParseMountInfo(after), Scope());
  EXPECT_EQ(d.added,
            (std::vector<std::string>{"/var/lib/polyarch/runs/r1/bundles/x/rootfs (overlay)",
                                      "/mnt/other (overlay)"}));
}

// Other users of the host mount and unmount elsewhere while a run goes on.
TEST(MountCheckTest, MountsOutsideTheRunsPlacesAreNotItsBusiness) {
  std::string after =
      "20 1 0:1 / / rw - ext4 /dev/vda rw\n"
      "21 20 0:2 / /proc rw - proc proc rw\n"
      "30 20 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "60 20 0:60 / /home/bob/mnt rw - tmpfs tmpfs rw\n";
  MountDiff d = DiffMounts(ParseMountInfo(kBefore), ParseMountInfo(after), Scope());
  EXPECT_TRUE(d.added.empty());
  EXPECT_TRUE(d.removed.empty());
}

TEST(MountCheckTest, AMountOfTheRunsPlacesThatWentAwayIsNamed) {
  std::string after =
      "20 1 0:1 / / rw - ext4 /dev/vda rw\n"
      "21 20 0:2 / /proc rw - proc proc rw\n"
      "40 20 0:40 / /home/alice/mnt rw - tmpfs tmpfs rw\n"
      // unmounted and mounted again: a new mount id, so gone and added
      "31 20 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
  MountDiff d = DiffMounts(ParseMountInfo(kBefore), ParseMountInfo(after), Scope());
  EXPECT_EQ(d.removed, std::vector<std::string>{"/sys/fs/cgroup/memory (cgroup)"});
  EXPECT_EQ(d.added, std::vector<std::string>{"/sys/fs/cgroup/memory (cgroup)"});
}

}  // namespace
}  // namespace polyarch
