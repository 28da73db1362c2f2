// polyarch's private containerd and dockerd against the real binaries of this host (root).
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/core/elf.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/mountinfo.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/daemons/http_client.h"
#include "processes.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

#define SKIP_WITHOUT_DAEMONS()                                                          \
  do {                                                                                  \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run containerd and dockerd";   \
    for (const char* p : {"containerd", "ctr", "dockerd"}) {                            \
      if (!FindProgram(p).ok()) GTEST_SKIP() << p << " is not installed (ci/setup.sh)"; \
    }                                                                                   \
  } while (0)

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

// Every socket file under `dir`, at any depth.
void SocketsUnder(const std::string& dir, std::vector<std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    std::string path = dir + "/" + e->d_name;
    mode_t m = ModeOf(path);
    if (S_ISSOCK(m)) out->push_back(path);
    if (S_ISDIR(m)) SocketsUnder(path, out);
  }
  ::closedir(d);
}

std::vector<std::string> SocketsUnder(const std::string& dir) {
  std::vector<std::string> out;
  SocketsUnder(dir, &out);
  return out;
}

// TCP and UDP sockets (any state, IPv4 and IPv6) held open by `pid`.
int InetSocketsOf(pid_t pid) {
  std::set<std::string> inodes;
  for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream in(std::string("/proc/net/") + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string field;
      for (int i = 0; i < 10 && (f >> field); ++i) {
      }
      inodes.insert(field);  // the 10th column is the inode
    }
  }
  int n = 0;
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(fd_dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    char target[256] = {};
    std::string link = fd_dir + "/" + e->d_name;
    ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
    if (len <= 0) continue;
    std::string t(target, static_cast<size_t>(len));
    if (t.rfind("socket:[", 0) == 0 && inodes.count(t.substr(8, t.size() - 9)) > 0) ++n;
  }
  ::closedir(d);
  return n;
}

bool Gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

nlohmann::json GetJson(const std::string& socket, const std::string& target) {
  auto r = UnixHttpRequest(socket, "GET", target, "", seconds(10));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nlohmann::json();
  EXPECT_EQ(r->status, 200) << target << ": " << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// What every stop must leave: no process, no mount, no socket, a removable directory.
void ExpectNothingLeft(const std::string& run_dir, const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << "pid " << pid << " is still there";
  EXPECT_TRUE(ProcessesMentioning(run_dir).empty()) << "a process still names " << run_dir;
  auto mounts = MountPointsUnder(run_dir);
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  EXPECT_TRUE(mounts->empty()) << (*mounts)[0];
  std::vector<std::string> sockets = SocketsUnder(run_dir);
  EXPECT_TRUE(sockets.empty()) << sockets[0];
}

ContainerdOptions CtrdOptions(const std::string& run_dir) {
  ContainerdOptions o;
  o.run_dir = run_dir;
  o.start_timeout = seconds(20);
  return o;
}

DockerdOptions DockerOptions(const std::string& run_dir) {
  DockerdOptions o;
  o.run_dir = run_dir;
  o.start_timeout = seconds(20);
  return o;
}

TEST(DaemonsIntegrationTest, PrivateContainerdAndDockerdAnswerAndLeaveNothingBehind) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string run_dir = run->path();
  auto journal = Journal::Open(run_dir + "/state/journal.jsonl");
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();

  auto started = Clock::now();
  ContainerdOptions copts = CtrdOptions(run_dir);
  copts.journal = &*journal;
  auto containerd = ContainerdDaemon::Start(copts);
  ASSERT_TRUE(containerd.ok()) << containerd.status().ToString();
  auto& c = **containerd;
  std::cerr << "containerd " << c.version() << " ready after "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - started).count() << " ms\n";
  EXPECT_FALSE(c.version().empty());
  EXPECT_TRUE(c.Alive());
  EXPECT_FALSE(c.ExitResult().has_value());
  EXPECT_EQ(c.address(), run_dir + "/containerd/containerd.sock");
  EXPECT_TRUE(c.endpoint().owned);
  EXPECT_EQ(c.endpoint().address, c.address());

  auto ctr = RunProcess({"ctr", "--address", c.address(), "version"}, seconds(10));
  ASSERT_TRUE(ctr.ok()) << ctr.status().ToString();
  EXPECT_TRUE(ctr->success()) << ctr->Describe() << ctr->err.Text();
  EXPECT_NE(ctr->out.Text().find("Server:"), std::string::npos) << ctr->out.Text();
  EXPECT_NE(ctr->out.Text().find(c.version()), std::string::npos);

  EXPECT_TRUE(S_ISSOCK(ModeOf(c.address())));
  EXPECT_EQ(ModeOf(c.address()) & 07777, 0600u);
  EXPECT_EQ(ModeOf(c.ttrpc_address()) & 07777, 0600u);
  EXPECT_EQ(ModeOf(c.dir()) & 07777, 0700u);
  EXPECT_EQ(InetSocketsOf(c.pid()), 0) << "containerd must listen on unix sockets only";

  // A second daemon on the same run directory is refused, not started next to the first.
  auto second = ContainerdDaemon::Start(CtrdOptions(run_dir));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kAlreadyExists) << second.status().ToString();

  started = Clock::now();
  DockerdOptions dopts = DockerOptions(run_dir);
  dopts.journal = &*journal;
  auto dockerd = DockerdDaemon::Start(dopts, c.address());
  ASSERT_TRUE(dockerd.ok()) << dockerd.status().ToString();
  auto& d = **dockerd;
  // Both daemons are in the journal with their PIDs, so a later run can find them by PID.
  auto live = journal->Live("daemon");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].key, c.dir());
  EXPECT_EQ((*live)[0].data.value("pid", -1), c.pid());
  EXPECT_EQ((*live)[1].data.value("daemon", ""), "dockerd");
  EXPECT_EQ((*live)[1].data.value("pid", -1), d.pid());
  std::cerr << "dockerd " << d.version().version << " ready after "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - started).count() << " ms\n";
  EXPECT_TRUE(d.Alive());
  EXPECT_EQ(d.address(), run_dir + "/dockerd/docker.sock");
  EXPECT_EQ(ModeOf(d.address()) & 07777, 0600u);
  EXPECT_EQ(ModeOf(d.dir()) & 07777, 0700u);
  EXPECT_EQ(InetSocketsOf(d.pid()), 0) << "dockerd must listen on unix sockets only";
  EXPECT_TRUE(PathExists(d.dir() + "/key.json")) << "the trust key belongs in the run dir";

  auto ping = UnixHttpRequest(d.address(), "GET", "/_ping", "", seconds(5));
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "OK");

  nlohmann::json version = GetJson(d.address(), "/version");
  ASSERT_TRUE(version.is_object());
  EXPECT_TRUE(ApiVersionAtLeast(version.value("ApiVersion", ""), "1.41")) << version.dump();
  EXPECT_EQ(d.version().api_version, version.value("ApiVersion", ""));
  EXPECT_EQ(d.version().version, version.value("Version", ""));
  EXPECT_FALSE(d.version().min_api_version.empty());

  // --bridge=none: dockerd keeps its "none" and "host" networks but creates no "bridge".
  nlohmann::json networks = GetJson(d.address(), "/networks");
  ASSERT_TRUE(networks.is_array()) << networks.dump();
  std::set<std::string> names;
  for (const auto& n : networks) names.insert(n.value("Name", ""));
  EXPECT_EQ(names.count("bridge"), 0u) << networks.dump();
  EXPECT_EQ(names.count("none"), 1u) << networks.dump();

  nlohmann::json info = GetJson(d.address(), "/info");
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info.value("DockerRootDir", ""), d.data_root());
  EXPECT_EQ(info.value("Driver", ""), "overlay2");

  const pid_t cpid = c.pid();
  const pid_t dpid = d.pid();
  started = Clock::now();
  Status ds = d.Stop();
  EXPECT_TRUE(ds.ok()) << ds.ToString();
  std::cerr << "dockerd stopped after "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - started).count() << " ms ("
            << d.ExitResult()->Describe() << ")\n";
  EXPECT_FALSE(d.Alive());
  started = Clock::now();
  Status cs = c.Stop();
  EXPECT_TRUE(cs.ok()) << cs.ToString();
  std::cerr << "containerd stopped after "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - started).count() << " ms ("
            << c.ExitResult()->Describe() << ")\n";
  EXPECT_FALSE(c.Alive());
  ASSERT_TRUE(c.ExitResult().has_value());
  EXPECT_FALSE(c.ExitResult()->escalated) << "containerd needed SIGKILL";
  EXPECT_FALSE(d.ExitResult()->escalated) << "dockerd needed SIGKILL";

  ExpectNothingLeft(run_dir, {cpid, dpid});
  auto after = journal->Live("daemon");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty()) << "a stopped daemon is removed from the journal";
  EXPECT_FALSE(PathExists(d.dir() + "/dockerd.pid"));
  EXPECT_FALSE(PathExists(c.dir() + "/containerd.pid"));
  // A second Stop only repeats the cleanup.
  EXPECT_TRUE(c.Stop().ok());
  Status removed = RemoveTree(run_dir);
  EXPECT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_FALSE(PathExists(run_dir));
}

TEST(DaemonsIntegrationTest, ContainerdThatCannotStartQuotesItsLog) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  ContainerdOptions o = CtrdOptions(run->path());
  o.extra_config = "this is not toml";
  auto started = Clock::now();
  auto c = ContainerdDaemon::Start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(Clock::now() - started, seconds(10)) << "a daemon that exits must not wait out "
                                                    "the whole deadline";
  const std::string& m = c.status().message();
  EXPECT_EQ(c.status().code(), Code::kUnavailable) << m;
  EXPECT_NE(m.find("exited during start-up"), std::string::npos) << m;
  EXPECT_NE(m.find("failed to load TOML"), std::string::npos) << m;  // from containerd.log
  EXPECT_NE(m.find(run->path() + "/containerd/containerd.log"), std::string::npos) << m;
  ExpectNothingLeft(run->path(), {});
}

TEST(DaemonsIntegrationTest, DockerdWithABadFlagQuotesItsLogAndContainerdSurvives) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  auto c = ContainerdDaemon::Start(CtrdOptions(run->path()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  DockerdOptions o = DockerOptions(run->path());
  o.extra_args = {"--polyarch-no-such-flag"};
  auto started = Clock::now();
  auto d = DockerdDaemon::Start(o, (*c)->address());
  ASSERT_FALSE(d.ok());
  EXPECT_LT(Clock::now() - started, seconds(10));
  const std::string& m = d.status().message();
  EXPECT_NE(m.find("unknown flag: --polyarch-no-such-flag"), std::string::npos) << m;
  EXPECT_NE(m.find("dockerd.log"), std::string::npos) << m;
  EXPECT_TRUE((*c)->Alive());
  const pid_t cpid = (*c)->pid();
  EXPECT_TRUE((*c)->Stop().ok());
  ExpectNothingLeft(run->path(), {cpid});
}

TEST(DaemonsIntegrationTest, DockerdWithoutContainerdFailsAtOnce) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  auto d = DockerdDaemon::Start(DockerOptions(run->path()), run->path() + "/nobody.sock");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kFailedPrecondition) << d.status().ToString();
  ExpectNothingLeft(run->path(), {});
}

TEST(DaemonsIntegrationTest, DaemonsThatDieOnTheirOwnAreObservedAndCleanedUp) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  auto c = ContainerdDaemon::Start(CtrdOptions(run->path()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto d = DockerdDaemon::Start(DockerOptions(run->path()), (*c)->address());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const pid_t cpid = (*c)->pid();
  const pid_t dpid = (*d)->pid();

  // A crash: no shutdown of its own, so dockerd's bind mount of its data root and both
  // sockets stay behind for Stop to clean.
  ASSERT_EQ(::kill(dpid, SIGKILL), 0);
  auto give_up = Clock::now() + seconds(5);
  while ((*d)->Alive() && Clock::now() < give_up) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_FALSE((*d)->Alive());
  ASSERT_TRUE((*d)->ExitResult().has_value());
  EXPECT_FALSE((*d)->ExitResult()->exited);
  EXPECT_EQ((*d)->ExitResult()->signal, SIGKILL);
  EXPECT_TRUE(PathExists((*d)->address()));
  Status ds = (*d)->Stop();
  EXPECT_TRUE(ds.ok()) << ds.ToString();

  ASSERT_EQ(::kill(cpid, SIGKILL), 0);
  give_up = Clock::now() + seconds(5);
  while ((*c)->Alive() && Clock::now() < give_up) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_FALSE((*c)->Alive());
  EXPECT_EQ((*c)->ExitResult()->signal, SIGKILL);
  Status cs = (*c)->Stop();
  EXPECT_TRUE(cs.ok()) << cs.ToString();
  ExpectNothingLeft(run->path(), {cpid, dpid});
}

int SocketCount(const std::string& dir) { return static_cast<int>(SocketsUnder(dir).size()); }

TEST(DaemonsIntegrationTest, ContainersLeftRunningAreRemovedWithTheirShims) {
  SKIP_WITHOUT_DAEMONS();
  auto busybox = FindProgram("busybox");
  if (!busybox.ok()) GTEST_SKIP() << "needs a static busybox (busybox-static) for a rootfs";
  auto elf = ReadElf(*busybox);
  if (!elf.ok() || !elf->is_static()) GTEST_SKIP() << *busybox << " is not static";
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  const std::string rootfs = run->path() + "/rootfs";
  for (const char* sub : {"/bin", "/proc", "/dev", "/sys", "/tmp"}) {
    ASSERT_TRUE(MakeDirs(rootfs + sub).ok());
  }
  auto bytes = ReadFile(*busybox);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/bin/busybox", *bytes, 0755).ok());
  const int shim_sockets_before = SocketCount("/run/containerd/s");

  auto c = ContainerdDaemon::Start(CtrdOptions(run->path()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string id = "pa-orphan-" + std::to_string(::getpid());
  const std::string ns = "pa-daemons-test";
  const std::string runc_root = run->path() + "/runc";
  // A task nobody deletes: what a crashed driver leaves. Everything the client controls
  // (fifos, runc root, cgroup) is kept out of the host's shared places.
  auto ctr =
      RunProcess({"ctr",         "--address", (*c)->address(), "-n",         ns,
                  "run",         "-d",        "--null-io",     "--fifo-dir", run->path() + "/fifo",
                  "--runc-root", runc_root,   "--cgroup",      "/" + id,     "--rootfs",
                  rootfs,        id,          "/bin/busybox",  "sleep",      "1000"},
                 seconds(20));
  ASSERT_TRUE(ctr.ok()) << ctr.status().ToString();
  ASSERT_TRUE(ctr->success()) << ctr->Describe() << ctr->err.Text();
  auto tasks =
      RunProcess({"ctr", "--address", (*c)->address(), "-n", ns, "task", "ls"}, seconds(10));
  ASSERT_TRUE(tasks.ok() && tasks->success());
  pid_t task_pid = -1;
  {
    std::istringstream in(tasks->out.Text());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string task;
      pid_t pid = -1;
      if ((f >> task >> pid) && task == id) task_pid = pid;
    }
  }
  ASSERT_GT(task_pid, 0) << tasks->out.Text();
  EXPECT_TRUE(PathExists(runc_root + "/" + ns + "/" + id));
  const pid_t cpid = (*c)->pid();

  Status s = (*c)->Stop();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Gone(task_pid)) << "the container's process survived its containerd";
  EXPECT_FALSE(PathExists(runc_root + "/" + ns + "/" + id)) << "runc state left behind";
  for (const char* controller : {"pids", "memory", "unified", "systemd"}) {
    EXPECT_FALSE(PathExists(std::string("/sys/fs/cgroup/") + controller + "/" + id))
        << controller << " cgroup left behind";
  }
  EXPECT_EQ(SocketCount("/run/containerd/s"), shim_sockets_before) << "a shim socket stayed";
  ExpectNothingLeft(run->path(), {cpid});
}

TEST(DaemonsIntegrationTest, DestructorStopsARunningDaemon) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  pid_t cpid = -1;
  {
    auto c = ContainerdDaemon::Start(CtrdOptions(run->path()));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cpid = (*c)->pid();
  }
  ExpectNothingLeft(run->path(), {cpid});
}

TEST(DaemonsIntegrationTest, StartDeadlineIsHonoured) {
  SKIP_WITHOUT_DAEMONS();
  auto run = TempDir::Create("pa-daemons-");
  ASSERT_TRUE(run.ok());
  ContainerdOptions o = CtrdOptions(run->path());
  o.start_timeout = milliseconds(1);  // containerd needs ~100 ms here
  auto started = Clock::now();
  auto c = ContainerdDaemon::Start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kDeadlineExceeded) << c.status().ToString();
  EXPECT_NE(c.status().message().find("did not become ready within 1 ms"), std::string::npos)
      << c.status().ToString();
  EXPECT_LT(Clock::now() - started, seconds(5));
  ExpectNothingLeft(run->path(), {});
}

}  // namespace
}  // namespace polyarch
