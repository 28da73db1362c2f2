#include "harness/host/host_state.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace polyarch {
namespace {

using nlohmann::json;

HostState Sample() {
  HostState s;
  s.processes = {{100, 1, 'S', {"/usr/bin/containerd", "--config", "/tmp/f1/containerd.toml"}},
                 {200, 100, 'S', {"containerd-shim-runc-v2", "-id", "pa1-f1-c0"}}};
  s.zombies = {};
  s.mounts = {"/run/docker/netns/default nsfs", "/tmp/f1/rootfs overlay"};
  s.cgroups = {"/sys/fs/cgroup/memory/pa1-f1-c0"};
  s.binfmt = {{"pa1-f9-other", "enabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 50\n"}};
  s.sockets = {"/run/containerd/s/abc", "/tmp/f1/containerd.sock"};
  return s;
}

TEST(HostStateTest, IdenticalStatesHaveAnEmptyDiff) {
  json d = DiffHostState(Sample(), Sample());
  EXPECT_TRUE(d.is_object());
  EXPECT_TRUE(d.empty()) << d.dump(2);
  EXPECT_TRUE(DiffHostState(HostState{}, HostState{}).empty());
}

TEST(HostStateTest, EachCategoryReportsWhatWasAddedAndRemoved) {
  HostState before = Sample();
  HostState after = Sample();
  after.processes.erase(after.processes.begin());                            // containerd gone
  after.processes.push_back({300, 1, 'S', {"dockerd", "-H", "unix:///x"}});  // dockerd left
  after.zombies.push_back({301, ::getpid(), 'Z', {"[containerd-shim]"}});
  after.mounts.push_back("/tmp/f1/rootfs overlay");  // the same mount twice: stacked
  after.cgroups.clear();
  after.sockets.push_back("/tmp/f1/docker.sock");
  after.paths.push_back("/run/containerd/runc/polyarch-pa1-f1");
  after.fixed_dirs.push_back("/run/docker");

  json d = DiffHostState(before, after);
  ASSERT_TRUE(d.contains("processes")) << d.dump(2);
  EXPECT_EQ(d["processes"]["added"].size(), 1u);
  EXPECT_EQ(d["processes"]["added"][0]["pid"], 300);
  EXPECT_EQ(d["processes"]["added"][0]["argv"][0], "dockerd");
  EXPECT_EQ(d["processes"]["removed"].size(), 1u);
  EXPECT_EQ(d["processes"]["removed"][0]["pid"], 100);
  EXPECT_EQ(d["zombies"]["added"][0]["pid"], 301);
  EXPECT_FALSE(d["zombies"].contains("removed"));
  EXPECT_EQ(d["mounts"]["added"], json::array({"/tmp/f1/rootfs overlay"}))
      << "mounts are a multiset: a second mount on the same point is a difference";
  EXPECT_EQ(d["cgroups"]["removed"], json::array({"/sys/fs/cgroup/memory/pa1-f1-c0"}));
  EXPECT_EQ(d["sockets"]["added"], json::array({"/tmp/f1/docker.sock"}));
  EXPECT_EQ(d["paths"]["added"], json::array({"/run/containerd/runc/polyarch-pa1-f1"}));
  EXPECT_EQ(d["fixed_dirs"]["added"], json::array({"/run/docker"}));
  EXPECT_FALSE(d.contains("binfmt"));
}

TEST(HostStateTest, AProcessThatKeptItsPidButNotItsCommandLineIsADifference) {
  HostState before = Sample();
  HostState after = Sample();
  after.processes[1].argv = {"/probe", "sleep", "600"};  // pid reused by something else
  json d = DiffHostState(before, after);
  EXPECT_EQ(d["processes"]["added"].size(), 1u);
  EXPECT_EQ(d["processes"]["removed"].size(), 1u);
  // A change of state or parent alone (a process re-parented to polyarch) is not.
  after = Sample();
  after.processes[1].ppid = 1;
  after.processes[1].state = 'R';
  EXPECT_TRUE(DiffHostState(before, after).empty());
}

TEST(HostStateTest, BinfmtEntriesAreComparedByTheirStatusText) {
  HostState before = Sample();
  HostState after = Sample();
  after.binfmt["pa1-f9-other"] = "disabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 50\n";
  after.binfmt["pa1-f9-s390x"] = "enabled\n";
  json d = DiffHostState(before, after);
  ASSERT_TRUE(d.contains("binfmt")) << d.dump(2);
  ASSERT_EQ(d["binfmt"]["changed"].size(), 1u);
  EXPECT_EQ(d["binfmt"]["changed"][0]["name"], "pa1-f9-other");
  EXPECT_EQ(d["binfmt"]["added"][0]["name"], "pa1-f9-s390x");
  EXPECT_FALSE(d["binfmt"].contains("removed"));
  d = DiffHostState(after, HostState{});
  EXPECT_EQ(d["binfmt"]["removed"].size(), 2u);
}

TEST(HostStateTest, CountsSayHowMuchEachCategorySaw) {
  json c = HostStateCounts(Sample());
  EXPECT_EQ(c["processes"], 2);
  EXPECT_EQ(c["mounts"], 2);
  EXPECT_EQ(c["cgroups"], 1);
  EXPECT_EQ(c["binfmt"], 1);
  EXPECT_EQ(c["sockets"], 2);
  EXPECT_EQ(c["zombies"], 0);
  EXPECT_EQ(c["paths"], 0);
}

TEST(HostStateTest, ParsesMountInfoLines) {
  MountInfoLine m;
  ASSERT_TRUE(ParseMountInfoLine(
      "412 30 0:95 / /tmp/a\\040b/rootfs rw,relatime shared:200 - overlay overlay "
      "rw,lowerdir=/tmp/f1/l,upperdir=/tmp/f1/u,workdir=/tmp/f1/w",
      &m));
  EXPECT_EQ(m.mount_point, "/tmp/a b/rootfs");
  EXPECT_EQ(m.fstype, "overlay");
  EXPECT_EQ(m.source, "overlay");
  EXPECT_EQ(m.options, "rw,lowerdir=/tmp/f1/l,upperdir=/tmp/f1/u,workdir=/tmp/f1/w");
  EXPECT_FALSE(ParseMountInfoLine("not a mountinfo line", &m));
}

// The live snapshot of this test process: a scope naming nothing sees none of the host's own
// processes, cgroups or entries, so a busy machine cannot make it differ.
TEST(HostStateTest, AnEmptyScopeSeesOnlyTheFixedDaemonPaths) {
  HostStateScope scope;
  scope.dirs = {"/nonexistent/polyarch-host-state-test"};
  scope.tokens = {"polyarch-host-state-test-token-"};
  HostState s = TakeHostState(scope);
  EXPECT_TRUE(s.processes.empty()) << s.processes.size() << " unexpected processes";
  EXPECT_TRUE(s.cgroups.empty());
  EXPECT_TRUE(s.binfmt.empty());
  EXPECT_TRUE(s.paths.empty());
  for (const auto& m : s.mounts) {
    EXPECT_TRUE(m.rfind("/run/", 0) == 0 || m.rfind("/var/lib/", 0) == 0 ||
                m.rfind("/proc/sys/fs/binfmt_misc", 0) == 0 || m.rfind("/sys/fs/cgroup", 0) == 0)
        << m;
  }
  EXPECT_TRUE(DiffHostState(s, s).empty());
}

}  // namespace
}  // namespace polyarch
