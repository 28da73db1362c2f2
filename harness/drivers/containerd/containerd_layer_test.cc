// The containerd layer without containerd: the pure translations, the FIFO drain, and the
// driver against an in-process gRPC server that answers like containerd 1.6 does (including
// its habit of reporting refusals as UNKNOWN with the reason in the message).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "fake_containerd.h"
#include "harness/core/fs.h"
#include "harness/drivers/containerd/containerd_layer.h"
#include "harness/drivers/containerd/fifo_drain.h"
#include "harness/drivers/containerd/translate.h"

namespace polyarch {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace api = ctd::api;

// ---------------------------------------------------------------------------------------------
// Pure translations.

TEST(ContainerdTranslateTest, ErrorsAreClassifiedByCodeThenByMessage) {
  using grpc::StatusCode;
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNAVAILABLE, "connection refused"), Code::kUnavailable);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::DEADLINE_EXCEEDED, "x"), Code::kDeadlineExceeded);
  // containerd's side of the deadline can expire before the client's own.
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "context deadline exceeded"),
            Code::kDeadlineExceeded);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::CANCELLED, "x"), Code::kAborted);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::NOT_FOUND, "task x: not found"), Code::kNotFound);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::ALREADY_EXISTS, "x"), Code::kAlreadyExists);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::FAILED_PRECONDITION, "x"), Code::kFailedPrecondition);
  // containerd 1.6 says these with UNKNOWN.
  EXPECT_EQ(
      ctd::ClassifyError(StatusCode::UNKNOWN, "cannot delete running task c1: failed precondition"),
      Code::kFailedPrecondition);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "cannot exec in a paused state: unknown"),
            Code::kFailedPrecondition);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "container c1 is not running"),
            Code::kFailedPrecondition);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "process already finished: not found"),
            Code::kFailedPrecondition);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "container \"c1\" in namespace: NOT FOUND"),
            Code::kNotFound);
  // What containerd 1.6.20 answered here, verbatim.
  for (const char* m :
       {"failed to delete task: cannot delete a running process: unknown",
        "failed to delete task: cannot delete a paused process: unknown",
        "cannot pause task in created state: unknown", "cannot start a running process: unknown",
        "cannot pause a paused container: unknown", "cannot resume a running process: unknown",
        "cannot exec in a stopped state: unknown", "cannot start a stopped process: unknown"}) {
    EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, m), Code::kFailedPrecondition) << m;
  }
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN,
                               "OCI runtime exec failed: exec failed: unable to start container "
                               "process: exec: \"/nope\": stat /nope: no such file or directory: "
                               "unknown"),
            Code::kInternal);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN, "snapshot k: already exists"),
            Code::kAlreadyExists);
  EXPECT_EQ(ctd::ClassifyError(StatusCode::UNKNOWN,
                               "OCI runtime start failed: exec format error: unknown"),
            Code::kInternal);
}

TEST(ContainerdTranslateTest, StatusNamesTheCall) {
  EXPECT_TRUE(ctd::FromGrpc(grpc::Status::OK, "Tasks.Start").ok());
  Status s = ctd::FromGrpc(grpc::Status(grpc::StatusCode::UNKNOWN, "boom"), "Tasks.Start");
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(s.message(), "Tasks.Start: boom");
  s = ctd::FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), "Tasks.Get");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message().rfind("Tasks.Get: ", 0), 0u);
}

TEST(ContainerdTranslateTest, TaskStatusMapsToContainerState) {
  using api::task_types::Status;
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::CREATED), ContainerState::kCreated);
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::RUNNING), ContainerState::kRunning);
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::PAUSED), ContainerState::kPaused);
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::PAUSING), ContainerState::kPaused);
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::STOPPED), ContainerState::kStopped);
  EXPECT_EQ(ctd::StateFromTaskStatus(Status::UNKNOWN), ContainerState::kUnknown);
}

TEST(ContainerdTranslateTest, LabelFilterQuotesKeyAndValue) {
  EXPECT_EQ(ctd::LabelFilter("polyarch.run", "r-1"), "labels.\"polyarch.run\"==\"r-1\"");
  EXPECT_EQ(ctd::LabelFilter("k", "a\"b\\c\n"), "labels.\"k\"==\"a\\\"b\\\\c\\x0a\"");
}

TEST(ContainerdTranslateTest, IdentifiersFollowContainerdsRule) {
  EXPECT_TRUE(ctd::ValidateIdentifier("polyarch-run.1_a", "id").ok());
  EXPECT_TRUE(ctd::ValidateIdentifier("a", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier("", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier("-a", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier("a-", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier("a--b", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier("a/b", "id").ok());
  EXPECT_FALSE(ctd::ValidateIdentifier(std::string(77, 'a'), "id").ok());
  EXPECT_TRUE(ctd::ValidateIdentifier(std::string(76, 'a'), "id").ok());
  EXPECT_EQ(ctd::ValidateIdentifier("a b", "container id").code(), Code::kInvalidArgument);
  EXPECT_EQ(ctd::NamespaceForRun("r1"), "polyarch-r1");
}

TEST(ContainerdTranslateTest, SpecAnyCarriesTheOciSpecAsJson) {
  ContainerSpec spec;
  spec.id = "polyarch-x-1";
  spec.argv = {"/probe", "sleep", "30"};
  spec.env = {"A=1"};
  spec.writable_tmp = true;
  google::protobuf::Any any = ctd::SpecAny(ctd::ContainerSpecJson(spec));
  EXPECT_EQ(any.type_url(), "types.containerd.io/opencontainers/runtime-spec/1/Spec");
  json j = json::parse(any.value(), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["process"]["args"], json(spec.argv));
  EXPECT_EQ(j["process"]["env"].size(), 2u);
  EXPECT_EQ(j["process"]["env"][1], "A=1");
  EXPECT_EQ(j["root"]["path"], "rootfs");
  EXPECT_EQ(j["hostname"], "polyarch-x-1");
  bool proc = false, tmp = false;
  for (const auto& m : j["mounts"]) {
    proc |= m["destination"] == "/proc";
    tmp |= m["destination"] == "/tmp";
  }
  EXPECT_TRUE(proc) << "runc refuses a spec without /proc";
  EXPECT_TRUE(tmp);
  spec.writable_tmp = false;
  j = json::parse(ctd::SpecAny(ctd::ContainerSpecJson(spec)).value());
  for (const auto& m : j["mounts"]) EXPECT_NE(m["destination"], "/tmp");
}

TEST(ContainerdTranslateTest, ProcessAndRuncOptionsAnys) {
  google::protobuf::Any p = ctd::ProcessAny({"/probe", "echo-args", "hi"});
  EXPECT_EQ(p.type_url(), "types.containerd.io/opencontainers/runtime-spec/1/Process");
  json j = json::parse(p.value(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["args"], json({"/probe", "echo-args", "hi"}));
  EXPECT_EQ(j["cwd"], "/");

  google::protobuf::Any o = ctd::RuncOptionsAny("/run/x/runc");
  EXPECT_EQ(o.type_url(), "containerd.runc.v1.Options");  // no type.googleapis.com/ prefix
  ::containerd::runc::v1::Options options;
  ASSERT_TRUE(options.ParseFromString(o.value()));
  EXPECT_EQ(options.root(), "/run/x/runc");
}

// ---------------------------------------------------------------------------------------------
// The FIFO drain.

class ContainerdFifoDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-ctd-fifo-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
  }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(ContainerdFifoDrainTest, ReadsUntilTheWriterCloses) {
  ctd::FifoDrain drain;
  auto sink = std::make_shared<ctd::OutputSink>(1024, 1024);
  const std::string path = dir_->path() + "/out";
  auto h = drain.Open(path, sink);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  // Nobody has opened the write end yet: that is not EOF.
  EXPECT_FALSE(drain.WaitEof(*h, std::chrono::steady_clock::now() + milliseconds(100)));
  int w = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(w, 0);
  ASSERT_EQ(::write(w, "hello ", 6), 6);
  ASSERT_EQ(::write(w, "world\n", 6), 6);
  ::close(w);
  EXPECT_TRUE(drain.WaitEof(*h, std::chrono::steady_clock::now() + milliseconds(5000)));
  EXPECT_EQ(sink->Snapshot().Text(), "hello world\n");
  drain.Close(*h);
  EXPECT_FALSE(PathExists(path));
  EXPECT_EQ(drain.open_count(), 0u);
}

TEST_F(ContainerdFifoDrainTest, AFloodNeverBlocksTheWriterAndStaysBounded) {
  ctd::FifoDrain drain;
  auto sink = std::make_shared<ctd::OutputSink>(100, 100);
  const std::string path = dir_->path() + "/flood";
  auto h = drain.Open(path, sink);
  ASSERT_TRUE(h.ok());
  // 4 MiB is far beyond a pipe's buffer: the writer only finishes if we keep reading.
  std::thread writer([&] {
    int w = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    std::string chunk(64 * 1024, 'x');
    chunk.back() = '\n';
    for (int i = 0; i < 64; ++i) ASSERT_EQ(::write(w, chunk.data(), chunk.size()), 65536);
    ::close(w);
  });
  writer.join();
  EXPECT_TRUE(drain.WaitEof(*h, std::chrono::steady_clock::now() + milliseconds(5000)));
  CapturedOutput out = sink->Snapshot();
  EXPECT_EQ(out.total_bytes, 64u * 65536u);
  EXPECT_EQ(out.head.size(), 100u);
  EXPECT_EQ(out.tail.size(), 100u);
}

TEST_F(ContainerdFifoDrainTest, TwoFifosFeedOneSinkAndCloseIsIdempotent) {
  ctd::FifoDrain drain;
  auto sink = std::make_shared<ctd::OutputSink>(1024, 1024);
  auto a = drain.Open(dir_->path() + "/a", sink);
  auto b = drain.Open(dir_->path() + "/b", sink);
  ASSERT_TRUE(a.ok() && b.ok());
  for (const char* name : {"/a", "/b"}) {
    int w = ::open((dir_->path() + name).c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_EQ(::write(w, name, 2), 2);
    ::close(w);
  }
  auto by = std::chrono::steady_clock::now() + milliseconds(5000);
  EXPECT_TRUE(drain.WaitEof(*a, by));
  EXPECT_TRUE(drain.WaitEof(*b, by));
  EXPECT_EQ(sink->Snapshot().Text(), "/a/b");
  drain.Close(*a);
  drain.Close(*a);
  EXPECT_EQ(drain.open_count(), 1u);
  // A regular file where a FIFO should be is refused, not truncated.
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/file", "keep").ok());
  EXPECT_FALSE(drain.Open(dir_->path() + "/file", sink).ok());
  EXPECT_EQ(*ReadFile(dir_->path() + "/file"), "keep");
}

// ---------------------------------------------------------------------------------------------
// The driver against a fake containerd.

using testing::FakeContainers;
using testing::FakeNamespaces;
using testing::FakeSnapshots;
using testing::FakeTasks;
using testing::FakeVersion;
using testing::Seen;

class ContainerdFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-ctd-unit-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    socket_ = dir_->path() + "/fake.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&version_);
    builder.RegisterService(&namespaces_);
    builder.RegisterService(&tasks_);
    builder.RegisterService(&containers_);
    builder.RegisterService(&snapshots_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);

    ContainerdLayerOptions o;
    o.address = socket_;
    o.run_id = "unit-" + std::to_string(::getpid());
    o.run_dir = dir_->path();
    o.step_timeout = milliseconds(5000);
    auto layer = ContainerdLayer::Create(o);
    ASSERT_TRUE(layer.ok()) << layer.status().ToString();
    layer_ = std::move(*layer);
    driver_ = layer_->NewDriver();
  }
  void TearDown() override {
    driver_.reset();
    layer_.reset();
    StopServer();
  }
  void StopServer() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + milliseconds(100));
    server_.reset();
  }

  std::unique_ptr<TempDir> dir_;
  std::string socket_;
  Seen seen_;
  FakeVersion version_{&seen_};
  FakeNamespaces namespaces_{&seen_};
  FakeTasks tasks_{&seen_};
  FakeContainers containers_{&seen_};
  FakeSnapshots snapshots_{&seen_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ContainerdLayer> layer_;
  std::unique_ptr<Driver> driver_;
};

TEST_F(ContainerdFakeServerTest, CreateReadsTheVersionAndMakesALabelledNamespace) {
  json ctx = layer_->Context();
  EXPECT_EQ(ctx["version"], "1.6.99-fake");
  EXPECT_EQ(ctx["revision"], "cafe");
  EXPECT_EQ(ctx["namespace"], "polyarch-unit-" + std::to_string(::getpid()));
  EXPECT_EQ(ctx["runtime"], "io.containerd.runc.v2");
  EXPECT_EQ(ctx["snapshotter"], "overlayfs");
  EXPECT_EQ(ctx["runc_root"], dir_->path() + "/containerd-driver/" + layer_->ns() + "/runc");
  EXPECT_TRUE(seen_.Called("Namespaces.Create"));
  EXPECT_EQ(seen_.namespace_labels["polyarch.owner"], "polyarch");
  EXPECT_EQ(seen_.namespace_labels["polyarch.run"], "unit-" + std::to_string(::getpid()));
  (void)driver_->State("running");
  std::lock_guard<std::mutex> lock(seen_.mu);
  for (const auto& ns : seen_.namespaces) EXPECT_EQ(ns, layer_->ns());
}

TEST_F(ContainerdFakeServerTest, CapabilitiesAndSupportsWithoutImages) {
  Capabilities c = driver_->capabilities();
  EXPECT_TRUE(c.pause && c.exec && c.kill && c.wait_exit_code && c.state_pid && c.created_state);
  EXPECT_EQ(driver_->layer_name(), "containerd");
  const ArchInfo* amd64 = *LookupArch("amd64");
  EXPECT_EQ(layer_->Supports(*amd64).code(), Code::kFailedPrecondition);
  ContainerSpec spec;
  spec.id = "polyarch-x";
  spec.arch = amd64;
  StepResult r = driver_->Create(spec);
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_FALSE(seen_.Called("Containers.Create"));
}

TEST_F(ContainerdFakeServerTest, StateTranslatesTaskStatusAndPid) {
  StateResult s = driver_->State("running");
  ASSERT_TRUE(s.ok()) << s.status.ToString();
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_EQ(s.pid, 4242);
  EXPECT_EQ(s.operation, "Tasks.Get");
  EXPECT_EQ(driver_->State("paused").state, ContainerState::kPaused);
  EXPECT_EQ(driver_->State("created").state, ContainerState::kCreated);
  s = driver_->State("stopped");
  EXPECT_EQ(s.state, ContainerState::kStopped);
  EXPECT_EQ(s.pid, 0);
  s = driver_->State("missing");
  EXPECT_TRUE(s.ok()) << "a missing container is an answer, not a failure";
  EXPECT_EQ(s.state, ContainerState::kNotFound);
  s = driver_->State("weird");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.state, ContainerState::kUnknown);
}

TEST_F(ContainerdFakeServerTest, RefusalsAreFailedStepsNamedAfterTheCall) {
  StepResult r = driver_->Start("refuse");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status.message().rfind("Tasks.Start: ", 0), 0u) << r.status.message();
  EXPECT_NE(r.status.message().find("exec format error"), std::string::npos);
  EXPECT_TRUE(driver_->Start("running").ok());
  EXPECT_TRUE(driver_->Pause("running").ok());

  ExecResult e = driver_->Exec("stopped", {"/probe", "echo-args", "hi"}, milliseconds(2000));
  EXPECT_EQ(e.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(e.exit_code, -1);
  // The exec's FIFOs went with the refusal.
  EXPECT_TRUE(PathExists(layer_->work_dir() + "/io"));
  EXPECT_FALSE(PathExists(layer_->work_dir() + "/io/stopped.exec-1.stdout"));
  EXPECT_FALSE(PathExists(layer_->work_dir() + "/io/stopped.exec-1.stderr"));
}

TEST_F(ContainerdFakeServerTest, WaitReportsTheExitStatusOrTheDeadline) {
  WaitResult w = driver_->Wait("termed", milliseconds(2000));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 143);
  auto t0 = std::chrono::steady_clock::now();
  w = driver_->Wait("slow", milliseconds(200));
  EXPECT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_FALSE(w.exited);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
}

TEST_F(ContainerdFakeServerTest, DeleteOfARunningTaskIsRefusedAndTouchesNothingElse) {
  StepResult r = driver_->Delete("running", /*force=*/false);
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition) << r.status.ToString();
  EXPECT_FALSE(seen_.Called("Snapshots.Remove"));
  EXPECT_FALSE(seen_.Called("Containers.Delete"));

  // A stopped one goes; the snapshot GC already took is fine.
  r = driver_->Delete("stopped", /*force=*/false);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_TRUE(seen_.Called("Snapshots.Remove"));
  EXPECT_TRUE(seen_.Called("Containers.Delete"));
}

TEST_F(ContainerdFakeServerTest, ForcedDeleteKillsWithSigkillFirst) {
  StepResult r = driver_->Delete("created", /*force=*/true);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_TRUE(seen_.Called("Tasks.Kill " + std::to_string(SIGKILL)));
  EXPECT_TRUE(seen_.Called("Tasks.Wait"));
}

TEST_F(ContainerdFakeServerTest, ListAsksForTheRunsLabelOnly) {
  ListResult l = driver_->List();
  ASSERT_TRUE(l.ok()) << l.status.ToString();
  EXPECT_EQ(l.ids, (std::vector<std::string>{"polyarch-a", "polyarch-b"}));
  std::lock_guard<std::mutex> lock(seen_.mu);
  ASSERT_EQ(seen_.list_filters.size(), 1u);
  EXPECT_EQ(seen_.list_filters[0],
            "labels.\"polyarch.run\"==\"unit-" + std::to_string(::getpid()) + "\"");
}

TEST_F(ContainerdFakeServerTest, ADaemonThatIsGoneIsUnavailable) {
  StopServer();
  StateResult s = driver_->State("running");
  EXPECT_EQ(s.status.code(), Code::kUnavailable) << s.status.ToString();
  EXPECT_EQ(driver_->Start("running").status.code(), Code::kUnavailable);
  EXPECT_EQ(layer_->Cleanup().code(), Code::kUnavailable);
}

TEST_F(ContainerdFakeServerTest, AnExistingNamespaceIsReusedOnlyIfItIsThisRuns) {
  ContainerdLayerOptions o;
  o.address = socket_;
  o.run_dir = dir_->path() + "/other";
  o.step_timeout = milliseconds(5000);
  o.run_id = "mine-again";
  auto again = ContainerdLayer::Create(o);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  o.run_id = "taken";
  auto taken = ContainerdLayer::Create(o);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), Code::kAlreadyExists);
  EXPECT_NE(taken.status().message().find("not this polyarch run's"), std::string::npos);
  EXPECT_FALSE(PathExists(o.run_dir + "/containerd-driver/polyarch-taken"));
}

TEST(ContainerdLayerCreateTest, NoDaemonIsUnavailableWithTheFix) {
  auto d = TempDir::Create("polyarch-ctd-unit-");
  ASSERT_TRUE(d.ok());
  ContainerdLayerOptions o;
  o.address = d->path() + "/nobody.sock";
  o.run_id = "r1";
  o.run_dir = d->path();
  o.step_timeout = milliseconds(2000);
  auto layer = ContainerdLayer::Create(o);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), Code::kUnavailable);
  EXPECT_NE(layer.status().message().find("does not answer"), std::string::npos);
  o.run_id = "bad/id";
  EXPECT_EQ(ContainerdLayer::Create(o).status().code(), Code::kInvalidArgument);
  o.run_id = "r1";
  o.run_dir = "relative";
  EXPECT_EQ(ContainerdLayer::Create(o).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace polyarch
