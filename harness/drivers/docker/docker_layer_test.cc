#include "harness/drivers/docker/docker_layer.h"

#include <atomic>
#include <chrono>

#include <gtest/gtest.h>

#include "fake_engine.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::EngineErrorReply;
using testing::FakeEngine;
using testing::FakeReply;
using testing::FakeRequest;
using testing::Frame;
using testing::HijackedStreamReply;
using testing::JsonReply;
using testing::Reply;
using Clock = std::chrono::steady_clock;

const ArchInfo* Arch(const char* name) {
  auto a = LookupArch(name);
  EXPECT_TRUE(a.ok());
  return a.ok() ? *a : nullptr;
}

std::string ImageId(const std::string& arch) { return "sha256:" + std::string(62, 'a') + arch; }

// An ImageSet whose docker-archives are small files (the fake engine does not unpack them)
// and a fake engine that loads them, filing each under its own platform.
class DockerLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("pa-docker-layer-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    for (const char* name : {"amd64", "s390x", "arm"}) {
      BuiltImage img;
      img.arch = Arch(name);
      img.reference = std::string(kImageRepository) + ":" + name;
      img.docker_archive = dir_->path() + "/" + name + ".tar";
      img.config.digest = ImageId(name);
      ASSERT_TRUE(WriteFileAtomic(img.docker_archive, std::string("tar bytes of ") + name).ok());
      images_.images.push_back(img);
      engine_.On("GET", "/v1.41/images/" + img.reference + "/json",
                 JsonReply(200, {{"Id", ImageId(name)},
                                 {"Os", "linux"},
                                 {"Architecture", img.arch->oci_arch},
                                 {"Variant", img.arch->oci_variant}}));
    }
    engine_.ServeVersion();
    engine_.On("POST", "/v1.41/images/load", [](const FakeRequest& r) {
      std::string name = r.body.substr(r.body.rfind(' ') + 1);
      return testing::Reply(
          200, "{\"stream\":\"Loaded image: polyarch.local/test:" + name + "\\n\"}\r\n");
    });
  }

  DockerLayerOptions Options() {
    DockerLayerOptions o;
    o.socket_path = engine_.path();
    o.run_id = "pa-run";
    o.images = &images_;
    o.step_timeout = milliseconds(5000);
    return o;
  }

  std::unique_ptr<DockerLayer> NewLayer() {
    auto layer = DockerLayer::Create(Options());
    EXPECT_TRUE(layer.ok()) << layer.status().ToString();
    return layer.ok() ? std::move(*layer) : nullptr;
  }

  ContainerSpec Spec(const std::string& id, const char* arch) {
    ContainerSpec s;
    s.id = id;
    s.arch = Arch(arch);
    s.argv = {"/probe", "sleep", "30"};
    s.env = {"POLYARCH_CASE=lifecycle"};
    return s;
  }

  std::unique_ptr<TempDir> dir_;
  ImageSet images_;
  FakeEngine engine_;
};

TEST(DockerCreateBodyTest, ALayersRuntimeAndNameGoOnTheContainer) {
  ContainerSpec s;
  s.id = "pa-run-1";
  s.argv = {"/probe"};
  DockerLayerOptions o;
  o.run_id = "pa-run";
  o.name = "docker:crun";
  o.runtime = "crun";
  json b = DockerCreateBody(s, "polyarch.local/test:amd64", o);
  EXPECT_EQ(b["HostConfig"]["Runtime"], "crun");
  EXPECT_EQ(b["Labels"],
            json({{"io.polyarch.run", "pa-run"}, {"io.polyarch.layer", "docker:crun"}}));
  o.name = "docker";
  o.runtime = "";
  b = DockerCreateBody(s, "polyarch.local/test:amd64", o);
  EXPECT_FALSE(b["HostConfig"].contains("Runtime")) << "dockerd's default runtime";
  EXPECT_EQ(b["Labels"], json({{"io.polyarch.run", "pa-run"}}));
}

// A podman layer's containers name the service's cgroup parent and get its limits, unless
// their settings give a limit of the same name.
TEST(DockerCreateBodyTest, APodmanLayersCgroupParentAndLimitsGoOnTheContainer) {
  ContainerSpec s;
  s.id = "pa-run-1";
  DockerLayerOptions o;
  o.run_id = "pa-run";
  o.name = "podman:crun";
  o.cgroup_parent = "polyarch-r1-podman-crun";
  o.default_ulimits = {{"nofile", 20000}, {"nproc", 32768}};
  json b = DockerCreateBody(s, "polyarch.local/test:amd64", o);
  EXPECT_EQ(b["HostConfig"]["CgroupParent"], "/polyarch-r1-podman-crun");
  EXPECT_FALSE(b["HostConfig"].contains("Runtime")) << "the service's one runtime";
  EXPECT_EQ(b["HostConfig"]["Ulimits"], json::parse(R"([{"Name":"nofile","Soft":20000,"Hard":20000},
                            {"Name":"nproc","Soft":32768,"Hard":32768}])"));
  SpecSettings settings;
  settings.rlimits = {{"RLIMIT_NOFILE", 100, 200}, {"RLIMIT_CORE", 0, 0}};
  s.settings = std::make_shared<const SpecSettings>(settings);
  b = DockerCreateBody(s, "polyarch.local/test:amd64", o);
  EXPECT_EQ(b["HostConfig"]["Ulimits"], json::parse(R"([{"Name":"nofile","Soft":100,"Hard":200},
                            {"Name":"core","Soft":0,"Hard":0},
                            {"Name":"nproc","Soft":32768,"Hard":32768}])"));
}

TEST_F(DockerLayerTest, CreateLoadsEveryArchiveAndChecksItsPlatform) {
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto loads = engine_.requests("POST", "/v1.41/images/load");
  ASSERT_EQ(loads.size(), 3u);
  EXPECT_EQ(loads[0].target, "/v1.41/images/load?quiet=1");
  EXPECT_EQ(loads[0].headers["content-type"], "application/x-tar");
  EXPECT_EQ(loads[0].body, "tar bytes of amd64");  // the archive as it is on disk
  for (const char* a : {"amd64", "s390x", "arm"}) {
    EXPECT_TRUE(layer->Supports(*Arch(a)).ok())
        << a << ": " << layer->Supports(*Arch(a)).ToString();
  }
  EXPECT_FALSE(layer->Supports(*Arch("riscv64")).ok());  // not in the set
  json ctx = layer->Context();
  EXPECT_EQ(ctx["version"], "20.10.24+dfsg1");
  EXPECT_EQ(ctx["api_version"], "1.41");
  EXPECT_EQ(ctx["min_api_version"], "1.12");
  EXPECT_EQ(ctx["storage_driver"], "overlay2");
  EXPECT_EQ(ctx["engine"]["CgroupDriver"], "cgroupfs");
  EXPECT_EQ(ctx["images"]["s390x"]["id"], ImageId("s390x"));
  Capabilities c = layer->capabilities();
  EXPECT_TRUE(c.pause && c.exec && c.kill && c.wait_exit_code && c.state_pid && c.created_state);
  EXPECT_EQ(layer->name(), "docker");
}

TEST_F(DockerLayerTest, AnImageFiledUnderTheWrongPlatformIsNotSupported) {
  engine_.On(
      "GET", "/v1.41/images/polyarch.local/test:s390x/json",
      JsonReply(200, {{"Id", ImageId("s390x")}, {"Os", "linux"}, {"Architecture", "amd64"}}));
  engine_.On(
      "GET", "/v1.41/images/polyarch.local/test:arm/json",
      JsonReply(
          200,
          {{"Id", ImageId("arm")}, {"Os", "linux"}, {"Architecture", "arm"}, {"Variant", "v6"}}));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  EXPECT_TRUE(layer->Supports(*Arch("amd64")).ok());
  Status s390x = layer->Supports(*Arch("s390x"));
  EXPECT_EQ(s390x.code(), Code::kFailedPrecondition);
  EXPECT_NE(s390x.message().find("linux/amd64, not linux/s390x"), std::string::npos)
      << s390x.ToString();
  Status arm = layer->Supports(*Arch("arm"));
  EXPECT_NE(arm.message().find("linux/arm/v6, not linux/arm/v7"), std::string::npos)
      << arm.ToString();
  // A driver refuses to create from it instead of running the wrong binary.
  auto driver = layer->NewDriver();
  StepResult r = driver->Create(Spec("pa-run-1", "s390x"));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(engine_.requests("POST", "/v1.41/containers/create").empty());
}

TEST_F(DockerLayerTest, AnErrorLineInTheLoadStreamIsReported) {
  engine_.On("POST", "/v1.41/images/load",
             Reply(200,
                   "{\"errorDetail\":{\"message\":\"archive/tar: invalid tar header\"},"
                   "\"error\":\"archive/tar: invalid tar header\"}\r\n"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  Status s = layer->Supports(*Arch("amd64"));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("invalid tar header"), std::string::npos) << s.ToString();
}

TEST_F(DockerLayerTest, AnEngineBelowApi141IsRefused) {
  engine_.ServeVersion("1.40");
  auto layer = DockerLayer::Create(Options());
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(layer.status().message().find("1.40"), std::string::npos);
  EXPECT_TRUE(engine_.requests("POST", "/v1.41/images/load").empty());
}

TEST_F(DockerLayerTest, NoEngineIsUnavailable) {
  DockerLayerOptions o = Options();
  o.socket_path = dir_->path() + "/no-such.sock";
  auto layer = DockerLayer::Create(o);
  EXPECT_EQ(layer.status().code(), Code::kUnavailable) << layer.status().ToString();
}

TEST_F(DockerLayerTest, CreateAsksForThePlatformTheLabelAndNoNetwork) {
  engine_.On("POST", "/v1.41/containers/create",
             JsonReply(201, {{"Id", "c0ffee"}, {"Warnings", json::array()}}));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto driver = layer->NewDriver();
  EXPECT_EQ(driver->layer_name(), "docker");
  StepResult r = driver->Create(Spec("pa-run-1", "s390x"));
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.operation, "POST /containers/create");
  EXPECT_GT(r.duration_ns, 0);
  auto creates = engine_.requests("POST", "/v1.41/containers/create");
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_EQ(creates[0].target, "/v1.41/containers/create?name=pa-run-1&platform=linux%2Fs390x");
  EXPECT_EQ(creates[0].headers["content-type"], "application/json");
  json body = creates[0].Json();
  EXPECT_EQ(body["Image"], "polyarch.local/test:s390x");
  EXPECT_EQ(body["Cmd"], json({"/probe", "sleep", "30"}));
  EXPECT_EQ(body["Env"], json({"POLYARCH_CASE=lifecycle"}));
  EXPECT_EQ(body["Labels"], json({{"io.polyarch.run", "pa-run"}}));
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(body["HostConfig"]["Tmpfs"], json({{"/tmp", "rw,size=16m"}}));
  EXPECT_EQ(body["HostConfig"]["Privileged"], false);
  EXPECT_EQ(body["HostConfig"]["AutoRemove"], false);
  EXPECT_EQ(body["NetworkDisabled"], true);

  ContainerSpec no_tmp = Spec("pa-run-2", "arm");
  no_tmp.writable_tmp = false;
  no_tmp.network_sandbox = true;
  ASSERT_TRUE(driver->Create(no_tmp).ok());
  creates = engine_.requests("POST", "/v1.41/containers/create");
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[1].target, "/v1.41/containers/create?name=pa-run-2&platform=linux%2Farm%2Fv7");
  EXPECT_FALSE(creates[1].Json()["HostConfig"].contains("Tmpfs"));
  // With the engine's sandbox for network "none", as `docker run --network none` asks.
  EXPECT_FALSE(creates[1].Json().contains("NetworkDisabled"));
  EXPECT_EQ(creates[1].Json()["HostConfig"]["NetworkMode"], "none");
}

TEST_F(DockerLayerTest, AConflictingNameIsAFailedStepWithTheEngineMessage) {
  engine_.On("POST", "/v1.41/containers/create",
             EngineErrorReply(409, "Conflict. The container name \"/pa-run-1\" is already in use"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  StepResult r = layer->NewDriver()->Create(Spec("pa-run-1", "amd64"));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status.message().find("POST /v1.41/containers/create?name=pa-run-1"),
            std::string::npos)
      << r.status.ToString();
  EXPECT_NE(r.status.message().find("409"), std::string::npos);
  EXPECT_NE(r.status.message().find("already in use"), std::string::npos);
  EXPECT_NE(r.output.Text().find("already in use"), std::string::npos);
}

TEST_F(DockerLayerTest, StateMapsEveryEngineStatusAndThePid) {
  struct Case {
    const char* status;
    ContainerState state;
  };
  const Case cases[] = {
      {"created", ContainerState::kCreated},  {"running", ContainerState::kRunning},
      {"paused", ContainerState::kPaused},    {"restarting", ContainerState::kCreating},
      {"removing", ContainerState::kStopped}, {"exited", ContainerState::kStopped},
      {"dead", ContainerState::kStopped},
  };
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto driver = layer->NewDriver();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    EXPECT_EQ(ParseDockerState(c.status), c.state);
    engine_.On("GET", "/v1.41/containers/c1/json",
               JsonReply(200, {{"Id", "c1"}, {"State", {{"Status", c.status}, {"Pid", 4242}}}}));
    StateResult r = driver->State("c1");
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(r.state, c.state);
    EXPECT_EQ(r.pid, 4242);
    EXPECT_EQ(r.operation, "GET /containers/{id}/json");
  }
  engine_.On("GET", "/v1.41/containers/c1/json",
             JsonReply(200, {{"State", {{"Status", "hibernating"}, {"Pid", 0}}}}));
  StateResult odd = driver->State("c1");
  EXPECT_EQ(odd.state, ContainerState::kUnknown);
  EXPECT_FALSE(odd.ok());
}

TEST_F(DockerLayerTest, TheStateOfAMissingContainerIsAnAnswerNotAnError) {
  engine_.On("GET", "/v1.41/containers/gone/json",
             EngineErrorReply(404, "No such container: gone"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  StateResult r = layer->NewDriver()->State("gone");
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.state, ContainerState::kNotFound);
}

TEST_F(DockerLayerTest, SimpleStepsSendTheirRequestsAndMapErrors) {
  engine_.On("POST", "/v1.41/containers/c1/start", Reply(204));
  engine_.On("POST", "/v1.41/containers/c1/pause", Reply(204));
  engine_.On("POST", "/v1.41/containers/c1/unpause", Reply(204));
  engine_.On("POST", "/v1.41/containers/c1/kill", Reply(204));
  engine_.On("POST", "/v1.41/containers/c2/start", Reply(304));
  engine_.On("POST", "/v1.41/containers/c2/pause",
             EngineErrorReply(409, "Container c2 is not running"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  EXPECT_TRUE(d->Start("c1").ok());
  EXPECT_TRUE(d->Pause("c1").ok());
  EXPECT_TRUE(d->Resume("c1").ok());
  StepResult kill = d->Kill("c1", 15);
  EXPECT_TRUE(kill.ok());
  EXPECT_EQ(kill.operation, "POST /containers/{id}/kill");
  auto kills = engine_.requests("POST", "/v1.41/containers/c1/kill");
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].target, "/v1.41/containers/c1/kill?signal=15");
  StepResult again = d->Start("c2");
  EXPECT_EQ(again.status.code(), Code::kFailedPrecondition);  // already started
  StepResult pause = d->Pause("c2");
  EXPECT_EQ(pause.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(pause.status.message().find("is not running"), std::string::npos);
  StepResult missing = d->Start("nope");  // no route: the fake answers 404
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
}

TEST_F(DockerLayerTest, DeletingARunningContainerWithoutForceIsAFailedStep) {
  engine_.On("DELETE", "/v1.41/containers/c1", [](const FakeRequest& r) {
    if (r.target.find("force=true") != std::string::npos) return Reply(204);
    return EngineErrorReply(409,
                            "You cannot remove a running container c1. Stop the container "
                            "before attempting removal or force remove");
  });
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  StepResult refused = d->Delete("c1", /*force=*/false);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status.message().find("DELETE /v1.41/containers/c1?force=false&v=1"),
            std::string::npos)
      << refused.status.ToString();
  EXPECT_NE(refused.status.message().find("HTTP 409"), std::string::npos);
  EXPECT_NE(refused.status.message().find("cannot remove a running container"), std::string::npos);
  EXPECT_EQ(refused.operation, "DELETE /containers/{id}");
  StepResult forced = d->Delete("c1", /*force=*/true);
  EXPECT_TRUE(forced.ok()) << forced.status.ToString();
  auto deletes = engine_.requests("DELETE", "/v1.41/containers/c1");
  ASSERT_EQ(deletes.size(), 2u);
  EXPECT_EQ(deletes[1].target, "/v1.41/containers/c1?force=true&v=1");
}

TEST_F(DockerLayerTest, AnExecTheEngineRefusesIsAFailedStepNotAnExitCode) {
  engine_.On("POST", "/v1.41/containers/c1/exec",
             EngineErrorReply(409, "Container c1 is paused, unpause the container before exec"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  ExecResult r = layer->NewDriver()->Exec("c1", {"/probe", "echo-args", "hi"}, milliseconds(2000));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status.message().find("is paused"), std::string::npos) << r.status.ToString();
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_TRUE(engine_.requests("POST", "/v1.41/exec/e1/start").empty());
}

TEST_F(DockerLayerTest, ExecDemultiplexesBothStreamsAndReadsTheExitCode) {
  engine_.On("POST", "/v1.41/containers/c1/exec", JsonReply(201, {{"Id", "e1"}}));
  engine_.On("POST", "/v1.41/exec/e1/start",
             HijackedStreamReply(Frame(1, "hi\n") + Frame(2, "to stderr\n") + Frame(1, "there\n"),
                                 /*piece=*/3));
  // The first inspect still sees the process running: the driver asks again.
  auto inspects = std::make_shared<std::atomic<int>>(0);
  engine_.On("GET", "/v1.41/exec/e1/json", [inspects](const FakeRequest&) {
    if (++*inspects == 1) return JsonReply(200, {{"Running", true}, {"ExitCode", nullptr}});
    return JsonReply(200, {{"Running", false}, {"ExitCode", 3}});
  });
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  ExecResult r = layer->NewDriver()->Exec("c1", {"/probe", "echo-args", "hi"}, milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hi\nthere\n");
  EXPECT_EQ(r.err, "to stderr\n");
  EXPECT_EQ(inspects->load(), 2);
  auto creates = engine_.requests("POST", "/v1.41/containers/c1/exec");
  ASSERT_EQ(creates.size(), 1u);
  json body = creates[0].Json();
  EXPECT_EQ(body["Cmd"], json({"/probe", "echo-args", "hi"}));
  EXPECT_EQ(body["AttachStdout"], true);
  EXPECT_EQ(body["AttachStderr"], true);
  EXPECT_EQ(body["Tty"], false);
  auto starts = engine_.requests("POST", "/v1.41/exec/e1/start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].Json(), json({{"Detach", false}, {"Tty", false}}));
}

TEST_F(DockerLayerTest, AnExecWhoseProcessNeverStartedIsAFailedStep) {
  // What dockerd 20.10 answers for a missing binary: the runtime's error on stdout, 126.
  engine_.On("POST", "/v1.41/containers/c1/exec", JsonReply(201, {{"Id", "e1"}}));
  engine_.On("POST", "/v1.41/exec/e1/start",
             HijackedStreamReply(Frame(1,
                                       "OCI runtime exec failed: exec failed: unable to start "
                                       "container process: exec: \"/nope\": stat /nope: no "
                                       "such file or directory: unknown\r\n")));
  engine_.On("GET", "/v1.41/exec/e1/json", JsonReply(200, {{"Running", false}, {"ExitCode", 126}}));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  ExecResult r = layer->NewDriver()->Exec("c1", {"/nope"}, milliseconds(2000));
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition) << r.status.ToString();
  EXPECT_NE(r.status.message().find("no such file or directory"), std::string::npos);
  EXPECT_EQ(r.exit_code, -1);
  // A process that ran and exited 126 by itself keeps its exit code.
  engine_.On("POST", "/v1.41/exec/e1/start", HijackedStreamReply(Frame(1, "done\n")));
  ExecResult own = layer->NewDriver()->Exec("c1", {"/probe", "exit", "126"}, milliseconds(2000));
  EXPECT_TRUE(own.ok()) << own.status.ToString();
  EXPECT_EQ(own.exit_code, 126);
}

TEST_F(DockerLayerTest, AnExecThatNeverEndsHitsItsDeadline) {
  engine_.On("POST", "/v1.41/containers/c1/exec", JsonReply(201, {{"Id", "e1"}}));
  FakeReply endless = HijackedStreamReply(Frame(1, "ready\n"));
  endless.after = FakeReply::After::kHang;
  engine_.On("POST", "/v1.41/exec/e1/start", endless);
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto t = Clock::now();
  ExecResult r = layer->NewDriver()->Exec("c1", {"/probe", "sleep", "60"}, milliseconds(300));
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded) << r.status.ToString();
  EXPECT_LT(Clock::now() - t, milliseconds(3000));
  EXPECT_EQ(r.out, "ready\n");  // what came before the deadline is kept
}

TEST_F(DockerLayerTest, WaitReadsTheStatusCodeOrReportsTheDeadline) {
  engine_.On("POST", "/v1.41/containers/c1/wait",
             testing::ChunkedReply(200, R"({"Error":null,"StatusCode":143})", 7));
  FakeReply never{
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"};
  never.after = FakeReply::After::kHang;
  engine_.On("POST", "/v1.41/containers/c2/wait", never);
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  WaitResult w = d->Wait("c1", milliseconds(2000));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 143);
  auto waits = engine_.requests("POST", "/v1.41/containers/c1/wait");
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0].target, "/v1.41/containers/c1/wait?condition=not-running");

  auto t = Clock::now();
  WaitResult still = d->Wait("c2", milliseconds(200));
  EXPECT_TRUE(still.ok()) << still.status.ToString();  // the deadline passing is an answer
  EXPECT_FALSE(still.exited);
  EXPECT_GE(Clock::now() - t, milliseconds(190));
  // The driver goes on working after the abandoned wait.
  EXPECT_TRUE(d->Wait("c1", milliseconds(2000)).exited);
}

TEST_F(DockerLayerTest, ListAsksForTheRunLabelAndReturnsNames) {
  engine_.On(
      "GET", "/v1.41/containers/json",
      JsonReply(
          200,
          json::array({
              {{"Id", "1"}, {"Names", {"/pa-run-b"}}, {"Labels", {{"io.polyarch.run", "pa-run"}}}},
              {{"Id", "2"}, {"Names", {"/pa-run-a"}}, {"Labels", {{"io.polyarch.run", "pa-run"}}}},
              {{"Id", "3"}, {"Names", {"/other"}}, {"Labels", {{"io.polyarch.run", "x"}}}},
          })));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  ListResult r = layer->NewDriver()->List();
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.ids, (std::vector<std::string>{"pa-run-a", "pa-run-b"}));
  auto lists = engine_.requests("GET", "/v1.41/containers/json");
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0].target,
            "/v1.41/containers/json?all=1&filters="
            "%7B%22label%22%3A%5B%22io.polyarch.run%3Dpa-run%22%5D%7D");
}

TEST_F(DockerLayerTest, AnEngineThatDiedMakesStepsUnavailable) {
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  engine_.Stop();  // the socket file goes with it
  StepResult r = d->Start("c1");
  EXPECT_EQ(r.status.code(), Code::kUnavailable) << r.status.ToString();
  StateResult s = d->State("c1");
  EXPECT_EQ(s.status.code(), Code::kUnavailable);
  EXPECT_EQ(s.state, ContainerState::kUnknown);
}

TEST_F(DockerLayerTest, CleanupForceRemovesTheRunsContainersAndImagesThenVerifies) {
  auto removed = std::make_shared<std::atomic<bool>>(false);
  engine_.On("GET", "/v1.41/containers/json", [removed](const FakeRequest&) {
    if (removed->load()) return JsonReply(200, json::array());
    return JsonReply(
        200,
        json::array({{{"Names", {"/pa-run-1"}}, {"Labels", {{"io.polyarch.run", "pa-run"}}}}}));
  });
  engine_.On("DELETE", "/v1.41/containers/pa-run-1", [removed](const FakeRequest&) {
    removed->store(true);
    return Reply(204);
  });
  for (const char* a : {"amd64", "s390x", "arm"}) {
    std::string ref = std::string("polyarch.local/test:") + a;
    engine_.On("DELETE", "/v1.41/images/" + ref,
               JsonReply(200, json::array({{{"Untagged", ref}}})));
  }
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  // After the delete the images inspect as missing.
  for (const char* a : {"amd64", "s390x", "arm"}) {
    engine_.On("GET", std::string("/v1.41/images/polyarch.local/test:") + a + "/json",
               EngineErrorReply(404, "No such image"));
  }
  Status s = layer->Cleanup();
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto deletes = engine_.requests("DELETE", "/v1.41/containers/pa-run-1");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].target, "/v1.41/containers/pa-run-1?force=true&v=1");
  auto image_deletes = engine_.requests("DELETE", "/v1.41/images/polyarch.local/test:s390x");
  ASSERT_EQ(image_deletes.size(), 1u);
  EXPECT_EQ(image_deletes[0].target, "/v1.41/images/polyarch.local/test:s390x?force=1");
  // Twice is fine.
  EXPECT_TRUE(layer->Cleanup().ok());
}

TEST_F(DockerLayerTest, CleanupFailsWhenAContainerOfTheRunRemains) {
  engine_.On("GET", "/v1.41/containers/json",
             JsonReply(200, json::array({{{"Names", {"/pa-run-1"}},
                                          {"Labels", {{"io.polyarch.run", "pa-run"}}}}})));
  engine_.On("DELETE", "/v1.41/containers/pa-run-1",
             EngineErrorReply(500, "driver \"overlay2\" failed to remove root filesystem"));
  auto layer = NewLayer();
  ASSERT_NE(layer, nullptr);
  Status s = layer->Cleanup();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("failed to remove root filesystem"), std::string::npos)
      << s.ToString();
}

TEST_F(DockerLayerTest, TheJournalRecordsAContainerBeforeItsCreateUntilItsDelete) {
  auto journal = Journal::Open(dir_->path() + "/journal.jsonl");
  ASSERT_TRUE(journal.ok());
  auto recorded_before = std::make_shared<std::atomic<bool>>(false);
  Journal* j = &*journal;
  engine_.On("POST", "/v1.41/containers/create", [j, recorded_before](const FakeRequest&) {
    auto live = j->Live("docker-container");
    recorded_before->store(live.ok() && live->size() == 1 && (*live)[0].key == "pa-run-1");
    return JsonReply(201, {{"Id", "c0ffee"}});
  });
  engine_.On("DELETE", "/v1.41/containers/pa-run-1", Reply(204));
  DockerLayerOptions o = Options();
  o.journal = j;
  auto layer = DockerLayer::Create(o);
  ASSERT_TRUE(layer.ok());
  auto images = j->Live("docker-image");
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->size(), 3u);
  auto d = (*layer)->NewDriver();
  ASSERT_TRUE(d->Create(Spec("pa-run-1", "amd64")).ok());
  EXPECT_TRUE(recorded_before->load());
  ASSERT_TRUE(d->Delete("pa-run-1", true).ok());
  auto live = j->Live("docker-container");
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty());
}

}  // namespace
}  // namespace polyarch
