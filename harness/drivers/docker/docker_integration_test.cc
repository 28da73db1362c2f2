// The docker layer against a real, private containerd + dockerd, natively (amd64) and under
// binfmt_misc + qemu-user (s390x): the whole lifecycle through the Engine API, the refusals
// the engine must make, and a cleanup that leaves nothing behind.
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/core/cgroups.h"
#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/daemons/dockerd_daemon.h"
#include "harness/drivers/docker/docker_layer.h"
#include "harness/drivers/docker/engine_client.h"
#include "lifecycle_check.h"
#include "processes.h"
#include "stack_fixture.h"

namespace polyarch {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kWait = seconds(20);

std::vector<std::string> BinfmtEntriesStartingWith(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc/sys/fs/binfmt_misc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).rfind(prefix, 0) == 0) out.push_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

class DockerIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root to run containerd and dockerd";
      return;
    }
    for (const char* p : {"containerd", "ctr", "dockerd", "qemu-s390x-static"}) {
      if (!FindProgram(p).ok()) {
        skip_ = std::string(p) + " is not installed (ci/setup.sh)";
        return;
      }
    }
    tag_ = "pa-dkr-itest-" + std::to_string(::getpid());
    stack_ = testing::StackFixture::Create("dkr-itest", "amd64,s390x").release();
    if (stack_ == nullptr) {
      error_ = "the images or the binfmt entries could not be set up";
      return;
    }
    run_dir_ = stack_->dir() + "/run";
    ContainerdOptions co;
    co.run_dir = run_dir_;
    auto containerd = ContainerdDaemon::Start(co);
    if (!containerd.ok()) {
      error_ = containerd.status().ToString();
      return;
    }
    containerd_ = containerd->release();
    DockerdOptions dopt;
    dopt.run_dir = run_dir_;
    auto dockerd = DockerdDaemon::Start(dopt, containerd_->address());
    if (!dockerd.ok()) {
      error_ = dockerd.status().ToString();
      return;
    }
    dockerd_ = dockerd->release();
    error_ = NewLayer();
  }

  // (Re)creates the layer, which loads the images again.
  static std::string NewLayer() {
    delete layer_;
    layer_ = nullptr;
    DockerLayerOptions o;
    o.socket_path = dockerd_->address();
    o.run_id = tag_;
    o.images = &stack_->images();
    o.step_timeout = seconds(30);
    auto layer = DockerLayer::Create(o);
    if (!layer.ok()) return layer.status().ToString();
    layer_ = layer->release();
    for (const char* a : {"amd64", "s390x"}) {
      Status s = layer_->Supports(**LookupArch(a));
      if (!s.ok()) return s.ToString();
    }
    return "";
  }

  static void TearDownTestSuite() {
    if (layer_ != nullptr) {
      Status s = layer_->Cleanup();
      EXPECT_TRUE(s.ok()) << s.ToString();
      delete layer_;
      layer_ = nullptr;
    }
    std::vector<pid_t> daemon_pids;
    if (dockerd_ != nullptr) {
      daemon_pids.push_back(dockerd_->pid());
      Status s = dockerd_->Stop();
      EXPECT_TRUE(s.ok()) << s.ToString();
      // Stop removes the daemon's cgroup parent from every hierarchy.
      EXPECT_EQ(FindCgroups({dockerd_->cgroup_parent()}), std::vector<std::string>{});
      delete dockerd_;
      dockerd_ = nullptr;
    }
    if (containerd_ != nullptr) {
      daemon_pids.push_back(containerd_->pid());
      Status s = containerd_->Stop();
      EXPECT_TRUE(s.ok()) << s.ToString();
      delete containerd_;
      containerd_ = nullptr;
    }
    if (!run_dir_.empty()) {
      for (pid_t pid : daemon_pids) {
        EXPECT_NE(::kill(pid, 0), 0) << "daemon pid " << pid << " is still there";
      }
      EXPECT_TRUE(ProcessesMentioning(run_dir_).empty()) << "a process still names " << run_dir_;
      auto mounts = MountPointsUnder(run_dir_);
      ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
      EXPECT_TRUE(mounts->empty()) << (*mounts)[0];
    }
    delete stack_;  // removes the binfmt entries and the directory
    stack_ = nullptr;
    if (!tag_.empty()) {
      auto left = BinfmtEntriesStartingWith(tag_ + "-");
      EXPECT_TRUE(left.empty()) << left[0];
    }
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  static std::string Id(const std::string& name) { return tag_ + "-" + name; }

  static ContainerSpec Spec(const std::string& name, const char* arch,
                            std::vector<std::string> argv) {
    ContainerSpec s;
    s.id = Id(name);
    s.arch = *LookupArch(arch);
    s.argv = std::move(argv);
    return s;
  }

  // Creates and starts; the container is deleted (forced) when the test ends.
  void Run(Driver& d, const ContainerSpec& spec) {
    created_.push_back(spec.id);
    StepResult c = d.Create(spec);
    ASSERT_TRUE(c.ok()) << c.status.ToString();
    StepResult s = d.Start(spec.id);
    ASSERT_TRUE(s.ok()) << s.status.ToString();
  }

  void TearDown() override {
    if (layer_ == nullptr) return;
    auto d = layer_->NewDriver();
    for (const auto& id : created_) (void)d->Delete(id, /*force=*/true);
  }

  void Lifecycle(const char* arch_name) {
    const ArchInfo* arch = *LookupArch(arch_name);
    auto d = layer_->NewDriver();
    const std::string id = Id(std::string("life-") + arch_name);
    created_.push_back(id);
    testing::LifecycleHooks hooks;
    hooks.running = [](const std::string&, int pid) {
      // Its cgroup is under the private daemon's cgroup parent, never the host's /docker.
      auto cgroup = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
      ASSERT_TRUE(cgroup.ok());
      EXPECT_NE(cgroup->find(":/" + dockerd_->cgroup_parent() + "/"), std::string::npos) << *cgroup;
      EXPECT_EQ(cgroup->find(":/docker/"), std::string::npos) << *cgroup;
      // Created with networking disabled: the runtime's new namespace, only a loopback.
      EXPECT_EQ(NotIsolatedFromTheNetwork(pid), "");
    };
    hooks.paused = [&d](const std::string& id) {
      // The engine refuses an exec into a paused container: a failed step, no exit code.
      ExecResult paused_exec = d->Exec(id, {"/probe", "exit", "0"}, seconds(10));
      EXPECT_EQ(paused_exec.status.code(), Code::kFailedPrecondition)
          << paused_exec.status.ToString();
      EXPECT_EQ(paused_exec.exit_code, -1);
    };
    hooks.resumed = [&d, arch](const std::string& id) {
      // A binary that is not there never runs: a failed step, not dockerd's exit 126.
      ExecResult missing = d->Exec(id, {"/no-such-binary"}, seconds(20));
      EXPECT_EQ(missing.status.code(), Code::kFailedPrecondition) << missing.status.ToString();
      EXPECT_EQ(missing.exit_code, -1);
      // The process really is of the arch asked for (s390x runs under qemu-user).
      ExecResult info = d->Exec(id, {"/probe", "info"}, seconds(30));
      ASSERT_TRUE(info.ok()) << info.status.ToString();
      json j = json::parse(info.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << info.out << info.err;
      EXPECT_EQ(j["machine"], arch->uname_machine);
    };
    testing::ExpectFullLifecycle(*d, *arch, id, hooks);
  }

  static std::string skip_;
  static std::string error_;
  static std::string tag_;
  static std::string run_dir_;
  static testing::StackFixture* stack_;
  static ContainerdDaemon* containerd_;
  static DockerdDaemon* dockerd_;
  static DockerLayer* layer_;
  std::vector<std::string> created_;
};
std::string DockerIntegrationTest::skip_;
std::string DockerIntegrationTest::error_;
std::string DockerIntegrationTest::tag_;
std::string DockerIntegrationTest::run_dir_;
testing::StackFixture* DockerIntegrationTest::stack_ = nullptr;
ContainerdDaemon* DockerIntegrationTest::containerd_ = nullptr;
DockerdDaemon* DockerIntegrationTest::dockerd_ = nullptr;
DockerLayer* DockerIntegrationTest::layer_ = nullptr;

TEST_F(DockerIntegrationTest, LifecycleAmd64) { Lifecycle("amd64"); }

TEST_F(DockerIntegrationTest, LifecycleS390xUnderBinfmt) { Lifecycle("s390x"); }

// Run is the four verbs through the Engine API, and leaves nothing.
TEST_F(DockerIntegrationTest, RunLeavesNothingWhicheverWayItEnds) {
  auto d = layer_->NewDriver();
  EXPECT_FALSE(d->capabilities().single_call_run);
  testing::ExpectRunLeavesNothing(*d, **LookupArch("amd64"), Id("run"));
}

// Both ways of network "none": disabled (the suites') and dockerd's sandbox (throughput's, as
// `docker run --network none`): a namespace of the container's own with only a loopback.
TEST_F(DockerIntegrationTest, NetworkNoneEitherWayLeavesOnlyALoopback) {
  auto d = layer_->NewDriver();
  for (bool sandbox : {false, true}) {
    SCOPED_TRACE(sandbox ? "sandbox" : "disabled");
    ContainerSpec spec =
        Spec(sandbox ? "net-sandbox" : "net-disabled", "amd64", {"/probe", "sleep", "300"});
    spec.network_sandbox = sandbox;
    Run(*d, spec);
    StateResult s = d->State(spec.id);
    ASSERT_TRUE(s.ok()) << s.status.ToString();
    ASSERT_GT(s.pid, 0);
    EXPECT_EQ(NotIsolatedFromTheNetwork(s.pid), "");
  }
}

TEST_F(DockerIntegrationTest, AnExitCodeIsWhatWaitReports) {
  auto d = layer_->NewDriver();
  for (const char* arch : {"amd64", "s390x"}) {
    SCOPED_TRACE(arch);
    ContainerSpec spec = Spec(std::string("exit42-") + arch, arch, {"/probe", "exit", "42"});
    Run(*d, spec);
    WaitResult w = d->Wait(spec.id, kWait);
    ASSERT_TRUE(w.ok()) << w.status.ToString();
    EXPECT_TRUE(w.exited);
    EXPECT_EQ(w.exit_code, 42);
    // Asked again, the engine answers the same.
    EXPECT_EQ(d->Wait(spec.id, kWait).exit_code, 42);
    EXPECT_TRUE(d->Delete(spec.id, false).ok());
  }
}

TEST_F(DockerIntegrationTest, AWaitPastItsDeadlineSaysNotExitedAndKillReads137) {
  auto d = layer_->NewDriver();
  ContainerSpec spec = Spec("trap", "amd64", {"/probe", "trap-term"});
  Run(*d, spec);
  ASSERT_TRUE(d->Kill(spec.id, 15).ok());  // ignored by the probe
  auto t = std::chrono::steady_clock::now();
  WaitResult early = d->Wait(spec.id, milliseconds(500));
  EXPECT_TRUE(early.ok()) << early.status.ToString();
  EXPECT_FALSE(early.exited);
  EXPECT_LT(std::chrono::steady_clock::now() - t, seconds(3));
  EXPECT_EQ(d->State(spec.id).state, ContainerState::kRunning);  // the driver goes on
  ASSERT_TRUE(d->Kill(spec.id, 9).ok());
  WaitResult w = d->Wait(spec.id, kWait);
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 137);
}

TEST_F(DockerIntegrationTest, ARunningContainerIsDeletedOnlyWithForce) {
  auto d = layer_->NewDriver();
  ContainerSpec spec = Spec("busy", "s390x", {"/probe", "sleep", "30"});
  Run(*d, spec);
  StepResult refused = d->Delete(spec.id, /*force=*/false);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition) << refused.status.ToString();
  EXPECT_NE(refused.status.message().find("409"), std::string::npos);
  EXPECT_EQ(d->State(spec.id).state, ContainerState::kRunning);
  StepResult forced = d->Delete(spec.id, /*force=*/true);
  EXPECT_TRUE(forced.ok()) << forced.status.ToString();
  EXPECT_EQ(d->State(spec.id).state, ContainerState::kNotFound);
}

TEST_F(DockerIntegrationTest, AnExecIntoAStoppedContainerIsAFailedStep) {
  auto d = layer_->NewDriver();
  ContainerSpec spec = Spec("stopped", "amd64", {"/probe", "exit", "0"});
  Run(*d, spec);
  ASSERT_TRUE(d->Wait(spec.id, kWait).exited);
  ExecResult r = d->Exec(spec.id, {"/probe", "echo-args", "hi"}, seconds(10));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition) << r.status.ToString();
  EXPECT_NE(r.status.message().find("is not running"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(r.exit_code, -1);
}

TEST_F(DockerIntegrationTest, ListShowsOnlyTheRunsContainersAndCleanupRemovesThemAll) {
  auto d = layer_->NewDriver();
  // Someone else's container on the same engine: neither listed nor removed.
  EngineClient other(EngineClientOptions{dockerd_->address(), seconds(30)});
  ASSERT_TRUE(other.Negotiate().ok());
  const std::string foreign = "pa-dkr-foreign-" + std::to_string(::getpid());
  json body = {{"Image", "polyarch.local/test:amd64"},
               {"Cmd", {"/probe", "exit", "0"}},
               {"Labels", {{kRunLabel, "someone-else"}}},
               {"HostConfig", {{"NetworkMode", "none"}}}};
  auto made = other.Post("/containers/create?name=" + foreign, body.dump());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_EQ(made->status, 201) << made->body;

  ContainerSpec running = Spec("list-running", "s390x", {"/probe", "sleep", "30"});
  Run(*d, running);
  ContainerSpec created = Spec("list-created", "amd64", {"/probe", "exit", "0"});
  created_.push_back(created.id);
  ASSERT_TRUE(d->Create(created).ok());
  ListResult list = d->List();
  ASSERT_TRUE(list.ok()) << list.status.ToString();
  EXPECT_EQ(list.ids, (std::vector<std::string>{created.id, running.id}));

  Status cleaned = layer_->Cleanup();
  EXPECT_TRUE(cleaned.ok()) << cleaned.ToString();
  ListResult after = d->List();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after.ids.empty());
  EXPECT_EQ(d->State(running.id).state, ContainerState::kNotFound);
  for (const char* arch : {"amd64", "s390x"}) {
    auto img = other.Get(std::string("/images/polyarch.local/test:") + arch + "/json");
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img->status, 404) << arch << " image still there";
  }
  EXPECT_TRUE(layer_->Cleanup().ok());  // twice is fine
  auto still = other.Get("/containers/" + foreign + "/json");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->status, 200) << "cleanup removed a container that was not the run's";
  auto removed = other.Delete("/containers/" + foreign + "?force=true");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, 204) << removed->body;

  // Later tests need the images again.
  std::string again = NewLayer();
  ASSERT_TRUE(again.empty()) << again;
}

}  // namespace
}  // namespace polyarch
