// The podman layers against a real, private `podman system service` (one per runtime), driven
// through its Docker-compatible API natively (amd64) and under binfmt_misc + qemu-user (s390x):
// the lifecycle, that the layer's runtime binary is the one that runs the containers, and a
// stop or a recovery that leaves nothing behind (processes, conmon, mounts, cgroups, sockets,
// the short run root in /run, the blob-info cache).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/mountinfo.h"
#include "harness/core/proc.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/daemon_recovery.h"
#include "harness/daemons/podman_service.h"
#include "harness/drivers/docker/docker_layer.h"
#include "lifecycle_check.h"
#include "processes.h"
#include "stack_fixture.h"

namespace polyarch {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class PodmanIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root to run podman's service";
      return;
    }
    for (const char* p : {"podman", "conmon", "crun", "runc", "qemu-s390x-static"}) {
      if (!FindProgram(p).ok()) {
        skip_ = std::string(p) + " is not installed (ci/setup.sh)";
        return;
      }
    }
    tag_ = "pa-pdm-itest-" + std::to_string(::getpid());
    stack_ = testing::StackFixture::Create("pdm-itest", "amd64,s390x").release();
    if (stack_ == nullptr) error_ = "the images or the binfmt entries could not be set up";
  }

  static void TearDownTestSuite() {
    delete stack_;  // removes the binfmt entries and the directory
    stack_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  // A service over `runtime` (a name found in PATH, or a path) in its own directory.
  std::unique_ptr<PodmanService> StartService(const std::string& name, const std::string& runtime,
                                              Journal* journal = nullptr) {
    PodmanServiceOptions o;
    o.run_dir = stack_->dir() + "/run";
    o.name = name;
    auto bin = FindProgram(runtime);
    EXPECT_TRUE(bin.ok()) << runtime;
    o.runtime_binary = bin.ok() ? *bin : runtime;
    o.cgroup_parent = tag_ + "-" + name;
    o.journal = journal;
    auto s = PodmanService::Start(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::unique_ptr<DockerLayer> Layer(const PodmanService& service, const std::string& name) {
    DockerLayerOptions o = PodmanLayerOptions(service, name);
    o.run_id = tag_;
    o.images = &stack_->images();
    o.step_timeout = seconds(30);
    auto layer = DockerLayer::Create(o);
    EXPECT_TRUE(layer.ok()) << layer.status().ToString();
    return layer.ok() ? std::move(*layer) : nullptr;
  }

  static ContainerSpec Spec(const std::string& name, const char* arch,
                            std::vector<std::string> argv) {
    ContainerSpec s;
    s.id = tag_ + "-" + name;
    s.arch = *LookupArch(arch);
    s.argv = std::move(argv);
    return s;
  }

  // Nothing of the service in `dir` is left: no process names it, nothing is mounted under it
  // or its run root, which is gone, and its cgroup parent is gone from every hierarchy.
  static void ExpectNothingLeft(const std::string& dir, const std::string& run_root,
                                const std::string& cgroup_parent, pid_t service_pid) {
    EXPECT_TRUE(ProcessGone(service_pid));
    EXPECT_TRUE(ProcessesMentioning(dir + "/").empty()) << "a process still names " << dir;
    for (const auto& d : {dir, run_root}) {
      auto mounts = MountPointsUnder(d);
      ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
      EXPECT_TRUE(mounts->empty()) << (*mounts)[0];
    }
    EXPECT_FALSE(PathExists(run_root)) << run_root;
    EXPECT_FALSE(PathExists(dir + "/podman.sock"));
    EXPECT_EQ(FindCgroups({cgroup_parent}), std::vector<std::string>{});
  }

  static std::string skip_;
  static std::string error_;
  static std::string tag_;
  static testing::StackFixture* stack_;
};
std::string PodmanIntegrationTest::skip_;
std::string PodmanIntegrationTest::error_;
std::string PodmanIntegrationTest::tag_;
testing::StackFixture* PodmanIntegrationTest::stack_ = nullptr;

// The whole lifecycle on both arches through each runtime's service; every container runs
// under the layer's runtime (conmon is told the service's wrapper, which runs that binary
// with its state in the service's directory) and in the service's cgroup parent; stopping
// the service leaves nothing.
TEST_F(PodmanIntegrationTest, LifecycleOnEveryArchThroughEachRuntime) {
  for (const char* runtime : {"crun", "runc"}) {
    SCOPED_TRACE(runtime);
    auto service = StartService(std::string("podman-") + runtime, runtime);
    ASSERT_NE(service, nullptr);
    EXPECT_EQ(service->version().api_version, "1.41");
    auto layer = Layer(*service, std::string("podman:") + runtime);
    ASSERT_NE(layer, nullptr);
    for (const char* arch : {"amd64", "s390x"}) {
      ASSERT_TRUE(layer->Supports(**LookupArch(arch)).ok()) << arch;
      auto d = layer->NewDriver();
      testing::LifecycleHooks hooks;
      hooks.running = [&](const std::string&, int pid) {
        auto cgroup = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
        ASSERT_TRUE(cgroup.ok());
        EXPECT_NE(cgroup->find(":/" + service->cgroup_parent() + "/"), std::string::npos)
            << *cgroup;
        EXPECT_EQ(NotIsolatedFromTheNetwork(pid), "");
        // The container's monitor runs the service's wrapper, which runs this runtime.
        bool conmon_runs_the_wrapper = false;
        for (pid_t p : ProcessesMentioning(service->dir() + "/runtime")) {
          auto argv = ProcessArgv(std::to_string(p));
          if (!argv.empty() && argv[0].find("conmon") != std::string::npos) {
            conmon_runs_the_wrapper = true;
          }
        }
        EXPECT_TRUE(conmon_runs_the_wrapper);
        auto wrapper = ReadFile(service->dir() + "/runtime");
        ASSERT_TRUE(wrapper.ok());
        EXPECT_NE(wrapper->find(service->runtime_binary()), std::string::npos) << *wrapper;
      };
      testing::ExpectFullLifecycle(*d, **LookupArch(arch), tag_ + "-life-" + runtime + "-" + arch,
                                   hooks);
    }
    EXPECT_TRUE(layer->Cleanup().ok());
    const std::string dir = service->dir(), run_root = service->run_root(),
                      cgroup = service->cgroup_parent();
    const pid_t pid = service->pid();
    Status stopped = service->Stop();
    EXPECT_TRUE(stopped.ok()) << stopped.ToString();
    ExpectNothingLeft(dir, run_root, cgroup, pid);
  }
}

// A service stopped under running containers and a lingering exec session (podman's conmon
// for an exec stays for minutes): Stop ends every conmon and what runs under it, unmounts and
// removes what they held.
TEST_F(PodmanIntegrationTest, StoppingTheServiceUnderRunningContainersLeavesNothing) {
  auto service = StartService("podman-stop", "crun");
  ASSERT_NE(service, nullptr);
  auto layer = Layer(*service, "podman:crun");
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  std::vector<int> pids;
  for (const char* arch : {"amd64", "s390x"}) {
    ContainerSpec spec = Spec(std::string("left-") + arch, arch, {"/probe", "sleep", "300"});
    ASSERT_TRUE(d->Create(spec).ok());
    ASSERT_TRUE(d->Start(spec.id).ok());
    StateResult st = d->State(spec.id);
    ASSERT_GT(st.pid, 0);
    pids.push_back(st.pid);
    ExecResult e = d->Exec(spec.id, {"/probe", "exit", "3"}, seconds(30));
    ASSERT_TRUE(e.ok()) << e.status.ToString();
    EXPECT_EQ(e.exit_code, 3);
  }
  const std::string dir = service->dir(), run_root = service->run_root(),
                    cgroup = service->cgroup_parent();
  const pid_t pid = service->pid();
  EXPECT_FALSE(ProcessesMentioning(dir + "/").empty()) << "the conmons name the directory";
  Status stopped = service->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  for (int p : pids) EXPECT_TRUE(ProcessGone(p)) << "container process " << p;
  ExpectNothingLeft(dir, run_root, cgroup, pid);
}

// polyarch killed with its service: the journal's record is enough for `cleanup` to end the
// service, the conmons and containers, and remove the mounts, run root and cgroups.
TEST_F(PodmanIntegrationTest, RecoveryFromTheJournalAfterTheServiceWasKilled) {
  auto journal = Journal::Open(stack_->dir() + "/journal-" + std::to_string(::getpid()));
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  auto service = StartService("podman-killed", "runc", &*journal);
  ASSERT_NE(service, nullptr);
  auto layer = Layer(*service, "podman:runc");
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  ContainerSpec spec = Spec("orphan", "s390x", {"/probe", "sleep", "300"});
  ASSERT_TRUE(d->Create(spec).ok());
  ASSERT_TRUE(d->Start(spec.id).ok());
  const int container_pid = d->State(spec.id).pid;
  ASSERT_GT(container_pid, 0);
  const std::string dir = service->dir(), run_root = service->run_root(),
                    cgroup = service->cgroup_parent();
  const pid_t pid = service->pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  auto records = journal->Live("daemon");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  Status recovered = RecoverDaemon((*records)[0].data);
  EXPECT_TRUE(recovered.ok()) << recovered.ToString();
  // The service object's own cleanup finds nothing more to do.
  layer.reset();
  EXPECT_TRUE(service->Stop().ok());
  EXPECT_TRUE(ProcessGone(container_pid));
  ExpectNothingLeft(dir, run_root, cgroup, pid);
}

// A service that cannot start quotes its log and leaves nothing, the run root included.
TEST_F(PodmanIntegrationTest, AServiceWithABadFlagQuotesItsLogAndLeavesNothing) {
  PodmanServiceOptions o;
  o.run_dir = stack_->dir() + "/run";
  o.name = "podman-bad";
  o.runtime_binary = *FindProgram("crun");
  o.cgroup_parent = tag_ + "-bad";
  o.extra_args = {"--no-such-flag"};
  o.start_timeout = seconds(20);
  auto s = PodmanService::Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("no-such-flag"), std::string::npos) << s.status().ToString();
  EXPECT_FALSE(PathExists(PodmanRunRoot(o.run_dir + "/" + o.name)));
  EXPECT_TRUE(ProcessesMentioning(o.run_dir + "/" + o.name + "/").empty());
}

}  // namespace
}  // namespace polyarch
