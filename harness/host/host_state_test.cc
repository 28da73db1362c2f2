#include "harness/host/host_state.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"

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
  Mount m;
  ASSERT_TRUE(ParseMountInfoLine(
      "412 30 0:95 / /tmp/a\\040b/rootfs rw,relatime shared:200 - overlay overlay "
      "rw,lowerdir=/tmp/f1/l,upperdir=/tmp/f1/u,workdir=/tmp/f1/w",
      &m));
  EXPECT_EQ(m.mount_point, "/tmp/a b/rootfs");
  EXPECT_EQ(m.fstype, "overlay");
  EXPECT_EQ(m.source, "overlay");
  EXPECT_EQ(m.super_options, "rw,lowerdir=/tmp/f1/l,upperdir=/tmp/f1/u,workdir=/tmp/f1/w");
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

// A host as files: /proc with a few processes, a mount table, cgroup hierarchies, the daemons'
// fixed directories with sockets, binfmt entries. TakeHostState reads it through the scope's
// root, so every category can be checked against what is certainly there.
class FakeHostTree {
 public:
  FakeHostTree() {
    auto d = TempDir::Create("polyarch-hoststate-");
    EXPECT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }
  const std::string& root() const { return dir_->path(); }

  void File(const std::string& path, const std::string& text) {
    const std::string full = root() + path;
    ASSERT_TRUE(MakeDirs(full.substr(0, full.rfind('/'))).ok());
    ASSERT_TRUE(WriteFileAtomic(full, text).ok());
  }
  void Dir(const std::string& path) { ASSERT_TRUE(MakeDirs(root() + path).ok()); }
  void Process(pid_t pid, pid_t ppid, char state, const std::vector<std::string>& argv,
               const std::string& cgroup = "0::/") {
    std::string cmdline;
    for (const auto& a : argv) cmdline += a + '\0';
    std::string comm = argv.empty() ? "kthread" : argv[0].substr(argv[0].rfind('/') + 1);
    File("/proc/" + std::to_string(pid) + "/stat",
         std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) +
             " 0 0 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 0 0 0\n");
    File("/proc/" + std::to_string(pid) + "/cmdline", cmdline);
    File("/proc/" + std::to_string(pid) + "/cgroup", cgroup + "\n");
  }
  // A real socket file (bound and closed: nobody listens on it any more).
  void Socket(const std::string& path) {
    const std::string full = root() + path;
    ASSERT_TRUE(MakeDirs(full.substr(0, full.rfind('/'))).ok());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(full.size(), sizeof addr.sun_path);
    std::strncpy(addr.sun_path, full.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }

 private:
  std::unique_ptr<TempDir> dir_;
};

TEST(HostStateTest, ReadsEveryCategoryFromATreeThatTestsCanFake) {
  FakeHostTree t;
  const pid_t self = 4000;
  t.Process(self, 1, 'S', {"/usr/bin/polyarch", "run"});
  t.Process(4100, self, 'S', {"/usr/bin/containerd", "--config", "/scope/run/containerd.toml"});
  t.Process(4200, 4100, 'S', {"containerd-shim-runc-v2", "-id", "pa9-c0"});
  t.Process(4300, 4200, 'S', {"/probe", "sleep", "600"}, "0::/pa9-c0/init");  // by its cgroup
  t.Process(4400, 1, 'S', {"/usr/sbin/sshd"});                                // not ours
  t.Process(4500, 1, 'S', {"runc", "init"});  // named like ours, but not polyarch's descendant
  t.Process(4600, self, 'Z', {});             // an unreaped child of polyarch
  t.File("/proc/" + std::to_string(self) + "/task/" + std::to_string(self) + "/children",
         "4100 4600 ");
  const std::string mountinfo =
      "20 1 0:1 / / rw - ext4 /dev/vda rw\n"
      "30 20 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "31 20 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "40 20 0:40 / /scope/run/rootfs rw - overlay overlay rw,lowerdir=/l\n"
      "41 20 0:41 / /home/someone rw - tmpfs tmpfs rw\n"
      "42 20 0:42 / /run/containerd/io.containerd.runtime.v2.task/x rw - overlay overlay rw\n";
  t.File("/proc/" + std::to_string(self) + "/mountinfo", mountinfo);
  t.File("/proc/self/mountinfo", mountinfo);  // where the cgroup hierarchies are looked up
  t.Dir("/sys/fs/cgroup/memory/pa9-c0");
  t.Dir("/sys/fs/cgroup/memory/system.slice");
  t.Dir("/sys/fs/cgroup/unified/pa9-c0");
  t.File("/proc/sys/fs/binfmt_misc/pa9-s390x", "enabled\ninterpreter /usr/bin/qemu-s390x\n");
  t.File("/proc/sys/fs/binfmt_misc/qemu-arm", "enabled\ninterpreter /usr/bin/qemu-arm\n");
  t.Socket("/scope/run/containerd.sock");
  t.Socket("/run/containerd/s/0123abcd");  // a stale shim socket: nobody listens
  t.File("/proc/net/unix", "Num RefCount Protocol Flags Type St Inode Path\n");
  t.Dir("/run/containerd/runc/pa9-ns/pa9-c0");
  t.Dir("/run/docker");

  HostStateScope scope;
  scope.root = t.root();
  scope.self = self;
  scope.dirs = {"/scope/run"};
  scope.tokens = {"pa9-"};
  HostState s = TakeHostState(scope);

  std::vector<pid_t> pids;
  for (const auto& p : s.processes) pids.push_back(p.pid);
  EXPECT_EQ(pids, (std::vector<pid_t>{4100, 4200, 4300}));
  ASSERT_EQ(s.zombies.size(), 1u);
  EXPECT_EQ(s.zombies[0].pid, 4600);
  EXPECT_EQ(s.mounts,
            (std::vector<std::string>{"/run/containerd/io.containerd.runtime.v2.task/x overlay",
                                      "/scope/run/rootfs overlay", "/sys/fs/cgroup/memory cgroup",
                                      "/sys/fs/cgroup/unified cgroup2"}));
  EXPECT_EQ(s.cgroups, (std::vector<std::string>{"/sys/fs/cgroup/memory/pa9-c0",
                                                 "/sys/fs/cgroup/unified/pa9-c0"}));
  ASSERT_EQ(s.binfmt.size(), 1u);
  EXPECT_TRUE(s.binfmt.count("pa9-s390x"));
  EXPECT_EQ(s.sockets,
            (std::vector<std::string>{"/run/containerd/s/0123abcd", "/scope/run/containerd.sock"}));
  EXPECT_EQ(s.paths, (std::vector<std::string>{"/run/containerd/runc/pa9-ns"}));
  EXPECT_EQ(s.fixed_dirs, (std::vector<std::string>{"/run/containerd", "/run/containerd/runc",
                                                    "/run/containerd/s", "/run/docker"}));
}

}  // namespace
}  // namespace polyarch
