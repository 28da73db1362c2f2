// runc and crun, for real, native and emulated.
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness/core/fs.h"
#include "harness/core/mountinfo.h"
#include "harness/drivers/oci_runtime.h"
#include "lifecycle_check.h"
#include "stack_fixture.h"

namespace polyarch {
namespace {

class OciRuntimeIntegrationTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    fixture_ = testing::StackFixture::Create("oci-itest", "amd64,s390x").release();
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(fixture_, nullptr); }

  std::unique_ptr<OciRuntimeLayer> MakeLayer() {
    OciRuntimeOptions o;
    o.name = GetParam();
    o.binary = GetParam();
    o.run_dir = fixture_->dir() + "/run-" + o.name;
    o.images = &fixture_->images();
    auto layer = OciRuntimeLayer::Create(o);
    EXPECT_TRUE(layer.ok()) << layer.status().ToString();
    return layer.ok() ? std::move(*layer) : nullptr;
  }

  static testing::StackFixture* fixture_;
};
testing::StackFixture* OciRuntimeIntegrationTest::fixture_ = nullptr;

TEST_P(OciRuntimeIntegrationTest, WholeLifecycleNativeAndEmulated) {
  auto layer = MakeLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  std::string prefix = "pa-oci-" + std::to_string(::getpid()) + "-";
  for (const char* arch : {"amd64", "s390x"}) {
    testing::ExpectFullLifecycle(*d, **LookupArch(arch), prefix + arch);
    testing::ExpectExitCodesAndForcedDelete(*d, **LookupArch(arch), prefix + arch);
    testing::ExpectRunLeavesNothing(*d, **LookupArch(arch), prefix + arch);
  }
  EXPECT_TRUE(d->capabilities().single_call_run);
  ASSERT_TRUE(layer->Cleanup().ok());
  EXPECT_TRUE(d->List().ids.empty());
  auto mounts = MountPointsUnder(fixture_->dir());
  ASSERT_TRUE(mounts.ok());
  EXPECT_TRUE(mounts->empty());
}

TEST_P(OciRuntimeIntegrationTest, CleanupRemovesWhatARunLeftBehind) {
  auto layer = MakeLayer();
  ASSERT_NE(layer, nullptr);
  auto d = layer->NewDriver();
  std::string prefix = "pa-oci-left-" + std::to_string(::getpid()) + "-";
  ContainerSpec spec;
  spec.arch = HostArch();
  spec.argv = {"/probe", "sleep", "60"};
  for (int i = 0; i < 3; ++i) {
    spec.id = prefix + std::to_string(i);
    ASSERT_TRUE(d->Create(spec).ok());
    if (i > 0) {
      ASSERT_TRUE(d->Start(spec.id).ok());
    }
  }
  ASSERT_TRUE(d->Pause(prefix + "2").ok());
  ASSERT_TRUE(layer->Cleanup().ok());
  EXPECT_TRUE(d->List().ids.empty());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d->State(prefix + std::to_string(i)).state, ContainerState::kNotFound);
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRuntimeIntegrationTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace polyarch
