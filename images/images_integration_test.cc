// Real images from the real inputs (Debian's busybox-static .debs, the cross-compiled probes)
// run under the real binfmt_misc; the OCI layout and docker-archives go into real daemons.
#include <unistd.h>

#include <gtest/gtest.h>

#include "binfmt/arch.h"
#include "cli_runner.h"
#include "harness/core/fs.h"
#include "harness/core/subprocess.h"
#include "images/builder.h"

namespace polyarch {
namespace {

using nlohmann::json;
using testing::RunPolyarch;
using testing::StdoutJson;

class ImagesIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("polyarch-images-itest-");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(*d));
    prefix_ = "pa-img-itest-" + std::to_string(::getpid()) + "-";
    auto install = RunPolyarch({"--state-dir", dir_->path(), "binfmt", "install", "--arch", "all",
                                "--prefix", prefix_, "--no-prove"});
    ASSERT_EQ(install.exit_code, 0) << install.out.Text() << install.err.Text();
    auto build = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--json"});
    ASSERT_EQ(build.exit_code, 0) << build.err.Text();
    built_ = new json(StdoutJson(build));
  }
  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    (void)RunPolyarch(
        {"--state-dir", dir_->path(), "binfmt", "uninstall", "--arch", "all", "--prefix", prefix_});
    delete built_;
    delete dir_;
    dir_ = nullptr;
  }

  static TempDir* dir_;
  static std::string prefix_;
  static json* built_;
};
TempDir* ImagesIntegrationTest::dir_ = nullptr;
std::string ImagesIntegrationTest::prefix_;
json* ImagesIntegrationTest::built_ = nullptr;

TEST_F(ImagesIntegrationTest, EveryArchBuildsAndItsProbeReportsItsOwnArch) {
  ASSERT_FALSE(built_->is_discarded());
  const auto& images = (*built_)["images"];
  ASSERT_EQ(images.size(), 9u);
  std::string golden;
  // The shell workload's expected output comes from the host's own tools.
  auto host_sh = RunProcess({"/bin/sh", "-c", "echo $((6*7)) | sha256sum | cut -c1-8"},
                            std::chrono::seconds(10));
  ASSERT_TRUE(host_sh.ok() && host_sh->success());
  for (const auto& img : images) {
    auto arch = LookupArch(img["arch"].get<std::string>());
    ASSERT_TRUE(arch.ok());
    SCOPED_TRACE(std::string((*arch)->name));
    EXPECT_EQ(img["busybox"].get<bool>(), ExpectsBusybox(**arch));
    std::string probe = img["bundle"].get<std::string>() + "/rootfs/probe";
    auto r = RunProcess({probe, "info"}, std::chrono::seconds(60));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->success()) << r->Describe() << r->err.Text();
    json info = json::parse(r->out.Text(), nullptr, false);
    ASSERT_FALSE(info.is_discarded()) << r->out.Text();
    EXPECT_EQ(info["machine"], (*arch)->uname_machine);
    EXPECT_EQ(info["endianness"], (*arch)->big_endian ? "big" : "little");
    EXPECT_EQ(info["pointer_bits"], (*arch)->bits);
    EXPECT_TRUE(info["ok"].get<bool>()) << info.dump();
    // The deterministic work comes out the same on every arch.
    std::string work = info["int_checksum"].get<std::string>() +
                       info["float_checksum"].get<std::string>() +
                       info["sha256"].get<std::string>();
    if (golden.empty()) golden = work;
    EXPECT_EQ(work, golden);
    if (img["busybox"].get<bool>()) {
      auto sh = RunProcess({img["bundle"].get<std::string>() + "/rootfs/bin/busybox", "sh", "-c",
                            "echo $((6*7)) | sha256sum | cut -c1-8"},
                           std::chrono::seconds(60));
      ASSERT_TRUE(sh.ok());
      EXPECT_EQ(sh->out.Text(), host_sh->out.Text()) << sh->err.Text();
    }
  }
}

TEST_F(ImagesIntegrationTest, SecondBuildChangesNoDigestAndListAgrees) {
  auto again = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--json"});
  ASSERT_EQ(again.exit_code, 0);
  json second = StdoutJson(again);
  EXPECT_EQ(second["index"]["digest"], (*built_)["index"]["digest"]);
  for (size_t i = 0; i < second["images"].size(); ++i) {
    EXPECT_FALSE(second["images"][i]["rebuilt"].get<bool>());
    EXPECT_EQ(second["images"][i]["manifest"], (*built_)["images"][i]["manifest"]);
  }
  auto list = RunPolyarch({"--state-dir", dir_->path(), "images", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err.Text();
  json listed = StdoutJson(list);
  EXPECT_EQ(listed["schema_version"], 1);
  ASSERT_EQ(listed["images"].size(), 9u);
  for (const auto& img : listed["images"]) {
    EXPECT_EQ(img["manifest"]["digest"].get<std::string>().rfind("sha256:", 0), 0u);
    EXPECT_GT(img["layer"]["size"].get<int64_t>(), 0);
    EXPECT_GT(img["docker_archive"]["size"].get<int64_t>(), 0);
  }
  // A fresh build elsewhere gives the same digests: the images are reproducible.
  auto other = RunPolyarch(
      {"--state-dir", dir_->path(), "images", "build", "--out", dir_->path() + "/other", "--json"});
  ASSERT_EQ(other.exit_code, 0);
  EXPECT_EQ(StdoutJson(other)["index"]["digest"], (*built_)["index"]["digest"]);
}

TEST_F(ImagesIntegrationTest, AWrongArchProbeIsRefusedWithExitTwo) {
  // The s390x probe filed as the arm probe.
  std::string probes = dir_->path() + "/bad-probes";
  ASSERT_TRUE(MakeDirs(probes + "/arm").ok());
  auto s390x = ReadFile((*built_)["images"][7]["bundle"].get<std::string>() + "/rootfs/probe");
  ASSERT_TRUE(s390x.ok());
  ASSERT_TRUE(WriteFileAtomic(probes + "/arm/probe", *s390x, 0755).ok());
  auto r = RunPolyarch({"--state-dir", dir_->path(), "images", "build", "--arch", "arm",
                        "--probe-dir", probes, "--out", dir_->path() + "/bad"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.Text().find("filed under arm"), std::string::npos) << r.err.Text();
}

}  // namespace
}  // namespace polyarch
