// The containerd layer against a real, private containerd 1.6 (root), with the real images:
// amd64 natively and s390x under binfmt_misc + qemu-user, which this file registers under
// its own prefix and removes afterwards.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "binfmt/arch.h"
#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/journal.h"
#include "harness/core/mountinfo.h"
#include "harness/core/subprocess.h"
#include "harness/daemons/containerd_daemon.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "images/builder.h"
#include "lifecycle_check.h"
#include "processes.h"

namespace polyarch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const ArchInfo* Arch(std::string_view name) { return *LookupArch(name); }

class ContainerdIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root to run containerd";
      return;
    }
    for (const char* p : {"containerd", "ctr", "containerd-shim-runc-v2", "runc"}) {
      if (!FindProgram(p).ok()) {
        skip_ = std::string(p) + " is not installed (ci/setup.sh)";
        return;
      }
    }
    if (!PathExists(std::string(testing::kProbeDir) + "/s390x/probe")) {
      skip_ = "the probes are not built under " + std::string(testing::kProbeDir);
      return;
    }
    auto d = TempDir::Create("polyarch-ctd-itest-");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dir_ = new TempDir(std::move(*d));
    prefix_ = "pa-ctd-itest-" + std::to_string(::getpid()) + "-";
    auto install = testing::RunPolyarch({"--state-dir", dir_->path() + "/state", "binfmt",
                                         "install", "--arch", "s390x", "--prefix", prefix_});
    ASSERT_EQ(install.exit_code, 0) << install.out.Text() << install.err.Text();

    ImageBuildOptions io;
    io.arches = {Arch("amd64"), Arch("s390x")};
    io.out_dir = dir_->path() + "/images";
    io.probe_dir = testing::kProbeDir;
    auto images = BuildImages(io);
    ASSERT_TRUE(images.ok()) << images.status().ToString();
    images_ = new ImageSet(std::move(*images));

    auto journal = Journal::Open(dir_->path() + "/journal.jsonl");
    ASSERT_TRUE(journal.ok());
    journal_ = new Journal(std::move(*journal));

    ContainerdOptions co;
    co.run_dir = dir_->path() + "/run";
    co.journal = journal_;
    auto daemon = ContainerdDaemon::Start(co);
    ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
    daemon_ = daemon->release();

    run_id_ = "itest-" + std::to_string(::getpid());
    auto layer = ContainerdLayer::Create(Options(run_id_));
    ASSERT_TRUE(layer.ok()) << layer.status().ToString();
    layer_ = layer->release();
  }

  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    const std::string ns = layer_ ? layer_->ns() : "";
    if (layer_ != nullptr) {
      Status s = layer_->Cleanup();
      EXPECT_TRUE(s.ok()) << s.ToString();
      // Nothing of the run is left in containerd, asked through ctr rather than our client.
      for (const char* what : {"containers", "tasks", "snapshots", "images", "content", "leases"}) {
        EXPECT_EQ(CtrList(ns, what), "") << what << " of " << ns << " remain";
      }
      auto r = Ctr({"namespaces", "ls", "-q"});
      EXPECT_EQ(r.out.Text().find(ns), std::string::npos) << r.out.Text();
      EXPECT_TRUE(layer_->Cleanup().ok()) << "a second Cleanup must be harmless";
      EXPECT_FALSE(PathExists(layer_->work_dir()));
      delete layer_;
      layer_ = nullptr;
    }
    if (daemon_ != nullptr) {
      Status s = daemon_->Stop();
      EXPECT_TRUE(s.ok()) << s.ToString();
      delete daemon_;
      daemon_ = nullptr;
    }
    auto live = journal_ ? journal_->Live()
                         : Result<std::vector<JournalRecord>>(std::vector<JournalRecord>{});
    if (live.ok()) {
      for (const auto& rec : *live) {
        EXPECT_EQ(rec.kind.rfind("containerd-", 0), std::string::npos)
            << "journal still holds " << rec.kind << " " << rec.key;
      }
    }
    EXPECT_TRUE(ProcessesMentioning(dir_->path()).empty()) << "a containerd or shim survived";
    auto mounts = MountPointsUnder(dir_->path());
    EXPECT_TRUE(mounts.ok() && mounts->empty());
    if (!ns.empty()) {
      EXPECT_FALSE(PathExists("/run/containerd/runc/" + ns)) << "runc state escaped the run dir";
    }
    auto un = testing::RunPolyarch({"--state-dir", dir_->path() + "/state", "binfmt", "uninstall",
                                    "--arch", "all", "--prefix", prefix_});
    EXPECT_EQ(un.exit_code, 0) << un.out.Text() << un.err.Text();
    EXPECT_FALSE(PathExists("/proc/sys/fs/binfmt_misc/" + prefix_ + "s390x"));
    delete journal_;
    delete images_;
    delete dir_;
    journal_ = nullptr;
    images_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(layer_, nullptr) << "set-up failed";
    driver_ = layer_->NewDriver();
  }

  static ContainerdLayerOptions Options(const std::string& run_id) {
    ContainerdLayerOptions o;
    o.address = daemon_->address();
    o.run_id = run_id;
    o.run_dir = dir_->path() + "/run";
    o.images = images_;
    o.step_timeout = seconds(30);
    o.journal = journal_;
    return o;
  }

  // What `ctr -n <ns> <what> ls` lists (ids, or whole lines for snapshots, which has no -q).
  static std::string CtrList(const std::string& ns, const std::string& what) {
    std::vector<std::string> args = {"-n", ns, what, "ls"};
    if (what != "snapshots") args.push_back("-q");
    ProcessResult r = Ctr(args);
    if (!r.success()) return "ctr failed: " + r.err.Text();
    std::string out = r.out.Text();
    if (what == "snapshots" && out.rfind("KEY", 0) == 0) out.erase(0, out.find('\n') + 1);
    return out;
  }

  static ProcessResult Ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {"ctr", "--address", daemon_->address()});
    auto r = RunProcess(args, seconds(30));
    if (!r.ok()) {
      ProcessResult failed;
      failed.err.head = r.status().ToString();
      return failed;
    }
    return *r;
  }

  ContainerSpec Spec(const std::string& name, std::string_view arch,
                     std::vector<std::string> argv) {
    ContainerSpec s;
    s.id = "polyarch-" + run_id_ + "-" + name;
    s.arch = Arch(arch);
    s.argv = std::move(argv);
    return s;
  }

  void Lifecycle(std::string_view arch);

  static std::string skip_;
  static TempDir* dir_;
  static std::string prefix_;
  static std::string run_id_;
  static ImageSet* images_;
  static Journal* journal_;
  static ContainerdDaemon* daemon_;
  static ContainerdLayer* layer_;
  std::unique_ptr<Driver> driver_;
};
std::string ContainerdIntegrationTest::skip_;
TempDir* ContainerdIntegrationTest::dir_ = nullptr;
std::string ContainerdIntegrationTest::prefix_;
std::string ContainerdIntegrationTest::run_id_;
ImageSet* ContainerdIntegrationTest::images_ = nullptr;
Journal* ContainerdIntegrationTest::journal_ = nullptr;
ContainerdDaemon* ContainerdIntegrationTest::daemon_ = nullptr;
ContainerdLayer* ContainerdIntegrationTest::layer_ = nullptr;

void ContainerdIntegrationTest::Lifecycle(std::string_view arch) {
  SCOPED_TRACE(std::string(arch));
  ASSERT_TRUE(layer_->Supports(*Arch(arch)).ok()) << layer_->Supports(*Arch(arch)).ToString();
  testing::LifecycleHooks hooks;
  hooks.created = [](const std::string& id, const StepResult&) {
    // runc keeps its state under the run's directory, not /run/containerd/runc.
    EXPECT_TRUE(PathExists(layer_->runc_root() + "/" + layer_->ns() + "/" + id));
    EXPECT_FALSE(PathExists("/run/containerd/runc/" + layer_->ns()));
  };
  hooks.paused = [this](const std::string& id) {
    ExecResult paused_exec = driver_->Exec(id, {"/probe", "exit", "0"}, seconds(20));
    EXPECT_FALSE(paused_exec.ok()) << "exec in a paused container must be refused";
  };
  hooks.exited = [](const WaitResult& w) {
    EXPECT_NE(w.output.Text().find("ready"), std::string::npos) << w.output.Text();
  };
  hooks.deleted = [](const std::string& id) {
    EXPECT_FALSE(PathExists(layer_->runc_root() + "/" + layer_->ns() + "/" + id));
  };
  testing::ExpectFullLifecycle(*driver_, *Arch(arch), Spec("lc-" + std::string(arch), arch, {}).id,
                               hooks);
}

TEST_F(ContainerdIntegrationTest, LifecycleAmd64) { Lifecycle("amd64"); }

TEST_F(ContainerdIntegrationTest, LifecycleS390xUnderBinfmt) { Lifecycle("s390x"); }

// Run is the four verbs here (containerd has no single call for it), and leaves nothing.
TEST_F(ContainerdIntegrationTest, RunLeavesNothingWhicheverWayItEnds) {
  EXPECT_FALSE(driver_->capabilities().single_call_run);
  testing::ExpectRunLeavesNothing(*driver_, *Arch("amd64"), Spec("run", "amd64", {}).id);
}

TEST_F(ContainerdIntegrationTest, ExitCodeIsWhatWaitReports) {
  for (std::string_view arch : {"amd64", "s390x"}) {
    SCOPED_TRACE(std::string(arch));
    ContainerSpec spec = Spec("exit42-" + std::string(arch), arch, {"/probe", "exit", "42"});
    ASSERT_TRUE(driver_->Create(spec).ok());
    ASSERT_TRUE(driver_->Start(spec.id).ok());
    WaitResult w = driver_->Wait(spec.id, seconds(20));
    ASSERT_TRUE(w.ok()) << w.status.ToString();
    EXPECT_TRUE(w.exited);
    EXPECT_EQ(w.exit_code, 42);
    // Waiting again answers the same.
    EXPECT_EQ(driver_->Wait(spec.id, seconds(5)).exit_code, 42);
    ASSERT_TRUE(driver_->Delete(spec.id, false).ok());
  }
}

TEST_F(ContainerdIntegrationTest, KillAndWaitDeadline) {
  ContainerSpec spec = Spec("killed", "amd64", {"/probe", "trap-term"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  WaitResult w = driver_->Wait(spec.id, milliseconds(300));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_FALSE(w.exited) << "still running at the deadline";
  ASSERT_TRUE(driver_->Kill(spec.id, SIGTERM).ok());  // ignored by trap-term
  EXPECT_FALSE(driver_->Wait(spec.id, milliseconds(300)).exited);
  ASSERT_TRUE(driver_->Kill(spec.id, SIGKILL).ok());
  w = driver_->Wait(spec.id, seconds(20));
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 137);
  EXPECT_TRUE(driver_->Delete(spec.id, false).ok());
}

TEST_F(ContainerdIntegrationTest, DeleteOfARunningContainerNeedsForce) {
  ContainerSpec spec = Spec("running", "amd64", {"/probe", "sleep", "30"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  StepResult r = driver_->Delete(spec.id, /*force=*/false);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition) << r.status.ToString();
  EXPECT_EQ(driver_->State(spec.id).state, ContainerState::kRunning) << "refused means untouched";
  r = driver_->Delete(spec.id, /*force=*/true);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(driver_->State(spec.id).state, ContainerState::kNotFound);
  EXPECT_EQ(driver_->Delete(spec.id, true).status.code(), Code::kNotFound);

  // A paused one too: force thaws it so SIGKILL lands.
  spec = Spec("paused", "s390x", {"/probe", "sleep", "30"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  ASSERT_TRUE(driver_->Pause(spec.id).ok());
  r = driver_->Delete(spec.id, /*force=*/true);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(driver_->State(spec.id).state, ContainerState::kNotFound);
}

TEST_F(ContainerdIntegrationTest, ExecInAStoppedContainerIsAFailedStep) {
  ContainerSpec spec = Spec("stopped", "amd64", {"/probe", "exit", "0"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  ASSERT_TRUE(driver_->Wait(spec.id, seconds(20)).exited);
  ExecResult e = driver_->Exec(spec.id, {"/probe", "echo-args", "x"}, seconds(10));
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.exit_code, -1);
  EXPECT_NE(e.status.code(), Code::kUnavailable) << e.status.ToString();
  EXPECT_TRUE(driver_->Delete(spec.id, false).ok());
  // Nor is a container that does not exist an exit code.
  e = driver_->Exec(spec.id, {"/probe", "exit", "0"}, seconds(10));
  EXPECT_EQ(e.status.code(), Code::kNotFound) << e.status.ToString();
}

TEST_F(ContainerdIntegrationTest, AChattyContainerNeverBlocks) {
  // The probe binary itself, written to stdout: far more than a FIFO holds.
  auto size = ReadFile(images_->Find(Arch("amd64"))->bundle_dir + "/rootfs/probe");
  ASSERT_TRUE(size.ok());
  ContainerSpec spec = Spec("chatty", "amd64", {"/probe", "cat", "/probe"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  WaitResult w = driver_->Wait(spec.id, seconds(20));
  ASSERT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 0);
  EXPECT_EQ(w.output.total_bytes, size->size());
  EXPECT_FALSE(w.output.complete());
  ExecResult e = driver_->Exec(spec.id, {"/probe", "exit", "0"}, seconds(10));
  EXPECT_FALSE(e.ok());
  ASSERT_TRUE(driver_->Delete(spec.id, false).ok());

  spec = Spec("chatty-exec", "amd64", {"/probe", "sleep", "30"});
  ASSERT_TRUE(driver_->Create(spec).ok());
  ASSERT_TRUE(driver_->Start(spec.id).ok());
  e = driver_->Exec(spec.id, {"/probe", "cat", "/probe"}, seconds(20));
  ASSERT_TRUE(e.ok()) << e.status.ToString();
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_FALSE(e.out.empty());
  ASSERT_TRUE(driver_->Delete(spec.id, true).ok());
}

TEST_F(ContainerdIntegrationTest, ListShowsOnlyTheRunsContainersAndCleanupEmptiesARun) {
  ContainerSpec a = Spec("list-a", "amd64", {"/probe", "sleep", "30"});
  ContainerSpec b = Spec("list-b", "s390x", {"/probe", "sleep", "30"});
  ASSERT_TRUE(driver_->Create(a).ok());
  ASSERT_TRUE(driver_->Create(b).ok());
  ASSERT_TRUE(driver_->Start(b.id).ok());

  // A second run on the same daemon: its own namespace, its own import (the blobs exist
  // already, so this is the relabelling path), its own containers.
  auto other = ContainerdLayer::Create(Options(run_id_ + "-other"));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto other_driver = (*other)->NewDriver();
  ContainerSpec c = Spec("list-c", "amd64", {"/probe", "sleep", "30"});
  ASSERT_TRUE(other_driver->Create(c).ok());
  ASSERT_TRUE(other_driver->Start(c.id).ok());
  ContainerSpec d = Spec("list-d", "s390x", {"/probe", "sleep", "30"});
  ASSERT_TRUE(other_driver->Create(d).ok());  // created, never started

  ListResult mine = driver_->List();
  ASSERT_TRUE(mine.ok()) << mine.status.ToString();
  EXPECT_EQ(mine.ids, (std::vector<std::string>{a.id, b.id}));
  ListResult theirs = other_driver->List();
  EXPECT_EQ(theirs.ids, (std::vector<std::string>{c.id, d.id}));

  const std::string other_ns = (*other)->ns();
  int c_pid = other_driver->State(c.id).pid;
  EXPECT_GT(c_pid, 0);
  Status s = (*other)->Cleanup();
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const char* what : {"containers", "tasks", "snapshots", "images", "content", "leases"}) {
    EXPECT_EQ(CtrList(other_ns, what), "") << what;
  }
  EXPECT_EQ(Ctr({"namespaces", "ls", "-q"}).out.Text().find(other_ns), std::string::npos);
  EXPECT_FALSE(PathExists("/proc/" + std::to_string(c_pid)));
  EXPECT_TRUE(MountPointsUnder((*other)->work_dir())->empty());

  // This run was not touched.
  mine = driver_->List();
  EXPECT_EQ(mine.ids, (std::vector<std::string>{a.id, b.id}));
  EXPECT_EQ(driver_->State(b.id).state, ContainerState::kRunning);
  EXPECT_TRUE(driver_->Delete(a.id, true).ok());
  EXPECT_TRUE(driver_->Delete(b.id, true).ok());
  EXPECT_TRUE(driver_->List().ids.empty());
}

TEST_F(ContainerdIntegrationTest, RefusalsAreFailedStepsAndCreateRollsBack) {
  ContainerSpec a = Spec("refusals", "amd64", {"/probe", "sleep", "30"});
  ASSERT_TRUE(driver_->Create(a).ok());
  // containerd 1.6 says all of these with gRPC UNKNOWN; the message tells the state.
  EXPECT_EQ(driver_->Pause(a.id).status.code(), Code::kFailedPrecondition);  // created
  ASSERT_TRUE(driver_->Start(a.id).ok());
  EXPECT_EQ(driver_->Start(a.id).status.code(), Code::kFailedPrecondition);  // running
  EXPECT_EQ(driver_->Resume(a.id).status.code(), Code::kFailedPrecondition);
  // An exec whose binary is missing fails the step; it is not an exit code.
  ExecResult e = driver_->Exec(a.id, {"/nope"}, seconds(10));
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.exit_code, -1);
  // A second Create of the same id is refused and leaves the first alone.
  EXPECT_EQ(driver_->Create(a).status.code(), Code::kAlreadyExists);
  EXPECT_EQ(driver_->State(a.id).state, ContainerState::kRunning);
  ASSERT_TRUE(driver_->Delete(a.id, true).ok());

  // runc create already looks the binary up: the Create fails and leaves nothing behind.
  ContainerSpec b = Spec("nobinary", "amd64", {"/nope"});
  StepResult r = driver_->Create(b);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status.message().find("Tasks.Create"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(driver_->State(b.id).state, ContainerState::kNotFound);
  EXPECT_TRUE(driver_->List().ids.empty());
  EXPECT_FALSE(PathExists(layer_->work_dir() + "/io/" + b.id + ".stdout"));
}

// Not a benchmark: one quick look at what a whole run of a probe that exits at once costs per
// operation here, next to `ctr run --rm` of the same image measured the same way.
}  // namespace
}  // namespace polyarch
