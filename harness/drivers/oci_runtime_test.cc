// The OCI runtime driver against a fake runtime: a shell script that answers the CLI verbs
// the way runc does, and whose "container" is a real background process, so the subreaper
// path that recovers exit statuses is exercised for real.
#include "harness/drivers/oci_runtime.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "binfmt/proof.h"
#include "harness/core/fs.h"

namespace polyarch {
namespace {

// $ROOT/<id>/ holds the fake's state: pid, status. Behaviour comes from the file "mode"
// beside the script.
constexpr char kFakeRuntime[] = R"SH(#!/bin/sh
[ "$1" = "--version" ] && { echo "fake-runtime version 9.8.7"; exit 0; }
root=$2; verb=$3; shift 3
here=$(dirname "$0")
mode=$(cat "$here/mode" 2>/dev/null)
echo "$verb $*" >> "$here/calls"
case $verb in
run) [ "$mode" = hybrid ] && { echo 'level=error msg="cgroups in hybrid mode not supported, drop all controllers from cgroupv2"' >&2; exit 1; }
     exit 42 ;;
create)
  bundle=$2; pidfile=$4; id=$5
  [ -d "$root/$id" ] && { echo "container with id exists: $id" >&2; exit 1; }
  mkdir -p "$root/$id"
  ( sleep 0.3; exit 7 ) > /dev/null 2>&1 &
  echo $! > "$pidfile"; echo $! > "$root/$id/pid"; echo created > "$root/$id/status" ;;
start) [ -d "$root/$1" ] || { echo "container $1 does not exist" >&2; exit 1; }
  echo running > "$root/$1/status" ;;
state) [ -d "$root/$1" ] || { echo "container $1 does not exist" >&2; exit 1; }
  s=$(cat "$root/$1/status"); [ "$mode" = liar ] && s=running
  echo "{\"ociVersion\":\"1.0.2\",\"id\":\"$1\",\"pid\":$(cat "$root/$1/pid"),\"status\":\"$s\"}" ;;
exec) pidfile=$2; id=$3; shift 3
  [ "$(cat "$root/$id/status")" = running ] || { echo "cannot exec in a stopped container" >&2; exit 1; }
  echo $$ > "$pidfile"; echo "out:$*"; echo "err:$*" >&2
  [ "$1" = fail ] && exit 5; exit 0 ;;
delete) if [ "$1" = --force ]; then shift; rm -rf "$root/$1"; exit 0; fi
  [ "$(cat "$root/$1/status")" = running ] && { echo "cannot delete container $1 that is not stopped" >&2; exit 1; }
  rm -rf "$root/$1" ;;
list) printf '['; sep=''; for d in "$root"/*/; do [ -d "$d" ] || continue; printf '%s{"id":"%s"}' "$sep" "$(basename "$d")"; sep=,; done; echo ']' ;;
pause|resume|kill) [ -d "$root/$1" ] || { echo "container $1 does not exist" >&2; exit 1; } ;;
*) echo "unknown verb $verb" >&2; exit 2 ;;
esac
)SH";

class OciRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("polyarch-oci-test-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    runtime_ = dir_->path() + "/fake-runtime";
    ASSERT_TRUE(WriteFileAtomic(runtime_, kFakeRuntime, 0755).ok());
    // One image for the host arch, enough for Create to find a rootfs.
    BuiltImage img;
    img.arch = HostArch();
    img.bundle_dir = dir_->path() + "/image";
    images_.images.push_back(img);
  }

  Result<std::unique_ptr<OciRuntimeLayer>> Make(const std::string& mode = "") {
    if (!mode.empty()) {
      EXPECT_TRUE(WriteFileAtomic(dir_->path() + "/mode", mode).ok());
    }
    OciRuntimeOptions o;
    o.name = "fake";
    o.binary = runtime_;
    o.run_dir = dir_->path() + "/run";
    o.images = &images_;
    o.step_timeout = std::chrono::seconds(20);
    return OciRuntimeLayer::Create(o);
  }

  ContainerSpec Spec(const std::string& id) {
    ContainerSpec s;
    s.id = id;
    s.arch = HostArch();
    s.argv = {"/probe", "info"};
    return s;
  }

  std::unique_ptr<TempDir> dir_;
  std::string runtime_;
  ImageSet images_;
};

TEST_F(OciRuntimeTest, LifecycleThroughTheCliVerbs) {
  auto layer = Make();
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  EXPECT_EQ((*layer)->Context()["version"], "9.8.7");
  auto d = (*layer)->NewDriver();
  StepResult c = d->Create(Spec("pa-1"));
  ASSERT_TRUE(c.ok()) << c.status.ToString();
  EXPECT_GT(c.duration_ns, 0);
  auto config = ReadFile(dir_->path() + "/run/fake/containers/pa-1/config.json");
  ASSERT_TRUE(config.ok());
  auto spec = nlohmann::json::parse(*config);
  EXPECT_EQ(spec["root"]["path"], dir_->path() + "/image/rootfs");
  EXPECT_TRUE(spec["root"]["readonly"].get<bool>());
  EXPECT_EQ(spec["mounts"].back()["destination"], "/tmp");

  StateResult s = d->State("pa-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.state, ContainerState::kCreated);
  EXPECT_GT(s.pid, 0);
  ASSERT_TRUE(d->Start("pa-1").ok());
  EXPECT_EQ(d->State("pa-1").state, ContainerState::kRunning);

  ExecResult e = d->Exec("pa-1", {"hello", "world"}, std::chrono::seconds(10));
  ASSERT_TRUE(e.ok()) << e.status.ToString();
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(e.out, "out:hello world\n");
  EXPECT_EQ(e.err, "err:hello world\n");
  ExecResult f = d->Exec("pa-1", {"fail"}, std::chrono::seconds(10));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.exit_code, 5);

  // The "container" exits 7 on its own; polyarch, as subreaper, learns it.
  WaitResult w = d->Wait("pa-1", std::chrono::seconds(10));
  ASSERT_TRUE(w.ok()) << w.status.ToString();
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 7);

  StepResult refused = d->Delete("pa-1", false);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status.message().find("not stopped"), std::string::npos);
  ASSERT_TRUE(d->Delete("pa-1", true).ok());
  EXPECT_EQ(d->State("pa-1").state, ContainerState::kNotFound);
  EXPECT_TRUE(d->State("pa-1").ok()) << "a missing container is an answer, not an error";
  EXPECT_FALSE(PathExists(dir_->path() + "/run/fake/containers/pa-1"));
}

TEST_F(OciRuntimeTest, RefusalsAreFailedStepsWithTheRuntimesWords) {
  auto layer = Make();
  ASSERT_TRUE(layer.ok());
  auto d = (*layer)->NewDriver();
  ASSERT_TRUE(d->Create(Spec("pa-2")).ok());
  StepResult again = d->Create(Spec("pa-2"));
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.status.message().find("exists"), std::string::npos) << again.status.message();
  ExecResult e = d->Exec("pa-2", {"x"}, std::chrono::seconds(10));  // created, not running
  EXPECT_FALSE(e.ok());
  EXPECT_NE(e.status.message().find("cannot exec"), std::string::npos);
  StepResult missing = d->Start("pa-none");
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
  ListResult l = d->List();
  ASSERT_TRUE(l.ok()) << l.status.ToString();
  EXPECT_EQ(l.ids, std::vector<std::string>{"pa-2"});
  EXPECT_TRUE((*layer)->Cleanup().ok());
  EXPECT_TRUE(d->List().ids.empty());
}

TEST_F(OciRuntimeTest, ALyingStateIsReportedAsIs) {
  auto layer = Make("liar");
  ASSERT_TRUE(layer.ok());
  auto d = (*layer)->NewDriver();
  ASSERT_TRUE(d->Create(Spec("pa-3")).ok());
  // The fake claims "running" for a container that was never started: the driver reports
  // what the runtime says, so a suite comparing against the spec can catch it.
  EXPECT_EQ(d->State("pa-3").state, ContainerState::kRunning);
  EXPECT_TRUE((*layer)->Cleanup().ok());
}

TEST_F(OciRuntimeTest, AHostTheRuntimeRefusesIsNamedWithTheFix) {
  auto layer = Make("hybrid");
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(layer.status().message().find("doctor --fix"), std::string::npos)
      << layer.status().message();
  OciRuntimeOptions o;
  o.name = "nosuch";
  o.binary = "polyarch-no-such-runtime";
  o.run_dir = dir_->path() + "/run";
  auto missing = OciRuntimeLayer::Create(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("not installed"), std::string::npos);
}

}  // namespace
}  // namespace polyarch
